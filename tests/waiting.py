"""Waiting for something a background thread does, without fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], seconds: float = 5.0,
               what: str = "condition") -> None:
    """Poll ``condition`` every 10 ms until it is true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"{what} not reached within {seconds} s")


def pump_until(kiosk, condition: Callable[[], object], seconds: float = 10.0,
               what: str = "condition") -> None:
    """Advance the headless app's frames until ``condition`` holds (a reply from another
    thread or process arrives in wall-clock time, not in a number of frames)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        kiosk.pump()
    raise AssertionError(f"{what} not reached within {seconds} s")
