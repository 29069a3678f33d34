"""Slow and noisy readers: replies matched to their request, reference deadlines, resync.

Each test plays a reader the old driver got wrong: a slow read answered twice and its late
duplicate taken for the next command's reply, deadlines shorter than the reference, and a
stray preamble in line noise hiding the real reply until the deadline.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise

import pytest

from drivers.idcard.codec import (
    PREAMBLE,
    Command,
    FrameParser,
    Reply,
    build_reply,
    build_request,
)
from drivers.idcard.emulator import SAMPLE_CARDS, SamEmulator, ScriptedCard
from drivers.idcard.reader import IdCardReader, SamError, reply_fits
from drivers.idcard.supervised import supervise_reader
from drivers.model import DeviceState, EventChannel
from tests.waiting import wait_until

ADDRESS = "测试省测试市模拟路99号附1号"
CARD = replace(SAMPLE_CARDS["resident"], identity=replace(
    SAMPLE_CARDS["resident"].identity, new_address=ADDRESS))
FP_CARD = replace(SAMPLE_CARDS["resident"], fingerprint=bytes(range(256)) * 4)


def _commands(emulator: SamEmulator) -> list[Command]:
    return [Command((r.cmd, r.para)) for r in emulator.requests]


def _no_bare_resend(commands: list[Command]) -> bool:
    """No card read follows another read without a find and select in between."""
    reads = (Command.READ_BASE, Command.READ_BASE_FP)
    return not any(a in reads and b in reads for a, b in pairwise(commands))


@contextlib.contextmanager
def online_supervisor(emulator: SamEmulator):
    """The reader under the supervisor with the app's settings, once it reports online."""
    supervisor = supervise_reader(emulator.start_pty(), interval=0.1, backoff=(0.05, 0.5))
    supervisor.start()
    try:
        wait_until(lambda: supervisor.status.state is DeviceState.ONLINE, 3, "online")
        yield supervisor
    finally:
        supervisor.stop()


@pytest.fixture()
def emulator() -> Iterator[SamEmulator]:
    emu = SamEmulator()
    yield emu
    emu.stop()


def test_slow_read_under_the_supervisor_is_sent_once_and_keeps_the_address(emulator):
    """1.2 s for 30 01 is within the reference's 2 s: one request, the card's own address."""
    emulator.present(CARD)
    emulator.delays[Command.READ_BASE] = 1.2
    with online_supervisor(emulator) as supervisor, supervisor.use() as reader:
        identity = reader.read_card(new_address=True)
    assert identity == CARD.identity and identity.new_address == ADDRESS
    assert _commands(emulator).count(Command.READ_BASE) == 1


def test_read_timing_out_is_restarted_from_find_and_its_late_reply_drained(emulator):
    """The old supervised deadline (1 s) against a 1.2 s reader: no bare resend of 30 01,
    the late reply is never taken for anything, and the citizen is asked to place the card
    again, since the reader counts its (late) read as done."""
    emulator.present(CARD)
    emulator.delays[Command.READ_BASE] = 1.2
    reader = IdCardReader(emulator.start_pty(), EventChannel(), command_timeout=0.3,
                          read_timeout=0.8)
    reader.open()
    try:
        with pytest.raises(SamError) as caught:
            reader.read_card(new_address=True)
        assert caught.value.info.code == 0x41
        commands = _commands(emulator)
        assert commands[-3:] == [Command.SELECT_CARD, Command.READ_BASE, Command.FIND_CARD]
        assert Command.READ_NEW_ADDRESS not in commands
        emulator.remove()
        emulator.present(CARD)
        emulator.delays.clear()
        identity = reader.read_card(new_address=True)
        assert identity is not None and identity.new_address == ADDRESS
        assert reader.check_status().state is DeviceState.ONLINE
    finally:
        reader.close()
    assert _no_bare_resend(_commands(emulator))


class _StaleBase(SamEmulator):
    """A reader whose previous 30 01 reply turns up again in front of the 30 03 reply,
    as the duplicate reply to a resent read did."""

    last_read: bytes = b""

    def _answer(self, request, command):
        reply = super()._answer(request, command)
        if command is Command.READ_BASE:
            self.last_read = reply
        elif command is Command.READ_NEW_ADDRESS:
            return self.last_read + reply
        return reply


def test_late_read_reply_is_not_taken_for_the_new_address():
    emulator = _StaleBase()
    emulator.present(CARD)
    try:
        reader = IdCardReader(emulator.start_pty(), EventChannel())
        reader.open()
        identity = reader.read_card(new_address=True)
        reader.close()
    finally:
        emulator.stop()
    assert identity is not None and identity.new_address == ADDRESS
    assert not identity.new_address_unavailable


