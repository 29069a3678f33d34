"""Kiosk lockdown in a real window: Esc, F1 and close requests leave the kiosk running.

Runs in a child process because Kivy's settings are fixed when its window is created, and
the shared test window is made without lockdown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from kiosk.config import load_config
    from screens.bootstrap import configure_kivy

    config = load_config(sys.argv[1])
    configure_kivy(config)
    from kivy.config import Config
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kiosk.services import KioskServices
    from screens.app import KioskApp

    services = KioskServices.create(config)
    services.connectivity.start = lambda: None
    app = KioskApp(services, lockdown=config.display.lockdown)
    app._run_prepare()
    EventLoop.start()
    for _ in range(3):
        EventLoop.idle()
    Window.dispatch("on_keyboard", 27, 9, None, [])     # Esc
    Window.dispatch("on_keyboard", 282, 67, None, [])   # F1: Kivy's settings panel
    vetoed = Window.dispatch("on_request_close")
    for _ in range(3):
        EventLoop.idle()
    print(json.dumps({
        "running": EventLoop.status == "started" and not EventLoop.quit,
        "settings_open": app._app_settings is not None and app._app_settings.parent is not None,
        "vetoed": bool(vetoed),
        "exit_on_escape": Config.get("kivy", "exit_on_escape"),
        "fullscreen": Config.get("graphics", "fullscreen"),
        "borderless": Config.get("graphics", "borderless"),
        "show_cursor": Config.get("graphics", "show_cursor"),
        "mouse": Config.get("input", "mouse"),
    }))
    """
)


def run_kiosk(tmp_path: Path, developer: bool) -> dict:
    config = tmp_path / "kiosk.ini"
    config.write_text(
        f"[storage]\ndata_dir = {tmp_path / 'data'}\n[display]\ndeveloper = {int(developer)}\n",
        encoding="utf-8",
    )
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config)],
        capture_output=True, text=True, timeout=120, env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_lockdown_keeps_the_kiosk_running(tmp_path: Path):
    state = run_kiosk(tmp_path, developer=False)
    assert state == {
        "running": True,
        "settings_open": False,
        "vetoed": True,
        "exit_on_escape": "0",
        "fullscreen": "auto",
        "borderless": "1",
        "show_cursor": "0",
        "mouse": "mouse,multitouch_on_demand,disable_on_activity",
    }


def test_developer_mode_turns_lockdown_off(tmp_path: Path):
    state = run_kiosk(tmp_path, developer=True)
    assert state["exit_on_escape"] == "1"
    assert state["fullscreen"] == "0"
    assert state["show_cursor"] == "1"
    assert state["vetoed"] is False
