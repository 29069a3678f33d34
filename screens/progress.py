"""Progress (进度查询): find an application by its receipt QR code, a typed number or the ID
card, and show each application's timeline in plain words with what to do next.

The camera reads the receipt's QR code as the identify screen reads e-ID codes; a typed
receipt number is checked by its check character before the platform is asked; the card
goes through the identify screen (role "progress") and comes back here. The platform is
asked on the fetch thread and answers through the Clock; offline (or when the platform
cannot be reached) the screen says so and shows what this kiosk's outbox knows, with the
time each status was last known. :mod:`kiosk.applying.progress` decides what each answer
means; this module says it in words. Everything shown is forgotten by :meth:`reset`.
"""

from __future__ import annotations

import os
import time
from datetime import date, datetime

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, OptionProperty, StringProperty

from kiosk.applying.applicant import Applicant
from kiosk.applying.progress import (
    ApplicationProgress,
    NumberError,
    from_platform,
    kiosk_state_of,
    merge,
    own_progress,
    own_progress_of,
    read_number,
    remember,
)
from kiosk.applying.receipt_numbers import make_receipt_number
from kiosk.applying.receipts import ReceiptQRError, parse_receipt_qr
from screens import theme
from screens.camera_view import CameraView  # noqa: F401 (registers the kv class)
from screens.i18n import tr
from screens.keyboard import DockedKeyboard  # noqa: F401 (registers the kv class)
from screens.widgets import KioskScreen

MODES = ("scan", "type", "busy", "result")
MAX_TYPED = 52
"""Longer than any receipt number (51 characters)."""
CARDS_PER_FRAME = 3
"""Cards built per frame: the first three fill a screen; the rest follow frame by frame."""


def receipt_layouts() -> dict[str, dict]:
    """The keyboard of receipt numbers: capitals, digits, the hyphen and '*' (the check
    character may be '*'), Delete, Clear and Check; one layout per language."""
    letters = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")

    def keys(chars: str) -> list[list]:
        return [[char, char, char, 1] for char in chars]

    layouts = {}
    for language, (delete, clear, check) in {"zh_CN": ("删除", "清空", "查询"),
                                             "en": ("Delete", "Clear", "Check")}.items():
        rows = {
            "normal_1": [*keys("1234567890"), [delete, None, "backspace", 2]],
            "normal_2": [*keys(letters[0]), ["-", "-", "-", 2]],
            "normal_3": [*keys(letters[1]), [clear, None, "clear", 3]],
            "normal_4": [*keys(letters[2]), ["*", "*", "*", 1], [check, None, "enter", 4]],
        }
        layout = {"title": "Receipt", "description": "Receipt and application numbers",
                  "cols": 12, "rows": 4, **rows}
        for line in range(1, 5):
            for mode in ("shift", "special"):
                layout[f"{mode}_{line}"] = rows[f"normal_{line}"]
        layouts[f"receipt_{language}"] = layout
    return layouts


