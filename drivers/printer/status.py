"""ESC/POS real-time status (DLE EOT n): requests, strict reply parsing, mapping to DeviceStatus.

Why not python-escpos's ``paper_status()``: in 3.1 it answers "paper adequate" when the
printer says nothing at all, so an unplugged printer looks ready and a citizen waits for a
slip that never comes. Here silence is OFFLINE, and a byte that does not carry the fixed bit
pattern of a DLE EOT reply (bit0 = 0, bit1 = 1, bit4 = 1, bit7 = 0) is a
:class:`StatusReplyError`, never read as "all clear".

The mapping is a pure function of the four replies, checked in a fixed order of severity, so
every combination of bits gives one and the same :class:`DeviceStatus` and action.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from drivers.model import DeviceState, DeviceStatus, ErrorAction, MediaState, SupplyState

__all__ = [
    "FIXED_MASK",
    "FIXED_VALUE",
    "PrinterFlags",
    "PrinterReport",
    "StatusKind",
    "StatusReplyError",
    "check_reply",
    "decode",
    "map_status",
    "request",
]

#: Bits that are fixed in every DLE EOT reply, and their required value ("0xx1xx10").
FIXED_MASK = 0x93
FIXED_VALUE = 0x12


class StatusKind(IntEnum):
    """The ``n`` of DLE EOT n: which status byte to ask for."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    PAPER = 4


def request(kind: StatusKind | int) -> bytes:
    """The 3-byte DLE EOT n request; the printer answers it at once, even when offline."""
    n = int(kind)
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT n must be 1..4, not {n}")
    return bytes((0x10, 0x04, n))


class StatusReplyError(ValueError):
    """A status byte with the wrong fixed bits: line noise, wrong baud rate, or not ESC/POS."""

    def __init__(self, kind: int, value: int) -> None:
        super().__init__(
            f"DLE EOT {kind} reply 0x{value:02X} does not match the fixed pattern 0xx1xx10"
        )
        self.kind = kind
        self.value = value


def check_reply(kind: StatusKind | int, value: int) -> int:
    """Return ``value`` if it is a well-formed DLE EOT reply byte, else raise."""
    if not 0 <= value <= 0xFF or (value & FIXED_MASK) != FIXED_VALUE:
        raise StatusReplyError(int(kind), value)
    return value


@dataclass(frozen=True)
class PrinterFlags:
    """Every condition the four status bytes report (False when that byte was not read)."""

    offline: bool = False
    drawer_high: bool = False
    feed_button: bool = False
    cover_open: bool = False
    paper_end_stop: bool = False
    error: bool = False
    cutter_error: bool = False
    unrecoverable: bool = False
    auto_recoverable: bool = False
    paper_near_end: bool = False
    paper_out: bool = False


def decode(replies: dict[int, int | None]) -> PrinterFlags:
    """Decode the replies to DLE EOT 1..4 (``None`` or absent: no reply) into flags.

    Raises :class:`StatusReplyError` on the first malformed byte. For the paper sensors,
    Epson sets both bits of a pair (0x0C near end, 0x60 out); a clone that sets only one is
    still taken at its word, because a false "paper low" costs less than a lost receipt.
    """
    b = {n: check_reply(n, v) for n, v in replies.items() if v is not None}
    p1, p2, p3, p4 = (b.get(n, FIXED_VALUE) for n in (1, 2, 3, 4))
    return PrinterFlags(
        offline=bool(p1 & 0x08),
        drawer_high=bool(p1 & 0x04),
        feed_button=bool(p1 & 0x40),
        cover_open=bool(p2 & 0x04),
        paper_end_stop=bool(p2 & 0x20),
        error=bool(p2 & 0x40),
        cutter_error=bool(p3 & 0x08),
        unrecoverable=bool(p3 & 0x20),
        auto_recoverable=bool(p3 & 0x40),
        paper_near_end=bool(p4 & 0x0C),
        paper_out=bool(p4 & 0x60),
    )


