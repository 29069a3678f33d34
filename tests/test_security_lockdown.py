"""Lockdown survives an error: a fault in a screen's code costs one visit, never the kiosk."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kivy.base import EventLoop, ExceptionManager
from kivy.clock import Clock

from kiosk.operations.ui_errors import ErrorTally
from screens.crash_guard import APOLOGY_TITLE
from screens.i18n import tr

REPO = Path(__file__).resolve().parent.parent
NUMBER = "110101199003078013"


def mainloop_frames(kiosk, frames: int) -> None:
    """Frames as Kivy's ``EventLoop.mainloop`` runs them: an exception goes to the
    ExceptionManager, and the loop stops only if no handler passes it."""
    for _ in range(frames):
        try:
            EventLoop.idle()
        except BaseException as error:  # as the main loop does: every exception
            if ExceptionManager.handle_exception(error) == ExceptionManager.RAISE:
                raise


def open_notices(kiosk) -> list[str]:
    from screens.widgets import Notice

    return [child.title for child in kiosk.app.root_window.children if isinstance(child, Notice)]


@pytest.mark.ui_errors
def test_an_error_in_a_callback_ends_the_visit_with_an_apology(kiosk, caplog):
    app = kiosk.app
    tally = app.crash_guard.tally
    before = tally.total
    app.start_session()
    app.show("search")
    kiosk.pump(2)

    def fault(_dt: float) -> None:
        raise ValueError(f"bad number {NUMBER}")

    Clock.schedule_once(fault, 0)
    with caplog.at_level(logging.ERROR):
        mainloop_frames(kiosk, 4)
    assert app.manager.current == "attract"
    assert open_notices(kiosk) == [tr._(APOLOGY_TITLE)]
    assert app.services.session.draft is None and not app.history
    assert tally.total == before + 1 and tally.last_type == "ValueError"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "UI error ValueError" in logged and "fault" in logged  # type and where
    assert NUMBER not in logged  # the message may quote the citizen: never written
    kept = (app.services.config.storage.data_dir / "ui_errors.json").read_text("utf-8")
    assert json.loads(kept)["total"] == tally.total and NUMBER not in kept
    assert oct(os.stat(app.services.config.storage.data_dir / "ui_errors.json").st_mode)[-3:] \
        == "600"


@pytest.mark.ui_errors
def test_an_error_in_a_touch_handler_is_caught_the_same_way(kiosk):
    """A touch queued as the input providers queue it, so it is dispatched inside idle()."""
    from kivy.tests.common import UnitTestTouch

    from screens.audit_checks import named_widgets

    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    button = dict(named_widgets(app.screen("home")))["search"]

    def broken(*_args) -> None:
        raise RuntimeError("broken button")

    button.bind(on_release=broken)
    try:
        touch = UnitTestTouch(*button.to_window(*button.center))
        EventLoop._dispatch_input("begin", touch)
        mainloop_frames(kiosk, 1)
        EventLoop._dispatch_input("end", touch)
        mainloop_frames(kiosk, 4)
    finally:
        button.unbind(on_release=broken)
    assert app.manager.current == "attract" and open_notices(kiosk)


def test_the_tally_asks_for_a_restart_only_when_errors_come_fast(tmp_path: Path):
    tally = ErrorTally.load(tmp_path / "ui_errors.json")
    assert not tally.record(RuntimeError(), now=0.0)
    assert not tally.record(RuntimeError(), now=400.0)  # the first has left the window
    assert not tally.record(RuntimeError(), now=500.0)
    assert tally.record(RuntimeError(), now=600.0)  # three within 300 s
    tally.restarting()
    again = ErrorTally.load(tmp_path / "ui_errors.json")
    assert (again.total, again.restarts) == (4, 1)
    (tmp_path / "ui_errors.json").write_text("{not json", encoding="utf-8")
    assert ErrorTally.load(tmp_path / "ui_errors.json").total == 0  # a count never blocks


def test_under_the_real_main_loop_errors_are_survived_then_the_app_restarts(
        ui_config_file: Path, tmp_path: Path):
    """``App.run`` with Kivy's own loop: two faults are survived with an apology each, the
    third within the window stops the app asking ``kiosk run`` for a fresh process."""
    config = tmp_path / "kiosk.ini"
    text = ui_config_file.read_text(encoding="utf-8")
    config.write_text(text.replace(str(ui_config_file.parent / "data"), str(tmp_path / "data")),
                      encoding="utf-8")
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "SDL_AUDIODRIVER": "dummy",
           "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    done = subprocess.run([sys.executable, "-m", "tests.ui_error_child", str(config), "3"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["restart"] is True and result["total"] == 3
    assert result["screens"][:2] == ["attract", "attract"]
    assert all(titles for titles in result["dialogs"][:2])  # an apology after each
    assert NUMBER not in done.stderr and NUMBER not in done.stdout