class ProgressScreen(KioskScreen):
    """Three ways in (QR code, typed number, ID card) above; the camera, the keypad or the
    applications below."""

    mode = OptionProperty("scan", options=MODES)
    status = StringProperty("")
    problem = BooleanProperty(False)
    number_text = StringProperty("")
    number_message = StringProperty("")
    type_hint = StringProperty("")

    def __init__(self, **kwargs) -> None:
        self.results: list[ApplicationProgress] = []
        self._asking = 0  # the request whose answer is awaited; older answers are dropped
        self._building = 0  # the list of cards being built; older builds stop
        self._panels: dict[str, object] = {}
        super().__init__(**kwargs)

    # -- entering and leaving ----------------------------------------------------------------
    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        ids = self.ids
        # kv keeps ids as weak proxies: hold the panels themselves while they are off screen
        self._panels = {"scan": ids.scan_panel.__self__, "type": ids.type_panel.__self__,
                        "result": ids.result_panel.__self__}
        for panel in self._panels.values():
            ids.panels.remove_widget(panel)
        ids.keyboard.available_layouts.update(receipt_layouts())
        ids.keyboard.use("receipt")
        self._rebuild = Clock.create_trigger(lambda _dt: self._build_results())
        App.get_running_app().bind(text_scale=self._rebuild)
        self._show_panel("scan")

    def on_pre_enter(self, *args) -> None:
        self.ids.keyboard.use("receipt", tr.language)
        self.type_hint = self._type_hint()
        if self.mode in ("scan", "type"):
            self.use_mode(self.mode)

    def on_leave(self, *args) -> None:
        self.ids.progress_camera.stop()

    def use_mode(self, mode: str) -> None:
        """The camera for the receipt's QR code, or the keypad for a typed number."""
        self._asking += 1  # an answer still on its way is not wanted any more
        self.ids.progress_camera.stop()
        self.mode = mode
        self._show_panel(mode)
        if mode == "scan":
            self._scan()
        elif mode == "type":
            self.problem = False
            self.status = ""
            App.get_running_app().say(f"{self.title}\n{self.type_hint}")

    def _show_panel(self, mode: str) -> None:
        name = "result" if mode == "busy" else mode
        panels = self.ids.panels
        for key, panel in self._panels.items():
            if key != name and panel.parent is not None:
                panel.parent.remove_widget(panel)
        if self._panels[name].parent is None:
            panels.add_widget(self._panels[name])

    # -- the receipt's QR code ---------------------------------------------------------------
    def _scan(self) -> None:
        devices = self.services.devices
        devices.use_camera()  # opened now (closed between visits)
        if not devices.camera_ok:
            self.problem = True
            self.status = tr._("The camera is not working right now. Please type the number or use your ID card.")  # noqa: E501
        else:
            self.problem = False
            self.status = tr._("Hold the QR code of your receipt in front of the camera.")
            self.ids.progress_camera.start_qr(self.qr_seen)
        App.get_running_app().say(self.spoken_text())

    def qr_seen(self, text: str) -> None:
        """A QR code was decoded (UI thread): a receipt's number is looked up; any other code
        is refused in words, and the camera keeps looking."""
        if self.mode != "scan":
            return
        try:
            number = parse_receipt_qr(text)
        except ReceiptQRError:
            self.problem = True
            self.status = tr._("This QR code is not from a receipt of this service. Please show the QR code printed on your receipt.")  # noqa: E501
            return
        self.ids.progress_camera.stop()
        self.look_up(number)

    # -- a typed number ----------------------------------------------------------------------
    def on_key(self, keycode: str | None, internal: str | None) -> None:
        """One key released on the receipt keyboard."""
        if keycode == "enter":
            self.check_typed()
            return
        if keycode == "backspace":
            self.number_text = self.number_text[:-1]
        elif keycode == "clear":
            self.number_text = ""
        elif internal and len(self.number_text) < MAX_TYPED:
            self.number_text += internal.upper()
        self.number_message = ""

    def check_typed(self) -> None:
        """Check the typed number (its check character catches a typo), then look it up."""
        try:
            number = read_number(self.number_text, self.services.config.kiosk.id)
        except NumberError as error:
            self.number_message = number_words(error.kind, self._example())
            App.get_running_app().say(self.number_message)
            Clock.schedule_once(self._show_message, 0.1)
            return
        self.number_message = ""
        self.look_up(number)

    def _show_message(self, _dt: float = 0) -> None:
        """With large text the message may sit below the fold: bring it into view."""
        ids = self.ids
        if ids.type_fields.height > ids.type_scroll.height:
            ids.type_scroll.scroll_to(ids.progress_number_message, animate=False)

    def _example(self) -> str:
        return make_receipt_number(self.services.config.kiosk.id, date.today(), 1)

    def _type_hint(self) -> str:
        return tr._("Type the receipt number (with its hyphens) or the application number. A receipt number looks like {example}").format(example="\n" + self._example())  # noqa: E501

    # -- asking --------------------------------------------------------------------------------
    def look_up(self, number: str) -> None:
        """The application with this receipt or application number (held nowhere but in the
        request and on the screen)."""
        self._begin(tr._("Asking the provincial platform..."))
        if App.get_running_app().online is False:
            self._number_answered(number, None, None)
            return
        asking = self._asking

        def done(answer, error) -> None:  # on the fetch thread: no widget is touched here
            Clock.schedule_once(lambda _dt: asking == self._asking
                                and self._number_answered(number, answer, error))

        self.services.documents.call(lambda client: client.progress_of(number), done)

    def read_card(self) -> None:
        """"Use my ID card": the identify screen reads it and brings the person back here."""
        self._asking += 1
        self.ids.progress_camera.stop()
        app = App.get_running_app()
        app.screen("identify").role = "progress"
        app.show("identify")

    def identified(self, person: Applicant) -> None:
        """The card was read: back here, then the person's applications. The ID number goes
        in the request body only; the screen keeps none of the person."""
        app = App.get_running_app()
        self.mode = "busy"  # coming back must not start the camera
        if app.manager.current != self.name:
            if app.history and app.history[-1] == self.name:
                app.back()
            else:
                app.show(self.name, remember=False)
        self._begin(tr._("Asking the provincial platform..."))
        id_number = person.id_number
        own = self._own(lambda outbox: own_progress_of(outbox, id_number)) or []
        if app.online is False:
            self._person_answered(own, None, None)
            return
        asking = self._asking

        def done(answer, error) -> None:  # on the fetch thread
            Clock.schedule_once(lambda _dt: asking == self._asking
                                and self._person_answered(own, answer, error))

        self.services.documents.call(lambda client: client.lookup_applications(id_number), done)

    def _begin(self, message: str) -> None:
        self._asking += 1
        self.ids.progress_camera.stop()
        self.mode = "busy"
        self._show_panel("busy")
        self.problem = False
        self.status = message
        self.results = []
        self._build_results()

    # -- answers -------------------------------------------------------------------------------
    def _number_answered(self, number: str, answer, error) -> None:
        if answer is not None:
            self._remember([answer])
            state = self._own(lambda outbox: kiosk_state_of(outbox, answer.receipt_no)) or ""
            self._show([from_platform(answer, time.time(), state)],
                       tr._("Your application"), False)
            return
        own = self._own(lambda outbox: own_progress(outbox, number))
        if getattr(error, "status", None) == 404:
            if own is not None:
                self._show([own], tr._("The platform does not have this application yet. It is kept on this kiosk and will be sent."), False)  # noqa: E501
            else:
                self._show([], tr._("No application with this number was found. Please check the number on your receipt, or ask at the counter."), True)  # noqa: E501
            return
        if own is not None:
            self._show([own], offline_words(), False)
        else:
            self._show([], tr._("The provincial platform cannot be reached now, and this kiosk has no application with this number. Please try again later or ask at the counter."), True)  # noqa: E501

    def _person_answered(self, own: list[ApplicationProgress], answer, error) -> None:
        if answer is not None:
            self._remember(answer)
            now = time.time()
            found = merge([from_platform(item, now, self._own(
                lambda outbox, item=item: kiosk_state_of(outbox, item.receipt_no)) or "")
                for item in answer], own)
            heading = tr._("Your applications: {count}").format(count=len(found)) if found \
                else tr._("No applications were found for this ID card.")
            self._show(found, heading, not found)
            return
        own = merge([], own)
        if own:
            self._show(own, offline_words(), False)
        else:
            self._show([], tr._("The provincial platform cannot be reached now, and this kiosk has no application of yours. Please try again later or ask at the counter."), True)  # noqa: E501

    def _show(self, found: list[ApplicationProgress], heading: str, problem: bool) -> None:
        self.mode = "result"
        self._show_panel("result")
        self.results = found
        self.status = heading
        self.problem = problem
        self._build_results()
        App.get_running_app().say(self.spoken_text())

    # -- this kiosk's outbox -------------------------------------------------------------------
    def _own(self, read):
        """``read(outbox)`` on this kiosk's outbox, or None when it cannot be opened (the
        platform's answer is still shown)."""
        try:
            outbox = self.services.applications().storage.outbox
            return read(outbox)
        except Exception:  # no key, no disk: the kiosk knows nothing offline
            return None

    def _remember(self, answers) -> None:
        self._own(lambda outbox: remember(outbox, list(answers)))

    # -- the result cards ------------------------------------------------------------------------
    def _build_results(self) -> None:
        """The first screenful of cards now, the rest a few per frame: a citizen with many
        applications sees the newest at once, and a touch is never kept waiting for the
        whole list's labels."""
        self._building += 1
        box = self.ids.results
        box.clear_widgets()
        self.ids.results_view.scroll_y = 1
        self._add_cards(self._building, 0)

    def _add_cards(self, building: int, start: int) -> None:
        if building != self._building:
            return  # a newer answer, a language switch or the visit's end came in between
        box = self.ids.results
        end = min(len(self.results), start + CARDS_PER_FRAME)
        for index in range(start, end):
            box.add_widget(self._card_for(self.results[index], index + 1))
        if end < len(self.results):
            Clock.schedule_once(lambda _dt: self._add_cards(building, end))

    def _card_for(self, item: ApplicationProgress, index: int):
        card = Factory.ProgressCard()
        card.automation_id = f"progress_result_{index}"
        matter = self.services.catalog.matter(item.item_code)
        card.add_widget(Factory.ProgressTitle(text=matter.name if matter else item.item_code))
        numbers = [tr._("Receipt number: {number}").format(number=item.receipt_no)]
        if item.application_no:
            numbers.append(tr._("Application number: {number}").format(
                number=item.application_no))
        card.add_widget(Factory.ProgressNote(text="\n".join(numbers)))
        if item.kiosk_state:
            card.add_widget(Factory.ProgressText(text=kiosk_state_words(item.kiosk_state)))
        if item.status:
            colour = theme.DANGER if item.status == "rejected" else theme.WARNING \
                if item.status == "needs_material" else theme.SUCCESS
            status = status_words(item.status)
            if not item.from_platform:
                status = tr._("Last known status: {status}").format(status=status)
            card.add_widget(Factory.ProgressStatus(text=status, color=colour))
            if not item.from_platform:
                card.add_widget(Factory.ProgressNote(text=tr._(
                    "Known as of {time}").format(time=when(item.known_at))))
        elif not item.from_platform and item.kiosk_state == "acknowledged":
            card.add_widget(Factory.ProgressNote(text=tr._(
                "This kiosk has not received a status for it yet.")))
        card.add_widget(Factory.ProgressNext(text=next_words(item)))  # first what matters
        if item.from_platform and item.steps:  # one label for the timeline: cheap to draw
            lines = []
            for step in item.steps:
                lines.append(f"{when(step.at)}  {status_words(step.status)}")
                if step.note:
                    lines.append(step.note)
            card.add_widget(Factory.ProgressNote(text="\n".join(lines)))
        return card

    def spoken_text(self) -> str:
        """The title, the state of things, and each application's status and next step."""
        parts = [self.title, self.status]
        for item in self.results[:5]:
            matter = self.services.catalog.matter(item.item_code)
            parts.append(matter.name if matter else "")
            if item.status:
                parts.append(status_words(item.status))
            parts.append(next_words(item))
        return "\n".join(part for part in parts if part)

    def on_language(self, language: str) -> None:
        self.ids.keyboard.use("receipt", language)
        self.type_hint = self._type_hint()
        self._build_results()

    def reset(self) -> None:
        """Forget every number, answer and person of the visit (visit ended)."""
        self._asking += 1
        self.ids.progress_camera.stop()
        self.results = []
        self.number_text = self.number_message = self.status = ""
        self.problem = False
        self.mode = "scan"
        self._show_panel("scan")
        self._build_results()


