"""Drive the real kiosk app without a display: for screenshots, tests and benchmarks.

The app runs in an SDL offscreen window (no Xvfb) and frames are advanced by hand with
``EventLoop.idle()``, so tests are synchronous and deterministic (Kivy 2.3.1's async test
helpers do not collect under pytest 9). Taps go through the real input pipeline with
``UnitTestTouch``, hit-testing included.
"""

from __future__ import annotations

import faulthandler
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.config import KioskConfig
from screens.bootstrap import configure_kivy

FRAME_WAIT_FLOOR_S = 10.0
"""The least time a wait bounded by frames lasts before it fails (see ``idle_until``)."""


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

    def idle_until(self, condition: Callable[[], bool], frames: int = 120, what: str = "", *,
                   seconds: float | None = None) -> None:
        """Advance frames until ``condition()`` holds; raise TimeoutError if it never does.

        ``seconds`` bounds the wait by time instead of frames, for work done by another
        thread (a print, a sync), whose pace a loaded machine slows and frames do not measure.
        A wait by frames lasts at least ``FRAME_WAIT_FLOOR_S`` too: a frame is a sixtieth of
        a second on a quiet machine, and a layout or a list refill that a loaded CI machine
        runs late must not fail a test that only waits for it.
        On timeout every thread's stack goes to stderr, so that a wait that hangs in CI says
        where.
        """
        deadline = time.monotonic() + (FRAME_WAIT_FLOOR_S if seconds is None else seconds)
        count = 0
        while not condition():
            count += 1
            if (seconds is not None or count > frames) and time.monotonic() > deadline:
                faulthandler.dump_traceback(all_threads=True)
                limit = f"{frames} frames and {FRAME_WAIT_FLOOR_S:g} s" if seconds is None \
                    else f"{seconds:g} s"
                raise TimeoutError(f"not reached after {limit}: {what or condition}")
            self.pump()

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

    def sample_visit(self, number: int, apply_every: int = 10) -> None:
        """One citizen's visit through every screen, dialog and mode: for the memory benchmark
        and the test that no visit leaves bindings or widgets behind.

        Every ``apply_every``-th visit (0: none; an apply visit takes seconds, the others well
        under one) then also applies offline as etc/journeys/apply.json does: 居住证办理 (its
        record, guide and form cached as a sync would), the card on the emulated reader, the
        form, one material photographed, review with consent, submit (sealed into the outbox),
        the receipt printed, Finish.
        """
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
        if not apply_every or number % apply_every:
            return

        import time

        from reference_platform.matters import form_id_of
        from reference_platform.samples import form, guide

        def until(condition: Callable[[], bool], what: str) -> None:
            deadline = time.monotonic() + 30
            while not condition():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"apply visit: {what} (on {app.manager.current!r})")
                self.pump()

        services = app.services
        code = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理
        matter = services.catalog.matter(code)
        if services.catalog.form_document(code)[1] is None:
            record = {"item_code": code, "name": matter.name, "department": matter.department,
                      "form_id": form_id_of(code), "version": 1}
            services.catalog.store_document("matter", code, record, 1)
            services.catalog.store_document("guide", code, guide(record, 1), 1)
            services.catalog.store_document("form", record["form_id"],
                                            form(record["form_id"], record, 1), 1)
        controls = services.devices.emulators
        controls.set_paper("ok")
        controls.show_scene("document")
        app.start_session()
        if number % 2:
            app.toggle_large_text()
            app.toggle_language("en")
        app.open_matter(matter)
        controls.card_on("resident")
        app.flow.start(matter)
        until(lambda: app.manager.current == "form", "the card was not read")
        draft = services.session.draft
        draft.set_value("phone", "13800138000")
        draft.set_value("agree", "1")
        app.screen("form").next()
        capture = app.screen("capture")
        for need in draft.missing_materials():
            app.screen("materials").photograph(need.name)
            for _page in range(need.pages):
                until(lambda: capture.reviewing, "no page was photographed")
                capture.use()
        until(lambda: app.manager.current == "review", "the review did not come")
        review = app.screen("review")
        review.set_consent(True)
        review.submit()
        done = app.screen("done")
        until(lambda: done.print_state in ("printed", "failed"), "no receipt was printed")
        controls.tear_off()
        done.finish()
        self.pump(2)
