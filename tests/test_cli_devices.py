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
