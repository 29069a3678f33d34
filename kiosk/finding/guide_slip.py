"""A short office guide on the receipt printer, for the citizen to take away.

A guide read at the kiosk is gone when the citizen walks home to gather the documents. The
slip keeps what they need then: the matter, what to bring (copies, originals), where and
when to go, the time limit, the fee and how many visits, and a QR code of the guide's web
page when the kiosk knows one (``[kiosk] guide_link``). The steps are left out: they are for
the counter, and a slip a metre long is not taken. Like the receipt it is Chinese with short
English in brackets, for the GB18030 receipt printer; it holds nothing personal.
"""

from __future__ import annotations

from drivers.printer.layout import (
    Block,
    Cut,
    Feed,
    KeyValue,
    Paper,
    QRCode,
    Receipt,
    Separator,
    TextLine,
    Title,
)
from kiosk.finding.guides import Guide
from kiosk.models import Matter

GUIDE_SLIP_TITLE = "办事指南（随身版）"
SAMPLE_NOTE = "【示例】示例指南，不是正式办事指南（sample guide）"


def guide_link(template: str, item_code: str) -> str:
    """The guide's web address from the configured template ('' when none is configured)."""
    return template.replace("{item_code}", item_code) if template else ""


def guide_slip(matter: Matter, guide: Guide, *, hall: str, printed_at: str, link: str = "",
               paper: Paper = Paper.MM80) -> Receipt:
    """The take-away slip of ``matter``'s guide, printed at ``hall`` on ``printed_at``."""
    blocks: list[Block] = [Title(GUIDE_SLIP_TITLE), TextLine(matter.name, align="center",
                                                             bold=True)]
    blocks += [TextLine(matter.department, align="center")]
    if hall:
        blocks.append(TextLine(f"{hall} {printed_at}", align="center"))
    blocks += [Separator(), TextLine("需带材料（What to bring）", bold=True)]
    for material in guide.materials:
        kind = "原件和复印件" if material.original else "复印件"
        blocks.append(TextLine(f"· {material.name} ×{material.copies}（{kind}）"))
    if not guide.materials:
        blocks.append(TextLine("（无需材料）"))
    blocks += [Separator(), KeyValue("办理时限", f"{guide.time_limit_days}个工作日")]
    blocks.append(KeyValue("收费", guide.fee or "不收费"))
    blocks.append(KeyValue("到现场次数", f"{guide.visits_required}次" if guide.visits_required
                           else "无需到现场"))
    for place in guide.locations:
        blocks += [Separator(), TextLine(f"办理地点（Where）：{place.hall}", bold=True)]
        blocks += [TextLine(text) for text in (place.address, place.window, place.hours) if text]
    if guide.is_sample:
        blocks += [Separator(), TextLine(SAMPLE_NOTE)]
    if link:
        blocks += [Separator(), TextLine("手机扫码查看完整指南（Scan for the full guide）",
                                         align="center"), QRCode(link)]
    blocks += [TextLine(f"事项编码 {matter.item_code}"), Feed(3), Cut()]
    return Receipt(tuple(blocks), paper)
