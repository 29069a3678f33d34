"""``kiosk diagnose``: exit code 0 / 1 / 2 and the JSON report for each condition.

Real parts only: a catalogue imported by ``kiosk catalog import``, key files made as the
kiosk makes them, the reference platform as a process on 127.0.0.1, the device emulators of
``emulator://`` URLs, a reader emulator on a real pty (``kiosk devices emulate``) that is then
stopped (its port vanishes as a pulled USB cable's does), and a read-only mount for an
unwritable data folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.idcard.emulator import SAMPLE_CARDS
from kiosk.cli import main
from kiosk.config import load_config
from kiosk.operations.diagnosis import CHECK_DEADLINE_S, Status, diagnose
from kiosk.platform.signing import load_or_create_key_file
from offline_cache.keys import master_key_for
from tests.platform_server import PlatformServer

REPO = Path(__file__).resolve().parent.parent
KIOSK_ID = "511602-DIAG-01"
OFFLINE = "http://127.0.0.1:9/api/v1"  # nothing listens on the discard port
EMULATED = {"idcard": "emulator://idcard", "printer": "emulator://printer",
            "camera": "emulator://camera"}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One imported catalogue database, copied into each kiosk (an import takes a while)."""
    folder = tmp_path_factory.mktemp("catalogue")
    config = folder / "kiosk.ini"
    config.write_text(f"[storage]\ndata_dir = {folder / 'data'}\n", encoding="utf-8")
    assert main(["--config", str(config), "catalog", "import"]) == 0
    return folder / "data" / "kiosk.db"


def make_kiosk(folder: Path, catalogue: Path | None, *, url: str = OFFLINE,
               **devices: str) -> Path:
    """A kiosk folder with its config, keys and (unless None) the catalogue; returns the
    config path."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    if catalogue is not None:
        shutil.copyfile(catalogue, data / "kiosk.db")
    load_or_create_key_file(folder / "platform.key")
    master_key_for(data / "master.key", data / "kiosk.db", data / "attachments", create=True)
    lines = [f"[kiosk]\nid = {KIOSK_ID}", f"[storage]\ndata_dir = {data}",
             f"[platform]\nurl = {url}\nkey_file = {folder / 'platform.key'}", "[devices]"]
    lines += [f"{name} = {value}" for name, value in (EMULATED | devices).items()]
    config = folder / "kiosk.ini"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def run_diagnose(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    """``kiosk --config CONFIG diagnose --json``: the exit code and the report."""
    capsys.readouterr()
    code = main(["--config", str(config), "diagnose", "--json"])
    out = capsys.readouterr().out
    assert_no_personal_data(out)
    return code, json.loads(out)


def findings(report: dict) -> dict[str, dict]:
    return {finding["name"]: finding for finding in report["findings"]}


def assert_no_personal_data(text: str) -> None:
    """None of the test citizens' card data (the emulator's cards) in the output."""
    for card in SAMPLE_CARDS.values():
        identity = card.identity
        for value in (identity.name, identity.id_number, identity.address):
            if value:
                assert value not in text, value


def assert_only(report: dict, names: set[str], status: str) -> None:
    """Exactly ``names`` are at ``status``; every other finding is ok."""
    by_name = findings(report)
    assert {name for name, f in by_name.items() if not f["ok"]} == names, by_name
    for name in names:
        assert by_name[name]["status"] == status and by_name[name]["action"], by_name[name]


# ------------------------------------------------------------------------------ conditions


def test_all_ok_with_the_platform_running_exits_0(tmp_path: Path,
                                                  catalogue: Path) -> None:
    """As a monitoring script runs it: the real command, a real platform, every device
    emulated; the JSON names the three devices with their state and paper."""
    for folder in ("platform", "kiosk"):
        (tmp_path / folder).mkdir()
    with PlatformServer(tmp_path / "platform",
                        kiosks={KIOSK_ID: tmp_path / "kiosk" / "platform.key"}) as server:
        config = make_kiosk(tmp_path / "kiosk", catalogue, url=server.base_url)
        ran = subprocess.run([sys.executable, "-m", "kiosk", "--config", str(config),
                              "diagnose", "--json"], cwd=REPO, capture_output=True,
                             text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert_no_personal_data(ran.stdout + ran.stderr)
    report = json.loads(ran.stdout)
    assert (report["status"], report["exit_code"], report["kiosk_id"]) == ("ok", 0, KIOSK_ID)
    by_name = findings(report)
    assert list(by_name) == ["config", "storage", "catalogue", "fonts", "languages",
                             "platform", "keys", "outbox", "idcard", "printer", "camera"]
    assert all(f["ok"] and f["status"] == "ok" and f["action"] == "" for f in by_name.values())
    assert "online" in by_name["platform"]["detail"]
    for name in ("idcard", "printer", "camera"):
        device = by_name[name]["device"]
        assert device["state"] == "online" and device["url"] == EMULATED[name]
        assert device["last_error"] == ""
    assert by_name["printer"]["device"]["supplies"] == {"paper": "ok"}


def test_platform_unreachable_is_degraded(tmp_path: Path, catalogue: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_diagnose(make_kiosk(tmp_path, catalogue), capsys)
    assert (code, report["status"], report["exit_code"]) == (1, "degraded", 1)
    assert_only(report, {"platform"}, "degraded")
    assert "applications queue" in findings(report)["platform"]["detail"]


def test_a_platform_that_never_answers_is_bounded(tmp_path: Path, catalogue: Path) -> None:
    """A platform that takes the connection and then says nothing (a hung proxy, a dropped
    reply) costs at most the probe timeout, not ``[platform] timeout``'s 10 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever replies
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api/v1"
        config = load_config(make_kiosk(tmp_path, catalogue, url=url))
        started = time.monotonic()
        report = diagnose(config)
        elapsed = time.monotonic() - started
    assert report.finding("platform").status is Status.DEGRADED
    assert report.exit_code == 1
    assert elapsed < CHECK_DEADLINE_S + 0.5, elapsed


