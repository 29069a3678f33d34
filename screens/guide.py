"""Office guide of one matter, as far as the kiosk has data for it.

The shipped catalogue holds names, departments, codes and task types only; materials, steps
and time limits come with the platform's guides, which the sync worker caches for offline
use. Until a matter's guide has arrived the screen says so plainly instead of showing
invented text; the reference platform's sample guides keep their 【示例】 mark on screen.
"""

from __future__ import annotations

import os
import re

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from kiosk.finding.guide_slip import guide_link, guide_slip
from kiosk.finding.guides import Guide
from kiosk.finding.offering import offered_services
from kiosk.i18n import task_type_label
from screens.done import PRINTER_PROBLEMS, qr_texture
from screens.guide_fetch import GuideFetcher
from screens.i18n import tr
from screens.slip_printing import SlipPrinter
from screens.widgets import KioskScreen


class GuideScreen(KioskScreen):
    """Facts of the chosen matter and what the citizen can do next."""

    name_text = StringProperty("")
    department = StringProperty("")
    task_type = StringProperty("")
    item_code = StringProperty("")
    area_code = StringProperty("")
    guide_text = StringProperty("")  # empty: the platform's guide has not arrived yet
    fetching = BooleanProperty(False)  # the guide is being fetched from the platform now
    can_apply = BooleanProperty(False)  # the matter has an application form on this kiosk
    can_book = BooleanProperty(False)  # appointments are offered at this kiosk
    link = StringProperty("")  # the guide's web page for phones ('' when none configured)
    show_link = BooleanProperty(False)  # the QR code of ``link`` is shown
    link_qr = ObjectProperty(None, allownone=True)
    print_message = StringProperty("")  # how printing the take-away guide went

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._guides: GuideFetcher | None = None  # made on first use (needs the services)
        self._printer: SlipPrinter | None = None

    def on_pre_enter(self, *args) -> None:
        matter = self.services.session.matter
        if matter is None:
            self.reset()
            return
        self.name_text = matter.name
        self.department = matter.department
        self.task_type = task_type_label(matter.task_type, matter.task_type_name, tr.language)
        self.item_code = matter.item_code
        self.area_code = matter.area_code
        guide = self.services.catalog.guide(matter.item_code)
        self.can_apply = self.services.catalog.form_document(matter.item_code)[0] is not None
        self.guide_text = guide_text(guide) if guide else ""
        self.fetching = False
        site = App.get_running_app().site  # a branch may offer no appointments
        self.can_book = "appointment" in (site.tiles() if site else offered_services())
        link = guide_link(self.services.config.kiosk.guide_link, matter.item_code)
        if link != self.link:
            self.link, self.show_link, self.link_qr = link, False, None
        if guide is None:
            self._fetch(matter.item_code)

    def _fetch(self, code: str) -> None:
        """Online, a guide not cached yet is fetched now, once per visit (a failure shows the
        plain "not received yet" text, not a spinner that never ends)."""
        if self._guides is None:
            self._guides = GuideFetcher(self.services, self._fetched)
        self.fetching = self._guides.fetch(code)

    def _fetched(self, code: str, _stored: bool) -> None:
        matter = self.services.session.matter
        if matter is not None and matter.item_code == code and self.manager \
                and self.manager.current == self.name:
            self.on_pre_enter()

    def apply(self) -> None:
        """"Apply for this service here": the apply journey starts with this matter."""
        matter = self.services.session.matter
        if matter is not None:
            App.get_running_app().flow.start(matter)

    def book(self) -> None:
        """"Book an appointment" for this matter (the appointment screen, at its matter)."""
        matter = self.services.session.matter
        screen = App.get_running_app().screen("appointment")
        if matter is not None and hasattr(screen, "start"):
            screen.start(matter)

    # -- taking the guide away ------------------------------------------------------------
    def print_guide(self) -> None:
        """Print the short guide on the receipt printer (on a worker thread)."""
        matter = self.services.session.matter
        guide = self.services.catalog.guide(matter.item_code) if matter else None
        if guide is None:
            return
        if self._printer is None:
            self._printer = SlipPrinter(self.services.devices, self._printed, "print-guide")
        if self._printer.printing:
            return
        from datetime import datetime

        self.print_message = tr._("Printing the guide...")
        self._printer.print(guide_slip(matter, guide, hall=self.services.config.kiosk.hall,
                                       printed_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
                                       link=self.link))

    def _printed(self, outcome) -> None:
        if outcome.printed:
            self.print_message = tr._("The guide is printed. Please take it from the slot below the screen.")  # noqa: E501
        else:
            problem = PRINTER_PROBLEMS.get(outcome.problem or "failed", PRINTER_PROBLEMS["failed"])
            self.print_message = tr._(problem) + " " + (
                tr._("Scan the code below with your phone instead, or ask staff.") if self.link
                else tr._("Please ask staff, or photograph the guide on the screen."))
            if self.link:
                self.toggle_link(True)
        App.get_running_app().say(self.print_message)

    def toggle_link(self, show: bool | None = None) -> None:
        """Show (or hide) the QR code that opens this guide on the citizen's phone."""
        self.show_link = (not self.show_link) if show is None else show
        if self.show_link and self.link_qr is None and self.link:
            self.link_qr = qr_texture(self.link)

    def on_language(self, language: str) -> None:
        self.on_pre_enter()

    def spoken_text(self) -> str:
        """The matter's name, department, and the guide (or that it has not arrived)."""
        guide = re.sub(r"\[/?b\]", "", self.ids.guide_pending.text)
        return "\n".join(part for part in (self.name_text, self.department, guide) if part)

    def reset(self) -> None:
        """Show nothing of the previous visit."""
        self.name_text = self.department = self.task_type = self.item_code = ""
        self.area_code = self.guide_text = ""
        self.fetching = False
        self.can_apply = self.can_book = self.show_link = False
        self.link, self.link_qr, self.print_message = "", None, ""
        if self._printer is not None:
            self._printer.forget()
        if self._guides is not None:
            self._guides.forget()


