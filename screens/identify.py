"""Identify: the ID card on the reader, or the number typed, or the phone's e-ID code.

Never biometric-only and never a dead end: the card reader's events drive the screen (found,
reading, read) and a failure says what to do in words a citizen can act on; typing the
number and name is always offered, and the electronic ID code when the kiosk is online. The
same screen identifies the agent when someone applies on another person's behalf.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty

from kiosk.applying.applicant import Applicant, EntryError, check_typed_number
from screens.camera_view import CameraView  # noqa: F401 (registers the kv class)
from screens.composer import Composer
from screens.entry import pinyin_engine
from screens.i18n import tr
from screens.widgets import KioskScreen

MODES = ("card", "manual", "ecode")


class IdentifyScreen(KioskScreen):
    """Card first; ``mode`` switches to typed entry or the e-ID code."""

    role = StringProperty("applicant")  # or "agent", "profile" (policy matching), "progress"
    mode = StringProperty("card")
    status = StringProperty("")  # what the reader is doing, or what to do now
    problem = BooleanProperty(False)  # the status is a failure the citizen must act on
    reader_ok = BooleanProperty(True)
    number_text = StringProperty("")
    name_text = StringProperty("")
    number_message = StringProperty("")
    name_message = StringProperty("")
    editing = StringProperty("number")  # which typed field the keyboard fills
    can_continue = BooleanProperty(False)
    for_other = BooleanProperty(False)

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        ids = self.ids
        # one panel at a time; the others are kept (with their widgets' ids) off screen
        # kv keeps ids as weak proxies: hold the panels themselves while they are off screen
        self._panels = {"card": ids.card_panel.__self__, "manual": ids.manual_panel.__self__,
                        "ecode": ids.ecode_panel.__self__}
        for panel in self._panels.values():
            ids.panels.remove_widget(panel)
        ids.panels.add_widget(self._panels["card"])
        self._number = Composer(pinyin_engine, chinese=False, max_length=18)
        self._name = Composer(pinyin_engine, chinese=True, max_length=30)

    # -- entering and leaving --------------------------------------------------------------
    def on_pre_enter(self, *args) -> None:
        app = App.get_running_app()
        self.for_other = app.flow.for_other
        self.use_mode("card")

    def on_leave(self, *args) -> None:
        self._stop_devices()

    def use_mode(self, mode: str) -> None:
        """Switch between the card, typing, and the e-ID code."""
        self._stop_devices()
        self._show_panel(mode)
        if mode == "card":
            self._watch_cards()
        elif mode == "manual":
            self._number.reset(chinese=False)
            self._name.reset(chinese=True)
            self.number_text = self.name_text = ""
            self.number_message = self.name_message = ""
            self.edit("number")
        elif mode == "ecode":
            self._scan_ecode()
        self._update_title()

    def _show_panel(self, mode: str) -> None:
        self.mode = mode
        panels = self.ids.panels
        for name, panel in self._panels.items():
            if name != mode and panel.parent is not None:
                panel.parent.remove_widget(panel)
        if self._panels[mode].parent is None:
            panels.add_widget(self._panels[mode])

    def _update_title(self) -> None:
        if self.role == "agent":
            self.title = tr._("Now identify yourself, the person applying on their behalf")
        elif self.role == "profile":  # policy matching: only age, gender and area are used
            self.title = tr._("Place your ID card to check age and area; nothing is stored")
        elif self.role == "progress":  # progress: the card finds the person's applications
            self.title = tr._("Place your ID card to find your applications")
        elif self.role == "appointment":  # who books the slot (the number goes to the platform)
            self.title = tr._("Place your ID card to book the appointment")
        else:
            self.title = tr._("Who is applying?")

    def on_role(self, *_args) -> None:
        self._update_title()

    # -- the card reader ---------------------------------------------------------------------
    def _watch_cards(self) -> None:
        devices = self.services.devices
        self.reader_ok = devices.states().get("idcard") == "online"
        self.problem = False
        self.status = tr._("Place your ID card on the reader") if self.reader_ok else \
            tr._("The card reader is not working right now. Please type your ID number instead, or press Call staff.")  # noqa: E501
        self.problem = not self.reader_ok
        devices.watch_cards(lambda event: Clock.schedule_once(lambda _dt: self._card_event(event)))
        App.get_running_app().say(self.spoken_text())

    def _card_event(self, event) -> None:
        if self.mode != "card" or self.manager is None or self.manager.current != self.name:
            return
        kind = event.kind
        if kind == "waiting":
            # after "move the card away and place it again" the reader sees no card: the
            # advice stays until a card is found again; after a reader fault it is fixed
            if self.problem and self.reader_ok:
                return
            self.problem = False
            self.reader_ok = True
            self.status = tr._("Place your ID card on the reader")
            return
        self.problem = kind in ("failed", "unavailable")
        if kind == "found":
            self.status = tr._("Card found. Please keep it still...")
        elif kind == "reading":
            self.status = tr._("Reading your card. Please keep it still...")
        elif kind == "read":
            self.status = tr._("Card read.")
            self._identified(Applicant.from_card(event.identity))
        elif kind == "unavailable" or event.problem == "reader_down":
            self.reader_ok = False
            self.problem = True
            self.status = tr._("The card reader is not working right now. Please type your ID number instead, or press Call staff.")  # noqa: E501
        elif event.problem == "reposition":
            self.status = tr._("The card could not be read completely. Please move the card away and place it on the reader again.")  # noqa: E501
        else:
            self.status = tr._("This card cannot be read. Please type your ID number instead, or press Call staff.")  # noqa: E501
        if self.problem:
            App.get_running_app().say(self.status)

    # -- typed entry -------------------------------------------------------------------------
    def edit(self, which: str) -> None:
        """Tap on the number or the name: the keyboard types into it."""
        self.editing = which
        pad = self.ids.pad
        if which == "number":
            pad.attach(self._number, "numeric", self._number_changed)
        else:
            pad.attach(self._name, "pinyin", self._name_changed)

    def _number_changed(self, value: str) -> None:
        self.number_text = value
        check = check_typed_number(value)
        self.number_message = tr._(check.message) if check.is_problem else ""
        if check.ok and not self.name_text:
            self.edit("name")
        self._update_continue()

    def _name_changed(self, value: str) -> None:
        self.name_text = value
        self.name_message = ""
        self._update_continue()

    def _update_continue(self) -> None:
        self.can_continue = check_typed_number(self.number_text).ok and bool(
            self.name_text.strip()) and not self._name.pinyin

    def confirm_typed(self) -> None:
        """Continue with the typed number and name (validated again here)."""
        try:
            person = Applicant.typed(self.number_text, self.name_text.strip())
        except EntryError as error:
            target = "number_message" if error.field == "id_number" else "name_message"
            setattr(self, target, tr._(error.message))
            return
        self._identified(person)

    # -- the e-ID code -------------------------------------------------------------------------
    def _scan_ecode(self) -> None:
        app = App.get_running_app()
        self.problem = False
        if app.online is not True:
            self.problem = True
            self.status = tr._("The electronic ID code needs the network, and this kiosk is offline now. Please use your ID card or type your number.")  # noqa: E501
            return
        self.services.devices.use_camera()  # opened now (closed between visits)
        if not self.services.devices.camera_ok:
            self.problem = True
            self.status = tr._("The camera is not working right now. Please use your ID card or type your number.")  # noqa: E501
            return
        self.status = tr._("Open the electronic ID code in your phone's app and hold it in front of the camera.")  # noqa: E501
        self.ids.ecode_camera.start_qr(self._ecode_seen)

    def _ecode_seen(self, code: str) -> None:
        """A QR code was decoded (UI thread): ask the platform who it belongs to."""
        self.status = tr._("Checking the code with the provincial platform...")
        self.ids.ecode_camera.stop()

        def done(answer, error) -> None:  # on the fetch thread
            Clock.schedule_once(lambda _dt: self._ecode_answered(answer, error))

        self.services.documents.call(lambda client: client.resolve_ecode(code), done)

    def _ecode_answered(self, answer, error) -> None:
        if self.mode != "ecode" or self.manager is None or self.manager.current != self.name:
            return
        if error is None:
            try:
                self._identified(Applicant.from_ecode(answer))
                return
            except EntryError:
                error = ValueError("unusable answer")
        self.problem = True
        if getattr(error, "code", None) == "unknown_code":
            self.status = tr._("This code has expired or is not known. Please refresh the code in your phone's app and show it again.")  # noqa: E501
        else:
            self.status = tr._("The code could not be checked just now. Please use your ID card or type your number.")  # noqa: E501
        Clock.schedule_once(lambda _dt: self.mode == "ecode" and self.ids.ecode_camera.start_qr(
            self._ecode_seen), 2)

    # -- shared ------------------------------------------------------------------------------
    def set_for_other(self, value: bool) -> None:
        """"I am applying on someone else's behalf": the card read first is the applicant's,
        the agent's follows."""
        app = App.get_running_app()
        app.flow.for_other = self.for_other = value

    def _identified(self, person: Applicant) -> None:
        self._stop_devices()
        role = self.role
        self.role = "applicant"
        App.get_running_app().flow.identified(person, role)

    def _stop_devices(self) -> None:
        services = self.services
        services.devices.stop_watching_cards()
        if "ecode_camera" in self.ids:
            self.ids.ecode_camera.stop()

    def spoken_text(self) -> str:
        """The title and the current instruction (never a typed number)."""
        return f"{self.title}\n{self.status}" if self.mode != "manual" else \
            f"{self.title}\n" + tr._("Type your ID number and your name with the keyboard.")

    def on_language(self, language: str) -> None:
        self._update_title()
        self.ids.pad.on_language(language)

    def reset(self) -> None:
        """Nothing typed or read remains (visit ended)."""
        self._stop_devices()
        self._number.reset(chinese=False)
        self._name.reset(chinese=True)
        self.number_text = self.name_text = self.number_message = self.name_message = ""
        self.status = ""
        self._show_panel("card")
        self.role = "applicant"
        self.for_other = False
        self.ids.pad.attach(None)


Builder.load_file(os.path.join(os.path.dirname(__file__), "identify.kv"))
