"""Progress (进度查询): what became of an application, and what the citizen does next.

A citizen asks with a receipt (its QR code or its typed number), an application number, or
the ID card. Online the platform answers (``GET /applications/{no}``, ``POST
/applications/lookup``); offline, or when the platform has not got the application yet, the
kiosk's own outbox says what this kiosk knows: queued here, being sent, acknowledged, and
the last status it fetched with the time it was fetched.

This module decides the meaning and leaves the words to the screen (whose message tables the
translation check collects): a status, its timeline, and one :data:`NEXT` kind for "what to
do next", carrying the platform's own note when material is missing ("bring the missing
material to window 5") and the delivery method for a result to collect or to receive.

Nothing here writes progress to disk except the status of this kiosk's own applications,
in the outbox columns the sync worker keeps too (``platform_status``, ``status_checked_at``):
another person's progress is personal and lives only on the screen until the visit ends.
Nothing is logged: receipt numbers, notes and ID numbers stay out of logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from kiosk.applying.receipt_numbers import mod37_2
from kiosk.applying.receipts import ReceiptQRError, parse_receipt_qr
from offline_cache.outbox import State

if TYPE_CHECKING:
    from kiosk.platform.client import Progress
    from offline_cache.outbox import Application, Outbox

__all__ = [
    "NEXT",
    "ApplicationProgress",
    "NumberError",
    "Step",
    "from_outbox",
    "from_platform",
    "merge",
    "own_progress",
    "own_progress_of",
    "read_number",
    "remember",
]

STATUSES = ("received", "accepted", "in_review", "needs_material", "approved", "rejected",
            "completed")
"""The platform's statuses, in the order an application usually meets them."""
FINAL = frozenset({"completed", "rejected"})

NEXT = ("wait", "bring_material", "collect_later", "collect", "delivery_later", "delivered",
        "rejected", "unsent", "held")
"""What the citizen does next, one kind per situation:

- ``wait``: received, accepted or in review; nothing to do.
- ``bring_material``: the department asks for more (the step's note says what and where).
- ``collect_later`` / ``collect``: approved / completed, the result is picked up.
- ``delivery_later`` / ``delivered``: approved / completed, sent by express.
- ``rejected``: ask at the counter why; a new application is possible.
- ``unsent``: still on this kiosk, sent by itself when the network is back.
- ``held``: on this kiosk, stopped for staff to check (quarantined): ask staff.
"""

KIOSK_STATES = ("queued", "sending", "acknowledged", "held")
"""Where an application of this kiosk stands on its way to the platform."""
_KIOSK_STATE = {
    State.SEALED: "queued", State.RETRY_LATER: "queued", State.DRAFT: "queued",
    State.UPLOADING: "sending",
    State.ACKNOWLEDGED: "acknowledged", State.STATUS_SYNCED: "acknowledged",
    State.PURGEABLE: "acknowledged",
    State.QUARANTINED: "held",
}

APPLICATION_NUMBER = re.compile(r"[0-9A-Z]{6,40}")
"""An application number as typed: the platform makes them (digits today), so only their
shape is checked here; the platform says whether it knows one."""


class NumberError(ValueError):
    """A typed or scanned number that cannot be one: ``kind`` says why, in one word the
    screen turns into plain words (``empty``, ``check``, ``date``, ``shape``, ``hyphens``).
    The message never repeats the text."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"not a receipt or application number: {kind}")
        self.kind = kind


@dataclass(frozen=True)
class Step:
    """One step of the timeline: a status, when it was reached, the platform's note."""

    status: str
    at: datetime | None
    note: str = ""


