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


def needs_platform(script: Path) -> bool:
    """A script marked ``"needs": ["platform"]`` books, looks up or rates online."""
    return "platform" in json.loads(script.read_text(encoding="utf-8")).get("needs", [])


OFFLINE = [p for p in JOURNEYS if not needs_platform(p)]
ONLINE = [p for p in JOURNEYS if needs_platform(p)]


@pytest.mark.gui
@pytest.mark.parametrize("script", OFFLINE, ids=[p.stem for p in OFFLINE])
def test_shipped_journey_passes(kiosk, script: Path, tmp_path: Path):
    from screens.drive import drive
    from tests.kiosk_files import seed_matter

    # the shared kiosk has no platform: give it what a sync would have cached for the
    # apply journey's matter, whichever test ran before
    seed_matter(kiosk.app.services)

    lines: list[str] = []
    assert drive(kiosk, script, tmp_path, report=lines.append), "\n".join(lines)
    assert all(line.startswith(("journey", "ok")) for line in lines)


@pytest.fixture(scope="module")
def platform(ui_config_file: Path, tmp_path_factory: pytest.TempPathFactory):
    from tests.platform_server import PlatformServer

    folder = tmp_path_factory.mktemp("journey-platform")
    with PlatformServer(folder, kiosks={"511602-TEST-01": ui_config_file.parent / "platform.key"}
                        ) as running:
        yield running


@pytest.mark.gui
@pytest.mark.parametrize("script", ONLINE, ids=[p.stem for p in ONLINE])
def test_shipped_platform_journey_passes(script: Path, platform, ui_config_file: Path,
                                        tmp_path: Path):
    """Through `kiosk drive` as a technician runs it, with its own data folder, against a
    reference platform process on 127.0.0.1."""
    config = tmp_path / "kiosk.ini"
    text = ui_config_file.read_text(encoding="utf-8")
    config.write_text(text.replace("[platform]\n", f"[platform]\nurl = {platform.base_url}\n"
                                   "health_interval = 5\n")
                      .replace(str(ui_config_file.parent / "data"), str(tmp_path / "data")),
                      encoding="utf-8")
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy",
               KIVY_NO_ARGS="1", LP_NUM_THREADS="0", PYTHONPATH=str(REPO))
    env.pop("KIOSK_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "--config", str(config), "drive", str(script),
         "--out-dir", str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=300,
        env=env)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def test_every_flow_of_this_build_has_a_journey():
    assert {p.stem for p in JOURNEYS} >= {
        "find-guide", "search", "call-staff", "apply", "ask", "bundle", "policies",
        "progress", "appointment", "ticket", "evaluate"}


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


def test_a_script_can_start_with_another_and_never_with_itself(tmp_path: Path):
    from screens.drive import ScriptError, load_script

    (tmp_path / "first.json").write_text(json.dumps(
        {"steps": [{"start": True}, {"idle": 1, "seconds": 5}]}), encoding="utf-8")
    (tmp_path / "then.json").write_text(json.dumps(
        {"steps": [{"journey": "first.json"}, {"tear_off": True}]}), encoding="utf-8")
    _name, steps = load_script(tmp_path / "then.json")
    assert [(s.number, s.kind, s.seconds) for s in steps] == [
        (1, "start", 10.0), (2, "idle", 5.0), (3, "tear_off", 10.0)]
    (tmp_path / "loop.json").write_text(json.dumps({"steps": [{"journey": "loop.json"}]}),
                                        encoding="utf-8")
    with pytest.raises(ScriptError, match="includes itself"):
        load_script(tmp_path / "loop.json")
    (tmp_path / "lost.json").write_text(json.dumps({"steps": [{"journey": "gone.json"}]}),
                                        encoding="utf-8")
    with pytest.raises(ScriptError, match=r"gone\.json: cannot read the script"):
        load_script(tmp_path / "lost.json")


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
