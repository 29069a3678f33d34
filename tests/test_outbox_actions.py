"""The technician's outbox actions shared by ``kiosk queue retry/reprint`` and the
diagnostics screen: a real SQLite outbox in a temporary folder, a real DeviceHub over the
emulated printer on a pty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from drivers.device_url import parse_device_url
from kiosk.applying.applications import OutboxStorage
from kiosk.applying.receipt_numbers import make_receipt_number
from kiosk.cli import main
from kiosk.config import DevicesSection, KioskConfig
from kiosk.devices.hub import DeviceHub
from kiosk.operations.outbox_actions import NotRetryable, audit_reference, reprint, retry
from offline_cache.outbox import State
from tests.kiosk_files import KIOSK_ID, application_document, citizen, make_config, write_config
from tests.test_receipts import submit
from tests.waiting import wait_until


def sealed_application(config: KioskConfig, index: int, reason: str | None = None) -> str:
    """An application sealed in the outbox of ``config`` (no sync thread runs), quarantined
    with ``reason`` as the platform's refusal would when one is given; its receipt number."""
    storage = OutboxStorage(config)
    try:
        receipt_no = submit(storage, application_document(index))
        if reason is not None:
            local_id = storage.outbox.find(receipt_no).local_id
            storage.outbox.start_upload(local_id)
            storage.outbox.quarantine(local_id, reason)
        return receipt_no
    finally:
        storage.close()


def quarantined(config: KioskConfig, index: int, reason: str) -> str:
    """A sealed application the platform refused: its receipt number."""
    return sealed_application(config, index, reason)


def state_of(config: KioskConfig, receipt_no: str) -> State:
    storage = OutboxStorage(config)
    try:
        return storage.outbox.find(receipt_no).state
    finally:
        storage.close()


def test_retry_releases_a_quarantined_application_once(tmp_path: Path):
    config = make_config(tmp_path)
    receipt_no = quarantined(config, 41, "platform 422 invalid_field field=form.phone")
    assert retry(config, receipt_no) is State.QUARANTINED
    assert state_of(config, receipt_no) is State.SEALED  # the next sync pass sends it
    with pytest.raises(NotRetryable):
        retry(config, receipt_no)  # sealed: nothing to release
    with pytest.raises(NotRetryable):
        retry(config, make_receipt_number(KIOSK_ID, date(2026, 1, 2), 9))


def test_the_command_line_retry_uses_the_same_core(tmp_path: Path, capsys):
    path = write_config(tmp_path)
    config = make_config(tmp_path)
    receipt_no = quarantined(config, 42, "file-not-found: attachment 0123abcd")
    assert main(["--config", str(path), "queue", "retry", receipt_no]) == 0
    assert capsys.readouterr().out.startswith(f"{receipt_no}: quarantined -> due now")
    assert state_of(config, receipt_no) is State.SEALED


@pytest.fixture()
def hub() -> Iterator[DeviceHub]:
    devices = DevicesSection(parse_device_url("emulator://idcard?card=none"),
                             parse_device_url("emulator://printer"),
                             parse_device_url("emulator://camera"))
    hub = DeviceHub(devices, probe_interval=0.1, card_interval=0.05)
    hub.start()
    try:
        wait_until(lambda: hub.states().get("printer") == "online", 10, "printer online")
        yield hub
    finally:
        hub.stop()


def test_reprint_prints_the_masked_receipt_through_the_hub(tmp_path: Path, hub: DeviceHub):
    config = make_config(tmp_path)
    receipt_no = quarantined(config, 43, "platform 422 invalid_field")
    person = citizen(43)
    result = reprint(config, receipt_no, hub.print_receipt)
    assert result.printed and result.outcome == "printed"
    text = "\n".join(hub.emulators.printed_lines())
    assert receipt_no in text
    assert person["id_number"][:3] + "*" * 11 + person["id_number"][-4:] in text
    assert person["id_number"] not in text
    assert hub.emulators.printed_qr_payloads() == [receipt_no]


def test_reprint_says_what_stopped_it(tmp_path: Path, hub: DeviceHub):
    config = make_config(tmp_path)
    receipt_no = quarantined(config, 44, "platform 422 invalid_field")
    hub.emulators.set_paper("out")
    assert reprint(config, receipt_no, hub.print_receipt).outcome == "paper_out"
    assert hub.emulators.printed_lines() == []
    unknown = make_receipt_number(KIOSK_ID, date(2026, 1, 2), 9)
    assert reprint(config, unknown, hub.print_receipt).outcome == "not_found"
    config.storage.master_key_file.write_bytes(b"\0" * 32)  # a replaced key file
    assert reprint(config, receipt_no, hub.print_receipt).outcome in ("sealed", "unreadable")


def test_the_audit_keeps_a_receipt_reference_its_digit_filter_lets_through():
    from offline_cache.reasons import clear_reason

    receipt_no = make_receipt_number(KIOSK_ID, date(2026, 11, 27), 12)
    assert clear_reason(receipt_no) == "(details removed)"  # why the number is not kept whole
    reference = audit_reference(receipt_no)
    assert reference == "receipt 2026-11-27 #12" and clear_reason(reference) == reference
