"""Pre-flight checks before a new application, on a real data folder and SQLite outbox.

The free disk space is the one input faked: filling a real file system in a test would need
root (a loop device or tmpfs) or would fill the developer's disk, so the checks take the
``shutil.disk_usage`` function as a parameter and these tests pass a stand-in.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import pytest

from kiosk.applying.preflight import (
    BUILD_FLOOR,
    CITIZEN_MESSAGE_IDS,
    MB,
    Check,
    DiskUsage,
    KeyFile,
    Preflight,
    PreflightRefused,
    PreflightReport,
    Severity,
    check_clock,
    check_disk,
    check_key_file,
)
from kiosk.applying.receipt_numbers import make_receipt_number
from kiosk.config import OutboxSection, load_config
from kiosk.platform.client import parse_health
from offline_cache.database import open_database
from offline_cache.outbox import Outbox

KEY = bytes(range(32))
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC).timestamp()
DAY = 86_400.0
CITIZEN = {"applicant": {"name": "测试乙", "id_number": "110101199003078015"}}
LIMITS = OutboxSection(retention_days=30, min_free_mb=200, max_pending=3, max_pending_age_days=7)
KEY_TEXT = "ab" * 32 + "\n"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def plenty_of_disk(path: Path) -> DiskUsage:
    return DiskUsage(total=100_000 * MB, used=10_000 * MB, free=90_000 * MB)


def write_key(path: Path, text: str = KEY_TEXT, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="ascii")
    path.chmod(mode)
    return path


class Kiosk:
    """A data folder with both keys, a real outbox database and the pre-flight over them."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.clock = Clock()
        self.conn = open_database(data_dir / "kiosk.db")
        self.outbox = Outbox(
            self.conn, KEY, partial(make_receipt_number, "511602-HALL-01"), clock=self.clock
        )
        self.master_key = write_key(data_dir / "master.key")
        self.platform_key = write_key(data_dir / "platform.key")
        self.disk_usage = plenty_of_disk

    def preflight(self, limits: OutboxSection = LIMITS) -> Preflight:
        return Preflight(
            data_dir=self.data_dir,
            outbox=self.outbox,
            limits=limits,
            key_files=(
                KeyFile("master_key", self.master_key),
                KeyFile("platform_key", self.platform_key),
            ),
            clock=self.clock,
            disk_usage=lambda path: self.disk_usage(path),
        )

    def run(self, skew_s: float | None = None) -> PreflightReport:
        return self.preflight().run(skew_s)

    def application(self, state: str, created_at: float | None = None) -> str:
        """A record in ``state`` through the Outbox API, created at ``created_at``."""
        saved = self.clock.now
        self.clock.now = NOW if created_at is None else created_at
        local_id = self.outbox.create_draft("ITEM-1", CITIZEN)
        self.clock.now = saved
        if state == "draft":
            return local_id
        self.outbox.seal_application(local_id, day=date(2026, 11, 23))
        if state == "sealed":
            return local_id
        self.outbox.start_upload(local_id)
        if state == "retry_later":
            self.outbox.retry_later(local_id, "platform 503", delay=60)
        elif state == "quarantined":
            self.outbox.quarantine(local_id, "422 validation")
        elif state == "acknowledged":
            self.outbox.acknowledge(local_id, "GA-1")
        else:
            assert state == "uploading", state
        return local_id


@pytest.fixture()
def kiosk(tmp_path: Path):
    kiosk = Kiosk(tmp_path / "data")
    yield kiosk
    kiosk.conn.close()


def by_name(report: PreflightReport) -> dict[str, Check]:
    return {check.name: check for check in report.checks}


# ---------------------------------------------------------------------------------- whole


def test_healthy_kiosk_accepts_and_reports_every_check(kiosk: Kiosk) -> None:
    report = kiosk.run(skew_s=5.0)
    assert report.accepting
    assert report.citizen_message_id is None
    assert report.refusals == () and report.warnings == ()
    assert [c.name for c in report.checks] == [
        "disk", "clock", "backlog", "backlog_age", "quarantine", "master_key", "platform_key",
    ]  # fmt: skip
    assert all(check.ok for check in report.checks)
    assert {check.citizen_message_id for check in report.checks} <= set(CITIZEN_MESSAGE_IDS)
    assert report.checked_at == NOW


