"""Appointments (预约) and the shared frame of the queue-ticket screen (取号).

One question per page, each answered with one large button, because the citizens who book
at a kiosk are often elderly: book or take a ticket; which service (a few pinyin letters
on the same keyboard as the search, or the most used services); which hall; which day of
the next 15; which time with places left; the ID card; the mobile number on a keypad;
confirm. The booking goes to the platform with an ``Idempotency-Key`` made once per
confirmation, so the automatic retry after a timeout (and the citizen's "Try again") can
never take a second place. A time that filled up meanwhile (409 ``slot_full``) says so and
offers the next free times. The slip (:mod:`kiosk.applying.slips`) is printed; when the
printer cannot, its QR code is shown on screen.

Booking needs the platform: offline the screen says so at once and offers the guide and
staff instead (no dead end). Requests run on the fetch thread (``services.documents``) and
come back through Kivy's Clock; an answer that arrives after the visit ended or after the
citizen moved on is dropped (``_generation``). The screen shows the ID number only masked,
never a name or birth date, and forgets the person as soon as the booking is made;
:meth:`DeskScreen.reset` forgets everything when the visit ends.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.applying.applicant import mask_number
from kiosk.applying.receipts import mask_phone
from kiosk.applying.slips import AppointmentFacts, appointment_slip
from kiosk.models import Matter
from kiosk.platform.appointments import (
    Booking,
    BookingRequest,
    Slot,
    book,
    day_slots,
    is_slot_full,
    new_booking_key,
)
from screens import theme
from screens.composer import Composer
from screens.entry import EntryPad, FieldRow, pinyin_engine  # noqa: F401 (kv classes)
from screens.i18n import N_, tr
from screens.widgets import KioskScreen

log = logging.getLogger(__name__)

DAYS_AHEAD = 15
"""Days a citizen may book in: today and the 14 after it."""
MATTER_LIMIT = 8
NEXT_FREE = 4
"""Free times offered when the chosen one filled up meanwhile."""
PHONE_RE = re.compile(r"1[3-9]\d{9}")
"""A mainland mobile number: the platform's reminders go by SMS."""
BOOK_ATTEMPTS = 2
"""A booking whose answer was lost is sent once more at once, with the same key."""
PRINTER_PROBLEMS = {
    "paper_out": N_("The printer is out of paper."),
    "cover_open": N_("The printer's cover is open."),
    "offline": N_("The printer is not working right now."),
    "failed": N_("The printer is not working right now."),
}


@dataclass(frozen=True)
class Choice:
    """One large button of a page: its automation id, its words and what it does."""

    automation_id: str
    text: str
    action: Callable[[], None]
    color: tuple = theme.PRIMARY
    tall: bool = False  # a first choice of a screen: as large as a home tile
    light: bool = False  # one of a long list: light, so the list's scroll bar stands out


def day_words(day: date) -> str:
    """``12月1日 星期二`` / ``Tuesday 1 December`` in the current language."""
    from babel.dates import format_date

    if tr.language == "zh_CN":
        return format_date(day, "M月d日 EEEE", locale="zh_CN")
    return format_date(day, "EEEE d MMMM", locale="en_GB")


def time_words(slot: Slot) -> str:
    """``09:30-10:00`` in the hall's own time."""
    return f"{slot.start:%H:%M}-{slot.end:%H:%M}"


