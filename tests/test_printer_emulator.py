"""The ESC/POS emulator: never crashes on arbitrary bytes, answers DLE EOT from its state."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.emulator import PrintedFeed, PrintedLine, PrinterEmulator, PrinterState

COMMANDS = st.sampled_from([
    b"\x1b", b"\x1c", b"\x1d", b"\x10", b"\x10\x04", b"\x1d(k", b"\x1dk", b"\x1dv0",
    b"\x1b*", b"\x1bD", b"\n", b"\x1c&", b"\x1c.", b"\xb0\xa1", b"\x81\x30",
])
CHUNKS = st.lists(st.one_of(st.binary(max_size=40), COMMANDS), max_size=30)


@settings(max_examples=300, deadline=None)
@given(CHUNKS)
def test_arbitrary_bytes_never_crash_the_parser(chunks):
    emulator = PrinterEmulator()
    for chunk in chunks:
        reply = emulator.feed(chunk)
        assert all((b & 0x93) == 0x12 or b in (0, 3, 0x0C, 0x0F) for b in reply)
    emulator.lines()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 20))
def test_split_points_do_not_change_the_result(data, step):
    whole, pieces = PrinterEmulator(), PrinterEmulator()
    whole.feed(data)
    for i in range(0, len(data), step):
        pieces.feed(data[i : i + step])
    assert whole.items == pieces.items


def test_long_commands_split_anywhere_are_skipped_whole():
    data = (b"\x1b*\x00\x04\x00" + b"\n" * 4 + b"\x1c2\xfe\xa1" + b"\n" * 72
            + b"\x1dk\x49\x05{Babc" + b"\x1dv0\x00\x01\x00\x02\x00\n\n" + b"ok\n")
    for step in range(1, len(data) + 1):
        emulator = PrinterEmulator()
        for i in range(0, len(data), step):
            emulator.feed(data[i : i + step])
        assert emulator.lines() == ["ok"], step


def test_status_replies_follow_the_state():
    state = PrinterState()
    emulator = PrinterEmulator(state)
    ask = b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"
    assert emulator.feed(ask) == b"\x12\x12\x12\x12"
    state.paper_near_end = True
    assert emulator.feed(b"\x10\x04\x04") == b"\x1e"
    state.paper_out = True
    assert emulator.feed(ask) == b"\x1a\x32\x12\x7e"
    state.paper_out = state.paper_near_end = False
    state.cover_open = True
    assert emulator.feed(ask) == b"\x1a\x16\x12\x12"
    state.silent = True
    assert emulator.feed(ask) == b""


def test_commands_are_skipped_by_their_length_and_text_decoded():
    emulator = PrinterEmulator()
    data = (b"\x1b@\x1b\x61\x01\x1d\x21\x11" + "中文".encode("gb18030") + b"\n"
            + b"\x1d(k\x03\x001C\x06" + b"\x1bd\x03" + b"\x1c.abc\n")
    emulator.feed(data)
    assert emulator.items == [
        PrintedLine("中文", align="center", tall=True),
        PrintedFeed(3),
        PrintedLine("abc", align="center", tall=True),
    ]


def test_pty_serves_status_and_stops():
    emulator = PrinterEmulator()
    path = emulator.start_pty()
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"\x10\x04\x04")
            assert os.read(fd, 1) == b"\x12"
        finally:
            os.close(fd)
    finally:
        emulator.stop()
    emulator.stop()