@dataclass(frozen=True)
class PrinterReport:
    """The mapped status, what clears the problem (None: nothing to do) and a short reason.

    ``reason`` is a stable key for the UI and logs: ``ok``, ``paper_low``, ``no_reply``,
    ``bad_reply``, ``unrecoverable``, ``cutter``, ``cover_open``, ``paper_out``,
    ``recovering``, ``error``, ``offline``.
    """

    status: DeviceStatus
    action: ErrorAction | None
    reason: str

    @property
    def ready(self) -> bool:
        """True when a receipt can be printed now (paper low still prints)."""
        return self.status.state is DeviceState.ONLINE


def _paper(flags: PrinterFlags | None, answered: bool) -> SupplyState:
    if flags is None or not answered:
        return SupplyState.UNKNOWN
    if flags.paper_out:
        return SupplyState.OUT
    if flags.paper_near_end:
        return SupplyState.LOW
    return SupplyState.FULL


# (flag, state, action, reason, text): first match wins, most severe first.
_RULES: tuple[tuple[str, DeviceState, ErrorAction, str, str], ...] = (
    ("unrecoverable", DeviceState.HARDWARE_ERROR, ErrorAction.MAINTENANCE, "unrecoverable",
     "unrecoverable printer error: call maintenance"),
    ("cutter_error", DeviceState.HARDWARE_ERROR, ErrorAction.RESET, "cutter",
     "autocutter error: clear the paper path and reset"),
    ("cover_open", DeviceState.USER_ERROR, ErrorAction.CLEAR, "cover_open",
     "printer cover is open (DLE EOT 2 bit 2): close the paper cover until it latches; "
     "the printer goes back online by itself"),
    ("paper_out", DeviceState.USER_ERROR, ErrorAction.CLEAR, "paper_out",
     "printer is out of paper"),
    ("paper_end_stop", DeviceState.USER_ERROR, ErrorAction.CLEAR, "paper_out",
     "printing stopped at paper end"),
    ("auto_recoverable", DeviceState.BUSY, ErrorAction.SUSPEND, "recovering",
     "printer is recovering by itself (e.g. head overheated): retry shortly"),
    ("error", DeviceState.HARDWARE_ERROR, ErrorAction.RESET, "error",
     "printer reports an error of unknown cause"),
    ("offline", DeviceState.OFFLINE, ErrorAction.RETRY, "offline",
     "printer is offline"),
)


def map_status(replies: dict[int, int | None]) -> PrinterReport:
    """Map the replies to DLE EOT 1..4 to a :class:`PrinterReport`; never raises.

    No reply to any of the four requests means the printer is unplugged, switched off or
    the wrong port: OFFLINE with RETRY. A malformed byte is OFFLINE with CONFIGURATION (a
    wrong baud rate garbles every byte). The media state stays UNKNOWN: DLE EOT has no
    sensor for a slip waiting in the printer's mouth.
    """
    try:
        flags = decode(replies)
    except StatusReplyError as error:
        status = DeviceStatus(DeviceState.OFFLINE, MediaState.UNKNOWN,
                              {"paper": SupplyState.UNKNOWN}, str(error))
        return PrinterReport(status, ErrorAction.CONFIGURATION, "bad_reply")
    paper = _paper(flags, replies.get(4) is not None)
    missing = [n for n in (1, 2, 3, 4) if replies.get(n) is None]
    if missing:
        detail = "no reply to DLE EOT " + ", ".join(map(str, missing))
        status = DeviceStatus(DeviceState.OFFLINE, MediaState.UNKNOWN, {"paper": paper}, detail)
        return PrinterReport(status, ErrorAction.RETRY, "no_reply")
    for flag, state, action, reason, text in _RULES:
        if getattr(flags, flag):
            status = DeviceStatus(state, MediaState.UNKNOWN, {"paper": paper}, text)
            return PrinterReport(status, action, reason)
    detail = "paper near end" if paper is SupplyState.LOW else "ready"
    status = DeviceStatus(DeviceState.ONLINE, MediaState.UNKNOWN, {"paper": paper}, detail)
    return PrinterReport(status, None, "paper_low" if paper is SupplyState.LOW else "ok")