def test_from_config_checks_the_configured_folder_and_keys(tmp_path: Path, kiosk: Kiosk) -> None:
    ini = tmp_path / "kiosk.ini"
    ini.write_text(
        f"[storage]\ndata_dir = {kiosk.data_dir}\n[outbox]\nmax_pending = 1\n", encoding="utf-8"
    )
    config = load_config(ini, environ={"HOME": str(tmp_path)})
    seen: list[Path] = []

    def disk_usage(path: Path) -> DiskUsage:
        seen.append(path)
        return plenty_of_disk(path)

    preflight = Preflight.from_config(
        config, kiosk.outbox, clock=kiosk.clock, disk_usage=disk_usage
    )
    kiosk.application("sealed")
    report = preflight.run()
    assert seen == [kiosk.data_dir]
    assert not report.accepting
    assert [c.name for c in report.refusals] == ["backlog"]
    checks = by_name(report)
    assert str(kiosk.master_key) in checks["master_key"].detail
    assert str(kiosk.platform_key) in checks["platform_key"].detail


def test_messages_never_carry_personal_data_or_key_material(kiosk: Kiosk) -> None:
    for state in ("sealed", "quarantined", "retry_later", "acknowledged"):
        kiosk.application(state, created_at=NOW - 30 * DAY)
    kiosk.master_key.chmod(0o644)
    report = kiosk.run(skew_s=4000.0)
    text = " ".join(f"{c.detail} {c.citizen_message_id}" for c in report.checks)
    for secret in ("测试乙", "110101199003078015", "ab" * 8, "GA-1", "511602-HALL-01"):
        assert secret not in text


# ----------------------------------------------------------------------------------- disk


def test_low_disk_refuses_with_the_figures(kiosk: Kiosk) -> None:
    kiosk.disk_usage = lambda path: DiskUsage(1000 * MB, 880 * MB, 120 * MB)
    report = kiosk.run()
    assert not report.accepting
    [refusal] = report.refusals
    assert refusal.name == "disk" and refusal.severity is Severity.REFUSE
    assert refusal.detail == f"free disk 120 MB < 200 MB on {kiosk.data_dir}"
    assert report.citizen_message_id == "preflight.disk"


def test_exactly_the_minimum_is_enough(kiosk: Kiosk) -> None:
    kiosk.disk_usage = lambda path: DiskUsage(1000 * MB, 800 * MB, 200 * MB)
    assert kiosk.run().accepting


def test_disk_error_refuses_instead_of_crashing(kiosk: Kiosk) -> None:
    def broken(path: Path) -> DiskUsage:
        raise OSError(5, "Input/output error")

    kiosk.disk_usage = broken
    [refusal] = kiosk.run().refusals
    assert refusal.name == "disk"
    assert "cannot measure free disk" in refusal.detail and "Input/output error" in refusal.detail


def test_real_disk_usage_measures_the_nearest_existing_folder(tmp_path: Path) -> None:
    check = check_disk(tmp_path / "not" / "yet", min_free_mb=10)
    assert check.ok, check.detail
    assert check.detail.endswith(f"on {tmp_path}")


# ---------------------------------------------------------------------------------- clock


def test_clock_before_the_build_date_refuses(kiosk: Kiosk) -> None:
    kiosk.clock.now = datetime(2000, 1, 1, tzinfo=UTC).timestamp()  # dead RTC battery
    report = kiosk.run()
    assert [c.name for c in report.refusals] == ["clock"]
    assert "2000-01-01T00:00:00Z is before the build date 2026-01-01" in report.refusals[0].detail
    assert report.citizen_message_id == "preflight.clock"


@pytest.mark.parametrize(
    ("skew", "ok", "words"),
    [
        (0, True, "0 s ahead of"),
        (300, True, "300 s ahead of"),
        (-300, True, "300 s behind"),
        (301, False, "301 s ahead of the platform (limit 300 s)"),
        (-420, False, "420 s behind the platform (limit 300 s)"),
    ],
)
def test_clock_skew_against_the_platform(skew: float, ok: bool, words: str) -> None:
    check = check_clock(NOW, skew)
    assert check.ok is ok
    assert words in check.detail


def test_skew_from_the_platform_clients_health_answer() -> None:
    answer_time = NOW - 3600  # the answer arrived an hour ago; the skew is what it was then
    body = b'{"status": "ok", "time": "2026-11-23T16:30:02+08:00"}'
    health = parse_health(body, local_now=answer_time)
    assert health.skew_s is not None
    check = check_clock(NOW, health.skew_s)
    assert check.ok and "2 s behind the platform" in check.detail


def test_unknown_platform_time_checks_only_the_floor() -> None:
    assert check_clock(BUILD_FLOOR + 1).ok
    assert "platform time unknown" in check_clock(BUILD_FLOOR + 1).detail
    assert not check_clock(BUILD_FLOOR - 1).ok


# -------------------------------------------------------------------------------- backlog


