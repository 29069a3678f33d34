"""Receipt printer driver: check status, print, check again, say why when it cannot.

A kiosk must not tell a citizen "take your receipt" when the printer has no paper, so the
driver asks the printer (DLE EOT 1..4) before every print and refuses with a typed
:class:`PrinterNotReady` that names the reason (``paper_out``, ``cover_open``, ``offline``...)
and the action that clears it. After printing it asks again, because paper can run out or the
cover can be opened mid-slip; that is a :class:`PrintFailed`. Both can simply be retried once
the cause is cleared: printing is one write of pre-rendered bytes, with no state kept between
attempts. Status changes, errors (with the action that clears them) and paper thresholds go to
an :class:`~drivers.model.EventChannel`.

Transports: any pyserial URL or device path (``serial.serial_for_url``: ``/dev/ttyUSB0``,
``socket://host:9100``, a pty from the emulator) with status, or a plain file / ``/dev/usb/lp0``
which is write-only and so prints without status checks. A port that vanishes (USB-serial
adapter pulled: EIO, which pyserial's flush raises as ``termios.error``, not an OSError) is
reported as NO_DEVICE, never as a traceback.
"""

from __future__ import annotations

import threading
import time
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
from drivers.printer.layout import Codec, Receipt
from drivers.printer.render import check_codec, render
from drivers.printer.status import PrinterReport, map_status, request

try:  # flushing or draining a hung-up tty raises termios.error, which is not an OSError
    import termios

    _TERMIOS_ERRORS: tuple[type[Exception], ...] = (termios.error,)
except ImportError:  # pragma: no cover - Windows
    _TERMIOS_ERRORS = ()

#: Everything a port raises when the line to the printer is gone.
PORT_ERRORS: tuple[type[Exception], ...] = (serial.SerialException, OSError, *_TERMIOS_ERRORS)

__all__ = ["PORT_ERRORS", "PrintFailed", "PrinterDriver", "PrinterError", "PrinterNotReady",
           "line_lost"]

#: Paper states worth a supply_threshold event (XFS PaperThresholdEvent: low, out, refilled).
_KNOWN_PAPER = (SupplyState.FULL, SupplyState.LOW, SupplyState.OUT)


def line_lost(error: BaseException) -> PrinterReport:
    """The report for a port error: a write timeout is OFFLINE (the printer holds the line,
    e.g. flow control while the cover is open); anything else means the port is gone."""
    if isinstance(error, serial.SerialTimeoutException):
        status = DeviceStatus(DeviceState.OFFLINE, MediaState.UNKNOWN,
                              {"paper": SupplyState.UNKNOWN}, f"write timed out: {error}")
        return PrinterReport(status, ErrorAction.RETRY, "offline")
    status = DeviceStatus(DeviceState.NO_DEVICE, MediaState.UNKNOWN,
                          {"paper": SupplyState.UNKNOWN},
                          f"printer disconnected (port error: {error})")
    return PrinterReport(status, ErrorAction.RETRY, "no_device")