def test_checks_that_do_not_answer_in_time_are_reported_not_waited_for(
        tmp_path: Path, catalogue: Path) -> None:
    """A device or disk that hangs cannot hold the report: at the deadline, whatever has
    not answered is a finding of its own (degraded for a device, down for the rest)."""
    config = load_config(make_kiosk(tmp_path, catalogue))
    started = time.monotonic()
    report = diagnose(config, deadline_s=0.0)
    assert time.monotonic() - started < 0.5
    for name in ("idcard", "printer", "camera"):  # each needs an emulator: tens of ms
        finding = report.finding(name)
        assert finding.status is Status.DEGRADED and "no answer within 0 s" in finding.detail
        assert finding.device is not None and finding.device.url == EMULATED[name]
        assert finding.action
    assert report.exit_code in (1, 2)


@pytest.fixture
def reader_pty() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A reader emulator on a real pty, as a separate process (``kiosk devices emulate``)."""
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "devices", "emulate", "idcard",
                                "--pty"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        path = process.stdout.readline().strip()
        assert path.startswith("/dev/pts/"), path
        yield path, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_a_bare_dev_path_is_a_serial_reader_and_unplugging_it_is_degraded(
        tmp_path: Path, catalogue: Path, capsys: pytest.CaptureFixture[str],
        reader_pty: tuple[str, subprocess.Popen[str]]) -> None:
    """``idcard = /dev/pts/N`` (no scheme) is the serial port it names: the reader answers
    through it; once the emulator's pty is gone, the reader is down with the action."""
    path, emulator = reader_pty
    config = make_kiosk(tmp_path, catalogue, idcard=path)
    code, report = run_diagnose(config, capsys)
    reader = findings(report)["idcard"]
    assert reader["device"]["url"] == f"serial://{path}"
    assert reader["status"] == "ok" and reader["device"]["state"] == "online", reader
    assert_only(report, {"platform"}, "degraded")

    emulator.send_signal(signal.SIGTERM)  # the cable is pulled: the port goes away
    emulator.wait(timeout=10)
    code, report = run_diagnose(config, capsys)
    assert (code, report["status"]) == (1, "degraded")
    assert_only(report, {"platform", "idcard"}, "degraded")
    reader = findings(report)["idcard"]
    assert reader["device"]["state"] == "noDevice"
    assert reader["device"]["last_error"]
    assert "replug the reader's USB cable" in reader["action"]
    assert "type their ID number" in reader["detail"]


