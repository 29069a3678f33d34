"""Recovery of the reader: a failed extra read, failed opens, a lifted card, the port lock.

Also the two card-data items of the same issue: the 2023 (Y) English name across its two
stored parts, and the birth-date check of residence-permit numbers (test_idcard_identity).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from drivers.device_url import parse_device_url
from drivers.idcard.codec import Command
from drivers.idcard.emulator import SAMPLE_CARDS, Fault, SamEmulator, ScriptedCard
from drivers.idcard.identity import Identity, build_text_block, parse_text_block
from drivers.idcard.reader import CardUnreadable, IdCardReader, ReaderUnavailable, SamError
from drivers.idcard.supervised import supervise_reader
from drivers.model import DeviceState, ErrorAction, EventChannel, HealthLevel, MediaState
from kiosk.config import ConfigError, load_config
from kiosk.devices.health import check_idcard

FAST = {"command_timeout": 0.15, "read_timeout": 0.3, "new_address_timeout": 0.3}
ADDRESS = "测试省测试市模拟路99号附1号"
CARD = replace(SAMPLE_CARDS["resident"], identity=replace(
    SAMPLE_CARDS["resident"].identity, new_address=ADDRESS))


def wait_for(condition: Callable[[], bool], seconds: float = 3) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.02)


@pytest.fixture()
def emulator() -> Iterator[SamEmulator]:
    emu = SamEmulator()
    yield emu
    emu.stop()


@pytest.mark.parametrize("fault", [Fault.SILENCE, Fault.BAD_CHECKSUM, Fault.REMOVED_MID_READ])
def test_failed_new_address_keeps_the_card_read(emulator: SamEmulator, fault: Fault):
    emulator.present(CARD)
    emulator.inject(fault, on=Command.READ_NEW_ADDRESS)
    reader = IdCardReader(emulator.start_pty(), EventChannel(), **FAST)
    reader.open()
    try:
        identity = reader.read_card(new_address=True)
    finally:
        reader.close()
    assert identity is not None and identity.id_number == CARD.identity.id_number
    assert identity.new_address == "" and identity.new_address_unavailable
    assert identity.address == CARD.identity.address
    events = [e for e in reader.channel.drain() if e.kind == "status"]
    read = next(e for e in events if e.status.media is MediaState.PRESENT
                and e.status.state is DeviceState.ONLINE)
    assert "additional address unavailable" in read.status.detail


def test_card_without_new_address_is_not_unavailable(emulator: SamEmulator):
    emulator.present("resident")
    reader = IdCardReader(emulator.start_pty(), EventChannel(), **FAST)
    reader.open()
    identity = reader.read_card(new_address=True)
    reader.close()
    assert identity is not None and identity.new_address == ""
    assert not identity.new_address_unavailable


# --- opening -------------------------------------------------------------------------------
def test_failed_open_closes_the_port_and_the_next_read_self_tests_again(emulator):
    emulator.present("resident")
    emulator.inject(Fault.SAM_SELF_TEST_FAIL)
    path = emulator.start_pty()
    reader = IdCardReader(path, EventChannel(), **FAST)
    with pytest.raises(SamError):
        reader.open()
    assert reader.status.state is DeviceState.HARDWARE_ERROR
    other = IdCardReader(path, EventChannel(), **FAST)  # the port is free again
    with pytest.raises(SamError):
        other.open()
    emulator.clear_faults()
    emulator.requests.clear()
    assert reader.read_card() == SAMPLE_CARDS["resident"].identity
    reader.close()
    sent = [Command((r.cmd, r.para)) for r in emulator.requests]
    assert sent[:2] == [Command.RESET_SAM, Command.SAM_STATUS]


def test_port_is_opened_exclusively(emulator: SamEmulator):
    path = emulator.start_pty()
    kiosk = IdCardReader(path, EventChannel(), **FAST)
    kiosk.open()
    try:
        technician = IdCardReader(path, EventChannel(), **FAST)
        with pytest.raises(ReaderUnavailable, match="lock"):
            technician.open()
    finally:
        kiosk.close()
    technician.open()
    technician.close()


def test_supervisor_reports_a_failed_self_test_as_hardware_error(emulator: SamEmulator):
    emulator.inject(Fault.SAM_SELF_TEST_FAIL)
    supervisor = supervise_reader(emulator.start_pty(), interval=0.1, backoff=(0.05, 0.2))
    supervisor.start()
    try:
        wait_for(lambda: supervisor.status.state is DeviceState.HARDWARE_ERROR)
        emulator.clear_faults()
        wait_for(lambda: supervisor.status.state is DeviceState.ONLINE)
    finally:
        supervisor.stop()
    errors = [e for e in supervisor.channel.drain() if e.kind == "error"]
    assert errors[0].action is ErrorAction.MAINTENANCE and "0x60" in errors[0].message


def test_supervisor_reports_a_silent_reader_as_offline(emulator: SamEmulator):
    emulator.inject(Fault.SILENCE, times=None)
    supervisor = supervise_reader(emulator.start_pty(), interval=0.1, backoff=(0.05, 0.2))
    supervisor.start()
    try:
        wait_for(lambda: supervisor.status.state is DeviceState.OFFLINE, 5)
    finally:
        supervisor.stop()
    assert DeviceState.NO_DEVICE not in [e.status.state for e in supervisor.channel.drain()]


def test_supervisor_still_reports_a_missing_port_as_no_device(tmp_path: Path):
    supervisor = supervise_reader(str(tmp_path / "gone"), interval=0.1, backoff=(0.05, 0.2))
    supervisor.start()
    try:
        wait_for(lambda: supervisor.status.state is DeviceState.NO_DEVICE)
    finally:
        supervisor.stop()


# --- removal -------------------------------------------------------------------------------
def test_lifting_a_refused_card_is_seen_by_the_probe(emulator: SamEmulator):
    emulator.present(ScriptedCard(SAMPLE_CARDS["resident"].identity, read_status=0x32))
    supervisor = supervise_reader(emulator.start_pty(), interval=0.05, backoff=(0.05, 0.2))
    supervisor.start()
    try:
        wait_for(lambda: supervisor.status.state is DeviceState.ONLINE)
        with supervisor.use() as reader, pytest.raises(CardUnreadable):
            reader.read_card()
        wait_for(lambda: supervisor.status.state is DeviceState.USER_ERROR)
        time.sleep(0.2)  # several probes with the card still there
        assert supervisor.status.state is DeviceState.USER_ERROR
        emulator.remove()
        wait_for(lambda: supervisor.status.state is DeviceState.ONLINE)
        assert supervisor.status.media is MediaState.NOT_PRESENT
    finally:
        supervisor.stop()
    kinds = [e.kind for e in supervisor.channel.drain()]
    assert kinds.count("media_removed") == 1


# --- configuration -------------------------------------------------------------------------
def test_usb_reader_url_is_refused_by_the_config(tmp_path: Path):
    path = tmp_path / "kiosk.ini"
    path.write_text("[devices]\nidcard = usb://0x0400:0xc35a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="usb"):
        load_config(path, environ={"HOME": str(tmp_path)})


def test_usb_reader_health_check_reports_instead_of_crashing():
    state, detail = check_idcard(parse_device_url("usb://0x0400:0xc35a"), HealthLevel.INTERNAL)
    assert state is DeviceState.NO_DEVICE and "serial://" in detail


# --- card data -----------------------------------------------------------------------------
def test_y_card_english_name_keeps_the_space_between_its_parts():
    name = "ABCDEFGHIJKLMNOPQRSTUVWXYZ, ABCDEF GHIJKL"
    assert name[34] == " "  # the first stored part (35 characters) ends with the space
    identity = replace(SAMPLE_CARDS["foreign_2023"].identity, english_name=name)
    assert parse_text_block(build_text_block(identity)).english_name == name


def test_y_card_short_english_name_has_no_padding():
    identity: Identity = SAMPLE_CARDS["foreign_2023"].identity
    short = replace(identity, english_name="DOE, JANE")
    assert parse_text_block(build_text_block(short)).english_name == "DOE, JANE"