def test_reply_shapes():
    text_photo = SamEmulator(card=CARD)
    text_photo.respond(build_request(*Command.FIND_CARD.value))
    text_photo.respond(build_request(*Command.SELECT_CARD.value))
    frame = text_photo.respond(build_request(*Command.READ_BASE.value))
    parser = FrameParser()
    parser.feed(frame)
    read = Reply.from_frame(parser.next_frame())
    assert reply_fits(Command.READ_BASE, read)
    assert not reply_fits(Command.READ_NEW_ADDRESS, read)
    assert not reply_fits(Command.READ_BASE_FP, read)
    assert reply_fits(Command.READ_NEW_ADDRESS, Reply(0, 0, 0x90, bytes(70)))
    assert not reply_fits(Command.FIND_CARD, Reply(0, 0, 0x41, b""))  # a late read failure
    assert reply_fits(Command.FIND_CARD, Reply(0, 0, 0x60, b""))  # the SAM is unwell
    assert not reply_fits(Command.SAM_STATUS, Reply(0, 0, 0x90, bytes(8)))  # select's reply


def test_default_deadlines_are_the_references():
    reader = IdCardReader("unused")
    assert (reader.command_timeout, reader.read_timeout, reader.fp_read_timeout,
            reader.new_address_timeout) == (0.5, 2.0, 3.0, 1.5)


def test_fingerprint_read_taking_2_5_s_keeps_the_supervised_reader_online(emulator):
    emulator.present(FP_CARD)
    emulator.delays[Command.READ_BASE_FP] = 2.5
    with online_supervisor(emulator) as supervisor:
        with supervisor.use() as reader:
            assert (reader.command_timeout, reader.read_timeout, reader.fp_read_timeout) == (
                0.5, 2.0, 3.0)
            identity = reader.read_card(fingerprint=True)
        time.sleep(0.4)  # a few probes after the read
        assert supervisor.status.state is DeviceState.ONLINE
    assert identity == FP_CARD.identity and identity.fingerprint == FP_CARD.fingerprint
    states = [e.status.state for e in supervisor.channel.drain()]
    assert DeviceState.OFFLINE not in states and DeviceState.NO_DEVICE not in states
    assert _commands(emulator).count(Command.READ_BASE_FP) == 1


# --- noise ---------------------------------------------------------------------------------
STRAY = PREAMBLE + b"\x00\x40\x00\x00"  # a preamble with a plausible LEN (64), then nothing


class _Noisy(SamEmulator):
    """A stray preamble with a plausible length in front of the replies to ``noisy``."""

    noisy: frozenset[Command] = frozenset({Command.RESET_SAM, Command.FIND_CARD})

    def _answer(self, request, command):
        reply = super()._answer(request, command)
        return STRAY + reply if command in self.noisy else reply


def test_stray_preamble_does_not_hide_the_reply():
    emulator = _Noisy()
    emulator.present("resident")
    reader = IdCardReader(emulator.start_pty(), EventChannel(), command_timeout=0.3,
                          read_timeout=0.5, retries=0)
    try:
        started = time.monotonic()
        reader.open()
        identity = reader.read_card()
        took = time.monotonic() - started
    finally:
        reader.close()
        emulator.stop()
    assert identity == SAMPLE_CARDS["resident"].identity
    assert took < 0.5  # found when the line went quiet, not at a deadline
    assert _commands(emulator) == [
        Command.RESET_SAM, Command.SAM_STATUS, Command.FIND_CARD, Command.SELECT_CARD,
        Command.READ_BASE]


def test_parser_rescan_only_drops_a_candidate_followed_by_a_whole_frame():
    reply = build_reply(0x90)
    parser = FrameParser()
    parser.feed(STRAY + reply[:6])
    assert parser.next_frame() is None
    assert not parser.rescan()  # the real reply is still arriving: keep everything
    assert parser.pending == len(STRAY) + 6
    parser.feed(reply[6:])
    assert parser.next_frame() is None  # the stray LEN still wants more
    assert parser.rescan()
    frame = parser.next_frame()
    assert frame is not None and Reply.from_frame(frame).sw3 == 0x90
    assert parser.discarded == len(STRAY)


def test_a_real_long_reply_is_never_cut_by_rescan():
    card = ScriptedCard(SAMPLE_CARDS["rare_name"].identity)
    emu = SamEmulator(card=card)
    emu.respond(build_request(*Command.FIND_CARD.value))
    emu.respond(build_request(*Command.SELECT_CARD.value))
    whole = emu.respond(build_request(*Command.READ_BASE.value))
    parser = FrameParser()
    for start in range(0, len(whole), 100):  # quiet after every chunk
        parser.feed(whole[start : start + 100])
        parser.rescan()
    frame = parser.next_frame()
    assert frame is not None and len(frame.body) == len(whole) - 8
