"""Receipts rendered to ESC/POS bytes read back by the emulator: same lines, same QR payload."""

from __future__ import annotations

from drivers.printer.emulator import (
    PrintedBarcode,
    PrintedCut,
    PrintedLine,
    PrintedQR,
    PrinterEmulator,
)
from drivers.printer.layout import (
    Barcode,
    Cut,
    Feed,
    KeyValue,
    Paper,
    QRCode,
    Receipt,
    Separator,
    TextLine,
    Title,
    display_width,
    key_value_lines,
    wrap,
)
from drivers.printer.render import FS_CHINESE_ON, encode_text, render

QR = "https://zwfw.example.cn/q?id=42&name=张三"


def receipt(paper: Paper = Paper.MM80) -> Receipt:
    return Receipt(
        (
            Title("广安市政务服务中心"),
            TextLine("办理回执 No.1"),
            Separator(),
            KeyValue("办理事项", "居住证签注"),
            KeyValue("金额", "¥12.50"),
            TextLine("，。！"),
            TextLine("¥"),
            QRCode(QR),
            Barcode("6901234567892", "EAN13"),
            Feed(2),
            Cut(),
        ),
        paper,
    )


def read_back(data: bytes) -> PrinterEmulator:
    emulator = PrinterEmulator(chinese_at_power_up=False)  # the bytes must switch it on
    assert emulator.feed(data) == b""
    return emulator


def test_lines_and_qr_round_trip_through_the_emulator():
    emulator = read_back(render(receipt()))
    lines = [line for line in emulator.lines() if line]
    assert lines == [
        "广安市政务服务中心",
        "办理回执 No.1",
        "-" * 48,
        "办理事项" + " " * 30 + "居住证签注",
        "金额" + " " * 37 + "￥12.50",
        "，。！",
        "￥",
    ]
    assert emulator.qr_payloads() == [QR]
    assert PrintedBarcode("EAN13", "6901234567892") in emulator.items
    assert emulator.items[-1] == PrintedCut(partial=False)
    title = emulator.items[0]
    assert isinstance(title, PrintedLine) and title.bold and title.tall and title.align == "center"


def test_key_value_rows_fill_the_paper_width_in_columns():
    for paper in Paper:
        emulator = read_back(render(receipt(paper)))
        rows = [line for line in emulator.lines() if line.startswith(("办理事项", "金额"))]
        assert rows and all(display_width(row) == paper.value for row in rows)


def test_chinese_mode_is_selected_and_yen_is_the_two_byte_full_width_sign():
    data = render(receipt())
    assert data.startswith(b"\x1b\x40" + FS_CHINESE_ON)
    assert "￥".encode("gbk") in data and "¥".encode("gb18030") not in data
    assert "，。！".encode("gb18030") + b"\n" in data  # punctuation only: not "?"
    assert encode_text("¥1", "gbk") == b"\xa3\xa41"


def test_native_qr_and_cut_bytes():
    data = render(Receipt((QRCode("A"), Cut(partial=True))))
    assert b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00" in data
    assert b"\x1d\x28\x6b\x04\x00\x31\x50\x30A" in data
    assert b"\x1d\x28\x6b\x03\x00\x31\x51\x30" in data
    assert data.endswith(b"\x1d\x56\x01")
    assert read_back(data).items[0] == PrintedQR("A")


def test_lines_a_gbk_printer_cannot_encode_are_sent_as_images():
    emulator = read_back(render(Receipt((TextLine("😀 ok"),)), codec="gbk"))
    assert emulator.lines() == []
    assert [type(item).__name__ for item in emulator.items] == ["PrintedImage"]


def test_layout_counts_chinese_as_two_columns():
    assert display_width("金额 12") == 7
    assert wrap("一二三四五", 4) == ["一二", "三四", "五"]
    rows = key_value_lines("办理事项", "很长的值" * 3, 16)
    assert rows == ["办理事项", "很长的值很长的值", " " * 8 + "很长的值"]
