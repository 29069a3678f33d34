"""Column widths as the printer prints them: every GB-coded character is a double-width glyph.

East Asian "ambiguous" characters (“ ” · — … ① ─ °) take one column in a terminal but two on a
receipt printer in Chinese mode; the emulator counts printed columns from the bytes.
"""

from __future__ import annotations

import pytest

from drivers.printer.emulator import PrintedLine, PrinterEmulator
from drivers.printer.layout import KeyValue, Paper, Receipt, Separator, TextLine, display_width
from drivers.printer.render import render

AMBIGUOUS = "“”·—…①─°"


def printed(receipt: Receipt) -> list[PrintedLine]:
    emulator = PrinterEmulator()
    emulator.feed(render(receipt))
    return [item for item in emulator.items if isinstance(item, PrintedLine) and item.text]


@pytest.mark.parametrize("ch", AMBIGUOUS)
def test_ambiguous_characters_count_two_columns(ch: str):
    assert display_width(ch) == 2
    assert printed(Receipt((TextLine(ch),)))[0].columns == 2


@pytest.mark.parametrize("paper", list(Paper))
def test_box_drawing_separator_fills_exactly_one_line(paper: Paper):
    lines = printed(Receipt((Separator("─"),), paper))
    assert [(line.text, line.columns) for line in lines] == [("─" * (paper // 2), int(paper))]


def test_key_value_with_quotes_and_circled_digits_prints_at_the_paper_width():
    lines = printed(Receipt((KeyValue("“居住证”受理 …", "第①号窗口·A区"),)))
    assert len(lines) == 1 and lines[0].columns == 48
    assert lines[0].text.startswith("“居住证”受理 …") and lines[0].text.endswith("第①号窗口·A区")


def test_wrapped_text_never_overflows_the_paper():
    text = "“居住证”受理……第①号窗口·A区——温度 25°" * 4
    for paper in Paper:
        lines = printed(Receipt((TextLine(text),), paper))
        assert all(line.columns <= paper for line in lines)
        assert "".join(line.text for line in lines) == text
