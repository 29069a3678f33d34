"""Touch to next screen drawn: the one measure of the UI benchmarks (bench_ui, bench_apply).

The time runs from the touch-up (through Kivy's input pipeline, as a finger's) to the first
buffer flip with the target screen current, i.e. until the citizen can see it.
"""

from __future__ import annotations

import time


class Flips:
    """Counts the window's buffer flips: a screen is drawn once a flip follows its change."""

    def __init__(self) -> None:
        from kivy.core.window import Window

        self.count = 0
        Window.bind(on_flip=self._flipped)

    def _flipped(self, *_args) -> None:
        self.count += 1

    def close(self) -> None:
        from kivy.core.window import Window

        Window.unbind(on_flip=self._flipped)


def touch_to_drawn(kiosk, flips: Flips, widget, target: str, limit: float = 30.0) -> float:
    """Seconds from touch-up on ``widget`` to the first flip with screen ``target`` shown:
    the real input pipeline, hit-testing included."""
    from kivy.base import EventLoop
    from kivy.tests.common import UnitTestTouch

    app = kiosk.app
    kiosk.pump(2)
    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    kiosk.pump(1)
    started = time.perf_counter()
    touch.touch_up()
    while True:
        seen = flips.count
        EventLoop.idle()
        elapsed = time.perf_counter() - started
        if app.manager.current == target and flips.count > seen:
            return elapsed
        if elapsed > limit:
            raise TimeoutError(f"screen {target!r} not drawn {limit:.0f} s after the tap "
                               f"(on {app.manager.current!r})")
