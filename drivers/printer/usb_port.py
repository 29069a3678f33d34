"""A USB receipt printer as a port with the few calls the printer driver makes.

USB printers of the printer class take ESC/POS on their bulk OUT endpoint and answer DLE EOT
on their bulk IN endpoint. pyusb (with Debian's libusb-1.0-0) reaches them without a kernel
driver; the usblp driver, when bound, is detached for the time the port is open.
"""

from __future__ import annotations

import contextlib

import usb.core
import usb.util

PRINTER_CLASS = 7


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

    def write(self, data: bytes) -> int:
        try:
            return self._out.write(data, self.timeout_ms * 10)
        except usb.core.USBError as error:
            raise UsbPortError(f"USB write failed: {error}") from error

    def read(self, size: int = 1) -> bytes:
        """Up to ``size`` bytes, or b"" when the printer has no bulk IN or says nothing."""
        if self._in is None:
            return b""
        try:
            return bytes(self._in.read(max(size, self._in.wMaxPacketSize), self.timeout_ms))[
                :size]
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as error:
            raise UsbPortError(f"USB read failed: {error}") from error

    def flush(self) -> None:
        """Bulk writes complete before they return."""

    def reset_input_buffer(self) -> None:
        """Nothing is buffered on our side; replies are read when asked for."""

    def close(self) -> None:
        usb.util.dispose_resources(self.device)
        if self._reattach:
            # the printer may have been unplugged meanwhile; then there is nothing to give back
            with contextlib.suppress(usb.core.USBError):
                self.device.attach_kernel_driver(self._interface)
