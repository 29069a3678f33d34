"""Bytes on the wire between the host and the reader's security module (SAM_A).

The same frames travel over UART, USB bulk, TCP and Bluetooth, so this module knows nothing
about transports: it builds request frames, cuts a byte stream into reply frames, and says
what each SW3 status byte means for the device model. Everything that reads outside bytes
raises only :class:`FrameError` subclasses, because a reader on a noisy cable must never
take the kiosk down.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from drivers.model import DeviceState, ErrorAction, MediaState

__all__ = [
    "MAX_LEN",
    "PREAMBLE",
    "STATUS_CODES",
    "BadChecksum",
    "BadLength",
    "Command",
    "Frame",
    "FrameError",
    "FrameParser",
    "Outcome",
    "Reply",
    "Request",
    "StatusInfo",
    "TruncatedFrame",
    "build_reply",
    "build_request",
    "parse_all",
    "status_info",
    "xor_check",
]

#: Every frame in both directions starts with these five bytes.
PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
_HEADER = len(PREAMBLE) + 2  # preamble + two length bytes
#: Largest LEN we accept. The biggest known reply (text + photo + fingerprint) has LEN 0x090A;
#: anything far above that is noise, and waiting for it would stall the stream.
MAX_LEN = 0x0C00


class Command(tuple[int, int], Enum):
    """Command and parameter bytes of the requests this project sends or emulates."""

    RESET_SAM = (0x10, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_BASE = (0x30, 0x01)
    READ_NEW_ADDRESS = (0x30, 0x03)
    READ_BASE_FP = (0x30, 0x10)
    SET_MAX_RF = (0x61, 0xFF)


def xor_check(data: bytes) -> int:
    """XOR of ``data``: the check byte covers the two length bytes and the body."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def _frame(body: bytes) -> bytes:
    length = len(body) + 1  # LEN counts the check byte too
    if length > 0xFFFF:
        raise ValueError(f"frame body of {len(body)} bytes does not fit a 16-bit length")
    head = length.to_bytes(2, "big")
    return PREAMBLE + head + body + bytes([xor_check(head + body)])


def build_request(cmd: int, para: int, data: bytes = b"") -> bytes:
    """A host-to-reader frame: preamble, LEN (3 + len(data)), CMD, PARA, DATA, XOR check."""
    if not (0 <= cmd <= 0xFF and 0 <= para <= 0xFF):
        raise ValueError("command and parameter are single bytes")
    return _frame(bytes([cmd, para]) + bytes(data))


