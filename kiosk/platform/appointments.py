"""Appointments and queue tickets (预约取号) on the provincial platform (API v1).

Three calls: the slots of a matter on one day, booking a slot, and a queue ticket for
today. Each answer is checked before it is believed, like every answer of
:mod:`kiosk.platform.client`: a slot without a start time or with a negative number of
places, or a booking that names another slot, would otherwise end on a printed slip that
sends an elderly citizen to the hall at the wrong hour. A bad answer is a TRANSIENT
:class:`PlatformError` whose text names the field, never a value.

Booking is the one request that must not happen twice: the kiosk makes an
``Idempotency-Key`` once per confirmation (:func:`new_booking_key`) and sends the same key
again when it retries after a timeout, so the platform answers the retry with the first
booking instead of taking a second place.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from drivers.idcard.identity import mask_number
from kiosk.platform.client import (
    Failure,
    PlatformError,
    canonical_json,
    parse_json_list,
    parse_json_object,
)

if TYPE_CHECKING:
    from kiosk.platform.client import PlatformClient

__all__ = [
    "BAD_ANSWER",
    "Booking",
    "BookingRequest",
    "Slot",
    "Ticket",
    "book",
    "day_slots",
    "is_slot_full",
    "new_booking_key",
    "parse_booking",
    "parse_slots",
    "parse_ticket",
    "take_ticket",
]

MAX_TEXT = 200
"""Longer than any hall name or number a slip can print: refused, not cut."""
MAX_PLACES = 100_000
_NUMBER_RE = re.compile(r"[A-Za-z0-9-]{1,40}", re.ASCII)
BAD_ANSWER = "unexpected answer to"


@dataclass(frozen=True)
class Slot:
    """A half-hour (or any) window of a hall in which the platform takes appointments."""

    slot_id: str
    hall: str
    start: datetime
    end: datetime
    remaining: int
    """Places left; 0 means full (shown as full, never offered)."""

    @property
    def day(self) -> date:
        """The slot's calendar day where the hall is (its own offset, not the kiosk's)."""
        return self.start.date()


@dataclass(frozen=True)
class Booking:
    """The platform's answer to POST /appointments: the appointment number and its slot."""

    appointment_no: str
    slot: Slot
    replayed: bool = False
    """True when the platform already had this key (200): a retry after a lost answer."""


@dataclass(frozen=True)
class Ticket:
    """A queue ticket for today: its number and how many people wait before it."""

    ticket_no: str
    waiting: int


@dataclass(frozen=True, repr=False)
class BookingRequest:
    """What a booking sends; the ID number and phone stay out of ``repr`` (logs)."""

    slot_id: str
    item_code: str
    id_number: str = field(repr=False)
    phone: str = field(repr=False)
    key: str = ""

    def __repr__(self) -> str:
        return (f"BookingRequest(slot_id={self.slot_id!r}, item_code={self.item_code!r}, "
                f"id_number={mask_number(self.id_number)!r})")

    def body(self) -> dict[str, str]:
        """The contract's body of POST /appointments."""
        return {"slot_id": self.slot_id, "item_code": self.item_code,
                "id_number": self.id_number, "phone": self.phone}


def new_booking_key() -> str:
    """A fresh Idempotency-Key: one per confirmation, reused for every retry of it."""
    return "appt-" + secrets.token_hex(16)


def is_slot_full(error: BaseException | None) -> bool:
    """True for the platform's 409 ``slot_full`` (someone took the last place meanwhile)."""
    return isinstance(error, PlatformError) and error.status == 409 and \
        error.code == "slot_full"


# ------------------------------------------------------------------------------- parsing


def _bad(what: str, why: str) -> PlatformError:
    return PlatformError(Failure.TRANSIENT, f"{BAD_ANSWER} {what}: {why}")


