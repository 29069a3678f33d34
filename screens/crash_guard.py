"""What happens when a screen's code raises: the citizen sees an apology, never the desktop.

Kivy stops its event loop on an exception that no handler in its ``ExceptionManager``
passes, and a kiosk whose loop stopped shows whatever is under the window. The guard passes
every ordinary exception, logs where it happened, ends the visit (everything personal is
wiped, as at a timeout), returns to the attract screen with an apology and counts it. When
errors come back faster than recovery helps (:mod:`kiosk.operations.ui_errors`), it stops
the application asking for a restart: ``kiosk run`` then replaces the process with a fresh
one (same pid, so a systemd unit or a watchdog sees no exit).

The log line holds the exception's type and the code locations only: a message can quote
what the citizen typed (an ID number in a ValueError), so it is not written anywhere.
"""

from __future__ import annotations

import logging
import traceback

from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock

from kiosk.operations.ui_errors import ErrorTally
from screens.i18n import N_, tr

log = logging.getLogger(__name__)

APOLOGY_TITLE = N_("Sorry, something went wrong")
APOLOGY_TEXT = N_("This kiosk met a fault. To protect your information the visit has ended and what was on the screen has been cleared. An application you already submitted is safe. Please start again, or call staff for help.")  # noqa: E501
APOLOGY_SHOWN_S = 30.0
"""The apology closes by itself, so that the next citizen finds the attract screen."""


def where(error: BaseException) -> str:
    """``file:line function`` of each frame, innermost last: no message, no values."""
    frames = traceback.extract_tb(error.__traceback__)[-6:]
    return " <- ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                       for frame in reversed(frames))


class CrashGuard(ExceptionHandler):
    """Registered with Kivy's ExceptionManager while the kiosk app runs."""

    def __init__(self, app, tally: ErrorTally) -> None:
        super().__init__()
        self.app = app
        self.tally = tally
        self._recovering = False

    @property
    def recovering(self) -> bool:
        """An error was passed and its recovery (end the visit, apologise) has not run yet."""
        return self._recovering

    def install(self) -> None:
        """Start passing exceptions (idempotent)."""
        if self not in ExceptionManager.handlers:
            ExceptionManager.add_handler(self)

    def uninstall(self) -> None:
        """Stop passing exceptions (the app stopped)."""
        if self in ExceptionManager.handlers:
            ExceptionManager.remove_handler(self)

    def handle_exception(self, inst: BaseException) -> int:
        """Log, count, recover on the next frame; only Ctrl-C and exit pass through."""
        if isinstance(inst, (KeyboardInterrupt, SystemExit)):
            return ExceptionManager.RAISE
        log.error("UI error %s (%d since install) at %s", type(inst).__name__,
                  self.tally.total + 1, where(inst))
        if self.tally.record(inst):
            log.error("UI errors keep coming (%d in %.0f s): restarting the kiosk",
                      self.tally.restart_after, self.tally.window_s)
            self.tally.restarting()
            Clock.schedule_once(lambda _dt: self.app.restart(), 0)
        elif not self._recovering:
            self._recovering = True
            Clock.schedule_once(lambda _dt: self.recover(), 0)
        return ExceptionManager.PASS

    def recover(self) -> None:
        """End the visit as a timeout would, then apologise on the attract screen."""
        try:
            self.app.end_session()
            self.apologise()
        finally:
            self._recovering = False

    def apologise(self) -> None:
        """The apology dialog over the attract screen (spoken as it opens, like every
        notice), closing by itself."""
        from screens.widgets import Notice

        notice = Notice(title=tr._(APOLOGY_TITLE), message=tr._(APOLOGY_TEXT))
        notice.open(animation=False)
        Clock.schedule_once(lambda _dt: notice.dismiss(animation=False), APOLOGY_SHOWN_S)
