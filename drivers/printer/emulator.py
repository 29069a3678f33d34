"""An ESC/POS receipt printer in software: reads the byte stream, answers status requests.

It lets the kiosk and its tests run without a printer: what would come out of the printer is
kept as a readable list of items (text lines decoded from GB18030 in Chinese mode, QR
payloads, barcodes, feeds, cuts), and DLE EOT n is answered from a :class:`PrinterState`
whose knobs (paper near end / out, cover open, cutter error, silent...) tests turn.

The parser must never crash on bytes from outside, so every command it knows is skipped by
its documented length, anything else by one byte (a stray control byte) or two (an unknown
ESC / FS / GS command), and a command cut short waits for the rest of its bytes. Lengths
larger than :data:`MAX_COMMAND` are not buffered: only the command's header is skipped.

Two ways in: :meth:`PrinterEmulator.feed` in-process, or :meth:`PrinterEmulator.start_pty`,
which serves the real serial path (``serial.serial_for_url(path)``) from a thread.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from dataclasses import dataclass, field

__all__ = [
    "MAX_COMMAND",
    "PrintedBarcode",
    "PrintedCut",
    "PrintedFeed",
    "PrintedImage",
    "PrintedItem",
    "PrintedLine",
    "PrintedQR",
    "PrinterEmulator",
    "PrinterState",
]

#: Longest single command buffered while waiting for its remaining bytes.
MAX_COMMAND = 1 << 20

ESC, FS, GS, DLE = 0x1B, 0x1C, 0x1D, 0x10

BARCODE_NAMES = {
    0: "UPC-A", 1: "UPC-E", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF", 6: "CODABAR",
    65: "UPC-A", 66: "UPC-E", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF",
    71: "CODABAR", 72: "CODE93", 73: "CODE128",
}


@dataclass
class PrinterState:
    """What the emulated printer's sensors say; change the fields at any time."""

    paper_near_end: bool = False
    paper_out: bool = False
    cover_open: bool = False
    cutter_error: bool = False
    unrecoverable: bool = False
    auto_recoverable: bool = False
    offline: bool = False  # offline for a reason not listed above
    silent: bool = False  # answers nothing: unplugged, powered off, RX not wired

    def status_byte(self, n: int) -> int | None:
        """The reply to DLE EOT ``n`` (None: no reply), built like an Epson printer's."""
        if self.silent or n not in (1, 2, 3, 4):
            return None
        error = self.cutter_error or self.unrecoverable or self.auto_recoverable
        if n == 1:
            stopped = self.offline or self.cover_open or self.paper_out or error
            return 0x12 | (0x08 if stopped else 0)
        if n == 2:
            return (0x12 | (0x04 if self.cover_open else 0) | (0x20 if self.paper_out else 0)
                    | (0x40 if error else 0))
        if n == 3:
            return (0x12 | (0x08 if self.cutter_error else 0)
                    | (0x20 if self.unrecoverable else 0) | (0x40 if self.auto_recoverable else 0))
        return 0x12 | (0x0C if self.paper_near_end else 0) | (0x60 if self.paper_out else 0)


@dataclass(frozen=True)
class PrintedLine:
    """One printed text line, with the style in force when it was printed.

    ``columns`` is how wide the line came out on paper, counted from the bytes as the
    printer counts them (in Chinese mode a 2- or 4-byte code is one double-width glyph), so
    tests can catch a layout that counts differently from the printer.
    """

    text: str
    align: str = "left"
    bold: bool = False
    tall: bool = False
    columns: int = field(default=0, compare=False)


