"""Idle policy: warn, let the citizen ask for more time, then wipe the visit.

One policy for every screen (deployed terminals each picked their own delay). After
``idle_timeout`` seconds without a touch or key the warning appears with a countdown and a
chime; one tap on "more time" gives the full timeout again, as often as needed (WCAG 2.2.1
asks for at least ten extensions and at least 20 s to answer). At zero the visit's data is
wiped and the attract screen returns. Touches are watched on the Window, so taps inside
popups and on the on-screen keyboard count as activity too.
"""

from __future__ import annotations

import os

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import NumericProperty

from kiosk.config import KioskSection
from screens.widgets import FittedDialog


class IdleWarning(FittedDialog):
    """The countdown dialog; ``remaining`` seconds until the visit is wiped."""

    remaining = NumericProperty(0)

    def spoken_text(self) -> str:
        """Spoken when the warning opens and by Read aloud."""
        from screens.i18n import tr

        return tr._("Do you need more time?") + "\n" + tr._("For your privacy this visit will end and everything you entered will be cleared when the count reaches zero.")  # noqa: E501


class IdleWatch:
    """Arms a one-shot trigger on activity and runs the warning when it fires."""

    def __init__(self, app, settings: KioskSection) -> None:
        self.app = app
        self.timeout = settings.idle_timeout
        self.warning_seconds = settings.idle_warning
        self.armed = False
        self.warning: IdleWarning | None = None
        self._trigger = Clock.create_trigger(self._show_warning, self.timeout)
        self._countdown = None
        Window.bind(on_touch_down=self._on_activity, on_key_down=self._on_activity)

    def arm(self) -> None:
        """Start (or restart) the idle count from now."""
        self.armed = True
        self._trigger.cancel()
        self._trigger()

    def disarm(self) -> None:
        """Stop counting (attract loop) and close any warning."""
        self.armed = False
        self._trigger.cancel()
        self._close_warning()

    def _on_activity(self, *_args) -> None:
        # returns None so that the touch goes on to the widgets
        if self.armed and self.warning is None:
            self._trigger.cancel()
            self._trigger()

    def _show_warning(self, *_args) -> None:
        if not self.armed or self.warning is not None:
            return
        self.warning = IdleWarning(remaining=self.warning_seconds)
        self.warning.ids.more_time.bind(on_release=lambda *_a: self.extend())
        self.warning.ids.finish.bind(on_release=lambda *_a: self.expire())
        self.warning.open(animation=False)
        self.app.play("idle_warning")
        self.app.say(self.warning.spoken_text())
        self._countdown = Clock.schedule_interval(self._tick, 1)

    def _tick(self, _dt: float) -> None:
        if self.warning is None:
            return
        self.warning.remaining -= 1
        if self.warning.remaining <= 0:
            self.expire()
        elif self.warning.remaining in (10, 5):
            self.app.play("idle_warning")

    def extend(self) -> None:
        """The citizen asked for more time: close the warning and count again."""
        self.app.services.session.idle_extensions += 1
        self._close_warning()
        self.arm()

    def expire(self) -> None:
        """Time is up (or the citizen chose to finish): wipe and go to attract."""
        self._close_warning()
        self.app.end_session()

    def _close_warning(self) -> None:
        if self._countdown is not None:
            self._countdown.cancel()
            self._countdown = None
        if self.warning is not None:
            warning, self.warning = self.warning, None
            warning.dismiss(animation=False)


Builder.load_file(os.path.join(os.path.dirname(__file__), "idle.kv"))
