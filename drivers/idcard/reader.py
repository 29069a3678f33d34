"""One ID-card read session over any pyserial URL, mapped onto the common device model.

The driver opens ``serial.serial_for_url(url, baudrate=115200, timeout=...)``, so the same
code drives a reader on ``/dev/ttyUSB0``, a serial server on ``socket://…`` or the emulator
on a pty. Every wait has a deadline: a silent reader becomes OFFLINE, a vanished port
NO_DEVICE, and no call can hang the kiosk. Status changes and errors go out as
:class:`DeviceEvent` on an :class:`EventChannel`, so the UI never touches the port.

Card removal: after a successful read the reader will not find the same card again until
it has been taken away, and a card the SAM refuses stays refused. So after a refusal the
driver waits for "no card" before it tries again, instead of failing in a loop.

Replies carry no command code, so each one is matched to its request by what a reply to that
request can look like (:func:`reply_fits`); a reply to a request that timed out is drained
and never taken for the next one, and a card read is never resent without a fresh find and
select. Deadlines are the reference's (docs/devices.md, "deadlines and recovery").
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
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
    "reply_fits",
]

_OK, _FOUND, _NOT_FOUND, _NO_SUCH_ITEM = 0x90, 0x9F, 0x80, 0x91
_POLL = 0.02  # serial read timeout: how often the deadline is checked and quiet is noticed
#: Added to every reply deadline: the reference's times are for the reader to start answering,
#: and the reply still has to cross the line (10 bits a byte) and the OS.
_MARGIN = 0.1
#: Reply sizes that bound the time on the line: 30 10 with fingerprints, 30 01, 30 03, others.
_MAX_REPLY_BYTES = {Command.READ_BASE_FP: 2321, Command.READ_BASE: 1295,
                    Command.READ_NEW_ADDRESS: 81}
#: The reference's reply times (hardware-protocols.md §1.3; 0.5 s for everything else): a
#: reply to a request that timed out sooner can still arrive until then.
_REFERENCE = {Command.READ_BASE: 2.0, Command.READ_BASE_FP: 3.0, Command.READ_NEW_ADDRESS: 1.5}
#: SW3 codes any command may get: the reader rejects the frame, or the SAM itself is unwell.
_ANY = frozenset({0x10, 0x11, 0x21, 0x23, 0x24, 0x60, 0x66})
_CARD_ERRORS = frozenset({0x31, 0x32, 0x33, 0x3F, 0x40, 0x41, 0x47})
#: What a reply to each command can look like: SW3 → data length (None: checked by
#: :func:`_read_lengths_fit`). Anything else on the line is a late reply to an earlier request.
_SHAPES: dict[Command, dict[int, int | None]] = {
    Command.RESET_SAM: {_OK: 0},
    Command.SAM_STATUS: {_OK: 0},
    Command.SET_MAX_RF: {_OK: 0},
    Command.SAM_ID: {_OK: 16},
    Command.FIND_CARD: {_FOUND: 4, _NOT_FOUND: 0},
    Command.SELECT_CARD: {_OK: 8, 0x81: 0},
    Command.READ_BASE: {_OK: None} | dict.fromkeys(_CARD_ERRORS, 0),
    Command.READ_BASE_FP: {_OK: None, 0x37: 0} | dict.fromkeys(_CARD_ERRORS, 0),
    Command.READ_NEW_ADDRESS: {_OK: 70, _NO_SUCH_ITEM: 0} | dict.fromkeys(_CARD_ERRORS, 0),
}


def _read_lengths_fit(command: Command, data: bytes) -> bool:
    """A ``30 01`` / ``30 10`` reply whose length fields add up to its data."""
    header = 6 if command is Command.READ_BASE_FP else 4
    if len(data) < header:
        return False
    parts = [int.from_bytes(data[i : i + 2], "big") for i in range(0, header, 2)]
    return header + sum(parts) == len(data)


def reply_fits(command: Command, reply: Reply) -> bool:
    """Whether ``reply`` can be the answer to ``command`` (status code and data length).

    Replies carry no command code, so a reply that arrives after its request timed out would
    otherwise be taken for the answer to the next request (a text-and-photo reply read as
    the additional address).
    """
    if reply.sw3 in _ANY:
        return not reply.data
    shapes = _SHAPES.get(command, {})
    if reply.sw3 not in shapes:
        return False
    size = shapes[reply.sw3]
    return _read_lengths_fit(command, reply.data) if size is None else len(reply.data) == size


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

    The timeouts are how long the reader may take to start answering, the reference's values
    by default (hardware-protocols.md §1.3): ``command_timeout`` for find, select and the SAM
    commands (0.5 s), ``read_timeout`` for ``30 01`` (2 s), ``fp_read_timeout`` for ``30 10``
    (3 s), ``new_address_timeout`` for ``30 03`` (1.5 s). Each deadline adds the reply's time
    on the line. Tests may shorten them; a real reader needs them.

    Commands without card data are sent ``1 + retries`` times at most when the reply is
    missing or damaged. A card read is never simply sent again: it is retried from a fresh
    find and select, because the reader may still be answering the first one.
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
        fp_read_timeout: float = 3.0,
        new_address_timeout: float = 1.5,
        retries: int = 1,
    ) -> None:
        self.url = url
        self.device = device
        self.channel = channel if channel is not None else EventChannel()
        self.baudrate = baudrate
        self.command_timeout = command_timeout
        self.read_timeout = read_timeout
        self.fp_read_timeout = fp_read_timeout
        self.new_address_timeout = new_address_timeout
        self.retries = retries
        self._port: _Port | None = None
        self._parser = FrameParser()
        self._status = DeviceStatus(DeviceState.OFFLINE, MediaState.UNKNOWN, detail="closed")
        self._awaiting_removal = False
        self._late_until = 0.0  # a timed-out reply may still arrive until then

    # --- status ---------------------------------------------------------------------------
    @property
    def status(self) -> DeviceStatus:
        """The latest snapshot (cheap: no I/O)."""
        return self._status

    @property
    def awaiting_removal(self) -> bool:
        """A refused card lies on the reader; :meth:`check_status` watches for its removal."""
        return self._awaiting_removal

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
        """Open the port, reset the SAM and check its self-test; raise on failure.

        The port is opened exclusively (POSIX lock), so a technician's tool cannot read the
        kiosk's reader at the same time, and closed again when reset or self-test fails, so
        that the next read starts with a full open instead of skipping the self-test.
        """
        self.close()
        self._set(DeviceState.STARTING, MediaState.UNKNOWN, "opening")
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=_POLL,
                                               exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise self._unavailable(f"cannot open {self.url}: {exc}") from exc
        self._awaiting_removal = False
        self._late_until = 0.0
        try:
            self._expect(Command.RESET_SAM)
            self._expect(Command.SAM_STATUS)
        except ReaderError:
            self._drop_port()
            raise
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
    def _allowance(self, command: Command) -> float:
        """How long the reader may take to start answering ``command``."""
        return {
            Command.READ_BASE: self.read_timeout,
            Command.READ_BASE_FP: self.fp_read_timeout,
            Command.READ_NEW_ADDRESS: self.new_address_timeout,
        }.get(command, self.command_timeout)

    def _deadline(self, command: Command, allowance: float | None = None) -> float:
        """The allowance plus the largest reply's time on the line plus a margin."""
        line = 10 * _MAX_REPLY_BYTES.get(command, 27) / self.baudrate
        return (self._allowance(command) if allowance is None else allowance) + line + _MARGIN

    def _drain(self, port: _Port) -> None:
        """Wait out a reply to a request that timed out, and throw it away.

        Bounded by the reference allowance of that request: a reader silent beyond it will
        not answer. Ends early once a whole frame has arrived.
        """
        late, self._late_until = self._late_until, 0.0
        parser = FrameParser()
        while time.monotonic() < late:
            parser.feed(port.read(max(1, port.in_waiting)))
            with contextlib.suppress(FrameError):
                if parser.next_frame() is not None:
                    return

    def _frames(self, errors: list[FrameError]) -> Iterator[Reply]:
        """Every reply the parser holds now; damaged ones are recorded in ``errors``."""
        while True:
            try:
                frame = self._parser.next_frame()
                if frame is None:
                    return
                yield Reply.from_frame(frame)
            except FrameError as error:
                errors.append(error)

    def _transact(self, command: Command) -> Reply:
        """Send ``command`` once and return the reply that belongs to it.

        Replies that cannot answer ``command`` are late answers to an earlier request and are
        skipped. When the line goes quiet in the middle of a frame the buffer is rescanned,
        so a stray preamble in noise cannot hide the real reply behind it.
        """
        port = self._port
        if port is None:
            raise self._unavailable("port is not open")
        try:
            if self._late_until:
                self._drain(port)
            port.reset_input_buffer()
            self._parser.reset()
            port.write(build_request(*command.value))
            sent = time.monotonic()
            errors: list[FrameError] = []
            end = sent + self._deadline(command)
            while True:
                chunk = port.read(max(1, port.in_waiting))
                if chunk:
                    self._parser.feed(chunk)
                elif self._parser.pending:
                    self._parser.rescan()
                for reply in self._frames(errors):
                    if reply_fits(command, reply):
                        return reply
                if time.monotonic() >= end:
                    break
            try:
                self._parser.end_of_input()
            except FrameError as error:
                errors.append(error)
            reference = max(self._allowance(command), _REFERENCE.get(command, 0.5))
            self._late_until = sent + self._deadline(command, reference)
            raise _NoReply(errors)
        except (serial.SerialException, OSError, *_TERMIOS_ERRORS) as exc:
            raise self._unavailable(f"line to the reader lost: {exc}") from exc

    def _command(self, command: Command, *, retries: int | None = None) -> Reply:
        """Send with retries on silence, damaged frames and the reader's own 0x10 / 0x11.

        Card reads get no retry here (``retries=0``): :meth:`read_card` restarts them from
        find. After the last failure the reader is OFFLINE and :class:`ReaderTimeout` raised.
        """
        errors: list[FrameError] = []
        reply: Reply | None = None
        for _ in range(1 + (self.retries if retries is None else retries)):
            try:
                reply = self._transact(command)
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

    def _expect(self, command: Command, *, retries: int | None = None) -> Reply:
        reply = self._command(command, retries=retries)
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

    def _read_new_address(self) -> str | None:
        """The additional address, "" when the card has none (SW3 0x91), ``None`` when it
        could not be read: the card's main data is good, so a failure here costs only this
        field, never the read (the citizen would have to lift the card and place it again)."""
        try:
            reply = self._transact(Command.READ_NEW_ADDRESS)
        except _NoReply:
            return None
        if reply.sw3 == _NO_SUCH_ITEM:
            return ""
        if reply.sw3 != _OK:
            return None
        try:
            text = reply.data[:70].decode("utf-16-le")
        except UnicodeDecodeError:
            return None
        return text.rstrip(" \x00")

    # --- operations -----------------------------------------------------------------------
    def sam_id(self) -> bytes:
        """The SAM's raw 16-byte identifier (format it only for display)."""
        return self._expect(Command.SAM_ID).data[:16]

    def check_status(self) -> DeviceStatus:
        """Ask the SAM for its self-test result (the INTERNAL health check).

        While a refused card waits to be taken away, also send find: the SAM status cannot
        see cards, and without this the reader would say "remove the card" for ever.
        """
        self._expect(Command.SAM_STATUS)
        if self._awaiting_removal:
            self._watch_removal()
        elif self._status.state is not DeviceState.USER_ERROR:
            self._set(DeviceState.ONLINE, None, "ready")
        return self._status

    def _watch_removal(self) -> None:
        found = self._command(Command.FIND_CARD)
        if found.sw3 == _NOT_FOUND:
            self._card_removed()
        elif found.sw3 != _FOUND:
            raise self._fail(found.sw3)

    def _card_removed(self) -> None:
        was_waiting, self._awaiting_removal = self._awaiting_removal, False
        self._set(DeviceState.ONLINE, MediaState.NOT_PRESENT, "no card")
        if was_waiting:
            self.channel.publish(DeviceEvent(self.device, "media_removed", self._status,
                                             "card removed"))

    def read_card(self, *, fingerprint: bool = False, new_address: bool = False
                  ) -> Identity | None:
        """Find, select and read a card; ``None`` when there is no card to read.

        ``fingerprint`` uses the read that also returns the fingerprint templates (``30 10``;
        empty on cards without them); ``new_address`` then asks for the additional address
        (``30 03``), which most cards do not carry; if that fails the identity is kept with
        ``new_address_unavailable`` set.

        "No card" includes a card that was just read, or refused, and not yet taken away.
        A read whose reply is lost is retried from find; if the reader then no longer finds
        the card (it counts the lost read as done), the citizen must place it again (0x41).
        Errors raise a :class:`ReaderError` subclass after updating :attr:`status`.
        """
        if self._port is None:
            self.open()
        command = Command.READ_BASE_FP if fingerprint else Command.READ_BASE
        errors: list[FrameError] = []
        for attempt in range(1 + self.retries):
            found = self._command(Command.FIND_CARD)
            if found.sw3 == _NOT_FOUND:
                if attempt:
                    raise self._fail(0x41, "the read reply was lost: place the card again")
                self._card_removed()
                return None
            if found.sw3 != _FOUND:
                raise self._fail(found.sw3)
            if self._awaiting_removal:
                self._set(DeviceState.USER_ERROR, MediaState.PRESENT, "remove the card")
                return None
            self._set(DeviceState.BUSY, MediaState.PRESENT, "reading")
            self._expect(Command.SELECT_CARD)
            try:
                reply = self._transact(command)
            except _NoReply as missing:
                errors.extend(missing.errors)
                continue
            if reply.sw3 in (0x10, 0x11):
                continue
            if reply.sw3 != _OK:
                raise self._fail(reply.sw3)
            return self._finish_read(reply.data, fingerprint, new_address)
        detail = f"no valid reply to {command.name}"
        if errors:
            detail += f" ({type(errors[-1]).__name__}: {errors[-1]})"
        self._set(DeviceState.OFFLINE, MediaState.UNKNOWN, detail)
        raise self._error(ReaderTimeout(detail, self._status, errors))

    def _finish_read(self, data: bytes, fingerprint: bool, new_address: bool) -> Identity:
        try:
            identity = _parse_read_data(data, with_fingerprint=fingerprint)
        except TextBlockError as exc:
            raise self._fail(0x33, f"card data malformed: {exc}") from exc
        detail = "card read"
        if new_address:
            address = self._read_new_address()
            if address is None:
                detail = "card read; additional address unavailable"
            identity = replace(identity, new_address=address or "",
                               new_address_unavailable=address is None)
        self._set(DeviceState.ONLINE, MediaState.PRESENT, detail)
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
