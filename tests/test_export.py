"""The diagnostic bundle: what is in it, and what is never in it (keys, citizens' data).

A real flow first, through the real ``kiosk`` command in this process: an application by a
test citizen queued and reprinted, the emulated reader's sample card read, log lines that
quote the citizen (redacted as written), a technician's actions. Then ``kiosk technician
export`` and every file in the zip scanned for the citizens' ID numbers, names, phones and
addresses and for the key files' bytes.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import pytest

from drivers.idcard.emulator import SAMPLE_CARDS
from kiosk.cli import main
from kiosk.config import load_config
from kiosk.operations.export import build_bundle, default_target, safe_config, usb_targets
from kiosk.operations.logs import personal, setup_logging
from kiosk.operations.paper import PaperCounter
from kiosk.operations.service_state import ServiceState
from kiosk.operations.technician import TechnicianAccess
from kiosk.platform.signing import create_key_file
from tests.kiosk_files import application_document, citizen, write_config

PARTS = {"README.txt", "config.json", "versions.json", "diagnosis.json", "devices.json",
         "queue.json", "paper.json", "service.json", "audit.json", "logs/kiosk.log"}


def secrets_of_the_flow() -> list[str]:
    """Every value of the test citizens that must not leave the kiosk in a bundle."""
    values = [str(value) for value in citizen(41).values()]
    for card in SAMPLE_CARDS.values():
        identity = card.identity
        values += [identity.id_number, identity.name, identity.address]
    values.append("110101199003078013")  # the resident sample card's number
    return [value for value in values if value]


@pytest.fixture()
def flowed(tmp_path: Path, capsys) -> Path:
    """A kiosk after a real flow; returns its config path."""
    config_path = write_config(tmp_path, extra="\n[logging]\nlevel = debug\n")
    create_key_file(tmp_path / "platform.key")
    document = tmp_path / "application.json"
    document.write_text(json.dumps(application_document(41), ensure_ascii=False),
                        encoding="utf-8")
    assert main(["--config", str(config_path), "catalog", "import"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config_path), "queue", "add", str(document)]) == 0
    receipt = capsys.readouterr().out.split()[0]
    assert main(["--config", str(config_path), "queue", "reprint", receipt]) == 0
    config = load_config(config_path)
    # what a careless caller might log while a card is read: redacted where it is written
    setup = setup_logging(config, console=False)
    try:
        card = SAMPLE_CARDS["resident"].identity
        person = citizen(41)
        log = logging.getLogger("kiosk.test_export")
        log.warning("card read for %s, number %s, phone %s", personal(card.name),
                    card.id_number, person["phone"])
        log.error("could not deliver to %s (%s)", personal(person["address"]),
                  person["id_number"])
    finally:
        setup.close()
    access = TechnicianAccess(config.storage.database)
    access.set_pin("wang.li", "246810")
    PaperCounter(config.storage.database, 250).printed()
    ServiceState(config.storage.database).switch(True, "wang.li")
    return config_path


def test_the_bundle_holds_every_part_and_no_citizen_data_or_key(flowed: Path, tmp_path: Path,
                                                                   capsys):
    capsys.readouterr()
    assert main(["--config", str(flowed), "technician", "export", "--to",
                 str(tmp_path / "out")]) == 0
    said = capsys.readouterr().out
    bundles = list((tmp_path / "out").glob("*.zip"))
    assert len(bundles) == 1 and str(bundles[0]) in said
    assert bundles[0].stat().st_mode & 0o777 == 0o600  # private, like the log it holds
    config = load_config(flowed)
    keys = [config.platform.key_file.read_bytes(), config.storage.master_key_file.read_bytes()]
    with zipfile.ZipFile(bundles[0]) as bundle:
        names = set(bundle.namelist())
        assert names >= PARTS, PARTS - names
        contents = {name: bundle.read(name) for name in names}
    everything = b"\n".join(contents.values())
    text = everything.decode("utf-8")
    for secret in secrets_of_the_flow():
        assert secret not in text, secret
    for key in keys:
        key_text = key.decode("ascii", "replace").strip()
        assert key not in everything and key_text not in text and key.hex() not in text
    assert "[id-number]" in contents["logs/kiosk.log"].decode()  # the log is there, masked
    assert str(config.platform.key_file) in text  # a key file's path may stay
    paper = json.loads(contents["paper.json"])
    assert paper["slips"] == 1 and paper["roll"] == 250
    assert json.loads(contents["service.json"])["manual"] is True
    queue = json.loads(contents["queue.json"])
    assert queue["pending"] == 1
    audit = [(row["who"], row["what"]) for row in json.loads(contents["audit.json"])]
    assert ("wang.li", "out_of_service") in audit and ("wang.li", "pin_set") in audit
    report = json.loads(contents["diagnosis.json"])
    assert {finding["name"] for finding in report["findings"]} >= {"storage", "printer"}
    versions = json.loads(contents["versions.json"])
    assert set(versions) >= {"kiosk", "python", "kivy", "os"}
    last = TechnicianAccess(config.storage.database).audit(1)[0]
    assert (last.who, last.what) == ("cli", "export")


def test_the_screens_bundle_takes_the_hubs_rows_and_opens_no_device(flowed: Path,
                                                                     tmp_path: Path):
    config = load_config(flowed)
    rows = [{"device": "printer", "state": "online", "paper": "low"}]
    path = build_bundle(config, tmp_path / "screen", devices=rows,
                        extra={"network.json": {"answered": 3}})
    with zipfile.ZipFile(path) as bundle:
        assert json.loads(bundle.read("devices.json")) == rows
        assert json.loads(bundle.read("network.json")) == {"answered": 3}
        names = {f["name"] for f in json.loads(bundle.read("diagnosis.json"))["findings"]}
    assert "printer" not in names and "catalogue" in names


def test_urls_lose_credentials_and_queries(tmp_path: Path):
    path = write_config(tmp_path, url="https://platform.example.gov.cn:8443/api/v1")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "[kiosk]\n", "[kiosk]\nguide_link = https://guide.example.cn/g/{item_code}?t=abc\n"),
        encoding="utf-8")
    config = load_config(path)
    data = safe_config(config)
    assert data["platform"]["url"] == "https://platform.example.gov.cn:8443/api/v1"
    assert data["kiosk"]["guide_link"] == "https://guide.example.cn/g/%7Bitem_code%7D" or \
        "t=abc" not in json.dumps(data)


def test_a_mounted_writable_stick_is_the_target_else_the_data_folder(tmp_path: Path):
    config = load_config(write_config(tmp_path))
    assert usb_targets((str(tmp_path / "media" / "*"),)) == []  # folders, not mount points
    assert default_target(config, (str(tmp_path / "media" / "*"),)) == \
        config.storage.data_dir / "exports"
    if Path("/dev/shm").is_mount():  # a writable mount point stands in for a stick
        assert usb_targets(("/dev/sh*",)) == [Path("/dev/shm")]
