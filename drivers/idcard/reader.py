"""One ID-card read session over any pyserial URL, mapped onto the common device model.

The driver opens ``serial.serial_for_url(url, baudrate=115200, timeout=...)``, so the same
code drives a reader on ``/dev/ttyUSB0``, a serial server on ``socket://…`` or the emulator
on a pty. Every wait has a deadline: a silent reader becomes OFFLINE, a vanished port
NO_DEVICE, and no call can hang the kiosk. Status changes and errors go out as
:class:`DeviceEvent` on an :class:`EventChannel`, so the UI never touches the port.

Card removal: after a successful read the reader will not find the same card again until
it has been taken away, and a card the SAM refuses stays refused. So after a refusal the
driver waits for "no card" before it tries again, instead of failing in a loop.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from typing import Any, Protocol

import serial

from drivers.idcard.codec import (
    Command,
    FrameError,
    FrameParser,
    Outcome,
    Reply,
    StatusInfo,
    build_request,
    status_info,
)
from drivers.idcard.identity import Identity, TextBlockError, parse_text_block
from drivers.model import (
    DeviceEvent,
    DeviceState,
    DeviceStatus,
    ErrorAction,
    EventChannel,
    MediaState,
)

__all__ = [
    "CardUnreadable",
    "IdCardReader",
    "ReaderError",
    "ReaderTimeout",
    "ReaderUnavailable",
    "SamError",
]

_OK, _FOUND, _NOT_FOUND, _NO_SUCH_ITEM = 0x90, 0x9F, 0x80, 0x91
_NEW_ADDRESS_TIMEOUT = 1.5  # the reference's reply deadline for 30 03
_POLL = 0.02  # serial read timeout: how often the deadline is checked

try:  # flushing a hung-up tty raises termios.error, which is not an OSError
    import termios

    _TERMIOS_ERRORS: tuple[type[Exception], ...] = (termios.error,)
except ImportError:  # pragma: no cover - Windows
    _TERMIOS_ERRORS = ()


class _Port(Protocol):
    """What the driver needs of a pyserial port (handy for fakes)."""

    in_waiting: int

    def read(self, size: int = 1) -> bytes: ...
    def write(self, data: bytes) -> int | None: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


class ReaderError(Exception):
    """A read session that did not give an identity; ``status`` is the device's state now."""

    def __init__(self, message: str, status: DeviceStatus, action: ErrorAction | None) -> None:
        super().__init__(message)
        self.status = status
        self.action = action


class ReaderUnavailable(ReaderError):
    """The port cannot be opened or went away (unplugged): NO_DEVICE."""


class ReaderTimeout(ReaderError):
    """No valid exchange within the deadline, after retries: OFFLINE.

    Also raised when the reader keeps answering 0x10 / 0x11 (it receives our frames damaged).

    ``frame_errors`` lists what arrived instead (bad checksums, truncated frames), if anything.
    """

    def __init__(self, message: str, status: DeviceStatus, frame_errors: list[FrameError]):
        super().__init__(message, status, ErrorAction.RESET)
        self.frame_errors = frame_errors


class SamError(ReaderError):
    """The reader answered with an error status; ``info`` says which and what to do."""

    def __init__(self, info: StatusInfo, status: DeviceStatus, detail: str = "") -> None:
        message = f"SW3 0x{info.code:02X} {info.text_zh} ({detail or info.meaning})"
        super().__init__(message, status, info.action)
        self.info = info


class CardUnreadable(SamError):
    """The card itself was refused or its data is malformed: the citizen must take it away.

    Until the reader reports "no card", :meth:`IdCardReader.read_card` returns ``None``
    for it rather than failing again.
    """


class _NoReply(Exception):
    def __init__(self, errors: list[FrameError]) -> None:
        super().__init__("no reply")
        self.errors = errors


