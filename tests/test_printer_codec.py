"""The printer's code set is a device setting; what it cannot encode prints as an image."""

from __future__ import annotations

import time

import pytest

from drivers.device_url import DeviceURLError, parse_device_url
from drivers.printer.connect import open_printer
from drivers.printer.emulator import PrintedImage, PrintedLine, PrinterEmulator
from drivers.printer.layout import KeyValue, Receipt, TextLine, Title
from drivers.printer.raster import COLUMN_DOTS, LINE_DOTS, find_font
from drivers.printer.render import render

NAME = "张𠮷"  # 𠮷 is U+20BB7: 4 bytes in GB18030, absent from GBK


def items_on(codec: str, receipt: Receipt) -> list:
    emulator = PrinterEmulator(codec=codec)  # a printer whose font ROM is ``codec``
    emulator.feed(render(receipt, codec))  # type: ignore[arg-type]
    return emulator.items


def test_codec_is_a_validated_url_setting():
    assert parse_device_url("serial:///dev/ttyS0?codec=gbk").params == {"codec": "gbk"}
    with pytest.raises(DeviceURLError, match=r'codec "utf8" .*allowed: gb18030, gbk'):
        parse_device_url("serial:///dev/ttyS0?codec=utf8")
    with pytest.raises(ValueError, match="not supported"):
        render(Receipt(()), "big5")  # type: ignore[arg-type]


def test_the_url_codec_reaches_the_driver_and_the_emulator():
    driver, cleanup, emulator = open_printer(parse_device_url("emulator://printer?codec=gbk"))
    try:
        assert driver.codec == "gbk" and emulator is not None
        driver.print_receipt(Receipt((TextLine("姓名 " + NAME),)))
        deadline = time.monotonic() + 2
        while not emulator.items and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [type(item) for item in emulator.items] == [PrintedImage]
    finally:
        cleanup()


def test_a_gbk_printer_gets_the_rare_character_as_an_image_not_garbage():
    # as text, the 4-byte code is garbage on a GBK-only ROM: this is what was printed before
    emulator = PrinterEmulator(codec="gbk")
    emulator.feed(render(Receipt((TextLine(NAME),)), "gb18030"))
    assert emulator.lines() != [NAME]
    # with codec=gbk the line goes as a raster image of the right size, with ink in both cells
    items = items_on("gbk", Receipt((TextLine(NAME),)))
    assert len(items) == 1 and isinstance(items[0], PrintedImage)
    image = items[0]
    assert (image.width, image.height) == (4 * COLUMN_DOTS, LINE_DOTS)
    for cell in (0, 1):
        xs = range(cell * 2 * COLUMN_DOTS, (cell + 1) * 2 * COLUMN_DOTS)
        assert any(image.black(x, y) for x in xs for y in range(LINE_DOTS))


def test_only_lines_with_unencodable_characters_become_images():
    receipt = Receipt((Title("办理回执"), KeyValue("姓名", NAME), TextLine("¥5.00")))
    items = items_on("gbk", receipt)
    assert [type(item) for item in items] == [PrintedLine, PrintedImage, PrintedLine]
    assert items[1].width == 48 * COLUMN_DOTS  # the key/value row keeps the paper width
    assert items[0].text == "办理回执" and items[2].text == "￥5.00"
    # a GB18030 printer prints the same name as text
    assert [item.text for item in items_on("gb18030", receipt)][1].endswith(NAME)


def test_the_shipped_font_is_found_without_the_kiosk_package():
    path, _index = find_font()
    assert path.exists()


def test_a_tall_title_image_is_double_height():
    items = items_on("gbk", Receipt((Title(NAME),)))
    assert isinstance(items[0], PrintedImage) and items[0].height == 2 * LINE_DOTS


def test_without_a_font_the_line_still_prints_with_full_width_question_marks(monkeypatch):
    from drivers.printer import raster

    def missing() -> tuple:
        raise raster.FontNotFound("no font")

    monkeypatch.setattr(raster, "find_font", missing)
    emulator = PrinterEmulator(codec="gbk")
    emulator.feed(render(Receipt((TextLine(NAME),)), "gbk"))
    assert emulator.lines() == ["张？"]