AFTER_PRINT_ASKS = 3
"""Status requests after a slip before an unanswered line counts as a failed print."""


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
        font: tuple[Path, int] | None = None,
        status_events: bool = True,
        path: Path | None = None,
    ) -> None:
        """``codec``: the printer's code set (``gb18030`` or ``gbk``); ``font``: the face
        (file, index) for lines it cannot encode (default: Noto Sans CJK SC, found on disk);
        ``status_events=False`` when a supervisor already publishes state changes (the driver
        still publishes errors with their action and paper thresholds); ``path``: a file
        target's device node, checked on every status request."""
        if (port is None) == (file is None):
            raise ValueError("give exactly one of port or file")
        self._port = port
        self._file = file
        self._path = path
        self.channel = channel
        self.name = name
        self.codec = check_codec(codec)
        self.font = font
        self.status_events = status_events
        self._lock = threading.Lock()
        self._last: PrinterReport | None = None
        self._paper: SupplyState | None = None

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
        font: tuple[Path, int] | None = None,
        status_events: bool = True,
    ) -> PrinterDriver:
        """Open ``url`` (a device path or pyserial URL); ``timeout`` bounds each status read.

        ``dsrdtr`` stays off: with DSR flow control a printer that does not wire DSR stalls
        every write.
        """
        port = serial.serial_for_url(
            url, baudrate=baudrate, timeout=timeout, write_timeout=5, dsrdtr=False
        )
        return cls(port, channel=channel, name=name, codec=codec, font=font,
                   status_events=status_events)

    @classmethod
    def open_file(
        cls,
        path: str | Path,
        *,
        channel: EventChannel | None = None,
        name: str = "printer",
        codec: Codec = "gb18030",
        font: tuple[Path, int] | None = None,
    ) -> PrinterDriver:
        """Append to ``path`` (a spool file or ``/dev/usb/lp0``); no status can be read.

        A missing path under ``/dev`` is a printer that is not plugged in, and a path whose
        directory does not exist is a typo: both raise FileNotFoundError (NO_DEVICE) instead
        of creating a regular file that would swallow receipts while "online". Only an
        existing file or device node is written, or a new spool file in an existing folder.
        """
        path = Path(path)
        if not path.exists() and (path.parts[:2] == ("/", "dev") or not path.parent.is_dir()):
            raise FileNotFoundError(f"no printer at {path}: the device node does not exist"
                                    if path.parts[:2] == ("/", "dev")
                                    else f"no printer at {path}: {path.parent} does not exist")
        if path.is_dir():
            raise IsADirectoryError(f"no printer at {path}: it is a directory")
        file = open(path, "ab")  # noqa: SIM115  # owned by the driver, closed by close()
        return cls(file=file, channel=channel, name=name, codec=codec, font=font, path=path)

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
            if self._path is not None and not self._path.exists():
                status = DeviceStatus(DeviceState.NO_DEVICE, MediaState.UNKNOWN,
                                      {"paper": SupplyState.UNKNOWN},
                                      f"printer disconnected: {self._path} is gone")
                return PrinterReport(status, ErrorAction.RETRY, "no_device")
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
        except PORT_ERRORS as error:
            return line_lost(error)
        return map_status(replies)

    def _publish_status(self, report: PrinterReport) -> None:
        """Publish what changed: the status, an error entered (with the action that clears
        it, e.g. CLEAR for an open cover), and paper crossing a threshold (low, out, refilled).
        """
        previous, self._last = self._last, report
        if previous is not None and previous.status == report.status:
            return
        paper = report.status.supplies.get("paper")
        crossed = paper in _KNOWN_PAPER and paper != (self._paper or SupplyState.FULL)
        if paper in _KNOWN_PAPER:
            self._paper = paper
        if self.channel is None:
            return
        if self.status_events:
            self.channel.publish(DeviceEvent(self.name, "status", report.status,
                                             report.status.detail))
        if report.action is not None and (previous is None or previous.reason != report.reason):
            self.channel.publish(DeviceEvent(self.name, "error", report.status,
                                             report.status.detail, report.action))
        if crossed:
            self.channel.publish(DeviceEvent(self.name, "supply_threshold", report.status,
                                             f"paper {paper}"))

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
        data = render(receipt, self.codec, self.font)
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
            except PORT_ERRORS as exc:
                failure = exc
        if failure is not None:
            report = line_lost(failure)
            self._publish_status(report)
            error = PrintFailed(report, f"print failed: {report.status.detail}")
            self._publish_error(error)
            raise error from failure
        after = self.status()
        for _ in range(AFTER_PRINT_ASKS - 1):
            if after.reason not in ("no_reply", "bad_reply"):
                break
            # a printer still busy with a long raster (or a loaded PC reading the line
            # late) misses one status window; a slip that printed must not be reported lost
            time.sleep(0.2)
            after = self.status()
        if not after.ready:
            error = PrintFailed(after, f"receipt may be incomplete: {after.status.detail}")
            self._publish_error(error)
            raise error
        return after