# -- plain words, in the current language --------------------------------------------------------


def when(moment: datetime | None) -> str:
    """A time as the hall's clock shows it (the kiosk's time zone), to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else \
        tr._("time not known")


def offline_words() -> str:
    return tr._("The kiosk cannot reach the provincial platform now. This is what this kiosk knows, with the time it was last known.")  # noqa: E501


def status_words(status: str) -> str:
    """A platform status as a citizen says it."""
    return {
        "received": tr._("Received by the platform"),
        "accepted": tr._("Accepted by the service window"),
        "in_review": tr._("Being reviewed by the department"),
        "needs_material": tr._("More material is needed"),
        "approved": tr._("Approved"),
        "rejected": tr._("Not approved"),
        "completed": tr._("Completed"),
    }.get(status, status)


def kiosk_state_words(state: str) -> str:
    """Where this kiosk's own application is on its way to the platform."""
    return {
        "queued": tr._("On this kiosk: saved, waiting to be sent to the platform"),
        "sending": tr._("On this kiosk: being sent to the platform now"),
        "acknowledged": tr._("On this kiosk: sent, and the platform confirmed it"),
        "held": tr._("On this kiosk: held for staff to check before it is sent"),
    }.get(state, state)


def next_words(item: ApplicationProgress) -> str:
    """What to do next, in one line (the platform's note when material is missing)."""
    kind = item.next_step
    if kind == "bring_material":
        if item.note:
            return tr._("What to do next: {note}").format(note=item.note)
        return tr._("What to do next: bring the missing material to the service hall; ask at the counter which one.")  # noqa: E501
    return {
        "wait": tr._("What to do next: nothing for now. The department is working on it; check again in a few days."),  # noqa: E501
        "collect_later": tr._("What to do next: when it is completed, collect the result at the service hall with your ID card and receipt."),  # noqa: E501
        "collect": tr._("What to do next: collect the result at the service hall. Bring your ID card and receipt."),  # noqa: E501
        "delivery_later": tr._("What to do next: nothing. The result will be sent by express to the address you gave."),  # noqa: E501
        "delivered": tr._("The result has been sent by express to the address you gave. Nothing more to do."),  # noqa: E501
        "rejected": tr._("What to do next: ask at the counter for the reasons. You may apply again."),  # noqa: E501
        "unsent": tr._("What to do next: nothing. It will be sent by itself when the network is back. Keep your receipt."),  # noqa: E501
        "held": tr._("What to do next: please press Call staff or ask at the counter."),
    }.get(kind, "")


def number_words(kind: str, example: str) -> str:
    """Why a typed number cannot be right, and how to put it right."""
    if kind == "empty":
        return tr._("Please type the number first.")
    if kind == "check":
        return tr._("The last character does not match: a character was mistyped. Please compare the number with your receipt.")  # noqa: E501
    if kind == "date":
        return tr._("The date in this number is not possible. Please compare the number with your receipt.")  # noqa: E501
    if kind == "hyphens":
        return tr._("Please type the hyphens (-) as printed on the receipt.")
    return tr._("This is not a receipt or application number. A receipt number looks like {example}").format(example="\n" + example)  # noqa: E501


Builder.load_file(os.path.join(os.path.dirname(__file__), "progress.kv"))