def test_backlog_counts_only_unsent_states(kiosk: Kiosk) -> None:
    for state in ("draft", "acknowledged", "quarantined", "quarantined"):
        kiosk.application(state)
    kiosk.application("sealed")
    kiosk.application("uploading")
    report = kiosk.run()
    assert by_name(report)["backlog"].detail == "2 unsent applications < 3"
    kiosk.application("retry_later")
    report = kiosk.run()
    assert not report.accepting
    assert [c.name for c in report.refusals] == ["backlog"]
    assert report.refusals[0].detail == "3 unsent applications >= 3"
    assert report.citizen_message_id == "preflight.backlog"


def test_oldest_unsent_too_old_refuses(kiosk: Kiosk) -> None:
    kiosk.application("acknowledged", created_at=NOW - 60 * DAY)  # sent: does not count
    kiosk.application("quarantined", created_at=NOW - 60 * DAY)  # technician's: no count
    kiosk.application("retry_later", created_at=NOW - 7 * DAY)
    assert kiosk.run().accepting
    kiosk.clock.now += 0.1 * DAY
    report = kiosk.run()
    assert [c.name for c in report.refusals] == ["backlog_age"]
    assert report.refusals[0].detail == "oldest unsent is 7.1 days old > 7 days"


def test_unreadable_outbox_refuses_instead_of_crashing(kiosk: Kiosk) -> None:
    kiosk.conn.close()
    report = kiosk.run()
    assert not report.accepting
    [refusal] = report.refusals
    assert refusal.name == "backlog"
    assert refusal.detail.startswith("cannot read the outbox: ProgrammingError")
    kiosk.conn = open_database(kiosk.data_dir / "kiosk.db")  # for the fixture's close


# ----------------------------------------------------------------------------- quarantine


def test_quarantined_records_warn_but_do_not_refuse(kiosk: Kiosk) -> None:
    kiosk.application("quarantined")
    kiosk.application("quarantined")
    report = kiosk.run()
    assert report.accepting
    assert report.citizen_message_id is None
    [warning] = report.warnings
    assert warning.severity is Severity.WARN and not warning.refuses
    assert warning.detail == "2 quarantined applications need a technician"
    assert warning.citizen_message_id == "preflight.quarantine"


# ----------------------------------------------------------------------------------- keys


def test_missing_master_key_refuses(kiosk: Kiosk) -> None:
    kiosk.master_key.unlink()
    report = kiosk.run()
    assert [c.name for c in report.refusals] == ["master_key"]
    assert report.refusals[0].detail == f"master_key file {kiosk.master_key}: missing"
    assert report.citizen_message_id == "preflight.keys"


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: write_key(path, ""), "empty"),
        (lambda path: path.mkdir(parents=True), "not a regular file"),
    ],
)
def test_unusable_key_files_refuse(tmp_path: Path, make, problem: str) -> None:
    path = tmp_path / "keys" / "platform.key"
    make(path)
    check = check_key_file(KeyFile("platform_key", path))
    assert not check.ok and check.refuses
    assert check.detail == f"platform_key file {path}: {problem}"


def test_a_key_others_can_read_refuses_as_its_loader_would(kiosk: Kiosk) -> None:
    kiosk.master_key.chmod(0o640)
    kiosk.platform_key.chmod(0o604)
    report = kiosk.run()
    # sealing and signing both refuse such a file: applications are refused up front
    assert [c.name for c in report.refusals] == ["master_key", "platform_key"]
    assert "mode 0640 lets others read it; chmod 600" in report.refusals[0].detail
    assert "mode 0604" in report.refusals[1].detail
    assert KEY_TEXT.strip() not in report.refusals[0].detail + report.refusals[1].detail
    kiosk.master_key.chmod(0o400)
    kiosk.platform_key.chmod(0o600)
    assert kiosk.run().refusals == ()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_key_file_the_kiosk_user_cannot_read_refuses(tmp_path: Path) -> None:
    path = write_key(tmp_path / "platform.key", mode=0o200)
    check = check_key_file(KeyFile("platform_key", path))
    assert not check.ok
    assert "not readable" in check.detail


# -------------------------------------------------------------------------- raising shape


def test_require_accepting_raises_with_the_report(kiosk: Kiosk) -> None:
    assert kiosk.preflight().require_accepting(skew_s=1.0).accepting
    kiosk.application("quarantined")  # a warning does not raise
    assert kiosk.preflight().require_accepting().warnings
    kiosk.disk_usage = lambda path: DiskUsage(1000 * MB, 880 * MB, 120 * MB)
    with pytest.raises(PreflightRefused) as caught:
        kiosk.preflight().require_accepting(skew_s=900.0)
    refused = caught.value
    assert refused.citizen_message_id == "preflight.disk"
    assert [c.name for c in refused.report.refusals] == ["disk", "clock"]
    assert str(refused).startswith(f"disk: free disk 120 MB < 200 MB on {kiosk.data_dir}; clock:")