@dataclass(frozen=True)
class ApplicationProgress:
    """One application as the citizen sees it; from the platform or from this kiosk."""

    item_code: str
    receipt_no: str
    application_no: str
    status: str
    """A platform status, or "" when only this kiosk knows the application."""
    steps: tuple[Step, ...] = ()
    next_step: str = "wait"
    note: str = ""
    """The platform's note of the current step (what is missing, where to bring it)."""
    delivery_method: str = ""
    from_platform: bool = True
    """True: the platform answered just now; False: what this kiosk knew (see known_at)."""
    known_at: datetime | None = None
    """When the status was last known (None: never fetched)."""
    kiosk_state: str = ""
    """For this kiosk's own applications: one of :data:`KIOSK_STATES`, else ""."""
    applied_at: datetime | None = None
    sort_key: float = field(default=0.0, compare=False)

    @property
    def final(self) -> bool:
        return self.status in FINAL


# -- numbers ------------------------------------------------------------------------------


def read_number(text: str, own_kiosk_id: str = "") -> str:
    """A receipt number (canonical, check character verified) or an application number.

    Spaces are ignored and letters taken as capitals. A receipt number of this kiosk may be
    typed without its hyphens (the check character covers the text without them); another
    kiosk's needs its hyphens as printed, since its id's own hyphens cannot be guessed.
    :class:`NumberError` otherwise, before anything is asked of the platform.
    """
    candidate = "".join(str(text).split()).upper()
    if not candidate:
        raise NumberError("empty")
    if candidate.startswith("K") and not candidate[1:].isdigit():
        if "-" not in candidate:
            candidate = _with_hyphens(candidate, own_kiosk_id)
        try:
            return parse_receipt_qr(candidate)
        except ReceiptQRError as error:
            message = str(error)
            kind = "check" if "check character" in message else \
                "date" if "date" in message else "shape"
            raise NumberError(kind) from None
    if APPLICATION_NUMBER.fullmatch(candidate):
        return candidate
    raise NumberError("shape")


def _with_hyphens(compact: str, own_kiosk_id: str) -> str:
    """``K<kiosk><yyyymmdd><6 digits><check>`` typed without hyphens, for this kiosk's id."""
    own = own_kiosk_id.upper().replace("-", "")
    body, check = compact[:-1], compact[-1:]
    if len(compact) < 17 or not compact[-15:-1].isdigit():
        raise NumberError("shape")
    if not own or body[1:-14] != own:
        raise NumberError("hyphens")
    if mod37_2(body) != check:
        raise NumberError("check")
    return f"K{own_kiosk_id.upper()}-{body[-14:-6]}-{body[-6:]}-{check}"


# -- from the platform ----------------------------------------------------------------------


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def next_step_of(status: str, delivery_method: str) -> str:
    """The :data:`NEXT` kind of a platform status."""
    express = delivery_method == "express"
    if status == "needs_material":
        return "bring_material"
    if status == "approved":
        return "delivery_later" if express else "collect_later"
    if status == "completed":
        return "delivered" if express else "collect"
    if status == "rejected":
        return "rejected"
    return "wait"


def from_platform(progress: Progress, now: float, kiosk_state: str = "") -> ApplicationProgress:
    """A PROGRESS the platform gave at ``now`` (Unix seconds)."""
    steps = tuple(Step(step["status"], _time(step["at"]), step.get("note") or "")
                  for step in progress.timeline)
    current = [step for step in steps if step.status == progress.status]
    note = current[-1].note if current else ""
    first = steps[0].at if steps else None
    return ApplicationProgress(
        item_code=progress.item_code, receipt_no=progress.receipt_no,
        application_no=progress.application_no, status=progress.status, steps=steps,
        next_step=next_step_of(progress.status, progress.delivery_method), note=note,
        delivery_method=progress.delivery_method, from_platform=True,
        known_at=datetime.fromtimestamp(now).astimezone(), kiosk_state=kiosk_state,
        applied_at=first, sort_key=first.timestamp() if first else 0.0)


# -- from this kiosk's outbox ---------------------------------------------------------------


