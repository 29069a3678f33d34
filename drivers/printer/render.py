"""Render a :class:`~drivers.printer.layout.Receipt` to ESC/POS bytes.

The bytes are collected with python-escpos's ``Dummy`` printer so that formatting, QR and
barcode commands come from a maintained library, and the result can go to any transport
(serial, file, TCP) in one write. Text is *not* sent through python-escpos's ``text()``: its
encoder only switches to GB18030 when a string holds a Hanzi in U+4E00–U+9FA5, so a line of
Chinese punctuation prints as ``?`` and ``¥`` becomes a 4-byte GB18030 sequence that GBK-only
printers print as garbage. Instead the printer is put in Chinese mode (FS &) once after
ESC @, and every line is encoded here in the printer's code set (``gb18030`` or ``gbk``, a
device setting), with ``¥`` replaced by the full-width ``￥``. A line holding a character the
code set cannot encode (𠮷 on a GBK printer) is sent as a raster image instead (``raster.py``),
so rare name characters always print.
"""

from __future__ import annotations

import logging
from pathlib import Path

from drivers.printer.layout import (
    CODECS,
    Barcode,
    Codec,
    Cut,
    Feed,
    KeyValue,
    QRCode,
    Receipt,
    Separator,
    TextLine,
    Title,
    char_width,
    encodable,
    key_value_lines,
    wrap,
)
from drivers.printer.raster import FontNotFound, raster_line

log = logging.getLogger(__name__)

__all__ = ["CODECS", "FS_CHINESE_OFF", "FS_CHINESE_ON", "Codec", "check_codec", "encode_text",
           "normalise", "render"]

#: FS & : double-byte (Chinese) mode on; bytes >= 0x81 then start a GB character.
FS_CHINESE_ON = b"\x1c\x26"
#: FS . : Chinese mode off.
FS_CHINESE_OFF = b"\x1c\x2e"

# Characters whose GB18030 form is 4 bytes but which have a common 2-byte full-width twin.
_NORMALISE = str.maketrans({"¥": "￥"})


def normalise(text: str) -> str:
    """The text as it will be printed: ``¥`` → ``￥`` (2 bytes in GBK, prints on every model)."""
    return text.translate(_NORMALISE)


def check_codec(codec: str) -> Codec:
    """``codec`` if the driver supports it, else a ValueError naming the choices."""
    if codec not in CODECS:
        raise ValueError(f"printer codec {codec!r} is not supported (use {' or '.join(CODECS)})")
    return codec  # type: ignore[return-value]


def encode_text(text: str, codec: Codec = "gb18030") -> bytes:
    """Encode one line for a printer in Chinese mode; characters it cannot hold become ``?``.

    ASCII stays single-byte in Chinese mode, so mixed lines need no mode switching.
    """
    return normalise(text).encode(codec, errors="replace")


class _Writer:
    """A ``Dummy`` printer plus the text style last sent, so style commands are not repeated."""

    def __init__(self, codec: Codec, font: tuple[Path, int] | None) -> None:
        # python-escpos takes about 0.2 s to import (it pulls in its QR, barcode and image
        # modules): it is loaded with the first receipt, not on the kiosk's start-up path
        from escpos.printer import Dummy

        self.printer = Dummy()
        self.codec = codec
        self.font = font
        self.align = "left"
        self.bold = False
        self.tall = False

    def style(self, align: str = "left", bold: bool = False, tall: bool = False) -> None:
        if tall != self.tall:
            self.printer.set(custom_size=True, width=1, height=2 if tall else 1)
            self.tall = tall
        if bold != self.bold:
            self.printer.set(bold=bold)
            self.bold = bold
        if align != self.align:
            self.printer.set(align=align)
            self.align = align

    def line(self, text: str) -> None:
        """Send one line as text, or as an image when the code set cannot hold all of it."""
        text = normalise(text)
        if not all(encodable(ch, self.codec) for ch in text):
            try:
                self.printer._raw(raster_line(text.rstrip(), self.font, tall=self.tall,
                                              bold=self.bold))
                return
            except FontNotFound as error:  # still print the rest of the receipt
                log.warning("printing %r with ？ for missing glyphs: %s", text, error)
                text = "".join(ch if encodable(ch, self.codec) else "？" for ch in text)
        self.printer._raw(encode_text(text, self.codec) + b"\n")


def render(receipt: Receipt, codec: Codec = "gb18030",
           font: tuple[Path, int] | None = None) -> bytes:
    """ESC/POS bytes for ``receipt``: ESC @, FS &, then each block in order.

    ``codec`` is ``"gbk"`` for printers whose font ROM is GBK / GB2312 only; a line with
    characters outside it is drawn as an image with ``font`` (file, face index; default:
    the Noto Sans CJK SC face, see :func:`~drivers.printer.raster.find_font`).
    Raises ``ValueError`` for a block the printer cannot print (empty QR payload, a barcode
    whose digits do not fit its symbology, a feed outside 0..255).
    """
    out = _Writer(check_codec(codec), font)
    p = out.printer
    p.hw("INIT")
    p._raw(FS_CHINESE_ON)
    width = receipt.width
    for block in receipt.blocks:
        if isinstance(block, Title):
            out.style("center", bold=True, tall=True)
            for line in wrap(block.text, width):
                out.line(line)
        elif isinstance(block, TextLine):
            out.style(block.align, bold=block.bold)
            for line in wrap(block.text, width):
                out.line(line)
        elif isinstance(block, KeyValue):
            out.style()
            key, value = _printable(block.key), _printable(block.value)
            for line in key_value_lines(normalise(key), normalise(value), width):
                out.line(line)
        elif isinstance(block, Separator):
            char = block.char if len(block.char) == 1 and block.char.isprintable() else "-"
            out.style()
            out.line(char * (width // char_width(char)))
        elif isinstance(block, QRCode):
            if not block.payload:
                raise ValueError("QR code with an empty payload")
            out.style("center")
            from escpos.constants import QR_ECLEVEL_M

            p.qr(block.payload, ec=QR_ECLEVEL_M, size=block.size, native=True)
            p._raw(b"\n")
        elif isinstance(block, Barcode):
            _barcode(out, block)
        elif isinstance(block, Feed):
            if not 0 <= block.lines <= 255:
                raise ValueError(f"feed of {block.lines} lines is outside 0..255")
            p.print_and_feed(block.lines)
        elif isinstance(block, Cut):
            p.cut("PART" if block.partial else "FULL")
    return bytes(p.output)


def _printable(text: str) -> str:
    """Drop control characters: the printer would read them as commands."""
    return text if text.isprintable() else "".join(ch for ch in text if ch.isprintable())


def _barcode(out: _Writer, block: Barcode) -> None:
    """GS k, function type B (length-prefixed, so the data may hold any byte).

    ``_hw_barcode`` is python-escpos's own hardware path; its public ``barcode()`` only adds a
    software-rendering branch we never want and a ``print()`` to stdout on every call.
    """
    code = block.code
    if block.symbology == "CODE128" and not code.startswith("{"):
        code = "{B" + code  # code set B: printable ASCII
    try:
        out.printer._hw_barcode(code, block.symbology, function_type="B", align_ct=True)
    except Exception as error:  # python-escpos raises its own exception types here
        raise ValueError(f"barcode {block.code!r} ({block.symbology}): {error}") from error
    out.align = "center"  # _hw_barcode sent ESC a 1
    out.printer._raw(b"\n")
