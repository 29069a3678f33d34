"""A receipt described as data, laid out in printer columns.

Screens and services build a :class:`Receipt` from plain blocks; they never see ESC/POS bytes.
That keeps receipts testable without a printer and lets the same receipt go to a 58 mm or an
80 mm printer. Alignment is done here, in *display columns*: on a receipt printer's font A a
Hanzi or full-width sign takes two columns and an ASCII character one, so counting ``len()``
would push every right-aligned amount out of line as soon as a Chinese label appears.

Width is counted the way the printer prints, not by Unicode's East Asian Width: in Chinese
mode every character sent as a 2- or 4-byte GB code is a double-width glyph, so “ ” · — … ①
─ ° (East Asian "ambiguous", one column in a terminal) take two columns on paper. A character
the printer's code set cannot hold is drawn as a raster image in a two-column cell
(``render.py``), so it takes two columns too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Literal

__all__ = [
    "CODECS",
    "Align",
    "Barcode",
    "Block",
    "Codec",
    "Cut",
    "Feed",
    "KeyValue",
    "Paper",
    "QRCode",
    "Receipt",
    "Separator",
    "TextLine",
    "Title",
    "char_width",
    "display_width",
    "encodable",
    "fit",
    "key_value_lines",
    "wrap",
]

Align = Literal["left", "center", "right"]
#: The printer's double-byte code set: GB18030 (1, 2 or 4 bytes) or GBK / GB2312 (1 or 2).
Codec = Literal["gb18030", "gbk"]
CODECS: tuple[str, ...] = ("gb18030", "gbk")


class Paper(int, Enum):
    """Roll width, valued in font-A columns (80 mm ≈ 48 columns, 58 mm ≈ 32)."""

    MM58 = 32
    MM80 = 48


@dataclass(frozen=True)
class Title:
    """A heading: bold, double height, centred; wrapped like a text line."""

    text: str


@dataclass(frozen=True)
class TextLine:
    """Free text, wrapped at the paper width; ``bold`` for emphasis."""

    text: str
    align: Align = "left"
    bold: bool = False


@dataclass(frozen=True)
class KeyValue:
    """A label on the left and its value flush right, e.g. ``办理事项 ..... 居住证``."""

    key: str
    value: str


@dataclass(frozen=True)
class Separator:
    """A rule across the paper: one character repeated as often as it fits (``─`` 24 times)."""

    char: str = "-"


@dataclass(frozen=True)
class QRCode:
    """A QR code printed by the printer itself (GS ( k); ``size`` is the module size 1..16."""

    payload: str
    size: int = 6


@dataclass(frozen=True)
class Barcode:
    """A 1-D barcode printed by the printer (GS k), e.g. EAN13 for a queue ticket."""

    code: str
    symbology: Literal["EAN13", "EAN8", "CODE39", "CODE128"] = "CODE128"


@dataclass(frozen=True)
class Feed:
    """Blank paper: ``lines`` line feeds (0..255)."""

    lines: int = 1


@dataclass(frozen=True)
class Cut:
    """Cut the paper; ``partial`` leaves a hinge so the slip does not fall."""

    partial: bool = False


Block = Title | TextLine | KeyValue | Separator | QRCode | Barcode | Feed | Cut


@dataclass(frozen=True)
class Receipt:
    """An ordered list of blocks for a given paper width."""

    blocks: tuple[Block, ...] = field(default_factory=tuple)
    paper: Paper = Paper.MM80

    @property
    def width(self) -> int:
        """Columns available on one line (font A)."""
        return int(self.paper)


def char_width(ch: str) -> int:
    """Columns one character takes on a printer in Chinese mode, whatever its code set.

    One column for ASCII (a single byte); two for everything else: a 2- or 4-byte GB code
    prints as a double-width glyph, and a character the code set cannot hold is drawn as an
    image two columns wide (see :func:`encodable`).
    """
    return 1 if ch.isascii() else 2


@lru_cache(maxsize=4096)
def encodable(ch: str, codec: Codec = "gb18030") -> bool:
    """True when the printer prints ``ch`` from its font ROM; else it must get an image.

    A non-ASCII character that ``codec`` turns into a single byte (GBK's 0x80 for €) is
    not trusted: in Chinese mode that byte would start a double-byte code.
    """
    if ch.isascii():
        return True
    try:
        return len(ch.encode(codec)) > 1
    except UnicodeEncodeError:
        return False


def display_width(text: str) -> int:
    """Columns ``text`` takes on the printer (every non-ASCII character counts two)."""
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """Break ``text`` into lines of at most ``width`` columns.

    Chinese has no spaces to break at, so lines break at any character; an explicit newline
    starts a new line. Control characters are dropped because the printer would read them as
    commands. A character wider than the whole line still gets a line of its own.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current: list[str] = []
        used = 0
        for ch in paragraph:
            if ch != " " and not ch.isprintable():
                continue
            w = char_width(ch)
            if used + w > width and current:
                lines.append("".join(current))
                current, used = [], 0
            current.append(ch)
            used += w
        lines.append("".join(current))
    return lines


def fit(text: str, width: int, align: Align = "left") -> str:
    """Pad one line to ``width`` columns with spaces, left, centred or right."""
    gap = max(0, width - display_width(text))
    if align == "right":
        return " " * gap + text
    if align == "center":
        left = gap // 2
        return " " * left + text + " " * (gap - left)
    return text + " " * gap


def key_value_lines(key: str, value: str, width: int) -> list[str]:
    """Key left, value flush right on one line; when both do not fit, the value moves below.

    At least one space always separates them so that ``金额`` and ``￥12.00`` never touch.
    """
    key_w, value_w = display_width(key), display_width(value)
    if key_w + 1 + value_w <= width:
        return [key + " " * (width - key_w - value_w) + value]
    lines = wrap(key, width)
    lines.extend(fit(line, width, "right").rstrip() for line in wrap(value, width))
    return lines
