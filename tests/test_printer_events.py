"""Printer events: paper thresholds, cover open with its action, under the supervisor too."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from drivers.model import DeviceEvent, DeviceState, ErrorAction, EventChannel, SupplyState
from drivers.printer.driver import PrinterDriver
from drivers.printer.emulator import PrinterEmulator
from drivers.printer.supervised import supervise_printer


@pytest.fixture()
def emulator() -> Iterator[PrinterEmulator]:
    emu = PrinterEmulator()
    yield emu
    emu.stop()


def kinds(events: list[DeviceEvent], kind: str) -> list[DeviceEvent]:
    return [event for event in events if event.kind == kind]


def test_paper_near_end_out_and_refill_are_supply_threshold_events(emulator: PrinterEmulator):
    channel = EventChannel()
    with PrinterDriver.open_serial(emulator.start_pty(), channel=channel) as driver:
        driver.status()
        assert kinds(channel.drain(), "supply_threshold") == []  # full at start: nothing new
        seen = []
        for near_end, out in ((True, False), (True, True), (False, False)):
            emulator.state.paper_near_end, emulator.state.paper_out = near_end, out
            driver.status()
            driver.status()  # unchanged: no second event
            seen += [e.status.supplies["paper"] for e in kinds(channel.drain(), "supply_threshold")]
    assert seen == [SupplyState.LOW, SupplyState.OUT, SupplyState.FULL]


def wait_for_event(channel: EventChannel, kind: str, got: list[DeviceEvent]) -> DeviceEvent:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        got += channel.drain()
        for event in got:
            if event.kind == kind:
                return event
        time.sleep(0.02)
    raise AssertionError(f"no {kind} event in {got}")


def test_supervised_printer_reports_paper_low_and_cover_open_with_action(
    emulator: PrinterEmulator,
):
    channel = EventChannel()
    supervisor = supervise_printer(emulator.start_pty(), channel, interval=0.05)
    supervisor.start()
    try:
        got: list[DeviceEvent] = []
        emulator.state.paper_near_end = True
        low = wait_for_event(channel, "supply_threshold", got)
        assert low.status.supplies["paper"] is SupplyState.LOW and "low" in low.message
        emulator.state.cover_open = True
        error = wait_for_event(channel, "error", got)
        assert error.action is ErrorAction.CLEAR
        assert error.status.state is DeviceState.USER_ERROR
        assert "cover" in error.message and "close" in error.message
        states = [e.status.state for e in kinds(got, "status")]
        assert states.count(DeviceState.USER_ERROR) <= 1  # state changes are not doubled
    finally:
        supervisor.stop()