def _checked_at(outbox: Outbox, local_id: str) -> float | None:
    """When the outbox last stored a platform status of this record (the column the sync
    worker and :func:`remember` write; :class:`Application` does not carry it)."""
    row = outbox.conn.execute("SELECT status_checked_at FROM applications WHERE local_id = ?",
                              (local_id,)).fetchone()
    return None if row is None else row[0]


def _local(moment: float | None) -> datetime | None:
    return None if moment is None else datetime.fromtimestamp(moment).astimezone()


def from_outbox(record: Application, checked_at: float | None) -> ApplicationProgress:
    """What this kiosk knows of one of its own applications, offline."""
    kiosk_state = _KIOSK_STATE.get(record.state, "queued")
    status = record.platform_status if record.platform_status in STATUSES else ""
    known_at = _local(checked_at) if status else None
    steps = (Step(status, known_at),) if status else ()
    if kiosk_state == "held":
        next_step = "held"
    elif kiosk_state in ("queued", "sending"):
        next_step = "unsent"
    else:
        next_step = next_step_of(status, "")
    return ApplicationProgress(
        item_code=record.item_code, receipt_no=record.receipt_no or "",
        application_no=record.application_no or "", status=status, steps=steps,
        next_step=next_step, from_platform=False, known_at=known_at,
        kiosk_state=kiosk_state, applied_at=_local(record.created_at),
        sort_key=record.created_at)


def own_progress(outbox: Outbox, receipt_no: str) -> ApplicationProgress | None:
    """This kiosk's application with that receipt number, or None."""
    try:
        record = outbox.find(receipt_no)
    except KeyError:
        return None
    return from_outbox(record, _checked_at(outbox, record.local_id))


def own_progress_of(outbox: Outbox, id_number: str, limit: int = 1000
                    ) -> list[ApplicationProgress]:
    """This kiosk's applications of the person with ``id_number`` (the applicant's), newest
    ``limit`` records looked at, oldest first.

    The applicant is sealed in each record's payload: each is opened in memory, compared and
    dropped at once; a record that does not open (PayloadSealBroken) is passed over.
    """
    from offline_cache.outbox import PayloadSealBroken

    found = []
    for record in outbox.listing(limit=limit, latest=True):
        if record.state is State.DRAFT or not record.receipt_no:
            continue
        try:
            applicant = outbox.payload(record.local_id).get("applicant") or {}
        except (PayloadSealBroken, KeyError, ValueError):
            continue
        if isinstance(applicant, dict) and applicant.get("id_number") == id_number:
            found.append(from_outbox(record, _checked_at(outbox, record.local_id)))
    return found


def remember(outbox: Outbox, answers: list[Progress]) -> int:
    """Keep the platform's status of this kiosk's own applications among ``answers`` (the
    columns the sync worker keeps: the offline view shows them with their time). Other
    people's progress is not stored. Returns how many were kept."""
    kept = 0
    for answer in answers:
        try:
            record = outbox.find(answer.receipt_no)
        except KeyError:
            continue
        if record.state in (State.ACKNOWLEDGED, State.STATUS_SYNCED):
            outbox.record_status(record.local_id, answer.status)
            kept += 1
    return kept


def kiosk_state_of(outbox: Outbox, receipt_no: str) -> str:
    """One of :data:`KIOSK_STATES` when the application is this kiosk's own, else ""."""
    try:
        return _KIOSK_STATE.get(outbox.find(receipt_no).state, "")
    except KeyError:
        return ""


def merge(platform: list[ApplicationProgress], own: list[ApplicationProgress]
          ) -> list[ApplicationProgress]:
    """The platform's list plus this kiosk's applications it does not have yet (queued
    here), newest first."""
    known = {item.receipt_no for item in platform}
    result = platform + [item for item in own if item.receipt_no not in known]
    # the platform's times are to the second: the number breaks ties (later numbers are newer)
    return sorted(result, key=lambda item: (item.sort_key, item.application_no,
                                            item.receipt_no), reverse=True)
