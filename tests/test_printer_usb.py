"""USB status reads over fake bulk endpoints backed by the emulator's sensors.

A real bulk IN read returns one pending packet; a stale status byte left in it (or in an
earlier packet) must never be taken for the reply to the request just sent.
"""

from __future__ import annotations

import usb.core

from drivers.model import SupplyState
from drivers.printer.driver import PrinterDriver
from drivers.printer.emulator import PrinterEmulator, PrinterState
from drivers.printer.usb_port import UsbPort


class FakeEndpoints:
    """OUT feeds the emulator; each reply becomes one IN packet, queued in order."""

    wMaxPacketSize = 64

    def __init__(self, emulator: PrinterEmulator, stale: list[bytes]) -> None:
        self.emulator = emulator
        self.packets = list(stale)

    def write(self, data: bytes, timeout: int) -> int:
        reply = self.emulator.feed(bytes(data))
        if reply:
            self.packets.append(reply)
        return len(data)

    def read(self, size: int, timeout: int) -> bytes:
        if not self.packets:
            raise usb.core.USBTimeoutError("Operation timed out")
        return self.packets.pop(0)[:size]


def driver(stale: list[bytes]) -> PrinterDriver:
    fake = FakeEndpoints(PrinterEmulator(PrinterState(paper_out=True)), stale)
    return PrinterDriver(UsbPort.over_endpoints(fake, fake))  # type: ignore[arg-type]


def test_a_stale_packet_does_not_shift_every_later_reply():
    printer = driver([b"\x12"])
    for _ in range(3):
        report = printer.status()
        assert report.reason == "paper_out"
        assert report.status.supplies["paper"] is SupplyState.OUT


def test_the_last_byte_of_a_packet_is_the_reply():
    port = UsbPort.over_endpoints(None, FakeEndpoints(PrinterEmulator(), [b"\x12\x1e"]))
    assert port.read(1) == b"\x1e"
    assert port.read(1) == b""
