"""The idle policy in a real window: warning with countdown, extensions, wipe."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from tests.waiting import pump_until

pytestmark = pytest.mark.gui


@pytest.fixture()
def fast_idle(kiosk):
    """Shorten the idle policy for the test (the config enforces >= 15 s and >= 20 s)."""
    from screens.idle import IdleWatch

    app = kiosk.app
    original = app.idle
    original.disarm()
    # a warning of 5 s: one of 2 s was run down by a loaded machine's slow frames before
    # the test's tap on "more time" arrived, and the visit was wiped (a fresh-clone run)
    settings = replace(app.services.config.kiosk, idle_timeout=0.3, idle_warning=5)
    app.idle = IdleWatch(app, settings)
    yield kiosk
    app.idle.disarm()
    app.idle = original


def test_warning_can_be_extended_ten_times_then_wipes_the_visit(fast_idle):
    kiosk = fast_idle
    app = kiosk.app
    app.start_session()
    matter = app.services.catalog.matters()[0]
    app.open_matter(matter)
    kiosk.pump(2)
    for extension in range(1, 12):
        pump_until(kiosk, lambda: app.idle.warning is not None, 5, "the idle warning")
        warning = app.idle.warning
        assert warning.remaining == 5
        kiosk.tap(warning.ids.more_time)
        # that warning is closed (with a 0.3 s test timeout the next may already be up)
        assert app.idle.warning is not warning and not warning.parent
        assert app.services.session.idle_extensions == extension
        assert app.manager.current == "guide"
    pump_until(kiosk, lambda: app.manager.current == "attract", 15, "the wipe")
    session = app.services.session
    assert not session.active
    assert session.matter is None and session.search_text == ""
    assert app.screen("guide").ids.matter_name.text == ""


def test_touches_postpone_the_warning(fast_idle):
    kiosk = fast_idle
    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    window = app.root_window
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        # a touch on the header (no button there) every ~0.1 s keeps the visit alive
        kiosk.tap_at(window.width * 0.25, window.height - 30, frames=1)
        assert app.idle.warning is None
    pump_until(kiosk, lambda: app.idle.warning is not None, 5, "the idle warning")


def test_finish_now_ends_the_visit(fast_idle):
    kiosk = fast_idle
    app = kiosk.app
    app.start_session()
    pump_until(kiosk, lambda: app.idle.warning is not None, 5, "the idle warning")
    kiosk.tap(app.idle.warning.ids.finish)
    assert app.manager.current == "attract"
    assert not app.services.session.active