class DeskScreen(KioskScreen):
    """A prompt, an optional field with the keyboard, one large button per answer, and
    the page's own actions. Subclasses say which page is shown (``step``) and what it holds
    (``page_<step>``, returning the prompt, the choices and the actions)."""

    PREFIX = "desk"
    FIRST_STEP = "matter"
    service = "appointment"  # what a rating of this screen's service is about
    step = StringProperty("")
    prompt = StringProperty("")
    problem = BooleanProperty(False)  # the prompt says what went wrong
    field_shown = BooleanProperty(False)
    field_label = StringProperty("")
    field_value = StringProperty("")
    field_hint = StringProperty("")
    field_message = StringProperty("")
    detail = StringProperty("")  # a summary under the prompt (the booking, the ticket)
    qr = ObjectProperty(None, allownone=True)  # the slip's QR code when it could not print
    choice_cols = NumericProperty(1)

    def __init__(self, **kwargs) -> None:
        self.matter: Matter | None = None
        self._generation = 0  # bumped whenever an answer on its way must be dropped
        self._print_job = 0
        self._query = Composer(pinyin_engine, chinese=True, max_length=20)
        self._starting = False
        self._away = False  # the citizen went to a screen this one sent them to
        self._slip: tuple[Any, str] | None = None  # what to print again, and its QR text
        self.print_state = ""  # printing | printed | failed
        self.print_problem = ""
        super().__init__(**kwargs)

    # -- pages -------------------------------------------------------------------------------
    def go(self, step: str) -> None:
        """Show page ``step``."""
        self.step = step
        self.render()

    def render(self, *_args) -> None:
        """Build the current page in the current language."""
        if not self.step:
            self.step = self.FIRST_STEP
        prompt, choices, actions = getattr(self, f"page_{self.step}")()
        self.prompt = prompt
        self.problem = self.step in ("offline", "failed", "full", "unknown")
        self._fill(self.ids.desk_choices, choices)
        self._fill(self.ids.desk_actions, actions)
        self.ids.desk_view.scroll_y = 1
        if self.step not in ("matter", "phone"):
            self.field_shown = False
            self.ids.desk_pad.attach(None)

    def _fill(self, box, choices: list[Choice]) -> None:
        box.clear_widgets()
        for choice in choices:
            button = Factory.DeskButton(text=choice.text, bg_color=choice.color)
            if choice.light:
                button.bg_color, button.fg_color = theme.PRIMARY_LIGHT, theme.PRIMARY
            if choice.tall:
                button.min_height = dp(200)
                button.font_size = theme.FONT_LARGE
            button.automation_id = f"{self.PREFIX}_{choice.automation_id}"
            button.bind(on_release=lambda _w, action=choice.action: action())
            box.add_widget(button)

    def busy(self, prompt: str) -> tuple[str, list[Choice], list[Choice]]:
        """A page while the platform is asked: words only, and the action bar."""
        return prompt, [], []

    # -- the service ---------------------------------------------------------------------------
    def page_matter(self) -> tuple[str, list[Choice], list[Choice]]:
        """Which service: type a few letters, or tap one of the most used."""
        self.field_shown = True
        self.field_label = tr._("Service name: pinyin, initials or characters")
        self.field_hint = tr._("Type with the keyboard below")
        self.field_message = ""
        self.field_value = self._query.value
        self.ids.desk_pad.attach(self._query, "pinyin", self._query_changed)
        query = self._query.value.strip()
        catalog = self.services.catalog
        if query:
            matters = [hit.matter for hit in catalog.search(query, limit=MATTER_LIMIT)]
            prompt = tr._("Tap your service:") if matters else \
                tr._("No matching service. Try fewer letters, or call staff.")
        else:
            matters = self.services.browser.most_used_first(catalog.matters())[:MATTER_LIMIT]
            prompt = tr._("Which service is it for? Type a few letters (e.g. jzz for 居住证), or tap one of the most used services:")  # noqa: E501
        choices = [Choice(f"matter_{number}", f"{matter.name}\n{matter.department}",
                          lambda matter=matter: self.choose_matter(matter), light=True)
                   for number, matter in enumerate(matters, start=1)]
        return prompt, choices, []

    def _query_changed(self, value: str) -> None:
        self.field_value = value
        self.render()

    def choose_matter(self, matter: Matter) -> None:
        """A service was chosen: the subclass goes on (to the platform)."""
        self.matter = matter

    # -- offline and failures --------------------------------------------------------------
    def online(self) -> bool:
        """Whether the platform answered the last health probe."""
        return App.get_running_app().online is True

    def no_dead_end(self) -> list[Choice]:
        """The guide of the matter (or the search when none is chosen) and call staff."""
        app = App.get_running_app()
        if self.matter is not None:
            guide = Choice("guide", tr._("Read the service guide"),
                           self.away(lambda: app.open_matter(self.matter)))
        else:
            guide = Choice("guide", tr._("Find a service guide"),
                           self.away(lambda: app.show("search")))
        return [guide, Choice("call_staff", tr._("Call staff"), app.call_staff, theme.DANGER)]

    def ask(self, request: Callable[[Any], Any], answered: Callable[[Any, Any], None]) -> None:
        """Run ``request(client)`` on the fetch thread; ``answered(result, error)`` on the UI
        thread, unless the visit or the page moved on meanwhile."""
        self._generation += 1
        generation = self._generation

        def done(result, error) -> None:  # on the fetch thread: no widget here
            Clock.schedule_once(lambda _dt: generation == self._generation
                                and answered(result, error))

        self.services.documents.call(request, done)

    # -- printing ------------------------------------------------------------------------------
    def print_slip(self, receipt, qr_text: str) -> None:
        """Print on a worker thread (seconds on a serial printer); the outcome comes back."""
        from screens.done import qr_texture

        self._slip = (receipt, qr_text)
        self.print_state = "printing"
        self.qr = None
        devices = self.services.devices
        self._print_job += 1
        job = self._print_job

        def run() -> None:
            outcome = devices.print_receipt(receipt)
            Clock.schedule_once(lambda _dt: self._printed(outcome, job, qr_texture))

        threading.Thread(target=run, name=f"print-{self.PREFIX}", daemon=True).start()
        self.render()

    def _printed(self, outcome, job: int, qr_texture) -> None:
        if job != self._print_job:
            return  # an earlier visit's slip
        if outcome.printed:
            self.print_state = "printed"
        else:
            self.print_state = "failed"
            self.print_problem = outcome.problem or "failed"
            self.qr = qr_texture(self._slip[1])
        self.render()
        if self.print_state == "failed":
            App.get_running_app().say(self.spoken_text())

    def print_again(self) -> None:
        """"Print again" (paper refilled, cover closed)."""
        if self.print_state == "failed" and self._slip is not None:
            self.print_slip(*self._slip)

    def finished_actions(self) -> list[Choice]:
        """After the booking or the ticket: print again (when it failed), rate, finish."""
        actions = []
        if self.print_state == "failed":
            actions.append(Choice("print_again", tr._("Print again"), self.print_again))
        return [*actions, Choice("rate", tr._("Rate this service"), self.rate,
                                 theme.PRIMARY_DARK),
                Choice("finish", tr._("Finish"), self.finish, theme.SUCCESS)]

    def rate(self) -> None:
        """The optional 好差评 of the service just finished (never forced)."""
        code = self.facts.item_code if self.facts else (
            self.matter.item_code if self.matter else "")
        self.away(lambda: App.get_running_app().offer_evaluation(code, service=self.service))()

    def finish(self) -> None:
        App.get_running_app().end_session()

    def print_words(self) -> str:
        """What became of the slip, in plain words."""
        if self.print_state == "printing":
            return tr._("Printing your slip...")
        if self.print_state == "printed":
            return tr._("Please take your slip from the printer below the screen.")
        if self.print_state == "failed":
            problem = PRINTER_PROBLEMS.get(self.print_problem, PRINTER_PROBLEMS["failed"])
            return tr._(problem) + " " + tr._("Please photograph the QR code on the screen, or note the number. You can print again once staff have fixed the printer.")  # noqa: E501
        return ""

    # -- lifecycle ----------------------------------------------------------------------------
    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        # text size changes re-render the page shown; none is shown after the visit ended
        # (a render then would bring back the last visit's matter list)
        self._render_soon = Clock.create_trigger(lambda *_a: self.step and self.render())
        App.get_running_app().bind(text_scale=self._render_soon)

    def on_pre_enter(self, *args) -> None:
        """Coming back from a screen this one sent the citizen to (the card, a guide) goes
        on where it was; any other way in (the home tile) starts afresh."""
        returning = self._starting or self._away
        self._starting = self._away = False
        if not returning or not self.step:
            self.begin()
            return
        self.render()

    def away(self, go: Callable[[], None]) -> Callable[[], None]:
        """``go`` to another screen, to come back to this page afterwards."""
        def leave() -> None:
            self._away = True
            go()
        return leave

    def begin(self) -> None:
        """The first page, with nothing of an earlier attempt."""
        self.forget()
        self.go(self.FIRST_STEP)

    def forget(self) -> None:
        """Drop every answer of this screen (and any request or slip on its way)."""
        self._generation += 1
        self._print_job += 1
        self.matter = None
        self._query.reset()
        self._slip = None
        self.print_state = self.print_problem = ""
        self.qr = None
        self.detail = ""
        self.field_value = self.field_message = ""

    def on_language(self, language: str) -> None:
        self.ids.desk_pad.on_language(language)
        if self.step:
            self.render()

    def spoken_text(self) -> str:
        """The title, the question or the news, and the summary (never the ID number)."""
        return "\n".join(part for part in (self.title, self.prompt, self.detail) if part)

    def reset(self) -> None:
        """Visit ended: nothing of it remains."""
        self.forget()
        self.step = ""
        self.prompt = ""
        self.ids.desk_pad.attach(None)
        self.field_shown = False
        for box in (self.ids.desk_choices, self.ids.desk_actions):
            box.clear_widgets()


