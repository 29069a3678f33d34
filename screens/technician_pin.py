"""The technician's PIN screen, opened from the attract screen by a hidden gesture or keys.

Nothing to choose: the technician types a PIN on a digit keypad (shown as dots) and taps
Open; the core (kiosk.operations.technician) finds whose PIN it is, counts wrong tries,
locks the keypad after five and audits every entry. The screen says how many tries are left,
how long a lockout still lasts (counting down), and, on a kiosk where nobody has a PIN yet,
the command that sets one. Back, or a minute without a touch, returns to the attract screen.

A citizen who held the corner by accident sees a plain screen with a large Back button and
no way further without a PIN.
"""

from __future__ import annotations

import copy
import os

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.operations.technician import MAX_TRIES, Entry, TechnicianAccess
from screens import widgets  # noqa: F401 - registers KButton, Header and the shared kv rules
from screens.i18n import tr
from screens.keyboard import DockedKeyboard  # noqa: F401 - registers the kv class

IDLE_SECONDS = 60.0
"""Without a touch for this long, the PIN screen gives way to the attract screen again."""

MAX_DIGITS = 8

_KEYS = {
    "cols": 3, "rows": 4,
    "normal_1": [["1", "1", "1", 1], ["2", "2", "2", 1], ["3", "3", "3", 1]],
    "normal_2": [["4", "4", "4", 1], ["5", "5", "5", 1], ["6", "6", "6", 1]],
    "normal_3": [["7", "7", "7", 1], ["8", "8", "8", 1], ["9", "9", "9", 1]],
    "normal_4": [["删除", None, "backspace", 1], ["0", "0", "0", 1], ["清空", None, "clear", 1]],
}
"""The keypad: digits only (the ID number keypad's X has no place in a PIN)."""


def pin_layouts() -> dict[str, dict]:
    """The keypad's layout labelled in Chinese (``pin_zh_CN``) and English (``pin_en``)."""
    layouts = {}
    for language, labels in (("zh_CN", {}), ("en", {"删除": "Delete", "清空": "Clear"})):
        layout = copy.deepcopy(_KEYS)
        layout.update(title="PIN", description="Digits of a technician's PIN")
        for line in range(1, 5):
            keys = layout[f"normal_{line}"]
            for key in keys:
                key[0] = labels.get(key[0], key[0])
            layout[f"shift_{line}"] = layout[f"special_{line}"] = keys
        layouts[f"pin_{language}"] = layout
    return layouts


def open_pin_screen(app) -> None:
    """Show the PIN screen (from the attract screen: there is no visit to end)."""
    app.idle.disarm()
    app.show("technician_pin", remember=False)


