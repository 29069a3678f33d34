"""Queue tickets (取号) for today: which service, which hall; a printed ticket with the
number and the people waiting before it.

The halls offered are those where the platform takes this service today (its slots of
today), those its guide names, and this kiosk's own hall when neither says anything. A
ticket needs the platform (the number comes from the hall's queue): offline the screen says
so and offers the guide and staff. No personal data is asked, shown or printed.
"""

from __future__ import annotations

import logging
import os
from datetime import date

from kivy.app import App
from kivy.lang import Builder

from kiosk.applying.slips import TicketFacts, ticket_slip
from kiosk.models import Matter
from kiosk.platform.appointments import Slot, Ticket, day_slots, take_ticket
from screens import theme
from screens.appointment import Choice, DeskScreen
from screens.i18n import tr

log = logging.getLogger(__name__)


class TicketScreen(DeskScreen):
    """Matter, hall, ticket."""

    PREFIX = "ticket"
    FIRST_STEP = "matter"
    service = "ticket"

    def __init__(self, **kwargs) -> None:
        self.hall_names: list[str] = []
        self.ticket: Ticket | None = None
        self.facts: TicketFacts | None = None
        super().__init__(**kwargs)

    def choose_matter(self, matter: Matter) -> None:
        super().choose_matter(matter)
        if not self.online():
            self.go("offline")
            return
        self.go("loading")
        code = matter.item_code
        self.ask(lambda client: day_slots(client, code, date.today()), self._halls_arrived)

    def _halls_arrived(self, slots: list[Slot] | None, error) -> None:
        if error is not None and getattr(error, "status", None) not in (404, 422):
            log.info("today's halls could not be fetched: %s", type(error).__name__)
            self.go("offline")
            return
        halls = [slot.hall for slot in slots or []]
        guide = self.services.catalog.guide(self.matter.item_code) if self.matter else None
        halls += [place.hall for place in (guide.locations if guide else ()) if place.hall]
        self.hall_names = list(dict.fromkeys(halls)) or [self.services.config.kiosk.hall]
        self.go("hall")

    def page_loading(self):
        return self.busy(tr._("Asking the provincial platform..."))

    def page_hall(self):
        choices = [Choice(f"hall_{number}", hall, lambda hall=hall: self.take(hall))
                   for number, hall in enumerate(self.hall_names, start=1)]
        return tr._("Which service hall are you in? Tap it to take your ticket."), choices, []

    def take(self, hall: str) -> None:
        """Ask the platform for a numbered ticket in ``hall``."""
        if self.matter is None:
            return
        if not self.online():
            self.go("offline")
            return
        code, name = self.matter.item_code, self.matter.name
        self.go("taking")
        self.ask(lambda client: take_ticket(client, hall, code),
                 lambda ticket, error: self._taken(ticket, error, hall, name, code))

    def page_taking(self):
        return self.busy(tr._("Taking your ticket..."))

    def _taken(self, ticket: Ticket | None, error, hall: str, name: str, code: str) -> None:
        if error is not None or ticket is None:
            log.info("no ticket: %s", type(error).__name__)
            self.go("failed")
            return
        self.ticket = ticket
        self.facts = TicketFacts(ticket.ticket_no, ticket.waiting, name, code, hall)
        App.get_running_app().history.clear()
        self.step = "taken"
        self.print_slip(ticket_slip(self.facts), ticket.ticket_no)
        App.get_running_app().say(self.spoken_text())

    def page_taken(self):
        facts = self.facts
        self.detail = "\n".join([
            self.print_words(), "",
            tr._("People waiting before you: {count}").format(count=facts.waiting),
            tr._("Hall: {hall}").format(hall=facts.hall),
            tr._("Service: {name}").format(name=facts.matter_name),
            tr._("Please watch the screens in the hall for your number."),
        ]) if facts else ""
        actions = self.finished_actions()
        prompt = tr._("Here is your queue ticket.")
        if facts:
            prompt += "\n" + tr._("Your number: {number}").format(number=facts.ticket_no)
        return prompt, [], actions

    def page_failed(self):
        return (tr._("No ticket could be taken just now: the provincial platform did not answer. Please try again, or ask staff."),  # noqa: E501
                [], [Choice("retry", tr._("Try again"), lambda: self.go("hall"), theme.SUCCESS),
                     *self.no_dead_end()])

    def page_offline(self):
        return (tr._("A queue ticket needs the network, and this kiosk cannot reach the provincial platform now. Please ask staff at the counter for a number, or read the service guide here."),  # noqa: E501
                [], self.no_dead_end())

    def render(self, *_args) -> None:
        self.choice_cols = 1
        if self.step != "taken":
            self.detail = ""
        super().render()

    def forget(self) -> None:
        super().forget()
        self.hall_names = []
        self.ticket = self.facts = None


Builder.load_file(os.path.join(os.path.dirname(__file__), "ticket.kv"))
