"""Lines the printer's font ROM cannot print, drawn as a raster image (GS v 0).

A GBK-only printer has no glyph for a rare name character such as 𠮷 (a 4-byte GB18030 code):
sent as text it prints garbage, replaced it prints "?", and a citizen's name on a receipt must
be neither. So such a line is drawn with the Noto Sans CJK SC face the kiosk ships and sent as
an image. Each character gets a cell as wide as the printer would print it (12 dots a column,
font A), so the line keeps the layout's column grid and right-aligned values stay aligned.

``drivers`` may not import ``kiosk``, so the face is found here the way ``kiosk/fonts.py``
finds it: the SC face the kiosk extracts to ``$XDG_CACHE_HOME/gov-kiosk/fonts``, else the SC
face inside Debian's ``NotoSansCJK-Regular.ttc`` (picked by name; the face order is a
packaging detail). A caller may pass its own font file instead.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from drivers.printer.layout import char_width

__all__ = ["COLUMN_DOTS", "LINE_DOTS", "FontNotFound", "find_font", "raster_line"]

#: Font A: 12 x 24 dots a column, so 48 columns fill the 576 dots of 80 mm paper.
COLUMN_DOTS = 12
LINE_DOTS = 24
FAMILY = "Noto Sans CJK SC"
_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


class FontNotFound(RuntimeError):
    """No Noto Sans CJK SC face: install the Debian package fonts-noto-cjk."""


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gov-kiosk" / "fonts"


@lru_cache(maxsize=1)
def find_font() -> tuple[Path, int]:
    """The SC face as (file, face index): the kiosk's extracted face, else Debian's TTC."""
    extracted = _cache_dir() / "NotoSansCJKsc-Regular.otf"
    if extracted.is_file():
        return extracted, 0
    for directory in _FONT_DIRS:
        if not directory.is_dir():
            continue
        for collection in sorted(directory.rglob("NotoSansCJK-Regular.ttc")):
            for index in range(10):
                try:
                    face = ImageFont.truetype(str(collection), LINE_DOTS, index=index)
                except OSError:
                    break
                if face.getname()[0] == FAMILY:
                    return collection, index
    raise FontNotFound("no Noto Sans CJK SC face found; install the Debian package "
                       "fonts-noto-cjk (make demo and make test do this)")


@lru_cache(maxsize=8)
def _load(path: str, index: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, LINE_DOTS - 2, index=index)


def raster_line(text: str, font: tuple[Path, int] | None = None, *, tall: bool = False,
                bold: bool = False) -> bytes:
    """GS v 0 bytes printing ``text`` as one line, each character in its column cell.

    ``tall`` doubles the height as GS ! does for text lines. Raises :class:`FontNotFound`
    when no font is given and none is installed.
    """
    path, index = font if font is not None else find_font()
    face = _load(str(path), index)
    widths = [char_width(ch) * COLUMN_DOTS for ch in text]
    width = max(8, (sum(widths) + 7) // 8 * 8)
    image = Image.new("L", (width, LINE_DOTS), 255)
    draw = ImageDraw.Draw(image)
    x = 0
    for ch, cell in zip(text, widths, strict=True):
        draw.text((x + cell / 2, LINE_DOTS / 2), ch, font=face, fill=0, anchor="mm",
                  stroke_width=1 if bold else 0, stroke_fill=0)
        x += cell
    if tall:
        image = image.resize((width, LINE_DOTS * 2))
    bits = image.point(lambda v: 255 if v < 128 else 0, "1")  # 1 bits print black
    height = bits.height
    header = bytes((0x1D, 0x76, 0x30, 0, (width // 8) & 0xFF, (width // 8) >> 8,
                    height & 0xFF, height >> 8))
    return header + bits.tobytes()