class AppointmentScreen(DeskScreen):
    """Book a time at a hall, or go to the queue ticket."""

    PREFIX = "appointment"
    FIRST_STEP = "start"

    def __init__(self, **kwargs) -> None:
        self.slots: list[Slot] = []  # every slot of the 15 days, as last fetched
        self.hall = ""
        self.day: date | None = None
        self.slot: Slot | None = None
        self.person = None  # the Applicant until the booking is made; then forgotten
        self._phone = Composer(pinyin_engine, chinese=False, max_length=11)
        self._key = ""  # Idempotency-Key of the confirmation being sent
        self.booking: Booking | None = None
        self.facts: AppointmentFacts | None = None
        self.full_slot: Slot | None = None
        super().__init__(**kwargs)

    # -- entry points ----------------------------------------------------------------------
    def start(self, matter: Matter) -> None:
        """From a guide: book for this matter (the matter page is skipped)."""
        self.forget()
        app = App.get_running_app()
        self._starting = True
        app.show(self.name)
        self.choose_matter(matter)

    def page_start(self) -> tuple[str, list[Choice], list[Choice]]:
        app = App.get_running_app()
        return tr._("What would you like to do?"), [
            Choice("book", tr._("Book an appointment") + "\n" + tr._(
                "Choose a day and time to come back"), self.book_chosen, tall=True),
            Choice("ticket", tr._("Take a queue ticket for today") + "\n" + tr._(
                "Wait for your number here"), lambda: app.show("ticket"), theme.PRIMARY_DARK,
                tall=True),
        ], []

    def book_chosen(self) -> None:
        self.go("matter" if self.online() else "offline")

    # -- the platform's slots ----------------------------------------------------------------
    def choose_matter(self, matter: Matter) -> None:
        super().choose_matter(matter)
        if not self.online():
            self.go("offline")
            return
        self.go("loading")
        code = matter.item_code
        first = date.today()

        def request(client) -> list[Slot]:  # on the fetch thread
            found: list[Slot] = []
            for offset in range(DAYS_AHEAD):
                found += day_slots(client, code, first + timedelta(days=offset))
            return found

        self.ask(request, self._slots_arrived)

    def _slots_arrived(self, slots, error) -> None:
        if error is not None:
            log.info("slots could not be fetched: %s", type(error).__name__)
            self.go("unknown" if getattr(error, "status", None) in (404, 422) else "offline")
            return
        now = datetime.now().astimezone()
        self.slots = [slot for slot in slots if slot.start > now]
        if self.full_slot is not None:
            self.go("full")
            return
        halls = self.halls()
        if len(halls) == 0:
            self.go("none")
        else:
            self.go("hall")

    def free(self, hall: str | None = None, day: date | None = None) -> list[Slot]:
        """Slots with places left, in time order, of ``hall`` and ``day`` when given."""
        return [slot for slot in self.slots if slot.remaining > 0
                and (hall is None or slot.hall == hall) and (day is None or slot.day == day)]

    def halls(self) -> list[str]:
        """The halls with a free time, in the order of their first free time."""
        return list(dict.fromkeys(slot.hall for slot in self.free()))

    def page_loading(self):
        return self.busy(tr._("Asking the provincial platform for free times..."))

    def page_none(self):
        return (tr._("No free times in the next 15 days for this service. Please take a queue ticket for today, or ask staff."),  # noqa: E501
                [Choice("ticket", tr._("Take a queue ticket for today"),
                        lambda: App.get_running_app().show("ticket"))], self.no_dead_end())

    def page_hall(self):
        choices = [Choice(f"hall_{number}", hall, lambda hall=hall: self.choose_hall(hall))
                   for number, hall in enumerate(self.halls(), start=1)]
        return tr._("Which service hall will you go to?"), choices, []

    def choose_hall(self, hall: str) -> None:
        self.hall = hall
        self.go("day")

    def page_day(self):
        self.choice_cols = 2
        days = list(dict.fromkeys(slot.day for slot in self.free(self.hall)))
        choices = [Choice(f"day_{number}", day_words(day) + "\n" + tr._(
            "{count} times free").format(count=len(self.free(self.hall, day))),
            lambda day=day: self.choose_day(day))
            for number, day in enumerate(days, start=1)]
        return tr._("Which day? Days not shown are full or closed.") + "\n" + self.hall, \
            choices, []

    def choose_day(self, day: date) -> None:
        self.day = day
        self.go("slot")

    def page_slot(self):
        self.choice_cols = 2
        choices = [Choice(f"slot_{number}", time_words(slot) + "\n" + tr._(
            "{count} places left").format(count=slot.remaining),
            lambda slot=slot: self.choose_slot(slot))
            for number, slot in enumerate(self.free(self.hall, self.day), start=1)]
        return tr._("Which time on {day}?").format(day=day_words(self.day)), choices, \
            [Choice("other_day", tr._("Another day"), lambda: self.go("day"),
                    theme.PRIMARY_DARK)]

    def choose_slot(self, slot: Slot) -> None:
        """A time was chosen: who books it (the card), unless already known."""
        self.slot = slot
        self._key = ""  # another confirmation
        if self.person is None:
            app = App.get_running_app()
            app.screen("identify").role = "appointment"
            self.away(lambda: app.show("identify"))()
        else:
            self.go("phone" if not PHONE_RE.fullmatch(self._phone.value) else "confirm")

    def identified(self, person) -> None:
        """The identify screen read a card (or a typed number): the phone comes next."""
        self.person = person
        app = App.get_running_app()
        if app.manager.current != self.name:
            self._starting = True
            if app.history and app.history[-1] == self.name:
                app.back()
            else:
                app.show(self.name, remember=False)
        self.go("phone")
        app.say(self.spoken_text())

    # -- the phone ------------------------------------------------------------------------------
    def page_phone(self):
        self.field_shown = True
        self.field_label = tr._("Mobile phone number (11 digits), for the reminder")
        self.field_hint = tr._("Type with the keypad below")
        self.field_value = self._phone.value
        self.ids.desk_pad.attach(self._phone, "numeric", self._phone_changed)
        ready = bool(PHONE_RE.fullmatch(self._phone.value))
        actions = [Choice("phone_next", tr._("Next"), self.phone_done)] if ready else []
        return tr._("Your mobile phone number:"), [], actions

    def _phone_changed(self, value: str) -> None:
        digits = "".join(ch for ch in value if ch.isdigit())
        if digits != value:
            self._phone.set(digits)
        self.field_value = digits
        self.field_message = "" if len(digits) < 11 or PHONE_RE.fullmatch(digits) else \
            tr._("This is not a mobile number. Please check it.")
        self._render_soon()

    def phone_done(self) -> None:
        if PHONE_RE.fullmatch(self._phone.value):
            self._key = ""
            self.go("confirm")

    # -- confirm and book ----------------------------------------------------------------------
    def summary(self) -> str:
        """Service, hall, time, masked number and phone: what the booking will say."""
        slot, matter = self.slot, self.matter
        lines = [tr._("Service: {name}").format(name=matter.name if matter else ""),
                 tr._("Hall: {hall}").format(hall=slot.hall if slot else ""),
                 tr._("Time: {day} {time}").format(day=day_words(slot.day) if slot else "",
                                                   time=time_words(slot) if slot else "")]
        if self.person is not None:
            lines.append(tr._("ID number: {number}").format(
                number=mask_number(self.person.id_number)))
        if self._phone.value:
            lines.append(tr._("Mobile: {phone}").format(phone=mask_phone(self._phone.value)))
        return "\n".join(lines)

    def page_confirm(self):
        self.detail = self.summary()
        return tr._("Please check and confirm your appointment:"), [], [
            Choice("confirm", tr._("Confirm the appointment"), self.confirm, theme.SUCCESS),
            Choice("change", tr._("Choose another time"), lambda: self.go("slot"),
                   theme.PRIMARY_DARK)]

    def confirm(self) -> None:
        """Send the booking: a key made now for this confirmation, kept for its retries."""
        if self.slot is None or self.person is None or self.matter is None:
            return
        if not self.online():
            self.go("offline")
            return
        if not self._key:
            self._key = new_booking_key()
        request = BookingRequest(self.slot.slot_id, self.matter.item_code,
                                 self.person.id_number, self._phone.value, self._key)
        self.go("booking")

        def send(client) -> Booking:  # on the fetch thread
            from kiosk.platform.client import Failure, PlatformError

            for attempt in range(BOOK_ATTEMPTS):
                try:
                    return book(client, request)
                except PlatformError as error:  # lost answer: the same key, once more
                    if error.failure is not Failure.TRANSIENT or attempt + 1 == BOOK_ATTEMPTS:
                        raise
            raise AssertionError("unreachable")

        self.ask(send, self._booked)

    def page_booking(self):
        return self.busy(tr._("Booking your appointment with the provincial platform..."))

    def _booked(self, booking, error) -> None:
        if is_slot_full(error):
            self.full_slot = self.slot
            self.slot = None
            self._key = ""
            self.choose_matter(self.matter)  # fetch again: what is free now
            return
        if error is not None:
            log.info("booking failed: %s", type(error).__name__)
            self.go("failed")
            return
        self.booking = booking
        self.facts = AppointmentFacts.of(
            appointment_no=booking.appointment_no, matter_name=self.matter.name,
            item_code=self.matter.item_code, hall=booking.slot.hall, start=booking.slot.start,
            end=booking.slot.end, id_number=self.person.id_number, phone=self._phone.value,
            kiosk_hall=self.services.config.kiosk.hall)
        self.person = None  # booked: the full number is no longer needed
        self._phone.reset(chinese=False)
        self._key = ""
        App.get_running_app().history.clear()
        self.detail = ""
        self.step = "booked"
        self.print_slip(appointment_slip(self.facts), booking.appointment_no)
        App.get_running_app().say(self.spoken_text())

    def page_failed(self):
        return (tr._("The appointment could not be confirmed just now: the provincial platform did not answer. Please try again; you will not be booked twice."),  # noqa: E501
                [], [Choice("retry", tr._("Try again"), self.confirm, theme.SUCCESS),
                     *self.no_dead_end()])

    def page_full(self):
        full = self.full_slot
        following = [slot for slot in self.free(full.hall if full else None)
                     if full is None or (slot.start >= full.start
                                         and slot.slot_id != full.slot_id)][:NEXT_FREE]
        choices = [Choice(f"next_{number}", f"{day_words(slot.day)}\n{time_words(slot)}",
                          lambda slot=slot: self.take_next(slot))
                   for number, slot in enumerate(following, start=1)]
        when = f"{day_words(full.day)} {time_words(full)}" if full else ""
        prompt = tr._("Sorry, {when} was just fully booked by someone else. These times still have places:").format(when=when)  # noqa: E501
        return prompt, choices, [Choice("other_day", tr._("Another day"), self._other_day,
                                        theme.PRIMARY_DARK)]

    def take_next(self, slot: Slot) -> None:
        self.full_slot = None
        self.hall, self.day = slot.hall, slot.day
        self.choose_slot(slot)

    def _other_day(self) -> None:
        self.full_slot = None
        self.go("day" if self.hall else "hall")

    def page_booked(self):
        facts = self.facts
        self.detail = "\n".join([
            self.print_words(), "",
            tr._("Service: {name}").format(name=facts.matter_name),
            tr._("Hall: {hall}").format(hall=facts.hall),
            tr._("Time: {day} {time}").format(day=day_words(facts.start.date()),
                                              time=f"{facts.start:%H:%M}-{facts.end:%H:%M}"),
            tr._("Please come 10 minutes early with your ID card."),
        ]) if facts else ""
        actions = self.finished_actions()
        prompt = tr._("Your appointment is booked.")
        if facts:  # the number first and large: it is what the counter asks for
            prompt += "\n" + tr._("Appointment number: {number}").format(
                number=facts.appointment_no)
        return prompt, [], actions

    # -- offline and unknown ------------------------------------------------------------------
    def page_offline(self):
        return (tr._("Booking an appointment needs the network, and this kiosk cannot reach the provincial platform now. You can read the service guide here, or ask staff to book for you."),  # noqa: E501
                [], self.no_dead_end())

    def page_unknown(self):
        return (tr._("This service cannot be booked at this kiosk. Please read its guide, or ask staff."),  # noqa: E501
                [], self.no_dead_end())

    # -- lifecycle -----------------------------------------------------------------------------
    def render(self, *_args) -> None:
        self.choice_cols = 1
        if self.step not in ("confirm", "booked"):
            self.detail = ""
        super().render()

    def forget(self) -> None:
        super().forget()
        self.slots = []
        self.hall = ""
        self.day = self.slot = self.person = self.booking = self.facts = None
        self.full_slot = None
        self._phone.reset(chinese=False)
        self._key = ""


Builder.load_file(os.path.join(os.path.dirname(__file__), "appointment.kv"))
