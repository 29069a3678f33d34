"""SAM frame codec: golden bytes from the reference, round trips, and fuzzing of the parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.idcard.codec import (
    PREAMBLE,
    STATUS_CODES,
    BadChecksum,
    BadLength,
    Command,
    FrameError,
    FrameParser,
    Outcome,
    Reply,
    Request,
    TruncatedFrame,
    build_reply,
    build_request,
    parse_all,
    status_info,
)
from drivers.model import DeviceState, ErrorAction, MediaState

GOLDEN_REQUESTS = {
    Command.RESET_SAM: "AA AA AA 96 69 00 03 10 FF EC",
    Command.SAM_STATUS: "AA AA AA 96 69 00 03 11 FF ED",
    Command.SAM_ID: "AA AA AA 96 69 00 03 12 FF EE",
    Command.FIND_CARD: "AA AA AA 96 69 00 03 20 01 22",
    Command.SELECT_CARD: "AA AA AA 96 69 00 03 20 02 21",
    Command.READ_BASE: "AA AA AA 96 69 00 03 30 01 32",
    Command.READ_NEW_ADDRESS: "AA AA AA 96 69 00 03 30 03 30",
    Command.READ_BASE_FP: "AA AA AA 96 69 00 03 30 10 23",
}


@pytest.mark.parametrize(("command", "golden"), GOLDEN_REQUESTS.items())
def test_request_frames_match_the_reference(command: Command, golden: str):
    assert build_request(*command.value) == bytes.fromhex(golden)


def test_request_with_data_and_golden_replies():
    assert build_request(0x61, 0xFF, b"\x50") == bytes.fromhex("AA AA AA 96 69 00 04 61 FF 50 CA")
    assert build_reply(0x90) == bytes.fromhex("AA AA AA 96 69 00 04 00 00 90 94")
    assert build_reply(0x60) == bytes.fromhex("AA AA AA 96 69 00 04 00 00 60 64")
    assert build_reply(0x9F, bytes(4)) == bytes.fromhex(
        "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"
    )
    assert build_reply(0x90, bytes(8)) == bytes.fromhex(
        "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"
    )
    assert build_reply(0x80)[-2:] == b"\x80\x84"


@given(st.integers(0, 255), st.binary(max_size=2400))
def test_reply_round_trip(sw3: int, data: bytes):
    frames, errors = parse_all(build_reply(sw3, data))
    assert errors == []
    assert Reply.from_frame(frames[0]) == Reply(0, 0, sw3, data)


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=64))
def test_request_round_trip(cmd: int, para: int, data: bytes):
    frames, errors = parse_all(build_request(cmd, para, data), min_len=3)
    assert errors == []
    assert Request.from_frame(frames[0]) == Request(cmd, para, data)


@given(st.binary(max_size=3000), st.integers(1, 64))
def test_any_bytes_in_any_chunks_raise_only_frame_errors(data: bytes, chunk: int):
    parser = FrameParser()
    for start in range(0, len(data), chunk):
        parser.feed(data[start : start + chunk])
        while True:
            try:
                if parser.next_frame() is None:
                    break
            except FrameError:
                pass
    for _ in range(len(data) + 1):
        try:
            parser.end_of_input()
            break
        except FrameError:
            while True:
                try:
                    if parser.next_frame() is None:
                        break
                except FrameError:
                    pass
    assert parser.pending == 0


@settings(max_examples=200)
@given(st.binary(max_size=400), st.integers(0, 255), st.binary(max_size=300))
def test_valid_frame_after_garbage_is_found(garbage: bytes, sw3: int, data: bytes):
    frame = build_reply(sw3, data)
    frames, _ = parse_all(garbage + frame)
    assert Reply(0, 0, sw3, data) in [Reply.from_frame(f) for f in frames]


@given(st.binary(max_size=200), st.data())
def test_single_bit_flip_never_passes_silently(data: bytes, draw):
    frame = bytearray(build_reply(0x90, data))
    bit = draw.draw(st.integers(5 * 8, len(frame) * 8 - 1))  # flip outside the preamble
    frame[bit // 8] ^= 1 << (bit % 8)
    frames, errors = parse_all(bytes(frame))
    assert frames == [] or Reply.from_frame(frames[0]) != Reply(0, 0, 0x90, data)
    assert frames or errors


@given(st.binary(max_size=200), st.data())
def test_truncation_is_reported(data: bytes, draw):
    frame = build_reply(0x90, data)
    cut = draw.draw(st.integers(len(PREAMBLE), len(frame) - 1))
    frames, errors = parse_all(frame[:cut])
    assert frames == []
    assert any(isinstance(e, TruncatedFrame) for e in errors)


def test_typed_errors_and_resync():
    bad = bytearray(build_reply(0x90))
    bad[-1] ^= 0xFF
    parser = FrameParser()
    parser.feed(b"junk" + bytes(bad) + build_reply(0x9F, bytes(4)))
    with pytest.raises(BadChecksum):
        parser.next_frame()
    frame = parser.next_frame()
    assert frame is not None and Reply.from_frame(frame).sw3 == 0x9F
    assert parser.discarded >= 4
    parser.feed(PREAMBLE + b"\x00\x01" + build_reply(0x90))
    with pytest.raises(BadLength):
        parser.next_frame()
    frame = parser.next_frame()
    assert frame is not None and Reply.from_frame(frame).sw3 == 0x90


def test_long_bogus_length_does_not_hide_a_frame_at_end_of_input():
    data = PREAMBLE + b"\x08\x00" + build_reply(0x80)
    parser = FrameParser()
    parser.feed(data)
    assert parser.next_frame() is None  # waiting for 2048 + 7 bytes
    with pytest.raises(TruncatedFrame):
        parser.end_of_input()
    frame = parser.next_frame()
    assert frame is not None and Reply.from_frame(frame).sw3 == 0x80


def test_status_table_covers_the_reference_codes():
    assert set(STATUS_CODES) == {
        0x90, 0x91, 0x9F, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x37, 0x3F, 0x40,
        0x41, 0x47, 0x60, 0x66, 0x80, 0x81,
    }
    assert status_info(0x60).state is DeviceState.HARDWARE_ERROR
    assert status_info(0x60).action is ErrorAction.MAINTENANCE
    assert status_info(0x66).action is ErrorAction.CONFIGURATION
    assert status_info(0x9F).media is MediaState.PRESENT
    assert status_info(0x80).media is MediaState.NOT_PRESENT
    for code in (0x31, 0x32, 0x33, 0x40):
        assert status_info(code).state is DeviceState.USER_ERROR
        assert status_info(code).action is ErrorAction.CLEAR
    for code in (0x10, 0x11, 0x3F, 0x41, 0x47, 0x81):
        assert status_info(code).outcome is Outcome.RETRY
    unknown = status_info(0x55)
    assert unknown.state is DeviceState.HARDWARE_ERROR and unknown.action is ErrorAction.RESET
    assert status_info(0x32).text_zh == "SAM_A认证居民身份证失败"
