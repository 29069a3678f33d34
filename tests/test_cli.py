"""The ``kiosk`` command: help texts, configuration errors, diagnose, screenshots."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_every_subcommand_has_help(capsys):
    names = subcommands()
    assert {"run", "screenshot", "catalog", "config", "diagnose"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert f"kiosk {name}" in out and len(out) > 120, name


def test_top_level_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in subcommands():
        assert name in out


def test_config_typo_is_a_message_not_a_traceback(tmp_path: Path, capsys):
    bad = tmp_path / "kiosk.ini"
    bad.write_text("[kiosk]\nidle_timout = 90\n", encoding="utf-8")
    assert main(["--config", str(bad), "diagnose"]) == 2
    err = capsys.readouterr().err
    assert "kiosk.ini" in err and "idle_timout" in err and "idle_timeout" in err
    assert "Traceback" not in err


def test_diagnose_reports_each_check(tmp_path: Path, capsys):
    config = tmp_path / "kiosk.ini"
    config.write_text(
        f"[storage]\ndata_dir = {tmp_path}\n[platform]\nurl = http://127.0.0.1:9/api/v1\n",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "catalog", "import"]) == 0
    capsys.readouterr()
    code = main(["--config", str(config), "diagnose", "--json"])
    report = json.loads(capsys.readouterr().out)
    checks = {check["name"]: check for check in report["findings"]}
    assert checks["catalogue"]["ok"] and "1135 matters" in checks["catalogue"]["detail"]
    assert checks["fonts"]["ok"] and checks["languages"]["ok"] and checks["storage"]["ok"]
    assert checks["platform"]["status"] == "degraded"  # nothing listens on port 9
    # the catalogue import made the database; no key files yet: pre-flight refuses
    assert checks["outbox"]["status"] == "down" and "REFUSING" in checks["outbox"]["detail"]
    assert "key" in checks["outbox"]["detail"]
    assert code == 2 and report["exit_code"] == 2  # (more in test_cli_diagnose.py)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.gui
def test_screenshot_command_renders_a_png(tmp_path: Path):
    config = tmp_path / "kiosk.ini"
    config.write_text(f"[storage]\ndata_dir = {tmp_path / 'data'}\n", encoding="utf-8")
    out = tmp_path / "guide.png"
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy")
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "--config", str(config), "screenshot", "guide",
         "--out", str(out), "--lang", "en", "--size", "1920x1080"],
        capture_output=True, text=True, timeout=120, env=env, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert png_size(out) == (1920, 1080)
    assert out.stat().st_size > 20_000  # a rendered screen, not an empty frame


def test_screenshot_rejects_a_bad_size(capsys):
    with pytest.raises(SystemExit, match="1080x1920"):
        main(["screenshot", "home", "--out", "x.png", "--size", "big"])
