"""Attract loop shown while nobody uses the kiosk: clock, "touch to start", language.

A touch anywhere that no button takes starts a visit. The online / offline badge tells
staff and citizens at a glance whether applications go straight to the platform or wait in
the kiosk's queue.

Technicians open their PIN screen from here, and only from here (so never in the middle of
a citizen's visit): by holding the top-left corner for :data:`LONG_PRESS_SECONDS`, or with
Ctrl+Alt+D on a keyboard plugged in for maintenance. Nothing on screen shows either way; a
short touch on the corner starts a visit like a touch anywhere else.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen

from screens import widgets  # noqa: F401 - registers KButton and the shared kv rules

LONG_PRESS_SECONDS = 3.0
"""How long the top-left corner is held to open the technician's PIN screen: longer than
any citizen's touch, short enough for a technician."""


class TechnicianDoor:
    """The hidden way to the technician's PIN screen, for the screens a citizen finds the
    kiosk on when nobody uses it (attract, out of service): the top-left corner held for
    :data:`LONG_PRESS_SECONDS`, or Ctrl+Alt+D. Mixed into a Screen whose kv rule has a
    ``technician_corner`` widget; ``touched_elsewhere(touch)`` says what any other touch
    (or a short one on the corner) does there."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._held = None  # the corner press's timer while the corner is held
        Window.bind(on_key_down=self._on_key_down)

    def touched_elsewhere(self, touch) -> None:
        """A touch that opens nothing: the screen decides."""

    def on_touch_down(self, touch) -> bool:
        if super().on_touch_down(touch):
            return True
        if not self.collide_point(*touch.pos):
            return False
        if self._in_corner(touch) and self._held is None:
            # held long enough, the PIN screen; lifted early, an ordinary touch
            touch.grab(self)
            self._held = Clock.schedule_once(lambda _dt: self._corner_held(),
                                             LONG_PRESS_SECONDS)
            return True
        self.touched_elsewhere(touch)
        return True

    def on_touch_move(self, touch) -> bool:
        if touch.grab_current is self:
            if self._held is not None and not self._in_corner(touch):
                self._held.cancel()  # slid out of the corner: an ordinary touch
            return True
        return super().on_touch_move(touch)

    def on_touch_up(self, touch) -> bool:
        if touch.grab_current is not self:
            return super().on_touch_up(touch)
        touch.ungrab(self)
        held, self._held = self._held, None
        if held is not None:  # lifted before the PIN screen opened
            held.cancel()
            app = App.get_running_app()
            if app.manager.current == self.name:
                self.touched_elsewhere(touch)
        return True

    def _in_corner(self, touch) -> bool:
        corner = self.ids.technician_corner
        return corner.collide_point(*corner.to_widget(*touch.pos))

    def _corner_held(self) -> None:
        self._held = None
        self.open_technician_pin()

    def _on_key_down(self, _window, key: int, _scancode: int, codepoint: str | None,
                     modifiers: list[str]) -> bool:
        char = codepoint or (chr(key) if 0 <= key < 0x110000 else "")
        if {"ctrl", "alt"} <= set(modifiers) and char.lower() == "d":
            return self.open_technician_pin()
        return False

    def open_technician_pin(self) -> bool:
        """Show the PIN screen when this screen is showing (no visit, no dialog)."""
        app = App.get_running_app()
        if app is None or app.manager.current != self.name or app.staff_dialog is not None:
            return False
        from screens.technician_pin import open_pin_screen

        open_pin_screen(app)
        return True


class AttractScreen(TechnicianDoor, Screen):
    """Idle screen; any touch outside its buttons begins a visit, unless the kiosk is out
    of service (then the out-of-service screen is shown instead: screens/out_of_service)."""

    def touched_elsewhere(self, touch) -> None:
        app = App.get_running_app()
        if getattr(app, "out_of_service", False):
            app.show("attract", remember=False)  # the app shows out_of_service instead
            return
        app.start_session()

    def spoken_text(self) -> str:
        """Read aloud on the attract screen: what to do to begin."""
        from screens.i18n import tr

        return tr._("Touch the screen to start")


Builder.load_file(os.path.join(os.path.dirname(__file__), "attract.kv"))
