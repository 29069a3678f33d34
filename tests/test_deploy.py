"""Deployment files: the systemd unit passes ``systemd-analyze verify``, and building the
package warns about nothing and still carries its data files (docs/deploy.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "systemd" / "kiosk.service"


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_unit_restarts_watches_and_keeps_the_devices() -> None:
    unit = unit_settings()
    assert unit["Type"] == ["notify"] and unit["NotifyAccess"] == ["main"]
    assert unit["Restart"] == ["on-failure"] and int(unit["WatchdogSec"][0]) >= 10
    assert unit["ExecStart"] == ["/opt/kiosk/.venv/bin/kiosk --config /etc/kiosk/kiosk.ini run"]
    assert {"dialout", "video", "lp", "input"} <= set(unit["SupplementaryGroups"][0].split())
    # any of these would hide /dev/dri, /dev/input, serial and USB devices from the kiosk
    for hiding in ("PrivateDevices", "DevicePolicy", "DeviceAllow", "ProtectClock"):
        assert hiding not in unit
    assert unit["User"] == ["kiosk"] and unit["NoNewPrivileges"] == ["yes"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    kiosk = Path(sys.executable).parent / "kiosk"
    assert kiosk.exists(), "the kiosk console script (pip install -e .)"
    text = UNIT.read_text(encoding="utf-8")
    # verify checks that ExecStart's program exists: point it at this checkout's
    unit = tmp_path / "kiosk.service"
    unit.write_text(text.replace("/opt/kiosk/.venv/bin/kiosk", str(kiosk)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def copy_sources(target: Path) -> None:
    """What a build reads, without this checkout's build/, egg-info, venv and caches."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    for package in ("kiosk", "drivers", "screens", "offline_cache", "reference_platform"):
        shutil.copytree(REPO / package, target / package, ignore=ignore)


def test_the_build_warns_about_nothing_and_keeps_the_data_files(tmp_path: Path) -> None:
    """``pip install`` / ``make`` used to print five setuptools warnings about data folders
    (kiosk/data, the locales, screens/keyboards...) that were not declared as packages."""
    source = tmp_path / "src"
    source.mkdir()
    copy_sources(source)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    if done.returncode != 0 and re.search(r"(?i)no matching distribution|network|"
                                          r"connection|temporary failure", output):
        pytest.skip("pip cannot fetch the build requirements (offline)")
    assert done.returncode == 0, output[-3000:]
    assert not re.search(r"(?i)warning|deprecat", output), output[-3000:]
    wheel = next((tmp_path / "dist").glob("gov_kiosk-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("kiosk/data/matters_guangan.json", "kiosk/locales/zh_CN/LC_MESSAGES/kiosk.mo",
                   "kiosk/locales/en/LC_MESSAGES/kiosk.mo", "screens/home.kv",
                   "screens/keyboards/pinyin.json", "reference_platform/data/sample_people.json",
                   "kiosk/operations/logs.py"):
        assert needed in names, needed
    assert not any("__pycache__" in name for name in names)
