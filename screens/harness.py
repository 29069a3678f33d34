"""Drive the real kiosk app without a display: for screenshots, tests and benchmarks.

The app runs in an SDL offscreen window (no Xvfb) and frames are advanced by hand with
``EventLoop.idle()``, so tests are synchronous and deterministic (Kivy 2.3.1's async test
helpers do not collect under pytest 9). Taps go through the real input pipeline with
``UnitTestTouch``, hit-testing included.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from kiosk.config import KioskConfig
from screens.bootstrap import configure_kivy


class HeadlessKiosk:
    """One kiosk app in an offscreen window; ``start()`` once, then ``pump`` and ``tap``."""

    def __init__(self, config: KioskConfig, size: tuple[int, int]) -> None:
        self.config = config
        self.size = size
        self.app = None

    def start(self, *, probe_network: bool = False, speak: bool = False):
        """Create the window (first time only) and the app; returns the app."""
        configure_kivy(self.config, size=self.size, headless=True)
        from kivy.base import EventLoop
        from kivy.core.window import Window

        from kiosk.services import KioskServices
        from screens.app import KioskApp

        if tuple(Window.size) != self.size:
            Window.size = self.size
        EventLoop.ensure_window()
        Window.close = lambda *args, **kwargs: None  # no test may close the shared window
        if EventLoop.status != "started":
            EventLoop.start()
        services = KioskServices.create(self.config)
        if not speak:
            # a speaker that accepts every prompt and makes no sound: the read-aloud button
            # is on screen as on a kiosk with speech, and tests never talk to the room
            from dataclasses import replace

            from kiosk.assistance.speech import Speaker

            services.speaker = Speaker(replace(self.config.speech, enabled=True),
                                       engine="/bin/true")
        if not probe_network:
            services.connectivity.start = lambda: None  # type: ignore[method-assign]
            services.sync.start = lambda: None  # type: ignore[method-assign]
        self.app = KioskApp(services, lockdown=False)
        self.app._run_prepare()
        self.pump(3)
        return self.app

    def stop(self) -> None:
        """Remove the app from the window and forget the visit."""
        from kivy.base import EventLoop
        from kivy.core.window import Window
        from kivy.metrics import Metrics

        if self.app is not None:
            self.app.idle.disarm()
            self.app.dispatch("on_stop")
            for child in list(Window.children):
                Window.remove_widget(child)
            EventLoop.touches.clear()
            Metrics.fontscale = 1.0
            self.app = None

    def pump(self, frames: int = 1) -> None:
        """Advance ``frames`` frames of the event loop (clock, input, drawing)."""
        from kivy.base import EventLoop

        for _ in range(frames):
            EventLoop.idle()

    def idle_until(self, condition: Callable[[], bool], frames: int = 120, what: str = "") -> None:
        """Advance frames until ``condition()`` holds; raise TimeoutError if it never does."""
        for _ in range(frames):
            if condition():
                return
            self.pump()
        if not condition():
            raise TimeoutError(f"not reached after {frames} frames: {what or condition}")

    def tap(self, widget, frames: int = 2) -> None:
        """Touch down and up at the centre of ``widget`` through the real input pipeline."""
        from kivy.tests.common import UnitTestTouch

        self.pump(1)  # let pending layout settle so the widget is where it will be drawn
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.pump(1)
        touch.touch_up()
        self.pump(frames)

    def tap_at(self, x: float, y: float, frames: int = 2) -> None:
        """Tap window coordinates ``(x, y)``."""
        from kivy.tests.common import UnitTestTouch

        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.pump(1)
        touch.touch_up()
        self.pump(frames)

    def screenshot(self, path: Path) -> Path:
        """Save the window as PNG at ``path`` (Kivy numbers its own names; we rename)."""
        from kivy.core.window import Window

        self.pump(2)
        path.parent.mkdir(parents=True, exist_ok=True)
        directory = tempfile.mkdtemp(prefix="kiosk-shot-")
        try:
            written = Window.screenshot(name=os.path.join(directory, "shot.png"))
            shutil.move(written, path)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return path

    def sample_visit(self, number: int) -> None:
        """One citizen's visit through every screen, dialog and mode: for the memory benchmark
        and the test that no visit leaves bindings or widgets behind."""
        app = self.app
        app.start_session()
        if number % 2:
            app.toggle_large_text()
            app.toggle_language("en")
        app.show("catalogue")
        catalogue = app.screen("catalogue")
        catalogue.select_group(app.services.catalog.departments()[number % 5][0])
        catalogue.page(1)
        app.show("search")
        search = app.screen("search")
        for letter in "juzhu":
            search.on_key(letter, letter)
        hits = app.services.catalog.search("居住证", limit=1)
        app.open_matter(hits[0].matter if hits else app.services.catalog.matters()[0])
        app.read_aloud()
        app.call_staff()
        self.pump(2)
        app.end_staff_call("staff")
        app.show_refusal("preflight.backlog")
        self.pump(2)
        app.end_session()
        self.pump(2)
