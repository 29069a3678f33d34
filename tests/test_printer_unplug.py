"""A serial printer whose port disappears: reported as gone, never a traceback."""

from __future__ import annotations

import pytest

from drivers.model import DeviceState, EventChannel
from drivers.printer.driver import PrinterDriver, PrinterNotReady, PrintFailed
from drivers.printer.emulator import PrinterEmulator
from drivers.printer.layout import Receipt, TextLine

RECEIPT = Receipt((TextLine("办理回执"),))


@pytest.fixture()
def unplugged() -> PrinterDriver:
    """A driver whose pty vanished under it (the master closed: the slave gets EIO)."""
    emulator = PrinterEmulator()
    driver = PrinterDriver.open_serial(emulator.start_pty(), timeout=0.2, channel=EventChannel())
    assert driver.status().ready
    emulator.stop()
    yield driver
    driver.close()


def test_status_of_a_vanished_port_is_no_device(unplugged: PrinterDriver):
    report = unplugged.status()
    assert report.status.state is DeviceState.NO_DEVICE
    assert report.reason == "no_device" and "disconnected" in report.status.detail


def test_print_on_a_vanished_port_is_refused_not_a_traceback(unplugged: PrinterDriver):
    with pytest.raises(PrinterNotReady) as caught:
        unplugged.print_receipt(RECEIPT)
    assert caught.value.status.state is DeviceState.NO_DEVICE


def test_port_lost_while_writing_is_a_print_failure(unplugged: PrinterDriver, monkeypatch):
    import termios

    from drivers.model import DeviceStatus
    from drivers.printer.status import PrinterReport

    ready = PrinterReport(DeviceStatus(DeviceState.ONLINE), None, "ok")
    monkeypatch.setattr(unplugged, "status", lambda: ready)  # as if the check had passed

    def flush() -> None:
        raise termios.error(5, "Input/output error")

    monkeypatch.setattr(unplugged._port, "write", lambda data: len(data))
    monkeypatch.setattr(unplugged._port, "flush", flush)
    with pytest.raises(PrintFailed) as caught:
        unplugged.print_receipt(RECEIPT)
    assert caught.value.status.state is DeviceState.NO_DEVICE
