"""Receipt printer driver: check status, print, check again, say why when it cannot.

A kiosk must not tell a citizen "take your receipt" when the printer has no paper, so the
driver asks the printer (DLE EOT 1..4) before every print and refuses with a typed
:class:`PrinterNotReady` that names the reason (``paper_out``, ``cover_open``, ``offline``...)
and the action that clears it. After printing it asks again, because paper can run out or the
cover can be opened mid-slip; that is a :class:`PrintFailed`. Both can simply be retried once
the cause is cleared: printing is one write of pre-rendered bytes, with no state kept between
attempts. Status changes and errors go to an :class:`~drivers.model.EventChannel`.

Transports: any pyserial URL or device path (``serial.serial_for_url``: ``/dev/ttyUSB0``,
``socket://host:9100``, a pty from the emulator) with status, or a plain file / ``/dev/usb/lp0``
which is write-only and so prints without status checks.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO

import serial

from drivers.model import (
    DeviceEvent,
    DeviceState,
    DeviceStatus,
    ErrorAction,
    EventChannel,
    MediaState,
    SupplyState,
)
from drivers.printer.layout import Receipt
from drivers.printer.render import Codec, render
from drivers.printer.status import PrinterReport, map_status, request

__all__ = ["PrintFailed", "PrinterDriver", "PrinterError", "PrinterNotReady"]


class PrinterError(Exception):
    """A print that did not happen or may be incomplete; ``reason`` is a stable key."""

    def __init__(self, report: PrinterReport, message: str) -> None:
        super().__init__(message)
        self.report = report
        self.reason = report.reason
        self.action = report.action
        self.status = report.status

    @property
    def retryable(self) -> bool:
        """True: the same call may succeed once the cause is cleared (or at once)."""
        return True


class PrinterNotReady(PrinterError):
    """Refused before printing: nothing was sent, nothing is lost."""


class PrintFailed(PrinterError):
    """Sent, but the printer reported a problem afterwards: the slip may be missing or cut short."""


class PrinterDriver:
    """One ESC/POS printer on a serial-like port or a write-only file."""

    def __init__(
        self,
        port: serial.SerialBase | None = None,
        file: BinaryIO | None = None,
        *,
        channel: EventChannel | None = None,
        name: str = "printer",
        codec: Codec = "gb18030",
    ) -> None:
        if (port is None) == (file is None):
            raise ValueError("give exactly one of port or file")
        self._port = port
        self._file = file
        self.channel = channel
        self.name = name
        self.codec = codec
        self._lock = threading.Lock()
        self._last: DeviceStatus | None = None

    @classmethod
    def open_serial(
        cls,
        url: str,
        *,
        baudrate: int = 9600,
        timeout: float = 0.3,
        channel: EventChannel | None = None,
        name: str = "printer",
        codec: Codec = "gb18030",
    ) -> PrinterDriver:
        """Open ``url`` (a device path or pyserial URL); ``timeout`` bounds each status read.

        ``dsrdtr`` stays off: with DSR flow control a printer that does not wire DSR stalls
        every write.
        """
        port = serial.serial_for_url(
            url, baudrate=baudrate, timeout=timeout, write_timeout=5, dsrdtr=False
        )
        return cls(port, channel=channel, name=name, codec=codec)

    @classmethod
    def open_file(
        cls,
        path: str | Path,
        *,
        channel: EventChannel | None = None,
        name: str = "printer",
        codec: Codec = "gb18030",
    ) -> PrinterDriver:
        """Append to ``path`` (a spool file or ``/dev/usb/lp0``); no status can be read."""
        file = open(path, "ab")  # noqa: SIM115  # owned by the driver, closed by close()
        return cls(file=file, channel=channel, name=name, codec=codec)

    def close(self) -> None:
        """Release the port or file."""
        if self._port is not None:
            self._port.close()
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> PrinterDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- status ------------------------------------------------------------------------------

    def status(self) -> PrinterReport:
        """Ask the printer now (DLE EOT 1..4) and publish a status event if it changed."""
        with self._lock:
            report = self._query()
        self._publish_status(report)
        return report

    def _query(self) -> PrinterReport:
        if self._port is None:
            status = DeviceStatus(DeviceState.ONLINE, MediaState.UNKNOWN,
                                  {"paper": SupplyState.NOT_SUPPORTED},
                                  "file target: printer status cannot be read")
            return PrinterReport(status, None, "ok")
        replies: dict[int, int | None] = {}
        try:
            self._port.reset_input_buffer()  # stale bytes would be taken for the reply
            for n in (1, 2, 3, 4):
                self._port.write(request(n))
                data = self._port.read(1)
                replies[n] = data[0] if data else None
                if not data:
                    break  # silent: asking the rest only adds timeouts
        except (serial.SerialException, OSError) as error:
            status = DeviceStatus(DeviceState.OFFLINE, MediaState.UNKNOWN,
                                  {"paper": SupplyState.UNKNOWN}, f"port error: {error}")
            return PrinterReport(status, ErrorAction.RETRY, "offline")
        return map_status(replies)

    def _publish_status(self, report: PrinterReport) -> None:
        if report.status == self._last:
            return
        self._last = report.status
        if self.channel is not None:
            self.channel.publish(DeviceEvent(self.name, "status", report.status,
                                             report.status.detail))

    def _publish_error(self, error: PrinterError) -> None:
        if self.channel is not None:
            self.channel.publish(DeviceEvent(self.name, "error", error.status, str(error),
                                             error.action))

    # -- printing ----------------------------------------------------------------------------

    def print_receipt(self, receipt: Receipt) -> PrinterReport:
        """Print ``receipt``; return the status read after printing (it may say paper low).

        Raises :class:`PrinterNotReady` (nothing sent) or :class:`PrintFailed`; both can be
        retried with the same receipt once the reason is cleared.
        """
        data = render(receipt, self.codec)
        return self.print_bytes(data)

    def print_bytes(self, data: bytes) -> PrinterReport:
        """Send pre-rendered ESC/POS ``data`` between a status check before and after."""
        before = self.status()
        if not before.ready:
            error = PrinterNotReady(before, f"not printed: {before.status.detail}")
            self._publish_error(error)
            raise error
        with self._lock:
            try:
                if self._port is not None:
                    self._port.write(data)
                    self._port.flush()
                else:
                    assert self._file is not None
                    self._file.write(data)
                    self._file.flush()
                failure = None
            except (serial.SerialException, OSError) as exc:
                failure = exc
        if failure is not None:
            status = DeviceStatus(DeviceState.OFFLINE, MediaState.UNKNOWN,
                                  {"paper": SupplyState.UNKNOWN}, f"write failed: {failure}")
            report = PrinterReport(status, ErrorAction.RETRY, "offline")
            self._publish_status(report)
            error = PrintFailed(report, f"print failed: {status.detail}")
            self._publish_error(error)
            raise error from failure
        after = self.status()
        if not after.ready:
            error = PrintFailed(after, f"receipt may be incomplete: {after.status.detail}")
            self._publish_error(error)
            raise error
        return after
