"""The apply journey through ``kiosk drive`` with the reference platform as a real process.

Each visit runs the real app in a child process (as an installer runs a journey on site),
with emulated devices and the platform on 127.0.0.1; the test then looks at what reached the
kiosk's outbox and the platform. Covered here: apply online (the official number on the
receipt), apply offline and then sync (exactly once), the electronic ID code (valid and
expired), and face presence.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.applying.applications import OutboxStorage
from kiosk.config import load_config
from kiosk.platform.signing import create_key_file, read_key_file
from offline_cache.outbox import State
from tests.platform_server import PlatformServer, signed_session

REPO = Path(__file__).resolve().parent.parent
APPLY = REPO / "etc" / "journeys" / "apply.json"
KIOSK_ID = "511602-TEST-09"
RESIDENT_NUMBER = "110101199003078013"

pytestmark = pytest.mark.gui


@dataclass
class Site:
    """A kiosk configuration and the platform it talks to."""

    folder: Path
    config: Path
    server: PlatformServer

    def drive(self, steps: list[dict], tmp_path: Path, name: str = "visit") -> str:
        """Run ``steps`` with ``kiosk drive``; returns its output (asserts it passed)."""
        script = tmp_path / f"{name}.json"
        script.write_text(json.dumps({"name": name, "steps": steps}, ensure_ascii=False),
                          encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "kiosk", "--config", str(self.config), "drive", str(script),
             "--out-dir", str(tmp_path / "shots")],
            capture_output=True, text=True, cwd=REPO, timeout=300, env=child_env())
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        return result.stdout

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kiosk", "--config", str(self.config),
                               *args], capture_output=True, text=True, cwd=REPO, timeout=300,
                              env=child_env())

    def outbox(self) -> list:
        """Outbox rows, oldest first."""
        storage = OutboxStorage(load_config(self.config))
        try:
            return sorted(storage.outbox.listing(limit=1000), key=lambda row: row.created_at)
        finally:
            storage.close()

    def platform_record(self, number: str) -> dict:
        session = signed_session(self.server.base_url, KIOSK_ID,
                                 read_key_file(self.folder / "platform.key"))
        answer = session.get(f"{self.server.base_url}/applications/{number}", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()


def child_env() -> dict[str, str]:
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy",
               KIVY_NO_ARGS="1", LP_NUM_THREADS="0", PYTHONPATH=str(REPO))
    env.pop("KIOSK_CONFIG", None)
    return env


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """A kiosk that has synced with a running reference platform once."""
    folder = tmp_path_factory.mktemp("online")
    create_key_file(folder / "platform.key")
    server_folder = folder / "platform"
    server_folder.mkdir()
    server = PlatformServer(server_folder, kiosks={KIOSK_ID: folder / "platform.key"})
    config = folder / "kiosk.ini"
    config.write_text(
        f"[kiosk]\nid = {KIOSK_ID}\nlanguage = zh_CN\nidle_timeout = 600\n"
        f"[storage]\ndata_dir = {folder / 'data'}\n"
        f"[platform]\nurl = {server.base_url}\nkey_file = {folder / 'platform.key'}\n"
        "health_interval = 5\nsync_interval = 5\n[display]\ndeveloper = 1\n",
        encoding="utf-8")
    site = Site(folder, config, server)
    synced = site.cli("sync", "--once")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    yield site
    server.stop()


def apply_steps() -> list[dict]:
    return json.loads(APPLY.read_text(encoding="utf-8"))["steps"]


def test_apply_online_prints_the_official_number(site: Site, tmp_path: Path):
    before = len(site.outbox())
    steps = apply_steps()
    printed = next(i for i, step in enumerate(steps) if "expect_printed" in step)
    # the platform's number (area code and date, e.g. 51160220261127000001) is on the slip
    year = datetime.now().year
    steps.insert(printed + 1, {"expect_printed": f"511602{year}", "seconds": 30})
    site.drive(steps, tmp_path)
    rows = site.outbox()
    assert len(rows) == before + 1
    row = rows[-1]
    assert row.state in (State.ACKNOWLEDGED, State.STATUS_SYNCED) and row.application_no
    record = site.platform_record(row.receipt_no)
    assert record["application_no"] == row.application_no
    assert record["item_code"] == row.item_code


def test_apply_offline_then_sync_exactly_once(site: Site, tmp_path: Path):
    before = len(site.outbox())
    site.server.stop()
    try:
        steps = apply_steps()
        done = next(i for i, step in enumerate(steps) if step.get("wait_screen") == "done")
        steps.insert(done + 1, {"expect_text": "网络恢复后会自动发送"})
        site.drive(steps, tmp_path)
    finally:
        site.server.start()
    rows = site.outbox()
    assert len(rows) == before + 1
    row = rows[-1]
    assert row.state in (State.SEALED, State.RETRY_LATER) and not row.application_no
    for _ in range(2):  # a second pass must not send it again
        synced = site.cli("sync", "--once")
        assert synced.returncode == 0, synced.stdout + synced.stderr
    row = site.outbox()[-1]
    assert row.state in (State.ACKNOWLEDGED, State.STATUS_SYNCED) and row.application_no
    assert site.platform_record(row.receipt_no)["application_no"] == row.application_no


def open_apply(name: str, initials: str) -> list[dict]:
    return [{"card_off": True}, {"start": True}, {"tap": "search"}, {"type": initials},
            {"tap_text": name}, {"wait_screen": "guide"}, {"tap": "guide_apply"},
            {"wait_screen": "identify", "seconds": 20}]


def test_electronic_id_code_valid_and_expired(site: Site, tmp_path: Path):
    site.drive([
        *open_apply("居住证办理", "jzz"),
        {"tap": "identify_ecode"},
        {"show_ecode": "resident expired"},
        {"expect_text": "此码已过期", "seconds": 20},
        {"show_ecode": "resident"},
        {"wait_screen": "form", "seconds": 20},
        {"expect_text": "来自电子身份证"},
        {"card_on": "resident"},
    ], tmp_path)


def test_face_presence_keeps_one_still_for_the_record(site: Site, tmp_path: Path):
    before = len(site.outbox())
    site.drive([
        *open_apply("养蜂证申领", "yfzsl"),  # its sample form asks for face presence
        {"show": "face"}, {"card_on": "resident"},
        {"wait_screen": "capture", "seconds": 20},
        {"expect_text": "这不是人脸识别"},
        {"tap": "capture_use", "seconds": 30},
        {"wait_screen": "form", "seconds": 10},
        {"show": "document"},
        {"tap": "home"},
    ], tmp_path)
    assert len(site.outbox()) == before  # nothing submitted, nothing stored
