"""The shipped journey scripts pass on the real app, and `kiosk drive` says what failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
JOURNEYS = sorted((REPO / "etc" / "journeys").glob("*.json"))


@pytest.mark.gui
@pytest.mark.parametrize("script", JOURNEYS, ids=[p.stem for p in JOURNEYS])
def test_shipped_journey_passes(kiosk, script: Path, tmp_path: Path):
    from screens.drive import drive
    from tests.kiosk_files import seed_matter

    # the shared kiosk has no platform: give it what a sync would have cached for the
    # apply journey's matter, whichever test ran before
    seed_matter(kiosk.app.services)

    lines: list[str] = []
    assert drive(kiosk, script, tmp_path, report=lines.append), "\n".join(lines)
    assert all(line.startswith(("journey", "ok")) for line in lines)


def test_every_flow_of_this_build_has_a_journey():
    assert {p.stem for p in JOURNEYS} >= {"find-guide", "search", "call-staff"}


@pytest.mark.gui
def test_a_failing_step_says_what_was_on_screen(kiosk, tmp_path: Path):
    from screens.drive import drive

    script = tmp_path / "wrong.json"
    script.write_text(json.dumps({"name": "wrong", "steps": [
        {"start": True}, {"expect_text": "不存在的文字", "seconds": 0.5}]}), encoding="utf-8")
    lines: list[str] = []
    assert not drive(kiosk, script, tmp_path, report=lines.append)
    assert lines[-2].startswith("FAIL   2 expect_text 不存在的文字")
    assert "screen 'home' shows:" in lines[-1] and "您要办理什么业务" in lines[-1]


@pytest.mark.parametrize(("steps", "complaint"), [
    ("not a list", "expected"),
    ([{"tap": "home", "tap_text": "x"}], "step 1: expected one of"),
    ([{"fly": "away"}], "step 1: expected one of"),
    ([{"idle": 1, "seconds": -2}], "step 1: seconds must be"),
])
def test_broken_scripts_are_refused_with_the_step(tmp_path: Path, steps, complaint: str):
    from screens.drive import ScriptError, load_script

    script = tmp_path / "broken.json"
    script.write_text(json.dumps({"steps": steps}), encoding="utf-8")
    with pytest.raises(ScriptError, match=complaint):
        load_script(script)


def test_kiosk_drive_command_exit_codes(ui_config_file: Path, tmp_path: Path):
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy",
               KIVY_NO_ARGS="1", LP_NUM_THREADS="0")
    command = [sys.executable, "-m", "kiosk", "--config", str(ui_config_file), "drive",
               "--out-dir", str(tmp_path)]
    passed = subprocess.run([*command, str(REPO / "etc" / "journeys" / "search.json")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "ok    10 wait_screen search" in passed.stdout
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    refused = subprocess.run([*command, str(broken)], capture_output=True, text=True, env=env,
                             timeout=60)
    assert refused.returncode == 2 and "cannot read the script" in refused.stderr