@dataclass(frozen=True)
class PrintedImage:
    """A raster image printed by GS v 0: ``width`` x ``height`` dots, 1 bits are black."""

    width: int
    height: int
    data: bytes = field(repr=False)

    def black(self, x: int, y: int) -> bool:
        """Whether the dot at column ``x``, row ``y`` is printed."""
        row = (self.width + 7) // 8
        return bool(self.data[y * row + x // 8] & (0x80 >> (x % 8)))


@dataclass(frozen=True)
class PrintedQR:
    """A QR code printed by GS ( k; the payload decoded as UTF-8."""

    payload: str


@dataclass(frozen=True)
class PrintedBarcode:
    """A barcode printed by GS k (CODE128's ``{A``/``{B``/``{C`` set prefix removed)."""

    symbology: str
    data: str


@dataclass(frozen=True)
class PrintedFeed:
    """ESC d n: n blank lines."""

    lines: int


@dataclass(frozen=True)
class PrintedCut:
    """GS V / ESC i / ESC m."""

    partial: bool


PrintedItem = PrintedLine | PrintedQR | PrintedBarcode | PrintedFeed | PrintedCut | PrintedImage

# Fixed total lengths (prefix byte included) of the commands that need no special handling.
_ESC_LEN = {
    **dict.fromkeys(b"@2<imLS", 2),
    **dict.fromkeys(b" !%-3?EGJKMRTUVacdelrt{", 3),
    **dict.fromkeys(b"$\\B", 4),
    ord("c"): 4,
    ord("p"): 5,
    ord("W"): 10,
}
_FS_LEN = {**dict.fromkeys(b"&.", 2), **dict.fromkeys(b"!-WC", 3), **dict.fromkeys(b"Sp", 4)}
_GS_LEN = {
    **dict.fromkeys(b":", 2),
    **dict.fromkeys(b"!BHIabfhwr/", 3),
    **dict.fromkeys(b"LPW$\\", 4),
}


@dataclass
class _Style:
    align: str = "left"
    bold: bool = False
    tall: bool = False
    chinese: bool = True


@dataclass
class _Parser:
    """Incremental ESC/POS parser: ``feed`` bytes, get status replies, collect items."""

    state: PrinterState
    codec: str = "gb18030"
    items: list[PrintedItem] = field(default_factory=list)
    style: _Style = field(default_factory=_Style)
    buffer: bytearray = field(default_factory=bytearray)
    line: bytearray = field(default_factory=bytearray)
    qr_data: bytes = b""

    def feed(self, data: bytes) -> bytes:
        self.buffer += data
        buf = self.buffer
        replies = bytearray()
        i = 0
        while i < len(buf):
            b = buf[i]
            if b >= 0x20:
                j = i + 1
                while j < len(buf) and buf[j] >= 0x20:
                    j += 1
                self.line += buf[i:j]
                i = j
                continue
            size = self._length(buf, i)
            if size is None:
                break  # wait for the rest of this command
            self._apply(bytes(buf[i : i + size]), replies)
            i += size
        del buf[:i]
        return bytes(replies)

    # -- lengths ----------------------------------------------------------------------------

    def _length(self, buf: bytearray, i: int) -> int | None:
        """Total length of the command at ``i``, or None when more bytes are needed."""
        b = buf[i]
        avail = len(buf) - i
        if b not in (ESC, FS, GS, DLE):
            return 1
        if avail < 2:
            return None
        c = buf[i + 1]
        if b == DLE:
            if c in (0x04, 0x05):
                return 3 if avail >= 3 else None
            if c == 0x14:
                if avail < 3:
                    return None
                return 10 if buf[i + 2] == 8 else 5
            return 1
        if b == ESC:
            if c == ord("*"):
                if avail < 5:
                    return None
                dots = buf[i + 3] + 256 * buf[i + 4]
                size = self._bounded(5 + dots * (3 if buf[i + 2] in (32, 33) else 1), 5)
            elif c == ord("D"):
                return self._until_nul(buf, i, 2)
            else:
                size = _ESC_LEN.get(c, 2)
        elif b == FS:
            size = 4 + 72 if c == ord("2") else _FS_LEN.get(c, 2)
        else:
            size = self._gs_length(buf, i, c, avail)
            if size is None:
                return None
        return size if avail >= size else None

    def _gs_length(self, buf: bytearray, i: int, c: int, avail: int) -> int | None:
        if c == ord("V"):
            if avail < 3:
                return None
            return 3 if buf[i + 2] in (0, 1, 48, 49) else 4
        if c == ord("k"):
            if avail < 3:
                return None
            if buf[i + 2] <= 6:
                return self._until_nul(buf, i, 3)
            if avail < 4:
                return None
            return 4 + buf[i + 3]
        if c == ord("("):
            if avail < 5:
                return None
            return self._bounded(5 + buf[i + 3] + 256 * buf[i + 4], 5)
        if c == ord("v"):
            if avail < 8:
                return None
            width = buf[i + 4] + 256 * buf[i + 5]
            height = buf[i + 6] + 256 * buf[i + 7]
            return self._bounded(8 + width * height, 8)
        if c == ord("*"):
            if avail < 4:
                return None
            return self._bounded(4 + buf[i + 2] * buf[i + 3] * 8, 4)
        if c == ord("8"):
            if avail < 7:
                return None
            body = int.from_bytes(buf[i + 3 : i + 7], "little")
            return self._bounded(7 + body, 7)
        return _GS_LEN.get(c, 2)

    @staticmethod
    def _bounded(size: int, header: int) -> int:
        """Skip only the header of an implausibly long command instead of buffering it."""
        return size if size <= MAX_COMMAND else header

    @staticmethod
    def _until_nul(buf: bytearray, i: int, start: int) -> int | None:
        end = buf.find(0, i + start, i + start + 256)
        if end >= 0:
            return end - i + 1
        return None if len(buf) - i < start + 256 else start

    # -- effects ----------------------------------------------------------------------------

    def _apply(self, cmd: bytes, replies: bytearray) -> None:
        b = cmd[0]
        if b == 0x0A:
            self._end_line(force=True)
        elif b == 0x0C:
            self._end_line()
        elif b == 0x09:
            self.line += b" "
        elif b == 0x18:
            self.line.clear()
        elif b == DLE and len(cmd) == 3 and cmd[1] == 0x04:
            reply = self.state.status_byte(cmd[2])
            if reply is not None:
                replies.append(reply)
        elif b == ESC and len(cmd) >= 2:
            self._esc(cmd)
        elif b == FS and len(cmd) >= 2:
            self._fs(cmd)
        elif b == GS and len(cmd) >= 2:
            self._gs(cmd, replies)

    def _esc(self, cmd: bytes) -> None:
        c = cmd[1]
        n = cmd[2] if len(cmd) > 2 else 0
        if c == ord("@") and len(cmd) == 2:
            self.line.clear()
            self.style = _Style(chinese=self.style.chinese)
        elif c == ord("a"):
            self.style.align = {0: "left", 48: "left", 1: "center", 49: "center",
                                2: "right", 50: "right"}.get(n, self.style.align)
        elif c == ord("E"):
            self.style.bold = bool(n & 1)
        elif c == ord("!"):
            self.style.bold = bool(n & 0x08)
            self.style.tall = bool(n & 0x10)
        elif c == ord("d"):
            self._end_line()
            self.items.append(PrintedFeed(n))
        elif c in (ord("i"), ord("m")):
            self._end_line()
            self.items.append(PrintedCut(partial=True))

    def _fs(self, cmd: bytes) -> None:
        c = cmd[1]
        if c == ord("&"):
            self.style.chinese = True
        elif c == ord("."):
            self.style.chinese = False

    def _gs(self, cmd: bytes, replies: bytearray) -> None:
        c = cmd[1]
        if c == ord("!") and len(cmd) == 3:
            self.style.tall = bool(cmd[2] & 0x0F)
        elif c == ord("V") and len(cmd) >= 3:
            self._end_line()
            self.items.append(PrintedCut(partial=cmd[2] in (1, 49, 66)))
        elif c == ord("k") and len(cmd) >= 3:
            self._barcode(cmd)
        elif c == ord("v") and len(cmd) >= 8 and cmd[2] in (0, 48):
            self._end_line()
            width = (cmd[4] + 256 * cmd[5]) * 8
            self.items.append(PrintedImage(width, cmd[6] + 256 * cmd[7], bytes(cmd[8:])))
        elif c == ord("(") and len(cmd) >= 7 and cmd[2] == ord("k") and cmd[5] == 0x31:
            fn = cmd[6]
            if fn == 0x50:
                self.qr_data = cmd[8:]
            elif fn == 0x51 and self.qr_data:
                self._end_line()
                self.items.append(PrintedQR(self.qr_data.decode("utf-8", errors="replace")))
        elif c == ord("r") and len(cmd) == 3:
            if self.state.silent or self.state.status_byte(1) != 0x12:
                return  # GS r is not answered while offline
            if cmd[2] in (1, 49):
                replies.append((0x03 if self.state.paper_near_end else 0)
                               | (0x0C if self.state.paper_out else 0))
            elif cmd[2] in (2, 50):
                replies.append(0)

    def _barcode(self, cmd: bytes) -> None:
        m = cmd[2]
        if m <= 6:
            data = cmd[3:-1]
        elif len(cmd) >= 4:
            data = cmd[4:]
        else:
            return
        name = BARCODE_NAMES.get(m, f"type{m}")
        text = data.decode("latin-1")
        if name == "CODE128" and text[:2] in ("{A", "{B", "{C"):
            text = text[2:]
        self._end_line()
        self.items.append(PrintedBarcode(name, text))

    def _end_line(self, force: bool = False) -> None:
        """Print the line buffer; LF prints even an empty line, other commands do not."""
        if not self.line and not force:
            return
        data = bytes(self.line)
        if self.style.chinese:
            text = data.decode(self.codec, errors="replace")
            columns = _columns(data, four_byte=self.codec == "gb18030")
        else:
            text, columns = data.decode("cp437", errors="replace"), len(data)
        self.items.append(PrintedLine(text, self.style.align, self.style.bold, self.style.tall,
                                      columns))
        self.line.clear()


def _columns(data: bytes, four_byte: bool = True) -> int:
    """Printed width of Chinese-mode bytes: ASCII one column, each GB code two.

    A lead byte 0x81..0xFE takes one trail byte, or three when the next is a digit
    0x30..0x39 and the ROM knows GB18030's 4-byte form (``four_byte``); a GBK-only ROM
    prints those four bytes as two wrong glyphs, four columns.
    """
    columns = i = 0
    while i < len(data):
        if data[i] < 0x81 or data[i] == 0xFF:
            columns, i = columns + 1, i + 1
        elif four_byte and i + 1 < len(data) and 0x30 <= data[i + 1] <= 0x39:
            columns, i = columns + 2, i + 4
        else:
            columns, i = columns + 2, i + 2
    return columns


class PrinterEmulator:
    """An emulated ESC/POS printer, in-process (:meth:`feed`) or on a pty (:meth:`start_pty`)."""

    def __init__(self, state: PrinterState | None = None, *, chinese_at_power_up: bool = True,
                 codec: str = "gb18030"):
        """``codec`` is the font ROM: ``"gbk"`` emulates a GBK-only printer, which prints a
        4-byte GB18030 code as two wrong glyphs (decoded here as GBK, so it shows)."""
        self.state = state if state is not None else PrinterState()
        self._parser = _Parser(self.state, codec)
        self._parser.style.chinese = chinese_at_power_up
        self._lock = threading.Lock()
        self._received = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._fds: tuple[int, int] | None = None

    # -- in-process --------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Process bytes sent to the printer; return the bytes it sends back."""
        with self._lock:
            self._received += len(data)
            return self._parser.feed(data)

    @property
    def items(self) -> list[PrintedItem]:
        """Everything printed so far, in order (a copy)."""
        with self._lock:
            return list(self._parser.items)

    def lines(self) -> list[str]:
        """The printed text lines only, in order."""
        return [item.text for item in self.items if isinstance(item, PrintedLine)]

    def qr_payloads(self) -> list[str]:
        """The payloads of the printed QR codes, in order."""
        return [item.payload for item in self.items if isinstance(item, PrintedQR)]

    @property
    def received(self) -> int:
        """Bytes received so far (status requests included)."""
        with self._lock:
            return self._received

    def clear(self) -> None:
        """Forget what was printed (the paper was torn off); keeps state and pending bytes."""
        with self._lock:
            self._parser.items.clear()

    # -- pty ---------------------------------------------------------------------------------

    def start_pty(self) -> str:
        """Serve on a new pseudo-terminal and return its path (e.g. ``/dev/pts/7``).

        The slave is put in raw mode before anything is written (a fresh pty is in cooked
        mode and would echo or swallow 0x03, 0x0A, 0x11, 0x13...), and the emulator keeps
        its own slave descriptor open so that clients may close and reopen the port.
        """
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        master, slave = os.openpty()
        tty.setraw(slave)
        path = os.ttyname(slave)
        self._fds = (master, slave)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(master,), name="escpos-emulator", daemon=True
        )
        self._thread.start()
        return path

    def stop(self) -> None:
        """Stop the pty thread and close the pty; safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._fds is not None:
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds = None

    def _serve(self, master: int) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except OSError:
                # EIO when no client has the slave open on some systems: wait and go on
                self._stop.wait(0.05)
                continue
            reply = self.feed(data)
            if reply:
                with contextlib.suppress(OSError):
                    os.write(master, reply)

    def __enter__(self) -> PrinterEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