def guide_text(guide: Guide) -> str:
    """The guide as one block of text with Kivy markup, in the current language."""
    lines = []
    if guide.is_sample:
        lines += [tr._("Sample guide from the demonstration platform, not real office guidance."),
                  ""]
    lines.append(_bold(tr._("Required materials")))
    for material in guide.materials:
        kind = tr._("original and copy") if material.original else tr._("copy")
        amount = tr._("{kind}, copies: {copies}").format(kind=kind, copies=material.copies)
        lines.append(f"•  {material.name}  ({amount})")
        if material.note:
            lines.append(f"    {material.note}")
    if guide.steps:
        lines += ["", _bold(tr._("Steps"))]
        lines += [f"{number}. {step}" for number, step in enumerate(guide.steps, start=1)]
    days = tr._("{days} working days").format(days=guide.time_limit_days)
    lines += ["", _bold(tr._("Time limit")) + "  " + days]
    if guide.fee:
        lines.append(_bold(tr._("Fee")) + "  " + guide.fee)
    visits = str(guide.visits_required) if guide.visits_required else \
        tr._("none: no visit needed")
    lines.append(_bold(tr._("Visits in person")) + "  " + visits)
    for place in guide.locations:
        lines += ["", _bold(tr._("Where")) + "  " + place.hall]
        lines += [f"    {text}" for text in (place.address, place.window, place.hours) if text]
    return "\n".join(_escape(line) for line in lines)


def _bold(text: str) -> str:
    return f"[b]{text}[/b]"


def _escape(line: str) -> str:
    """Escape square brackets the platform's text might hold, keeping our own [b] tags."""
    from kivy.utils import escape_markup

    parts = line.replace("[b]", "\0b").replace("[/b]", "\0/b")
    return escape_markup(parts).replace("\0b", "[b]").replace("\0/b", "[/b]")


Builder.load_file(os.path.join(os.path.dirname(__file__), "guide.kv"))