class TechnicianPinScreen(Screen):
    """Digits typed, the message above them, and Open / Back."""

    message = StringProperty("")
    problem = BooleanProperty(False)  # the message is a refusal (wrong PIN, locked)
    dots = StringProperty("")
    locked = BooleanProperty(False)
    no_pin = BooleanProperty(False)
    technician_actions = ("pin_back", "language", "large_text")
    """What the accessibility audit expects on this screen instead of the citizens' bar."""

    def __init__(self, **kwargs) -> None:
        # set before the kv rule runs: on_kv_post words the message
        self.digits = ""
        self.entry = Entry("ready")
        self._locked_until = 0.0  # Clock time the lockout ends, for the countdown
        super().__init__(**kwargs)
        self._idle = Clock.create_trigger(lambda _dt: self.leave(), IDLE_SECONDS)
        self._tick = None

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        self.ids.keyboard.available_layouts.update(pin_layouts())
        self.on_language(tr.language)

    def access(self) -> TechnicianAccess:
        """The technicians' PINs in this kiosk's database."""
        return TechnicianAccess(App.get_running_app().services.config.storage.database)

    # -- life cycle --------------------------------------------------------------------
    def on_pre_enter(self, *args) -> None:
        self.digits = ""
        state = self.access().state()
        if state.outcome == "wrong":  # no PIN typed yet: nothing is wrong, tries may be left
            state = Entry("ready", tries_left=state.tries_left)
        self._show(state)
        self._idle()
        if self._tick is None:  # not already watching (shown again while open)
            Window.bind(on_touch_down=self._touched)
            self._tick = Clock.schedule_interval(lambda _dt: self._countdown(), 1)

    def on_leave(self, *args) -> None:
        Window.unbind(on_touch_down=self._touched)
        self._idle.cancel()
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        self.digits = ""
        self.dots = ""

    def reset(self) -> None:
        """The app resets its screens (a visit ended, a site profile arrived): nothing typed
        stays, except while the technician is typing here."""
        app = App.get_running_app()
        if app is None or app.manager.current != self.name:
            self.digits = ""
            self.dots = ""

    def on_language(self, language: str) -> None:
        """Label the keypad and re-word the message in ``language``."""
        self.ids.keyboard.layout = f"pin_{language}"
        self._show(self.entry)

    def _touched(self, *_args) -> None:
        self._idle.cancel()
        self._idle()

    # -- typing ------------------------------------------------------------------------
    def on_key(self, keycode: str | None, internal: str | None) -> None:
        """A key of the keypad was released."""
        if self.locked or self.no_pin:
            return
        if keycode == "backspace":
            self.digits = self.digits[:-1]
        elif keycode == "clear":
            self.digits = ""
        elif internal and internal.isdigit() and len(self.digits) < MAX_DIGITS:
            self.digits += internal
        self.dots = " ".join("●" * len(self.digits))

    def submit(self) -> None:
        """Open: check the PIN; the diagnostics screen on success, else say why not."""
        digits, self.digits, self.dots = self.digits, "", ""
        if not digits or self.locked or self.no_pin:
            return
        entry = self.access().enter(digits)
        if entry.outcome == "ok" and entry.who:
            from screens.diagnostics import open_diagnostics

            self.entry = Entry("ready")
            open_diagnostics(App.get_running_app(), entry.who)
            return
        self._show(entry)

    def leave(self) -> None:
        """Back (or a minute idle): the attract screen, as the next citizen should find it."""
        app = App.get_running_app()
        if app.manager.current == self.name:
            app.end_session()

    # -- what it says ----------------------------------------------------------------------
    def _show(self, entry: Entry) -> None:
        self.entry = entry
        self.no_pin = entry.outcome == "no_pin"
        self.locked = entry.outcome == "locked"
        if self.locked:
            self._locked_until = Clock.get_time() + entry.locked_for
        self._word()

    def _word(self) -> None:
        entry = self.entry
        if self.no_pin:
            self.problem = True
            self.message = tr._("No technician PIN is set on this kiosk. Set one at the kiosk's console with: kiosk technician set-pin NAME")  # noqa: E501
        elif self.locked:
            self.problem = True
            left = max(0, round(self._locked_until - Clock.get_time()))
            self.message = tr._("Too many wrong PINs. The keypad is locked for {time} more.").format(time=f"{left // 60}:{left % 60:02d}")  # noqa: E501
        elif entry.outcome == "wrong" and entry.tries_left < MAX_TRIES:
            self.problem = True
            self.message = tr._("Wrong PIN. {count} tries left before the keypad locks.").format(count=entry.tries_left)  # noqa: E501
        else:
            self.problem = False
            self.message = tr._("Type your technician PIN, then tap Open.")
            if entry.tries_left < MAX_TRIES:  # wrong tries earlier, perhaps by someone else
                self.message += "\n" + tr._("{count} tries left before the keypad locks.").format(count=entry.tries_left)  # noqa: E501

    def _countdown(self) -> None:
        if self.locked:
            if Clock.get_time() >= self._locked_until:
                self._show(self.access().state())
            else:
                self._word()


Builder.load_file(os.path.join(os.path.dirname(__file__), "technician_pin.kv"))
