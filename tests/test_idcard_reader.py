"""The read driver on the real serial path: pyserial on a pty served by the SAM emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from drivers.idcard.codec import BadChecksum, Command, TruncatedFrame, build_reply, build_request
from drivers.idcard.emulator import SAMPLE_CARDS, Fault, SamEmulator, ScriptedCard
from drivers.idcard.identity import Identity
from drivers.idcard.reader import (
    CardUnreadable,
    IdCardReader,
    ReaderTimeout,
    ReaderUnavailable,
    SamError,
)
from drivers.model import DeviceState, ErrorAction, EventChannel, MediaState

FAST = {"command_timeout": 0.15, "read_timeout": 0.3, "retries": 1}


@pytest.fixture()
def emulator() -> Iterator[SamEmulator]:
    emu = SamEmulator()
    emu.present("resident")
    yield emu
    emu.stop()


@pytest.fixture()
def reader(emulator: SamEmulator) -> Iterator[IdCardReader]:
    path = emulator.start_pty()
    drv = IdCardReader(path, EventChannel(), **FAST)
    drv.open()
    yield drv
    drv.close()


@pytest.mark.parametrize("key", sorted(SAMPLE_CARDS))
def test_reads_every_card_type(emulator: SamEmulator, reader: IdCardReader, key: str):
    emulator.present(key)
    identity = reader.read_card()
    assert identity == SAMPLE_CARDS[key].identity
    assert identity is not None and identity.photo == SAMPLE_CARDS[key].identity.photo
    assert len(identity.photo) == 1024
    assert reader.status.state is DeviceState.ONLINE
    assert reader.status.media is MediaState.PRESENT


def test_session_bytes_and_events(emulator: SamEmulator, reader: IdCardReader):
    reader.read_card()
    sent = [(r.cmd, r.para) for r in emulator.requests]
    assert sent == [c.value for c in (Command.RESET_SAM, Command.SAM_STATUS, Command.FIND_CARD,
                                      Command.SELECT_CARD, Command.READ_BASE)]
    states = [e.status.state for e in reader.channel.drain() if e.kind == "status"]
    assert states == [DeviceState.STARTING, DeviceState.ONLINE, DeviceState.BUSY,
                      DeviceState.ONLINE]
    assert reader.sam_id() == bytes(range(16))


def test_no_card(emulator: SamEmulator, reader: IdCardReader):
    emulator.inject(Fault.NO_CARD)
    assert reader.read_card() is None
    assert reader.status.state is DeviceState.ONLINE
    assert reader.status.media is MediaState.NOT_PRESENT


def test_card_is_not_found_again_until_presented_again(emulator, reader):
    assert reader.read_card() is not None
    assert reader.read_card() is None  # same card still on the reader: 0x80, not an error
    assert reader.status.state is DeviceState.ONLINE
    emulator.remove()
    emulator.present("hmt")
    assert reader.read_card() == SAMPLE_CARDS["hmt"].identity


def test_card_removed_mid_read(emulator: SamEmulator, reader: IdCardReader):
    emulator.inject(Fault.REMOVED_MID_READ)
    with pytest.raises(SamError) as caught:
        reader.read_card()
    assert caught.value.info.code == 0x41 and caught.value.action is ErrorAction.RETRY
    assert not isinstance(caught.value, CardUnreadable)
    assert reader.status.state is DeviceState.ONLINE
    assert reader.read_card() is None and reader.status.media is MediaState.NOT_PRESENT


def test_refused_card_stays_unreadable_until_removed(emulator, reader):
    emulator.present(ScriptedCard(SAMPLE_CARDS["resident"].identity, read_status=0x32))
    with pytest.raises(CardUnreadable) as caught:
        reader.read_card()
    assert caught.value.action is ErrorAction.CLEAR
    assert reader.status.state is DeviceState.USER_ERROR
    errors = [e for e in reader.channel.drain() if e.kind == "error"]
    assert errors[-1].action is ErrorAction.CLEAR and "0x32" in errors[-1].message
    reads_before = sum(r.cmd == 0x30 for r in emulator.requests)
    assert reader.read_card() is None  # still there: no new read attempt, no new error
    assert sum(r.cmd == 0x30 for r in emulator.requests) == reads_before
    assert reader.status.state is DeviceState.USER_ERROR
    emulator.remove()
    assert reader.read_card() is None
    assert reader.status.state is DeviceState.ONLINE
    emulator.present("resident")
    assert reader.read_card() is not None


@pytest.mark.parametrize("fault", [Fault.SILENCE, Fault.GARBAGE])
def test_one_line_fault_is_retried(emulator: SamEmulator, reader: IdCardReader, fault: Fault):
    emulator.inject(fault, on=Command.READ_BASE)
    assert reader.read_card() == SAMPLE_CARDS["resident"].identity
    assert reader.status.state is DeviceState.ONLINE


def _commands(emulator: SamEmulator) -> list[Command]:
    return [Command((r.cmd, r.para)) for r in emulator.requests]


@pytest.mark.parametrize("fault", [Fault.BAD_CHECKSUM, Fault.TRUNCATED])
def test_damaged_read_reply_is_retried_from_find_never_resent(emulator, reader, fault):
    """The reader finished the read (and will not find the card again until it is placed
    again), so the retry from find ends in "place the card again", not in a bare resend."""
    emulator.inject(fault, on=Command.READ_BASE)
    with pytest.raises(SamError) as caught:
        reader.read_card()
    assert caught.value.info.code == 0x41 and caught.value.action is ErrorAction.RETRY
    assert _commands(emulator)[-2:] == [Command.READ_BASE, Command.FIND_CARD]
    emulator.remove()
    emulator.present("resident")
    assert reader.read_card() == SAMPLE_CARDS["resident"].identity


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [(Fault.BAD_CHECKSUM, BadChecksum), (Fault.TRUNCATED, TruncatedFrame), (Fault.SILENCE, None)],
)
def test_persistent_line_fault_gives_offline(emulator, reader, fault, error_type):
    emulator.inject(fault, on=Command.FIND_CARD, times=None)
    started = time.monotonic()
    with pytest.raises(ReaderTimeout) as caught:
        reader.read_card()
    assert time.monotonic() - started < 2
    assert reader.status.state is DeviceState.OFFLINE
    if error_type is None:
        assert caught.value.frame_errors == []
    else:
        assert any(isinstance(e, error_type) for e in caught.value.frame_errors)
    emulator.clear_faults()
    emulator.present("resident")
    assert reader.read_card() is not None
    assert reader.status.state is DeviceState.ONLINE


def test_garbage_only_line(emulator: SamEmulator, reader: IdCardReader):
    emulator.inject(Fault.GARBAGE, times=None)
    assert reader.read_card() is not None  # noise before every reply is skipped


def test_sam_self_test_failure(emulator: SamEmulator):
    emulator.inject(Fault.SAM_SELF_TEST_FAIL)
    drv = IdCardReader(emulator.start_pty(), EventChannel(), **FAST)
    with pytest.raises(SamError) as caught:
        drv.open()
    assert caught.value.info.code == 0x60
    assert drv.status.state is DeviceState.HARDWARE_ERROR
    assert caught.value.action is ErrorAction.MAINTENANCE
    drv.close()


def test_unplug(emulator: SamEmulator, reader: IdCardReader):
    emulator.inject(Fault.UNPLUG)
    started = time.monotonic()
    with pytest.raises(ReaderUnavailable):
        reader.read_card()
    assert time.monotonic() - started < 2
    assert reader.status.state is DeviceState.NO_DEVICE
    events = reader.channel.drain()
    assert events[-1].kind == "error" and events[-1].status.state is DeviceState.NO_DEVICE


def test_missing_port_is_no_device():
    drv = IdCardReader("/dev/does-not-exist-idcard", EventChannel(), **FAST)
    with pytest.raises(ReaderUnavailable):
        drv.open()
    assert drv.status.state is DeviceState.NO_DEVICE
    assert [e.kind for e in drv.channel.drain()][-1] == "error"


def test_malformed_card_data_is_a_user_error(emulator: SamEmulator, reader: IdCardReader):
    fields = vars(SAMPLE_CARDS["resident"].identity) | {"id_number": "110101199003078010"}
    emulator.present(ScriptedCard(Identity(**fields)))  # the SAM passes it, the checksum fails
    with pytest.raises(CardUnreadable, match="id_number"):
        reader.read_card()
    assert reader.status.state is DeviceState.USER_ERROR


def test_emulator_answers_damaged_requests_like_a_sam():
    emu = SamEmulator()
    bad = bytearray(build_request(*Command.FIND_CARD.value))
    bad[-1] ^= 0x01
    assert emu.respond(bytes(bad)) == build_reply(0x10)
    assert emu.respond(build_request(0x99, 0x01)) == build_reply(0x21)
    assert emu.respond(build_request(*Command.FIND_CARD.value)) == build_reply(0x80)
    emu.present("resident")
    emu.respond(build_request(*Command.FIND_CARD.value))
    emu.respond(build_request(*Command.SELECT_CARD.value))
    reply = emu.respond(build_request(*Command.READ_BASE.value))
    assert len(reply) == 1295 and reply[:14] == bytes.fromhex("AAAAAA96690508000090 01000400")


def test_reader_that_keeps_rejecting_our_frames_goes_offline():
    class Rejecting(SamEmulator):
        def _reply(self, command):
            if command is Command.FIND_CARD:
                return build_reply(0x10)
            return super()._reply(command)

    emu = Rejecting()
    try:
        drv = IdCardReader(emu.start_pty(), EventChannel(), **FAST)
        drv.open()
        with pytest.raises(ReaderTimeout, match="bad checksum"):
            drv.read_card()
        assert drv.status.state is DeviceState.OFFLINE
        assert sum(r.cmd == 0x20 for r in emu.requests) == 2  # sent once, retried once
        drv.close()
    finally:
        emu.stop()
