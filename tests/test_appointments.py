"""Appointments and queue tickets: the strict parsers on any bytes, the client against the
reference platform as a real process (slots, a full slot's 409, a retried booking that books
once), and the printed slips (never an unmasked ID number, never a birth date)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.printer.layout import KeyValue, QRCode, TextLine, Title
from kiosk.applying.slips import AppointmentFacts, TicketFacts, appointment_slip, ticket_slip
from kiosk.platform.appointments import (
    BookingRequest,
    book,
    day_slots,
    is_slot_full,
    new_booking_key,
    parse_booking,
    parse_slots,
    parse_ticket,
    take_ticket,
)
from kiosk.platform.client import Failure, PlatformClient, PlatformError
from tests.kiosk_files import JOURNEY_MATTER
from tests.platform_server import PlatformServer

KIOSK = "511602-TEST-21"
RESIDENT = "110101199003078013"
PHONE = "13812345678"
CHINA = timezone(timedelta(hours=8))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def slot_json(slot_id: str = "S202612010930-0", remaining: object = 2, **changes) -> dict:
    slot = {"slot_id": slot_id, "hall": "广安区政务服务中心",
            "start": "2026-12-01T09:30:00+08:00", "end": "2026-12-01T10:00:00+08:00",
            "remaining": remaining}
    return slot | changes


def slot_shaped() -> st.SearchStrategy[bytes]:
    """Answers close to the contract: each key kept, dropped or given any value."""
    value = st.none() | st.integers(-3, 5) | st.text(max_size=30) | st.booleans()
    entry = st.fixed_dictionaries({}, optional={
        "slot_id": st.sampled_from(["S202612010930-0", "", "x y"]) | value,
        "hall": st.just("大厅") | value,
        "start": st.sampled_from(["2026-12-01T09:30:00+08:00", "2026-12-01T09:30:00"]) | value,
        "end": st.sampled_from(["2026-12-01T10:00:00+08:00", "2026-12-01T09:00:00+08:00"])
        | value,
        "remaining": value})
    return st.lists(entry, max_size=3).map(lambda v: json.dumps(v).encode())


# -- parsers on arbitrary bytes -------------------------------------------------------------


@given(st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode())
       | slot_shaped())
def test_slot_parser_accepts_only_whole_slots(body: bytes):
    try:
        slots = parse_slots(body)
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
        assert "广安" not in str(error)
    else:
        for slot in slots:
            assert slot.slot_id and slot.hall.strip() and slot.remaining >= 0
            assert slot.start.tzinfo is not None and slot.end > slot.start
        assert [s.start for s in slots] == sorted(s.start for s in slots)


@given(st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode())
       | slot_shaped().map(lambda b: json.dumps(
           {"appointment_no": "A20261201000001", "slot": (json.loads(b) or [{}])[0]}).encode()))
def test_booking_parser_never_crashes(body: bytes):
    try:
        booking = parse_booking(body, "S202612010930-0")
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
    else:
        assert booking.slot.slot_id == "S202612010930-0" and booking.appointment_no


@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode())
       | st.fixed_dictionaries({"ticket_no": st.text(max_size=6) | st.integers(),
                                "waiting": st.integers(-2, 10) | st.booleans() | st.text()})
       .map(lambda v: json.dumps(v).encode()))
def test_ticket_parser_never_crashes(body: bytes):
    try:
        ticket = parse_ticket(body)
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
    else:
        assert ticket.ticket_no and ticket.waiting >= 0


@pytest.mark.parametrize(("changes", "why"), [
    ({"remaining": -1}, "remaining"), ({"remaining": True}, "remaining"),
    ({"start": "2026-12-01T09:30:00"}, "start"), ({"end": "2026-12-01T09:00:00+08:00"}, "ends"),
    ({"hall": "  "}, "hall"), ({"slot_id": "S 1"}, "slot_id"),
])
def test_a_slot_that_would_mislead_a_citizen_is_refused(changes: dict, why: str):
    with pytest.raises(PlatformError, match=why):
        parse_slots(json.dumps([slot_json(**changes)]).encode())


def test_slots_of_another_day_or_repeated_are_refused():
    body = json.dumps([slot_json()]).encode()
    assert parse_slots(body, date(2026, 12, 1))[0].remaining == 2
    with pytest.raises(PlatformError, match="another day"):
        parse_slots(body, date(2026, 12, 2))
    with pytest.raises(PlatformError, match="repeats"):
        parse_slots(json.dumps([slot_json(), slot_json()]).encode())


def test_a_booking_of_another_slot_is_not_believed():
    body = json.dumps({"appointment_no": "A1", "slot": slot_json("S202612011000-0")})
    with pytest.raises(PlatformError, match="another slot"):
        parse_booking(body.encode(), "S202612010930-0")


def test_a_booking_request_never_shows_the_number_or_phone():
    request = BookingRequest("S1", "C1", RESIDENT, PHONE, new_booking_key())
    assert RESIDENT not in repr(request) and PHONE not in repr(request)
    assert "110***********8013" in repr(request)
    assert new_booking_key() != new_booking_key()


# -- slips ------------------------------------------------------------------------------------


def slip_text(receipt) -> str:
    parts = []
    for block in receipt.blocks:
        if isinstance(block, KeyValue):
            parts.append(f"{block.key} {block.value}")
        elif isinstance(block, TextLine | Title):
            parts.append(block.text)
        elif isinstance(block, QRCode):
            parts.append(f"QR:{block.payload}")
    return "\n".join(parts)


def test_the_appointment_slip_masks_the_person_and_carries_the_number_as_qr():
    start = datetime(2026, 12, 1, 9, 30, tzinfo=CHINA)
    facts = AppointmentFacts.of(
        appointment_no="A20261201000007", matter_name="居住证办理", item_code="C1",
        hall="广安区政务服务中心", start=start, end=start + timedelta(minutes=30),
        id_number=RESIDENT, phone=PHONE, kiosk_hall="大厅")
    text = slip_text(appointment_slip(facts))
    assert "QR:A20261201000007" in text and "预约号 A20261201000007" in text
    assert "2026年12月1日（星期二）09:30-10:00" in text and "广安区政务服务中心" in text
    assert "110***********8013" in text and "138****5678" in text
    for secret in (RESIDENT, "19900307", "1990", PHONE):
        assert secret not in text and secret not in repr(facts)


def test_the_ticket_slip_says_the_number_and_the_people_waiting():
    text = slip_text(ticket_slip(TicketFacts("A007", 5, "居住证办理", "C1", "大厅")))
    assert "A007" in text and "前面等候人数 5人" in text and "大厅" in text


# -- against the reference platform -------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("appointments")
    with PlatformServer(folder, kiosks={KIOSK: folder / "k.key"}) as running:
        yield running


@pytest.fixture()
def client(server: PlatformServer):
    platform = PlatformClient(server.base_url, KIOSK, server.keys[KIOSK], timeout=10)
    yield platform
    platform.close()


def working_day(after: int) -> date:
    """The ``after``-th working day from tomorrow (the platform has no weekend slots)."""
    day = datetime.now(CHINA).date()
    found = 0
    while True:
        day += timedelta(days=1)
        if day.weekday() < 5:
            found += 1
            if found > after:
                return day


def test_slots_of_a_working_day_and_none_at_the_weekend(client: PlatformClient):
    day = working_day(0)
    slots = day_slots(client, JOURNEY_MATTER, day)
    assert len(slots) == 13 and all(slot.day == day for slot in slots)
    assert len({slot.hall for slot in slots}) == 1 and slots[0].remaining == 4
    saturday = day + timedelta(days=(5 - day.weekday()) % 7)
    assert day_slots(client, JOURNEY_MATTER, saturday) == []
    with pytest.raises(PlatformError) as unknown:
        day_slots(client, "NO-SUCH-MATTER", day)
    assert unknown.value.status == 404


def test_a_full_slot_answers_409_slot_full(client: PlatformClient):
    day = working_day(1)
    slot = day_slots(client, JOURNEY_MATTER, day)[-1]
    numbers = set()
    for _place in range(slot.remaining):
        booking = book(client, BookingRequest(slot.slot_id, JOURNEY_MATTER, RESIDENT, PHONE,
                                              new_booking_key()))
        numbers.add(booking.appointment_no)
        assert booking.slot.slot_id == slot.slot_id and not booking.replayed
    assert len(numbers) == 4
    with pytest.raises(PlatformError) as full:
        book(client, BookingRequest(slot.slot_id, JOURNEY_MATTER, RESIDENT, PHONE,
                                    new_booking_key()))
    assert is_slot_full(full.value) and full.value.failure is Failure.RECORD
    assert RESIDENT not in str(full.value)
    after = {s.slot_id: s for s in day_slots(client, JOURNEY_MATTER, day)}
    assert after[slot.slot_id].remaining == 0


def test_a_retry_after_a_lost_answer_books_once(client: PlatformClient, server: PlatformServer):
    day = working_day(2)
    slot = day_slots(client, JOURNEY_MATTER, day)[0]
    request = BookingRequest(slot.slot_id, JOURNEY_MATTER, RESIDENT, PHONE, new_booking_key())
    server.set_faults({"reset_rate": 1.0, "phase": {"reset": "after"},
                       "paths": ["/api/v1/appointments$"], "methods": ["POST"],
                       "max_faults": 1})
    try:
        with pytest.raises(PlatformError) as lost:  # booked on the platform, answer lost
            book(client, request)
        assert lost.value.failure is Failure.TRANSIENT
    finally:
        server.set_faults({})
    retried = book(client, request)  # the same confirmation: the same key
    assert retried.replayed and retried.slot.slot_id == slot.slot_id
    again = book(client, request)
    assert again.appointment_no == retried.appointment_no
    left = {s.slot_id: s.remaining for s in day_slots(client, JOURNEY_MATTER, day)}
    assert left[slot.slot_id] == slot.remaining - 1, "one place taken, not two"
    other = book(client, BookingRequest(slot.slot_id, JOURNEY_MATTER, RESIDENT, PHONE,
                                        new_booking_key()))
    assert other.appointment_no != retried.appointment_no, "a new confirmation books anew"


def test_a_queue_ticket_for_today(client: PlatformClient):
    first = take_ticket(client, "广安区政务服务中心", JOURNEY_MATTER)
    second = take_ticket(client, "广安区政务服务中心", JOURNEY_MATTER)
    assert first.ticket_no != second.ticket_no and second.waiting >= 0
    with pytest.raises(PlatformError) as unknown:
        take_ticket(client, "大厅", "NO-SUCH-MATTER")
    assert unknown.value.status == 422