def test_a_reader_at_a_missing_by_id_path_is_degraded(tmp_path: Path, catalogue: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """The stable name udev gives a reader disappears with the reader."""
    missing = "/dev/serial/by-id/usb-kiosk-test-reader-not-plugged-if00"
    code, report = run_diagnose(make_kiosk(tmp_path, catalogue, idcard=missing), capsys)
    assert code == 1
    reader = findings(report)["idcard"]
    assert reader["device"]["url"] == f"serial://{missing}"
    assert reader["device"]["state"] == "noDevice" and "replug" in reader["action"]


@pytest.mark.parametrize(("paper", "action"), [("out", "refill paper"),
                                               ("low", "refill paper soon")])
def test_printer_paper_low_or_out_is_degraded(tmp_path: Path, catalogue: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              paper: str, action: str) -> None:
    config = make_kiosk(tmp_path, catalogue, printer=f"emulator://printer?paper={paper}")
    code, report = run_diagnose(config, capsys)
    assert (code, report["status"]) == (1, "degraded")
    assert_only(report, {"platform", "printer"}, "degraded")
    printer = findings(report)["printer"]
    assert printer["action"] == action
    assert printer["device"]["supplies"] == {"paper": paper}
    assert printer["device"]["state"] == ("userError" if paper == "out" else "online")


def test_a_silent_printer_is_degraded_with_its_action(tmp_path: Path, catalogue: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    config = make_kiosk(tmp_path, catalogue, printer="emulator://printer?silent=1")
    code, report = run_diagnose(config, capsys)
    printer = findings(report)["printer"]
    assert code == 1 and printer["status"] == "degraded"
    assert printer["action"] == "check the printer's power and cable"
    assert "QR code" in printer["detail"]


def test_no_catalogue_is_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_diagnose(make_kiosk(tmp_path, None), capsys)
    assert (code, report["status"], report["exit_code"]) == (2, "down", 2)
    catalogue_finding = findings(report)["catalogue"]
    assert catalogue_finding["status"] == "down"
    assert "kiosk catalog import" in catalogue_finding["action"]


def _read_only(folder: Path) -> bool:
    """Make ``folder`` unwritable for this process, keeping its files: a read-only tmpfs
    for root (permission bits do not stop root), ``chmod 0500`` for anyone else."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return True
    keep = folder.with_name(folder.name + "-files")
    shutil.copytree(folder, keep)
    ran = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs",
                          str(folder)], capture_output=True, check=False)
    if ran.returncode:
        return False
    shutil.copytree(keep, folder, dirs_exist_ok=True)
    ran = subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True,
                         check=False)
    return ran.returncode == 0


def test_an_unwritable_data_folder_is_down(tmp_path: Path, catalogue: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = make_kiosk(tmp_path, catalogue)
    data = tmp_path / "data"
    try:
        if not _read_only(data):
            pytest.skip("cannot make a read-only folder here (no mount permission)")
        code, report = run_diagnose(config, capsys)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(data)], capture_output=True, check=False)
        else:
            data.chmod(0o700)
    assert (code, report["status"]) == (2, "down")
    storage = findings(report)["storage"]
    assert storage["status"] == "down" and "write access" in storage["action"]
    # SQLite cannot even read a WAL database it may not write beside: nothing works
    assert findings(report)["catalogue"]["status"] == "down"
    assert findings(report)["outbox"]["status"] == "down"


def test_a_full_data_folder_is_down(tmp_path: Path, catalogue: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Less free space than ``[outbox] min_free_mb``: storage down, and pre-flight refuses
    applications on the same floor."""
    config = make_kiosk(tmp_path, catalogue)
    free_mb = shutil.disk_usage(tmp_path).free // 2**20
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f"[outbox]\nmin_free_mb = {free_mb + 10_000}\n")
    code, report = run_diagnose(config, capsys)
    assert code == 2
    by_name = findings(report)
    assert by_name["storage"]["status"] == "down" and "free disk space" in \
        by_name["storage"]["action"]
    assert by_name["outbox"]["status"] == "down"
    assert "REFUSING" in by_name["outbox"]["detail"]


def test_text_output_is_one_line_per_finding(tmp_path: Path, catalogue: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    config = make_kiosk(tmp_path, catalogue, printer="emulator://printer?paper=out")
    capsys.readouterr()
    assert main(["--config", str(config), "diagnose"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert_no_personal_data("\n".join(lines))
    assert len(lines) == 12  # eleven findings and the summary
    printer = next(line for line in lines if line.split()[1] == "printer")
    assert printer.startswith("degraded") and printer.endswith("-> refill paper")
    assert lines[0].split()[:2] == ["ok", "config"]
    assert lines[-1].startswith(f"kiosk {KIOSK_ID}: degraded (exit 1)")