def _text(data: dict[str, Any], name: str, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT \
            or not value.isprintable():
        raise _bad(what, f"{name} missing, empty, too long or not printable")
    return value


def _number(data: dict[str, Any], name: str, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not _NUMBER_RE.fullmatch(value):
        raise _bad(what, f"{name} is not a number of letters, digits and hyphens")
    return value


def _count(data: dict[str, Any], name: str, what: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PLACES:
        raise _bad(what, f"{name} is not a count")
    return value


def _time(data: dict[str, Any], name: str, what: str) -> datetime:
    value = data.get(name)
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 \
            else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise _bad(what, f"{name} is not an ISO 8601 time with offset")
    return when


def check_slot(data: Any, what: str) -> Slot:
    """One SLOT object, complete and coherent (it ends after it starts)."""
    if not isinstance(data, dict):
        raise _bad(what, "a slot is not an object")
    slot = Slot(slot_id=_number(data, "slot_id", what), hall=_text(data, "hall", what),
                start=_time(data, "start", what), end=_time(data, "end", what),
                remaining=_count(data, "remaining", what))
    if slot.end <= slot.start:
        raise _bad(what, "a slot ends before it starts")
    return slot


def parse_slots(body: bytes, day: date | None = None) -> list[Slot]:
    """The answer to GET /appointments/slots, in time order. Every entry must be a whole
    slot on ``day`` (when given) and no slot id may repeat, or the whole answer is refused."""
    what = "GET /appointments/slots"
    slots = [check_slot(entry, what) for entry in parse_json_list(body, what)]
    if len({slot.slot_id for slot in slots}) != len(slots):
        raise _bad(what, "a slot id repeats")
    if day is not None and any(slot.day != day for slot in slots):
        raise _bad(what, "a slot is on another day than asked")
    return sorted(slots, key=lambda slot: (slot.start, slot.hall, slot.slot_id))


def parse_booking(body: bytes, slot_id: str, replayed: bool = False) -> Booking:
    """The answer to POST /appointments; it must be for the slot that was booked."""
    what = "POST /appointments"
    data = parse_json_object(body, what)
    booking = Booking(appointment_no=_number(data, "appointment_no", what),
                      slot=check_slot(data.get("slot"), what), replayed=replayed)
    if booking.slot.slot_id != slot_id:
        raise _bad(what, "the answer names another slot")
    return booking


def parse_ticket(body: bytes) -> Ticket:
    """The answer to POST /queue/tickets."""
    what = "POST /queue/tickets"
    data = parse_json_object(body, what)
    return Ticket(ticket_no=_number(data, "ticket_no", what),
                  waiting=_count(data, "waiting", what))


# -------------------------------------------------------------------------------- calls


def day_slots(client: PlatformClient, item_code: str, day: date) -> list[Slot]:
    """GET /appointments/slots?item_code=C&date=YYYY-MM-DD (a weekend gives [])."""
    response = client.request("GET", "/appointments/slots",
                              params={"item_code": item_code, "date": day.isoformat()})
    return parse_slots(response.content, day)


def book(client: PlatformClient, request: BookingRequest) -> Booking:
    """POST /appointments with ``request.key`` as Idempotency-Key (made by the caller once
    per confirmation). A full slot raises the 409 ``slot_full`` :class:`PlatformError`
    (see :func:`is_slot_full`); the ID number goes in the body only, never in the URL."""
    if not request.key:
        raise ValueError("a booking needs its Idempotency-Key")
    response = client.request("POST", "/appointments", body=canonical_json(request.body()),
                              headers={"Idempotency-Key": request.key})
    return parse_booking(response.content, request.slot_id,
                         replayed=response.status_code == 200)


def take_ticket(client: PlatformClient, hall: str, item_code: str) -> Ticket:
    """POST /queue/tickets: a numbered ticket for today in ``hall``."""
    return parse_ticket(client._json("POST", "/queue/tickets",
                                     {"hall": hall, "item_code": item_code}))
