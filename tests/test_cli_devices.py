"""``kiosk devices``: list and scan-qr through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from drivers.camera.scenes import qr_image
from kiosk.cli import main


def test_list_shows_configured_urls(tmp_path: Path, capsys):
    config = tmp_path / "kiosk.ini"
    config.write_text("[devices]\nidcard = serial:///dev/ttyUSB0?baudrate=115200\n", "utf-8")
    assert main(["--config", str(config), "devices", "list", "--json"]) == 0
    rows = {row["device"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["idcard"]["transport"] == "serial"
    assert rows["printer"]["url"] == "emulator://printer"
    assert rows["printer"]["class"] == "PTR" and "qr_native" in rows["printer"]["features"]


def test_scan_qr_from_an_image_file(tmp_path: Path, capsys):
    image = tmp_path / "receipt.png"
    cv2.imwrite(str(image), qr_image("K511602-HALL-01-20261123-000001-7"))
    assert main(["devices", "scan-qr", "--image", str(image)]) == 0
    assert capsys.readouterr().out.strip() == "K511602-HALL-01-20261123-000001-7"


def test_scan_qr_from_the_camera_emulator(capsys):
    assert main(["devices", "scan-qr", "--camera", "emulator://camera?scene=qr"]) == 0
    assert "K511602-DEMO-01" in capsys.readouterr().out


def test_scan_qr_failures_are_clear(tmp_path: Path, capsys):
    assert main(["devices", "scan-qr", "--camera", "emulator://camera?scene=black"]) == 1
    assert "no QR code found" in capsys.readouterr().err
    assert main(["devices", "scan-qr", "--camera", "gopher://x"]) == 2
    assert "gopher" in capsys.readouterr().err
    bad = tmp_path / "x.png"
    bad.write_bytes(b"nope")
    assert main(["devices", "scan-qr", "--image", str(bad)]) == 2


def test_read_idcard_masks_the_number_by_default(capsys):
    assert main(["devices", "read-idcard", "--port", "emulator://idcard?card=rare_name"]) == 0
    out = capsys.readouterr().out
    assert "测试堃喆䶮𠮷" in out and "511***********" in out
    for beside in ("address", "birth_date", "gender", "issuer", "valid_from", "valid_to",
                   "长期"):
        assert beside not in out, beside


def test_read_idcard_show_number_and_failures(capsys):
    assert main(["devices", "read-idcard", "--port", "emulator://idcard", "--json",
                 "--show-number"]) == 0
    fields = json.loads(capsys.readouterr().out)
    assert "*" not in fields["id_number"] and fields["address"]
    assert main(["devices", "read-idcard", "--port", "emulator://idcard?card=none"]) == 1
    assert "no card" in capsys.readouterr().err
    assert main(["devices", "read-idcard", "--port", "emulator://idcard?card=joker"]) == 2
    assert "unknown card" in capsys.readouterr().err


def test_emulate_on_a_pty_serves_other_processes(tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys

    repo = Path(__file__).resolve().parent.parent
    emulator = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "devices", "emulate", "idcard", "--pty",
         "--card", "hmt"], stdout=subprocess.PIPE, text=True, cwd=repo,
    )
    try:
        path = emulator.stdout.readline().strip()
        assert path.startswith("/dev/pts/")
        result = subprocess.run(
            [sys.executable, "-m", "kiosk", "devices", "read-idcard", "--port",
             f"serial://{path}", "--json"],
            capture_output=True, text=True, timeout=30, cwd=repo, env=dict(os.environ),
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["card_type"] == "J"
    finally:
        emulator.send_signal(signal.SIGTERM)
        assert emulator.wait(timeout=10) == 0


def test_status_reports_each_device_and_fails_on_a_broken_one(tmp_path: Path, capsys):
    good = tmp_path / "good.ini"
    good.write_text("[devices]\nidcard = emulator://idcard\n", "utf-8")
    assert main(["--config", str(good), "devices", "status", "--json"]) == 0
    reports = {r["device"]: r for r in json.loads(capsys.readouterr().out)}
    assert reports["idcard"]["ok"] and "self-test passed" in reports["idcard"]["detail"]
    assert reports["camera"]["ok"]

    bad = tmp_path / "bad.ini"
    bad.write_text("[devices]\nidcard = serial:///dev/ttyNOPE\n"
                   "camera = emulator://camera?scene=black\n", "utf-8")
    assert main(["--config", str(bad), "devices", "status", "--json"]) == 1
    reports = {r["device"]: r for r in json.loads(capsys.readouterr().out)}
    assert reports["idcard"]["state"] == "noDevice"
    assert reports["camera"]["state"] == "hardwareError" and "flat" in reports["camera"]["detail"]


def test_selftest_reads_the_card_on_the_reader(tmp_path: Path, capsys):
    assert main(["devices", "selftest", "idcard"]) == 0
    assert "card read" in capsys.readouterr().out


def test_print_test_prints_chinese_text_qr_and_cut(capsys):
    assert main(["devices", "print-test", "--printer", "emulator://printer?paper=low"]) == 0
    out = capsys.readouterr().out
    assert "before: online, paper_low" in out
    assert "中文：居住证办理、户口迁移。" in out and "。，、；：" in out and "￥0.00" in out
    assert "[QR] K511602-TEST-00-20261123-000000-0" in out


def test_print_test_refuses_with_the_reason(capsys):
    assert main(["devices", "print-test", "--printer", "emulator://printer?paper=out"]) == 1
    err = capsys.readouterr().err
    assert "paper_out" in err and "action clear" in err
    assert main(["devices", "print-test", "--printer", "emulator://printer?silent=1"]) == 1
    assert "no_reply" in capsys.readouterr().err


def test_printer_in_status_and_selftest(tmp_path: Path, capsys):
    config = tmp_path / "kiosk.ini"
    config.write_text("[devices]\nprinter = emulator://printer?cover=open\n", "utf-8")
    assert main(["--config", str(config), "devices", "status", "--json"]) == 1
    reports = {r["device"]: r for r in json.loads(capsys.readouterr().out)}
    assert reports["printer"]["state"] == "userError"
    assert main(["devices", "selftest", "printer"]) == 0
    assert "test slip printed" in capsys.readouterr().out


def test_emulate_printer_shows_what_was_printed(tmp_path: Path):
    import signal
    import subprocess
    import sys

    repo = Path(__file__).resolve().parent.parent
    emulator = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "devices", "emulate", "printer", "--pty"],
        stdout=subprocess.PIPE, text=True, cwd=repo,
    )
    try:
        path = emulator.stdout.readline().strip()
        result = subprocess.run(
            [sys.executable, "-m", "kiosk", "devices", "print-test", "--printer",
             f"serial://{path}"], capture_output=True, text=True, timeout=30, cwd=repo,
        )
        assert result.returncode == 0, result.stderr
    finally:
        emulator.send_signal(signal.SIGTERM)
        out, _ = emulator.communicate(timeout=10)
    assert emulator.returncode == 0
    assert "打印机自检 Printer test" in out and "[QR] K511602-TEST-00" in out


def test_usb_printer_that_is_not_connected_is_a_clear_no_device(tmp_path: Path, capsys):
    # no USB printer is attached to the test machine: the real libusb path must say so
    config = tmp_path / "kiosk.ini"
    config.write_text("[devices]\nprinter = usb://0x0416:0x5011\n", "utf-8")
    assert main(["--config", str(config), "devices", "status", "--json"]) == 1
    reports = {r["device"]: r for r in json.loads(capsys.readouterr().out)}
    assert reports["printer"]["state"] == "noDevice"
    assert "0416:5011" in reports["printer"]["detail"]