def build_reply(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reader-to-host frame: preamble, LEN (4 + len(data)), SW1 SW2 SW3, DATA, XOR check."""
    if not all(0 <= b <= 0xFF for b in (sw1, sw2, sw3)):
        raise ValueError("status words are single bytes")
    return _frame(bytes([sw1, sw2, sw3]) + bytes(data))


class FrameError(Exception):
    """Bytes that do not form a valid frame. The parser has already resynchronised."""


class BadChecksum(FrameError):
    """A complete frame whose XOR check does not match (line noise or a faulty reader)."""


class BadLength(FrameError):
    """A preamble followed by a length no reader sends: too short or absurdly long."""


class TruncatedFrame(FrameError):
    """The line went quiet in the middle of a frame."""


@dataclass(frozen=True)
class Frame:
    """One checked frame: ``body`` is everything between the length bytes and the check."""

    body: bytes


@dataclass(frozen=True)
class Reply:
    """A reader reply split into its status words and data."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @classmethod
    def from_frame(cls, frame: Frame) -> Reply:
        """Split a frame; raise :class:`BadLength` if it is too short to be a reply."""
        if len(frame.body) < 3:
            raise BadLength(f"reply body of {len(frame.body)} bytes has no SW1 SW2 SW3")
        body = frame.body
        return cls(body[0], body[1], body[2], bytes(body[3:]))


@dataclass(frozen=True)
class Request:
    """A host request split into command, parameter and data (the emulator's view)."""

    cmd: int
    para: int
    data: bytes

    @classmethod
    def from_frame(cls, frame: Frame) -> Request:
        """Split a frame; raise :class:`BadLength` if it has no command and parameter."""
        if len(frame.body) < 2:
            raise BadLength(f"request body of {len(frame.body)} bytes has no CMD PARA")
        return cls(frame.body[0], frame.body[1], bytes(frame.body[2:]))


class FrameParser:
    """Cut an arbitrary stream of byte chunks into checked frames.

    Feed chunks as they arrive with :meth:`feed`, then call :meth:`next_frame` until it returns
    ``None`` (more bytes needed). A bad length or check raises a :class:`FrameError` subclass
    *after* the first byte of the bad candidate was dropped, so the caller may simply call
    again: a good frame that follows garbage is still found. Bytes before a preamble are
    skipped silently and counted in :attr:`discarded`. When the line goes quiet, call
    :meth:`end_of_input`: it reports a pending partial frame as :class:`TruncatedFrame` and
    rescans what followed its first byte, since a long bogus LEN may hide a real frame.
    """

    def __init__(self, min_len: int = 4, max_len: int = MAX_LEN) -> None:
        """``min_len`` is 4 for replies (SW1 SW2 SW3 CHK) and 3 for requests (CMD PARA CHK)."""
        self._buf = bytearray()
        self._min_len = min_len
        self._max_len = max_len
        self.discarded = 0

    @property
    def pending(self) -> int:
        """Bytes held back, waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget buffered bytes, as ``reset_input_buffer()`` does before each command."""
        self._buf.clear()

    def feed(self, chunk: bytes) -> None:
        """Append bytes from the line; never parses, so it never fails."""
        self._buf += chunk

    def _drop(self, count: int) -> None:
        del self._buf[:count]
        self.discarded += count

    def _seek_preamble(self) -> bool:
        """Skip to the next preamble; keep a tail that could be the start of one."""
        index = self._buf.find(PREAMBLE)
        if index >= 0:
            self._drop(index)
            return True
        keep = 0
        for size in range(len(PREAMBLE) - 1, 0, -1):
            if self._buf.endswith(PREAMBLE[:size]):
                keep = size
                break
        self._drop(len(self._buf) - keep)
        return False

    def next_frame(self) -> Frame | None:
        """The next checked frame, or ``None`` until more bytes arrive."""
        if not self._seek_preamble() or len(self._buf) < _HEADER:
            return None
        length = int.from_bytes(self._buf[5:7], "big")
        if not self._min_len <= length <= self._max_len:
            self._drop(1)
            raise BadLength(f"frame length {length} outside {self._min_len}..{self._max_len}")
        total = _HEADER + length
        if len(self._buf) < total:
            return None
        checked = bytes(self._buf[5 : total - 1])
        check = self._buf[total - 1]
        if xor_check(checked) != check:
            self._drop(1)
            raise BadChecksum(f"check byte {check:02X}, expected {xor_check(checked):02X}")
        del self._buf[:total]
        return Frame(checked[2:])

    def _complete_at(self, index: int) -> bool:
        """A whole frame with a good check byte starts at ``index`` of the buffer."""
        head = self._buf[index : index + _HEADER]
        if len(head) < _HEADER or not head.startswith(PREAMBLE):
            return False
        length = int.from_bytes(head[5:7], "big")
        end = index + _HEADER + length
        if not self._min_len <= length <= self._max_len or end > len(self._buf):
            return False
        return xor_check(self._buf[index + 5 : end - 1]) == self._buf[end - 1]

    def rescan(self) -> bool:
        """Look past an unfinished candidate for a complete frame; ``True`` if one is found.

        A stray preamble with a plausible LEN in line noise would otherwise swallow the real
        reply behind it until the deadline. Call this when the line goes quiet: a complete,
        checked frame after the candidate's first byte proves the candidate was noise, so the
        bytes before that frame are dropped and :meth:`next_frame` returns it. A candidate that
        is merely still arriving is never dropped, since nothing complete follows it.
        """
        start = 1
        while (index := self._buf.find(PREAMBLE, start)) > 0:
            if self._complete_at(index):
                self._drop(index)
                return True
            start = index + 1
        return False

    def end_of_input(self) -> None:
        """The line went quiet: raise :class:`TruncatedFrame` if a frame was left unfinished.

        Bytes that cannot start a frame are dropped silently; after the error, the parser is
        ready to rescan, so call :meth:`next_frame` again.
        """
        self._seek_preamble()
        if self._buf.startswith(PREAMBLE):
            have = len(self._buf)
            self._drop(1)
            raise TruncatedFrame(f"line went quiet after {have} bytes of a frame")
        self._drop(len(self._buf))


def parse_all(data: bytes, min_len: int = 4) -> tuple[list[Frame], list[FrameError]]:
    """Every frame in a finished byte string, and every error met on the way (for tests, logs)."""
    parser = FrameParser(min_len)
    parser.feed(data)
    frames: list[Frame] = []
    errors: list[FrameError] = []
    while True:
        try:
            frame = parser.next_frame()
            if frame is not None:
                frames.append(frame)
                continue
            parser.end_of_input()
            return frames, errors
        except FrameError as error:
            errors.append(error)


class Outcome(StrEnum):
    """What kind of answer an SW3 code is, which decides how the driver reacts."""

    OK = "ok"
    MEDIA = "media"  # card found / not found: media state, not an error
    RETRY = "retry"  # transient: send again (or restart from find)
    USER = "user"  # the card is the problem: the citizen must act
    SOFTWARE = "software"  # we sent something wrong: a configuration or program fault
    HARDWARE = "hardware"  # the reader itself needs attention


@dataclass(frozen=True)
class StatusInfo:
    """One SW3 code: the vendor's Chinese text, an English gloss and the device mapping."""

    code: int
    text_zh: str
    meaning: str
    outcome: Outcome
    state: DeviceState
    action: ErrorAction | None = None
    media: MediaState | None = None


def _info(
    code: int,
    text_zh: str,
    meaning: str,
    outcome: Outcome,
    action: ErrorAction | None = None,
    media: MediaState | None = None,
) -> StatusInfo:
    state = {
        Outcome.USER: DeviceState.USER_ERROR,
        Outcome.SOFTWARE: DeviceState.HARDWARE_ERROR,
        Outcome.HARDWARE: DeviceState.HARDWARE_ERROR,
    }.get(outcome, DeviceState.ONLINE)
    return StatusInfo(code, text_zh, meaning, outcome, state, action, media)


_R, _U = Outcome.RETRY, Outcome.USER
_RETRY, _CLEAR = ErrorAction.RETRY, ErrorAction.CLEAR
# The model has no "software error" action: a wrong command or permission means the command
# map for this reader model is wrong, so the fix is configuration.
_STATUS_TABLE: dict[int, StatusInfo] = {
    i.code: i
    for i in (
        _info(0x90, "操作成功", "success", Outcome.OK),
        _info(0x91, "居民身份证中无此项内容", "item not on the card", Outcome.OK),
        _info(0x9F, "寻找居民身份证成功", "card found", Outcome.MEDIA, None, MediaState.PRESENT),
        _info(0x10, "接收业务终端数据的校验和错", "reader got a bad checksum", _R, _RETRY),
        _info(0x11, "接收业务终端数据的长度错", "reader got a bad length", _R, _RETRY),
        _info(0x21, "接收业务终端的命令错误", "bad command or parameter", Outcome.SOFTWARE,
              ErrorAction.CONFIGURATION),
        _info(0x23, "越权操作", "operation not permitted", Outcome.SOFTWARE,
              ErrorAction.CONFIGURATION),
        _info(0x24, "无法识别的错误", "unrecognised error", Outcome.HARDWARE, ErrorAction.RESET),
        _info(0x31, "居民身份证认证SAM_A失败", "card failed to authenticate the SAM", _U, _CLEAR),
        _info(0x32, "SAM_A认证居民身份证失败", "SAM failed to authenticate the card", _U, _CLEAR),
        _info(0x33, "信息验证失败", "card data verification failed", _U, _CLEAR),
        _info(0x37, "指纹信息验证错误", "fingerprint data verification error", _U, _CLEAR),
        _info(0x3F, "信息长度错误", "data length error", _R, _RETRY),
        _info(0x40, "无法识别的居民身份证类型", "unknown card type", _U, _CLEAR),
        _info(0x41, "读居民身份证操作失败", "read failed (card moved)", _R, _RETRY),
        _info(0x47, "取随机数失败", "get-random failed", _R, _RETRY),
        _info(0x60, "SAM_A自检失败，不能接收命令", "SAM self-test failed", Outcome.HARDWARE,
              ErrorAction.MAINTENANCE),
        _info(0x66, "SAM_A没经过授权，无法使用", "SAM not authorised", Outcome.HARDWARE,
              ErrorAction.CONFIGURATION),
        _info(0x80, "寻找居民身份证失败", "no card found", Outcome.MEDIA, None,
              MediaState.NOT_PRESENT),
        _info(0x81, "选取居民身份证失败", "select failed", _R, _RETRY),
    )
}


def status_info(sw3: int) -> StatusInfo:
    """What ``sw3`` means; a code missing from the table is a hardware error needing a reset."""
    known = _STATUS_TABLE.get(sw3)
    if known is not None:
        return known
    return _info(sw3, "未知状态", f"unknown status 0x{sw3:02X}", Outcome.HARDWARE,
                 ErrorAction.RESET)


#: Every documented SW3 code, for tests and diagnostics screens.
STATUS_CODES: tuple[int, ...] = tuple(_STATUS_TABLE)
