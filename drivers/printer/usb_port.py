"""A USB receipt printer as a port with the few calls the printer driver makes.

USB printers of the printer class take ESC/POS on their bulk OUT endpoint and answer DLE EOT
on their bulk IN endpoint. pyusb (with Debian's libusb-1.0-0) reaches them without a kernel
driver; the usblp driver, when bound, is detached for the time the port is open.

Status replies need care (reference §2.6): a bulk IN read returns whatever packet is pending,
which may hold a stale byte (Auto Status Back, a reply that came after its timeout) before the
reply just asked for. So :meth:`UsbPort.reset_input_buffer` really drains the IN endpoint, and
:meth:`UsbPort.read` keeps the *last* bytes of a packet: keeping the first once made an
out-of-paper printer answer "paper full", and the shift lasted for every later query.
"""

from __future__ import annotations

import contextlib
from typing import Any

import usb.core
import usb.util

PRINTER_CLASS = 7
#: Drain reads: short, and bounded, so a printer that streams status cannot hold us forever.
DRAIN_TIMEOUT_MS = 20
DRAIN_PACKETS = 16


class UsbPortError(OSError):
    """No such printer, no permission, or no libusb: the message says which."""


class UsbPort:
    """write / read / flush / reset_input_buffer / close over a printer's bulk endpoints."""

    def __init__(self, vendor: int, product: int, timeout: float = 0.3) -> None:
        self.timeout_ms = int(timeout * 1000)
        try:
            device = usb.core.find(idVendor=vendor, idProduct=product)
        except usb.core.NoBackendError as error:
            raise UsbPortError(f"USB printer {vendor:04x}:{product:04x}: libusb is not "
                               "installed (Debian package libusb-1.0-0)") from error
        if device is None:
            raise UsbPortError(f"no USB printer {vendor:04x}:{product:04x} is connected")
        self.device = device
        try:
            interface = device.get_active_configuration()[(0, 0)]
            self._reattach = device.is_kernel_driver_active(interface.bInterfaceNumber)
            if self._reattach:
                device.detach_kernel_driver(interface.bInterfaceNumber)
        except usb.core.USBError as error:
            raise UsbPortError(f"USB printer {vendor:04x}:{product:04x}: {error}") from error
        self._interface = interface.bInterfaceNumber

        def endpoint(direction: int):
            return usb.util.find_descriptor(
                interface,
                custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress)
                == direction,
            )

        self._out = endpoint(usb.util.ENDPOINT_OUT)
        self._in = endpoint(usb.util.ENDPOINT_IN)
        if self._out is None:
            raise UsbPortError(f"USB device {vendor:04x}:{product:04x} has no OUT endpoint")

    @classmethod
    def over_endpoints(cls, out: Any, in_: Any, timeout: float = 0.3) -> UsbPort:
        """A port over endpoints found elsewhere (tests pass fakes); close() releases nothing."""
        port = cls.__new__(cls)
        port.timeout_ms = int(timeout * 1000)
        port.device, port._reattach, port._interface = None, False, 0
        port._out, port._in = out, in_
        return port

    def write(self, data: bytes) -> int:
        try:
            return self._out.write(data, self.timeout_ms * 10)
        except usb.core.USBError as error:
            raise UsbPortError(f"USB write failed: {error}") from error

    def read(self, size: int = 1) -> bytes:
        """The last ``size`` bytes of the next packet (b"": no bulk IN, or nothing said).

        Last, not first: earlier bytes in the packet are stale (reference §2.6).
        """
        packet = self._packet(self.timeout_ms)
        return packet[-size:] if size > 0 else b""

    def _packet(self, timeout_ms: int) -> bytes:
        if self._in is None:
            return b""
        try:
            return bytes(self._in.read(max(16, self._in.wMaxPacketSize), timeout_ms))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as error:
            raise UsbPortError(f"USB read failed: {error}") from error

    def flush(self) -> None:
        """Bulk writes complete before they return."""

    def reset_input_buffer(self) -> None:
        """Read and drop what the printer has queued on its IN endpoint, so that the next
        read is the reply to the next request (bounded: at most 16 short reads)."""
        for _ in range(DRAIN_PACKETS):
            if not self._packet(DRAIN_TIMEOUT_MS):
                return

    def close(self) -> None:
        if self.device is None:
            return
        usb.util.dispose_resources(self.device)
        if self._reattach:
            # the printer may have been unplugged meanwhile; then there is nothing to give back
            with contextlib.suppress(usb.core.USBError):
                self.device.attach_kernel_driver(self._interface)
