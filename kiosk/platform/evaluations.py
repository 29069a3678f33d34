"""Evaluation (好差评) of a finished service: the rating, its queue and its one POST.

The national rules (国办发〔2019〕51号, GB/T 39734-2020) say a rating is voluntary and the
evaluator protected: five levels, nothing pre-selected, nothing forced, and for a low
rating the four offline indicators plus free text. The kiosk therefore never asks who is
rating; the body carries the matter, the score, the indicators ticked, the citizen's own
words and (when the service gave one) the receipt number.

A rating is queued first (:class:`EvaluationDesk`, offline_cache.evaluations) and sent by
the sync worker with its own id as ``Idempotency-Key`` (:func:`post_evaluation`), so a rating
made offline arrives later, and a send whose answer was lost is answered by the platform
with the first answer instead of being counted twice.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kiosk.platform.client import Failure, PlatformError, canonical_json, parse_json_object
from offline_cache.evaluations import EvaluationQueue

if TYPE_CHECKING:
    from kiosk.platform.client import PlatformClient

SCORES: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
"""The five national levels by score (5 stars is 非常满意)."""
LOW_SCORES = frozenset({1, 2})
"""不满意 and 非常不满意: the citizen is asked (never made) to say what was wrong."""
TAGS = ("overall", "efficiency", "service_level", "attitude")
"""The four offline indicators (整体, 办事效率, 服务水平, 服务态度), as sent on the wire."""
MAX_COMMENT = 500
"""The platform's limit; the keyboard stops the citizen there."""
SERVICES = ("application", "appointment", "ticket", "home")
"""Where a rating was offered: after one of three services, or from the home tile."""

_NUMBER_RE = re.compile(r"[A-Za-z0-9-]{1,64}", re.ASCII)
_ITEM_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}", re.ASCII)


class RatingError(ValueError):
    """A rating the kiosk must not queue (a programming error in the screen, not input)."""


@dataclass(frozen=True, repr=False)
class Rating:
    """What a citizen gave: a score, low-score indicators and words. ``comment`` stays out
    of ``repr`` (a rating slipping into a log must not carry what the citizen wrote)."""

    item_code: str
    score: int
    tags: tuple[str, ...] = ()
    comment: str = ""
    receipt_no: str | None = None

    def __repr__(self) -> str:
        return (f"Rating(item_code={self.item_code!r}, score={self.score}, tags={self.tags!r},"
                f" comment={'yes' if self.comment else 'no'})")

    def body(self) -> dict[str, Any]:
        """The contract's body of POST /evaluations; :class:`RatingError` when invalid.

        Indicators and words are kept only with a low score (the screen offers them only
        then); the comment is trimmed and empty means none.
        """
        if not _ITEM_RE.fullmatch(self.item_code or ""):
            raise RatingError("an evaluation needs the matter's item code")
        if isinstance(self.score, bool) or self.score not in SCORES:
            raise RatingError("the score is one of 1..5")
        unknown = [tag for tag in self.tags if tag not in TAGS]
        if unknown:
            raise RatingError(f"unknown indicators: {', '.join(sorted(unknown))}")
        if self.receipt_no is not None and not _NUMBER_RE.fullmatch(self.receipt_no):
            raise RatingError("the receipt number is not a number of letters and digits")
        low = self.score in LOW_SCORES
        body: dict[str, Any] = {"item_code": self.item_code, "score": self.score,
                                "tags": [tag for tag in TAGS if low and tag in self.tags]}
        comment = self.comment.strip()[:MAX_COMMENT] if low else ""
        if comment:
            body["comment"] = comment
        if self.receipt_no:
            body["receipt_no"] = self.receipt_no
        return body


@dataclass(frozen=True)
class EvaluationReceipt:
    """The platform's answer to POST /evaluations."""

    evaluation_no: str
    received_at: datetime
    replayed: bool = False
    """True when the platform already had this key (200): a resend after a lost answer."""


def parse_evaluation_answer(body: bytes, replayed: bool = False) -> EvaluationReceipt:
    """Check the answer to POST /evaluations: a number token and a time with offset.

    Anything else (a captive portal's HTML, a cut-off body, a wrong type) is a TRANSIENT
    :class:`PlatformError` naming the field, never a value: the rating stays queued.
    """
    what = "POST /evaluations"
    data = parse_json_object(body, what)
    number = data.get("evaluation_no")
    if not isinstance(number, str) or not _NUMBER_RE.fullmatch(number):
        raise _bad(what, "evaluation_no is not a number of letters, digits and hyphens")
    text = data.get("received_at")
    try:
        when = datetime.fromisoformat(text) if isinstance(text, str) and len(text) <= 40 \
            else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise _bad(what, "received_at is not an ISO 8601 time with offset")
    return EvaluationReceipt(number, when, replayed)


def _bad(what: str, why: str) -> PlatformError:
    return PlatformError(Failure.TRANSIENT, f"unexpected answer to {what}: {why}")


def post_evaluation(client: PlatformClient, key: str, body: dict[str, Any]
                    ) -> EvaluationReceipt:
    """POST /evaluations with ``key`` (the rating's own id) as Idempotency-Key."""
    if not key:
        raise ValueError("an evaluation is sent with its Idempotency-Key")
    response = client.request("POST", "/evaluations", body=canonical_json(body),
                              headers={"Idempotency-Key": key})
    return parse_evaluation_answer(response.content, replayed=response.status_code == 200)


def is_already_held(error: PlatformError) -> bool:
    """409 ``idempotency_conflict``: the platform holds a rating under this key already.

    The key is made once per rating on this kiosk, so the platform's copy is this rating
    (sent by an older build whose body was written differently): counting it again would
    break "exactly once", and quarantining it would ask a technician to fix nothing.
    """
    return error.status == 409


class EvaluationDesk:
    """The touchscreen's side: queue a rating (online or not) and wake the sender."""

    def __init__(self, conn: sqlite3.Connection, master_key: bytes,
                 wake: Callable[[], None] | None = None) -> None:
        self.queue = EvaluationQueue(conn, master_key)
        self.wake = wake

    def submit(self, rating: Rating) -> str:
        """Queue ``rating`` durably; returns its id (the Idempotency-Key it will carry)."""
        eval_id = self.queue.enqueue(rating.item_code, rating.body())
        if self.wake is not None:
            self.wake()
        return eval_id


def tags_in_order(chosen: Iterable[str]) -> tuple[str, ...]:
    """The ticked indicators in the national order (the screen ticks them in any order)."""
    wanted = set(chosen)
    return tuple(tag for tag in TAGS if tag in wanted)
