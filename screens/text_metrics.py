"""Heights of wrapped text, measured with the kiosk's font before any widget exists.

Lists of 1,135 matters are RecycleViews: only the rows on screen are widgets, so a row's
height must be known from its data. Rows sized from their text show every name whole, in
both languages and every text size, instead of cutting them at a fixed number of lines.
Measurements are cached: the same name at the same width and size is measured once.
"""

from __future__ import annotations

from functools import lru_cache

from kivy.core.text import Label as CoreLabel


@lru_cache(maxsize=20000)
def text_height(text: str, font_size: float, width: float, bold: bool = False) -> float:
    """Pixels ``text`` needs in height when wrapped at ``width`` pixels."""
    if not text or width <= 1:
        return 0.0
    core = CoreLabel(text=text, font_size=font_size, bold=bold, text_size=(int(width), None))
    return float(core.render()[1])


@lru_cache(maxsize=4096)
def text_width(text: str, font_size: float, bold: bool = False) -> float:
    """Pixels ``text`` needs in width on one line."""
    if not text:
        return 0.0
    return float(CoreLabel(text=text, font_size=font_size, bold=bold).render()[0])
