"""Printing a slip from a screen: on a worker thread, the outcome back on the UI thread.

A slip takes seconds on a 9600 baud line, so it never prints on the UI thread. Each print
gets a job number: when the visit ends (or the citizen leaves the screen that asked) while
a slip is still printing, :meth:`SlipPrinter.forget` makes its outcome land nowhere rather
than on the next citizen's screen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from kivy.clock import Clock

from kiosk.devices.hub import DeviceHub, PrintOutcome, Receipt  # screens know no drivers


class SlipPrinter:
    """Prints one slip at a time for one screen; ``on_outcome`` runs on the UI thread."""

    def __init__(self, devices: DeviceHub, on_outcome: Callable[[PrintOutcome], None],
                 name: str = "print-slip") -> None:
        self.devices = devices
        self.on_outcome = on_outcome
        self.name = name
        self.printing = False
        self._job = 0

    def print(self, slip: Receipt) -> None:
        """Start printing ``slip`` (ignored while one is printing)."""
        if self.printing:
            return
        self.printing = True
        self._job += 1
        job = self._job

        def run() -> None:
            outcome = self.devices.print_receipt(slip)
            Clock.schedule_once(lambda _dt: self._done(job, outcome))

        threading.Thread(target=run, name=self.name, daemon=True).start()

    def _done(self, job: int, outcome: PrintOutcome) -> None:
        if job != self._job:
            return  # forgotten: an ended visit's slip
        self.printing = False
        self.on_outcome(outcome)

    def forget(self) -> None:
        """Whatever is printing now reports to nobody (the visit ended)."""
        self._job += 1
        self.printing = False
