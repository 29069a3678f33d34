"""Progress (进度查询): touch to next screen drawn with a timeline of 20 applications shown.

A citizen with many applications (a small business owner) reads the list, then goes home
and comes back to it: the touch from the progress screen (action bar Home) and the touch
from the home tile back to the still-shown timeline are measured as bench_ui measures every
screen change (bench/touch.py: touch-up through Kivy's input pipeline to the first flip with
the target screen shown). The other figures are the cost of the answer itself: from handing
20 applications to the screen (as the fetch thread's answer arrives through the Clock) to
the first flip with the first screenful drawn, and to the flip after the last card.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, percentile, provisioned_config

TAPS = 200
ANSWERS = 40
APPLICATIONS = 20


def measure(config_path: Path) -> list[BenchResult]:
    """p95 of the touches over TAPS taps, and of the answer drawn over ANSWERS answers."""
    from kivy.base import EventLoop

    from kiosk.config import load_config
    from screens.harness import HeadlessKiosk

    kiosk = HeadlessKiosk(load_config(config_path), (1080, 1920))
    app = kiosk.start()
    from bench.touch import Flips, touch_to_drawn
    from screens.app import SCREENS
    from screens.audit_progress import sample_applications

    flips = Flips()
    kiosk.idle_until(lambda: all(app.manager.has_screen(name) for name in SCREENS),
                     frames=600, what="warm-up")
    app.start_session()
    app.show("progress")
    screen = app.screen("progress")
    found = sample_applications(app, APPLICATIONS)
    kiosk.pump(3)

    first: list[float] = []
    drawn: list[float] = []
    results = screen.ids.results
    for _ in range(ANSWERS):
        screen._begin("")
        kiosk.pump(2)
        started = time.perf_counter()
        screen._show(found, "", False)
        seen = flips.count
        while flips.count <= seen:
            EventLoop.idle()
        first.append((time.perf_counter() - started) * 1000)
        # the flip after the frame that added the last card (a frame adds some, then draws)
        count, seen = len(results.children), flips.count
        while count < APPLICATIONS or flips.count <= seen:
            EventLoop.idle()
            if len(results.children) != count:
                count, seen = len(results.children), flips.count - 1
            if time.perf_counter() - started > 30:
                raise TimeoutError("the cards were not all drawn within 30 s")
        drawn.append((time.perf_counter() - started) * 1000)

    samples: list[float] = []
    home = app.screen("home")
    while len(samples) < TAPS:
        samples.append(touch_to_drawn(kiosk, flips, screen.ids.action_bar.ids.home, "home"))
        samples.append(touch_to_drawn(kiosk, flips, home.ids.progress, "progress"))
    assert len(screen.results) == APPLICATIONS, "the timeline stays shown within the visit"
    assert app.manager.current in ("home", "progress"), "the kiosk stayed in service"
    flips.close()
    kiosk.stop()
    taps = [sample * 1000 for sample in samples[:TAPS]]
    return [
        BenchResult(
            f"touch to next screen drawn, progress timeline of {APPLICATIONS} applications, "
            f"p95 of {TAPS} taps", percentile(taps, 95), "ms", goal=100,
            detail=f"p50 {percentile(taps, 50):.1f} ms, max {max(taps):.1f} ms; progress -> "
            "home (action bar) and home -> progress (tile), alternating"),
        BenchResult(
            f"answer of {APPLICATIONS} applications to the first screenful drawn, p95 of "
            f"{ANSWERS}", percentile(first, 95), "ms",
            detail=f"p50 {percentile(first, 50):.1f} ms, max {max(first):.1f} ms; "
            "three cards, the rest follow frame by frame"),
        BenchResult(
            f"answer of {APPLICATIONS} applications to all their cards drawn, p95 of "
            f"{ANSWERS}", percentile(drawn, 95), "ms",
            detail=f"p50 {percentile(drawn, 50):.1f} ms, max {max(drawn):.1f} ms; cards built "
            "on the UI thread"),
    ]


def run() -> list[BenchResult]:
    """The progress figures, with a scratch data folder."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-progress-") as scratch:
        return measure(provisioned_config(Path(scratch)))


if __name__ == "__main__":
    for result in run():
        print(f"{result.name}: {result.value:.3f} {result.unit} {result.detail}")
