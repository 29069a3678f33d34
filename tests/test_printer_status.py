"""DLE EOT status: strict fixed-bit check, and a deterministic mapping for every byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.model import DeviceState, ErrorAction, SupplyState
from drivers.printer.status import (
    StatusReplyError,
    check_reply,
    decode,
    map_status,
    request,
)

NORMAL = {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}
VALID = [b for b in range(256) if (b & 0x93) == 0x12]


def test_requests():
    assert [request(n) for n in (1, 2, 3, 4)] == [b"\x10\x04\x01", b"\x10\x04\x02",
                                                  b"\x10\x04\x03", b"\x10\x04\x04"]
    with pytest.raises(ValueError):
        request(5)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_byte_of_every_reply_maps_deterministically(n: int):
    assert len(VALID) == 16
    for value in range(256):
        replies = {**NORMAL, n: value}
        first, second = map_status(replies), map_status(dict(replies))
        assert first == second
        assert first.status.supplies["paper"] in SupplyState
        if value in VALID:
            assert check_reply(n, value) == value
            assert first.reason != "bad_reply"
        else:
            with pytest.raises(StatusReplyError):
                check_reply(n, value)
            with pytest.raises(StatusReplyError):
                decode(replies)
            assert first.reason == "bad_reply" and not first.ready
            assert first.status.supplies["paper"] is SupplyState.UNKNOWN


@pytest.mark.parametrize(
    ("replies", "state", "action", "paper", "reason"),
    [
        (NORMAL, DeviceState.ONLINE, None, SupplyState.FULL, "ok"),
        ({**NORMAL, 4: 0x1E}, DeviceState.ONLINE, None, SupplyState.LOW, "paper_low"),
        ({1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x72}, DeviceState.USER_ERROR, ErrorAction.CLEAR,
         SupplyState.OUT, "paper_out"),
        ({**NORMAL, 4: 0x7E}, DeviceState.USER_ERROR, ErrorAction.CLEAR, SupplyState.OUT,
         "paper_out"),
        ({1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12}, DeviceState.USER_ERROR, ErrorAction.CLEAR,
         SupplyState.FULL, "cover_open"),
        ({1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12}, DeviceState.HARDWARE_ERROR, ErrorAction.RESET,
         SupplyState.FULL, "cutter"),
        ({1: 0x1A, 2: 0x52, 3: 0x32, 4: 0x12}, DeviceState.HARDWARE_ERROR,
         ErrorAction.MAINTENANCE, SupplyState.FULL, "unrecoverable"),
        ({1: 0x1A, 2: 0x52, 3: 0x52, 4: 0x12}, DeviceState.BUSY, ErrorAction.SUSPEND,
         SupplyState.FULL, "recovering"),
        ({**NORMAL, 1: 0x1A}, DeviceState.OFFLINE, ErrorAction.RETRY, SupplyState.FULL,
         "offline"),
        ({1: None}, DeviceState.OFFLINE, ErrorAction.RETRY, SupplyState.UNKNOWN, "no_reply"),
        ({}, DeviceState.OFFLINE, ErrorAction.RETRY, SupplyState.UNKNOWN, "no_reply"),
        ({**NORMAL, 4: 0x00}, DeviceState.OFFLINE, ErrorAction.CONFIGURATION,
         SupplyState.UNKNOWN, "bad_reply"),
    ],
)
def test_reference_table(replies, state, action, paper, reason):
    report = map_status(replies)
    assert (report.status.state, report.action, report.status.supplies["paper"],
            report.reason) == (state, action, paper, reason)
    assert report.ready == (state is DeviceState.ONLINE)


reply = st.one_of(st.none(), st.integers(0, 255))


@given(st.fixed_dictionaries({1: reply, 2: reply, 3: reply, 4: reply}))
def test_any_combination_maps_without_raising(replies):
    report = map_status(replies)
    assert report == map_status(dict(replies))
    if report.ready:
        assert all((v & 0x93) == 0x12 for v in replies.values())
        assert report.status.supplies["paper"] in (SupplyState.FULL, SupplyState.LOW)
        assert report.action is None
    else:
        assert report.action is not None and report.status.detail


@given(st.sampled_from(VALID), st.sampled_from(VALID), st.sampled_from(VALID))
def test_paper_out_is_never_ready(p1, p2, p3):
    report = map_status({1: p1, 2: p2, 3: p3, 4: 0x72})
    assert not report.ready
    assert report.status.supplies["paper"] is SupplyState.OUT