class IdCardReader:
    """Reset, status, find, select and read over one serial port.

    ``command_timeout`` bounds find / select / status replies, ``read_timeout`` the read of
    text and photo (real readers need up to about 2 s); each command is sent ``1 + retries``
    times at most when the reply is missing or damaged.
    """

    def __init__(
        self,
        url: str,
        channel: EventChannel | None = None,
        *,
        device: str = "idcard",
        baudrate: int = 115200,
        command_timeout: float = 0.5,
        read_timeout: float = 2.0,
        retries: int = 1,
    ) -> None:
        self.url = url
        self.device = device
        self.channel = channel if channel is not None else EventChannel()
        self.baudrate = baudrate
        self.command_timeout = command_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self._port: _Port | None = None
        self._parser = FrameParser()
        self._status = DeviceStatus(DeviceState.OFFLINE, MediaState.UNKNOWN, detail="closed")
        self._awaiting_removal = False

    # --- status ---------------------------------------------------------------------------
    @property
    def status(self) -> DeviceStatus:
        """The latest snapshot (cheap: no I/O)."""
        return self._status

    def _set(self, state: DeviceState, media: MediaState | None = None, detail: str = "") -> None:
        new = DeviceStatus(state, self._status.media if media is None else media, detail=detail)
        if new != self._status:
            self._status = new
            self.channel.publish(DeviceEvent(self.device, "status", new, detail))

    def _error(self, error: ReaderError) -> ReaderError:
        self.channel.publish(
            DeviceEvent(self.device, "error", error.status, str(error), error.action)
        )
        return error

    # --- port -----------------------------------------------------------------------------
    def open(self) -> DeviceStatus:
        """Open the port, reset the SAM and check its self-test; raise on failure."""
        self.close()
        self._set(DeviceState.STARTING, MediaState.UNKNOWN, "opening")
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=_POLL)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise self._unavailable(f"cannot open {self.url}: {exc}") from exc
        self._awaiting_removal = False
        self._expect(Command.RESET_SAM)
        self._expect(Command.SAM_STATUS)
        self._set(DeviceState.ONLINE, MediaState.UNKNOWN, "ready")
        return self._status

    def close(self) -> None:
        """Close the port if open (errors on a dead port are ignored)."""
        if self._drop_port():
            self._set(DeviceState.OFFLINE, MediaState.UNKNOWN, "closed")

    def _drop_port(self) -> bool:
        port, self._port = self._port, None
        if port is None:
            return False
        with contextlib.suppress(Exception):  # a dead port may fail any way on close
            port.close()
        return True

    def __enter__(self) -> IdCardReader:
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _unavailable(self, message: str) -> ReaderError:
        self._drop_port()
        self._set(DeviceState.NO_DEVICE, MediaState.UNKNOWN, message)
        return self._error(ReaderUnavailable(message, self._status, ErrorAction.RESET))

    # --- one exchange ---------------------------------------------------------------------
    def _transact(self, command: Command, deadline: float) -> Reply:
        port = self._port
        if port is None:
            raise self._unavailable("port is not open")
        try:
            port.reset_input_buffer()
            self._parser.reset()
            port.write(build_request(*command.value))
            errors: list[FrameError] = []
            end = time.monotonic() + deadline
            while time.monotonic() < end:
                chunk = port.read(max(1, port.in_waiting))
                self._parser.feed(chunk)
                while True:
                    try:
                        frame = self._parser.next_frame()
                    except FrameError as error:
                        errors.append(error)
                        continue
                    if frame is None:
                        break
                    try:
                        return Reply.from_frame(frame)
                    except FrameError as error:
                        errors.append(error)
            try:
                self._parser.end_of_input()
            except FrameError as error:
                errors.append(error)
            raise _NoReply(errors)
        except (serial.SerialException, OSError, *_TERMIOS_ERRORS) as exc:
            raise self._unavailable(f"line to the reader lost: {exc}") from exc

    def _command(self, command: Command, deadline: float | None = None) -> Reply:
        """Send with retries on silence, damaged frames and the reader's own 0x10 / 0x11."""
        errors: list[FrameError] = []
        reply: Reply | None = None
        for _ in range(1 + self.retries):
            try:
                reply = self._transact(command, deadline or self.command_timeout)
            except _NoReply as missing:
                errors.extend(missing.errors)
                continue
            if reply.sw3 not in (0x10, 0x11):
                return reply
        if reply is not None:  # the reader kept rejecting our frames: the line is bad
            detail = f"reader rejected {command.name}: {status_info(reply.sw3).meaning}"
        else:
            detail = f"no valid reply to {command.name}"
            if errors:
                detail += f" ({type(errors[-1]).__name__}: {errors[-1]})"
        self._set(DeviceState.OFFLINE, MediaState.UNKNOWN, detail)
        raise self._error(ReaderTimeout(detail, self._status, errors))

    def _expect(self, command: Command, deadline: float | None = None) -> Reply:
        reply = self._command(command, deadline)
        if reply.sw3 != _OK:
            raise self._fail(reply.sw3)
        return reply

    def _fail(self, sw3: int, detail: str = "") -> ReaderError:
        info = status_info(sw3)
        if info.outcome is Outcome.USER:
            self._awaiting_removal = True
            self._set(DeviceState.USER_ERROR, MediaState.PRESENT, detail or info.meaning)
            return self._error(CardUnreadable(info, self._status, detail))
        media = MediaState.UNKNOWN if info.outcome is Outcome.RETRY else None
        self._set(info.state, media, detail or info.meaning)
        return self._error(SamError(info, self._status, detail))

    def _read_new_address(self) -> str:
        """The additional address on the chip, or "" when the card has none (SW3 0x91)."""
        reply = self._command(Command.READ_NEW_ADDRESS, _NEW_ADDRESS_TIMEOUT)
        if reply.sw3 == _NO_SUCH_ITEM:
            return ""
        if reply.sw3 != _OK:
            raise self._fail(reply.sw3)
        try:
            text = reply.data[:70].decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise self._fail(0x33, "new address malformed") from exc
        return text.rstrip(" \x00")

    # --- operations -----------------------------------------------------------------------
    def sam_id(self) -> bytes:
        """The SAM's raw 16-byte identifier (format it only for display)."""
        return self._expect(Command.SAM_ID).data[:16]

    def check_status(self) -> DeviceStatus:
        """Ask the SAM for its self-test result (the INTERNAL health check)."""
        self._expect(Command.SAM_STATUS)
        if self._status.state is not DeviceState.USER_ERROR:
            self._set(DeviceState.ONLINE, None, "ready")
        return self._status

    def read_card(self, *, fingerprint: bool = False, new_address: bool = False
                  ) -> Identity | None:
        """Find, select and read a card; ``None`` when there is no card to read.

        ``fingerprint`` uses the read that also returns the fingerprint templates (``30 10``;
        empty on cards without them); ``new_address`` then asks for the additional address
        (``30 03``), which most cards do not carry.

        "No card" includes a card that was just read, or refused, and not yet taken away.
        Errors raise a :class:`ReaderError` subclass after updating :attr:`status`.
        """
        if self._port is None:
            self.open()
        found = self._command(Command.FIND_CARD)
        if found.sw3 == _NOT_FOUND:
            self._awaiting_removal = False
            self._set(DeviceState.ONLINE, MediaState.NOT_PRESENT, "no card")
            return None
        if found.sw3 != _FOUND:
            raise self._fail(found.sw3)
        if self._awaiting_removal:
            self._set(DeviceState.USER_ERROR, MediaState.PRESENT, "remove the card")
            return None
        self._set(DeviceState.BUSY, MediaState.PRESENT, "reading")
        self._expect(Command.SELECT_CARD)
        command = Command.READ_BASE_FP if fingerprint else Command.READ_BASE
        data = self._expect(command, self.read_timeout).data
        try:
            identity = _parse_read_data(data, with_fingerprint=fingerprint)
        except TextBlockError as exc:
            raise self._fail(0x33, f"card data malformed: {exc}") from exc
        if new_address:
            identity = replace(identity, new_address=self._read_new_address())
        self._set(DeviceState.ONLINE, MediaState.PRESENT, "card read")
        return identity


def _parse_read_data(data: bytes, *, with_fingerprint: bool = False) -> Identity:
    """Split the ``30 01`` / ``30 10`` reply data by its length fields (never by offsets)."""
    header = 6 if with_fingerprint else 4
    if len(data) < header:
        raise TextBlockError("read reply has no length fields")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    fp_len = int.from_bytes(data[4:6], "big") if with_fingerprint else 0
    if len(data) < header + text_len + photo_len + fp_len:
        raise TextBlockError(
            f"read reply shorter than its lengths {text_len} + {photo_len} + {fp_len}")
    text = data[header : header + text_len]
    photo_end = header + text_len + photo_len
    identity = parse_text_block(text, data[header + text_len : photo_end])
    if fp_len:
        identity = replace(identity, fingerprint=data[photo_end : photo_end + fp_len])
    return identity
