"""Kivy settings that must be in place before the first window is created.

Kivy reads most settings when ``kivy.core.window`` and ``kivy.core.text`` are imported, so
this module is called first by every entry point (the kiosk, screenshots, tests) and imports
nothing of Kivy at module level.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.fonts import FontMissingError, ensure_sc_fonts

log = logging.getLogger(__name__)


def prepare_environment(kivy_home: Path) -> None:
    """Environment variables Kivy reads on ``import kivy``."""
    kivy_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # Kivy logs go through ``logging`` so that tracebacks are never swallowed
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_HOME", str(kivy_home))
    os.environ.setdefault("KIVY_METRICS_DENSITY", "1")
    os.environ.setdefault("KCFG_KIVY_LOG_LEVEL", "warning")


def configure_kivy(
    config: KioskConfig,
    *,
    size: tuple[int, int] | None = None,
    headless: bool = False,
) -> None:
    """Apply kiosk settings to Kivy's Config; call before any window exists.

    Kiosk lockdown (no Esc, no F1 settings, no cursor, fullscreen borderless, close refused
    by the app) is on unless ``display.developer`` is set or we render headless.
    """
    prepare_environment(config.storage.data_dir / "kivy")
    if headless:
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from kivy.config import Config

    width, height = size or config.window_size
    locked = config.display.lockdown and not headless
    Config.set("kivy", "exit_on_escape", "0" if locked else "1")
    Config.set("kivy", "pause_on_minimize", "0")
    Config.set("kivy", "kivy_clock", "interrupt")
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "0" if config.display.windowed or headless else "auto")
    Config.set("graphics", "borderless", "1" if locked else "0")
    Config.set("graphics", "resizable", "0" if locked else "1")
    Config.set("graphics", "show_cursor", "0" if locked else "1")
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("graphics", "rotation", str(config.display.rotation))
    Config.set("graphics", "maxfps", str(config.display.maxfps))
    Config.set("input", "mouse", "mouse,multitouch_on_demand,disable_on_activity")
    if headless:
        # no real input devices in a headless render or test
        for option in Config.options("input"):
            Config.remove_option("input", option)
    try:
        fonts = ensure_sc_fonts()
    except FontMissingError as error:
        log.error("Chinese text cannot be drawn: %s", error)
        return
    regular, bold = str(fonts.regular), str(fonts.bold)
    Config.set("kivy", "default_font", repr(["NotoSansSC", regular, regular, bold, bold]))
