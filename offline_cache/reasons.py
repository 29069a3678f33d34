"""Reasons kept in clear: why an application waits or was quarantined, without personal data.

``last_error`` and ``quarantine_reason`` are not sealed, because ``kiosk queue status``
shows them and technicians paste that into support tickets. The platform client already
words its reasons without data (``platform 422 invalid_field field=form.phone``); this is the
second line of defence, applied by the outbox to every reason it stores, so that a reason
quoting a value (an ID number, a phone number, a name) loses that value here.

The rule is deliberately blunt: keep only whitespace-separated tokens that are printable
ASCII, at most 64 characters and without a run of 5 or more digits (ID, phone and card
numbers all have one; status codes, field names and short counts do not). A Chinese name is
not ASCII, so it goes too.
"""

from __future__ import annotations

import re

MAX_TOKEN = 64
MAX_REASON = 200
DROPPED = " (details removed)"

_DIGIT_RUN = re.compile(r"[0-9]{5}")


def _keep(token: str) -> bool:
    return (len(token) <= MAX_TOKEN and token.isascii() and token.isprintable()
            and not _DIGIT_RUN.search(token))


def clear_reason(text: str | None) -> str | None:
    """``text`` with every token that might be personal data removed; None stays None.

    Says " (details removed)" when anything was dropped, so a technician knows the reason
    was longer; the result is at most 200 characters.
    """
    if text is None:
        return None
    tokens = str(text).split()
    kept = [token for token in tokens if _keep(token)]
    reason = " ".join(kept)
    if len(kept) < len(tokens):
        reason += DROPPED
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - len(DROPPED)].rsplit(" ", 1)[0] + DROPPED
    return reason.strip()
