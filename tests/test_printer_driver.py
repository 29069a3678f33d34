"""The printer driver on the real serial path: pyserial over a pty against the emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from drivers.model import DeviceState, ErrorAction, EventChannel, SupplyState
from drivers.printer.driver import PrinterDriver, PrinterNotReady, PrintFailed
from drivers.printer.emulator import PrinterEmulator, PrinterState
from drivers.printer.layout import Cut, KeyValue, QRCode, Receipt, TextLine, Title

RECEIPT = Receipt((Title("办理回执"), TextLine("，。"), KeyValue("金额", "¥5.00"),
                   QRCode("QR-42"), Cut()))


@pytest.fixture()
def emulator() -> Iterator[PrinterEmulator]:
    emu = PrinterEmulator(PrinterState())
    yield emu
    emu.stop()


@pytest.fixture()
def channel() -> EventChannel:
    return EventChannel()


@pytest.fixture()
def driver(emulator: PrinterEmulator, channel: EventChannel) -> Iterator[PrinterDriver]:
    path = emulator.start_pty()
    drv = PrinterDriver.open_serial(path, baudrate=115200, timeout=0.3, channel=channel)
    yield drv
    drv.close()


def wait_for_qr(emulator: PrinterEmulator) -> list[str]:
    deadline = time.monotonic() + 2
    while not emulator.qr_payloads() and time.monotonic() < deadline:
        time.sleep(0.01)
    return emulator.qr_payloads()


def test_print_ok(driver: PrinterDriver, emulator: PrinterEmulator, channel: EventChannel):
    report = driver.print_receipt(RECEIPT)
    assert report.ready and report.status.supplies["paper"] is SupplyState.FULL
    assert wait_for_qr(emulator) == ["QR-42"]
    printed = [line for line in emulator.lines() if line]
    assert printed == ["办理回执", "，。", "金额" + " " * 38 + "￥5.00"]
    events = channel.drain()
    assert [e.kind for e in events] == ["status"]
    assert events[0].status.state is DeviceState.ONLINE


def test_paper_low_still_prints(driver: PrinterDriver, emulator: PrinterEmulator):
    emulator.state.paper_near_end = True
    report = driver.print_receipt(RECEIPT)
    assert report.reason == "paper_low" and report.status.supplies["paper"] is SupplyState.LOW
    assert wait_for_qr(emulator) == ["QR-42"]


def test_paper_out_is_refused_before_printing_then_retried(
    driver: PrinterDriver, emulator: PrinterEmulator, channel: EventChannel
):
    emulator.state.paper_out = True
    with pytest.raises(PrinterNotReady) as caught:
        driver.print_receipt(RECEIPT)
    error = caught.value
    assert error.reason == "paper_out" and error.action is ErrorAction.CLEAR
    assert error.status.supplies["paper"] is SupplyState.OUT and "paper" in str(error)
    time.sleep(0.05)
    assert emulator.items == [] and emulator.received == 12  # only the four status requests
    assert channel.drain()[-1].kind == "error"
    emulator.state.paper_out = False  # paper loaded: the same call now succeeds
    assert driver.print_receipt(RECEIPT).ready
    assert wait_for_qr(emulator) == ["QR-42"]


def test_cover_open(driver: PrinterDriver, emulator: PrinterEmulator):
    emulator.state.cover_open = True
    with pytest.raises(PrinterNotReady) as caught:
        driver.print_receipt(RECEIPT)
    assert caught.value.reason == "cover_open"
    assert caught.value.status.state is DeviceState.USER_ERROR
    assert "cover" in str(caught.value)


def test_silence_is_offline_not_paper_ok(driver: PrinterDriver, emulator: PrinterEmulator):
    emulator.state.silent = True
    started = time.monotonic()
    with pytest.raises(PrinterNotReady) as caught:
        driver.print_receipt(RECEIPT)
    assert time.monotonic() - started < 2
    assert caught.value.reason == "no_reply"
    assert caught.value.status.state is DeviceState.OFFLINE
    assert caught.value.status.supplies["paper"] is SupplyState.UNKNOWN
    assert emulator.items == []


def test_paper_running_out_during_the_print_is_reported(
    driver: PrinterDriver, emulator: PrinterEmulator
):
    original = emulator.feed

    def feed(data: bytes) -> bytes:
        if b"QR-42" in data:
            emulator.state.paper_out = True
        return original(data)

    emulator.feed = feed  # type: ignore[method-assign]
    with pytest.raises(PrintFailed) as caught:
        driver.print_receipt(RECEIPT)
    assert caught.value.reason == "paper_out"


def test_file_target_prints_without_status(tmp_path):
    path = tmp_path / "spool.bin"
    with PrinterDriver.open_file(path) as drv:
        report = drv.print_receipt(RECEIPT)
    assert report.status.supplies["paper"] is SupplyState.NOT_SUPPORTED
    emulator = PrinterEmulator()
    emulator.feed(path.read_bytes())
    assert emulator.qr_payloads() == ["QR-42"]


def test_a_status_window_missed_after_the_slip_is_asked_again(driver: PrinterDriver,
                                                             emulator: PrinterEmulator):
    """The printer goes quiet for 0.3 s from the moment the slip's bytes arrive (busy with
    a raster, or a loaded PC reading late): the first status request after the slip gets no
    answer. The slip printed, so the driver asks again instead of reporting it lost."""
    import threading

    def quiet_while_printing() -> None:
        while emulator.received <= 12:  # the four status requests (DLE EOT n) before it
            time.sleep(0.001)
        emulator.state.silent = True
        time.sleep(0.3)
        emulator.state.silent = False

    watcher = threading.Thread(target=quiet_while_printing, daemon=True)
    watcher.start()
    report = driver.print_receipt(RECEIPT)
    watcher.join(5)
    assert report.ready
    assert wait_for_qr(emulator) == ["QR-42"]
