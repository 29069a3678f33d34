"""The "waiting for staff" state: what the citizen sees after pressing Call staff.

It does not time out: the idle watch is paused while it is open, because the citizen was
told to wait, and wiping their visit while they wait would be the worst answer. The chime
repeats so that staff in a busy hall hear it. It says only what really happens: the chime
at this kiosk and, where a paging hook is configured, that the hall's duty desk was told.
Staff end it when they arrive; the citizen may cancel it.
"""

from __future__ import annotations

import os
import time

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty

from screens.i18n import tr
from screens.widgets import FittedDialog


class StaffCallDialog(FittedDialog):
    """Open while a staff call is open; ``waited`` counts up for the member of staff."""

    paging = BooleanProperty(False)  # a hook tells the hall's paging system too
    waited = StringProperty("0:00")

    def __init__(self, *, paging: bool, repeat_seconds: int, **kwargs) -> None:
        super().__init__(paging=paging, **kwargs)
        self._started = time.monotonic()
        self._tick = Clock.schedule_interval(self._update, 1)
        self._chime = (Clock.schedule_interval(self._repeat_chime, repeat_seconds)
                       if repeat_seconds else None)

    def message(self) -> str:
        """What will really happen, in the current language; a site profile's "ask staff"
        wording (a bank's lobby manager, a post office's counter) where it has one."""
        text = tr._("A chime is sounding at this kiosk to call a member of staff.")
        if self.paging:
            text += " " + tr._("The hall's duty desk has also been told.")
        app = App.get_running_app()
        help_text = getattr(getattr(app, "site", None), "help_text", "")
        if help_text:
            return (text + "\n" + help_text + "\n"
                    + tr._("Your visit will not time out while you wait."))
        return text + "\n" + tr._("Please stay here. Your visit will not time out while you wait.")

    def spoken_text(self) -> str:
        """Read aloud: the title and the message."""
        return tr._("Staff have been called") + "。" + self.message()

    def _update(self, _dt: float) -> None:
        seconds = int(time.monotonic() - self._started)
        self.waited = f"{seconds // 60}:{seconds % 60:02d}"

    def _repeat_chime(self, _dt: float) -> None:
        App.get_running_app().play("call_staff")

    def on_dismiss(self) -> None:
        self._tick.cancel()
        if self._chime is not None:
            self._chime.cancel()


Builder.load_file(os.path.join(os.path.dirname(__file__), "staff_call.kv"))
