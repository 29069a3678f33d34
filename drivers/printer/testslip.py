"""The slip ``kiosk devices print-test`` prints: Chinese text, a QR code, a cut.

It exercises what a real receipt needs (GB18030 text, punctuation-only and ¥ lines, key/value
alignment with two-column characters, rare name characters that a GBK printer gets as an image,
native QR) so one slip shows a technician whether the printer's Chinese mode, code set
(``?codec=``) and cutter are right.
"""

from __future__ import annotations

from datetime import datetime

from drivers.printer.layout import Cut, KeyValue, QRCode, Receipt, Separator, TextLine, Title

TEST_QR = "K511602-TEST-00-20261123-000000-0"


def printer_test_slip(terminal: str, when: datetime | None = None) -> Receipt:
    """A test slip naming the terminal and the time."""
    when = when or datetime.now()
    return Receipt([
        Title("打印机自检 Printer test"),
        Separator(),
        KeyValue("终端 Terminal", terminal),
        KeyValue("时间 Time", when.strftime("%Y-%m-%d %H:%M:%S")),
        KeyValue("费用 Fee", "¥0.00"),
        TextLine("中文：居住证办理、户口迁移。"),
        TextLine("。，、；："),
        TextLine("生僻字 堃 喆 䶮 𠮷"),  # 䶮 𠮷 are not in GBK: an image on a GBK printer
        QRCode(TEST_QR),
        TextLine("扫码应显示 " + TEST_QR),
        Cut(),
    ])
