"""Accessibility audit states of the appointment and queue-ticket screens (added to
:data:`screens.audit.STATES`).

The states run offline with throwaway data: the slots a platform would send are seeded
into the screen directly (working days after today, one hall, some times full), the person
is the sample card holder, and the printed slip's outcome is set as the printer would
report it. Nothing reaches for the network or the printer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from kiosk.applying.slips import AppointmentFacts, TicketFacts
from kiosk.platform.appointments import Slot
from screens.audit_apply import JOURNEY_MATTER, SAMPLE_PERSON

HALL = "广安区浓洄街道便民服务中心"
CHINA = timezone(timedelta(hours=8))
PHONE = "13812345678"


def sample_slots(days: int = 4) -> list[Slot]:
    """Half-hour slots of the next ``days`` working days, every third one full."""
    slots, day = [], date.today()
    while len({slot.day for slot in slots}) < days:
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        for index in range(8):
            start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=CHINA) + \
                timedelta(minutes=30 * index + (150 if index >= 6 else 0))
            places = 0 if index % 3 == 1 else 4 - index % 4
            slots.append(Slot(f"S{start:%Y%m%d%H%M}-1", HALL, start,
                              start + timedelta(minutes=30), places))
    return slots


def _appointment(app, step: str = "start"):
    app.start_session()
    app.show("appointment")
    screen = app.screen("appointment")
    if step != "start":
        screen.matter = app.services.catalog.matter(JOURNEY_MATTER)
        screen.slots = sample_slots()
        screen.hall = HALL
        screen.day = screen.free(HALL)[0].day
    return screen


def _matter(app) -> None:
    screen = _appointment(app)
    screen.go("matter")
    for letter in "jzz":
        screen.ids.desk_pad.on_key(letter, letter)


def _at(step: str, **extra) -> Callable[[object], None]:
    def state(app) -> None:
        screen = _appointment(app, step)
        if step in ("phone", "confirm", "full"):
            screen.slot = screen.free(HALL, screen.day)[0]
            screen.person = SAMPLE_PERSON
        if step == "confirm":
            screen._phone.set(PHONE)
        if step == "full":
            screen.full_slot = screen.slot
        screen.go(step)
        if step == "phone":
            for digit in PHONE[:7]:
                screen.ids.desk_pad.on_key(digit, digit)
    return state


def _booked(app, *, paper_out: bool) -> None:
    from screens.done import qr_texture

    screen = _appointment(app, "booked")
    slot = screen.free(HALL, screen.day)[0]
    screen.facts = AppointmentFacts.of(
        appointment_no="A20261201000007", matter_name=screen.matter.name,
        item_code=JOURNEY_MATTER, hall=slot.hall, start=slot.start, end=slot.end,
        id_number=SAMPLE_PERSON.id_number, phone=PHONE, kiosk_hall=app.services.config.kiosk.hall)
    screen.print_state = "failed" if paper_out else "printed"
    screen.print_problem = "paper_out" if paper_out else ""
    screen.qr = qr_texture("A20261201000007") if paper_out else None
    screen.go("booked")


def _ticket(app, step: str) -> None:
    app.start_session()
    app.show("ticket")
    screen = app.screen("ticket")
    screen.matter = app.services.catalog.matter(JOURNEY_MATTER)
    screen.hall_names = ["广安区政务服务中心", HALL]
    if step == "taken":
        screen.facts = TicketFacts("A012", 5, screen.matter.name, JOURNEY_MATTER, HALL)
        screen.print_state = "printed"
    screen.go(step)


APPOINTMENT_STATES: dict[str, Callable[[object], None]] = {
    "appointment-start": lambda app: _appointment(app),
    "appointment-matter": _matter,
    "appointment-day": _at("day"),
    "appointment-slot": _at("slot"),
    "appointment-phone": _at("phone"),
    "appointment-confirm": _at("confirm"),
    "appointment-full": _at("full"),
    "appointment-offline": _at("offline"),
    "appointment-booked": lambda app: _booked(app, paper_out=False),
    "appointment-paper-out": lambda app: _booked(app, paper_out=True),
    "ticket-hall": lambda app: _ticket(app, "hall"),
    "ticket-taken": lambda app: _ticket(app, "taken"),
    "ticket-offline": lambda app: _ticket(app, "offline"),
}
"""State name -> how to reach it from the attract screen."""
