"""The printed checklist of a life-event bundle: the matters, then what to bring for all.

The citizen takes it to the counters (or home, to gather the documents), so it says what a
person reading it later needs: which matters, in which order, and one list of documents
with the copies and the matters (by number) each is for. It holds nothing personal: the
answers to the questionnaire are about a shop or a move, not about who asked, and are
printed so that the list can be understood without the screen. Like the receipt it is in
Chinese with short English in brackets, for the GB18030 receipt printer.
"""

from __future__ import annotations

from drivers.printer.layout import Block, Cut, Feed, Paper, Receipt, Separator, TextLine, Title
from kiosk.finding.bundles import Bundle, CombinedMaterial

__all__ = ["CHECKLIST_TITLE", "checklist_for", "material_line"]

CHECKLIST_TITLE = "一件事办理清单"
SAMPLE_NOTE = "【示例】含示例内容，不是正式办事指南（sample content）"


def material_line(material: CombinedMaterial, bundle: Bundle) -> str:
    """``· 【示例】居民身份证 ×2 原件 （事项1、3）``: the document, copies, for which matters."""
    numbers = "、".join(str(bundle.number_of(code)) for code in material.item_codes)
    parts = [f"· {material.name}"]
    if material.copies > 1:
        parts.append(f"×{material.copies}")
    if material.original:
        parts.append("原件")
    parts.append(f"（事项{numbers}）")
    return " ".join(parts)


def checklist_for(bundle: Bundle, *, hall: str, printed_at: str,
                  paper: Paper = Paper.MM80) -> Receipt:
    """The slip of ``bundle``, printed at ``hall`` on ``printed_at`` (local time, shown)."""
    scenario = bundle.scenario
    blocks: list[Block] = [Title(CHECKLIST_TITLE), TextLine(scenario.title, align="center")]
    if hall:
        blocks.append(TextLine(hall, align="center"))
    blocks.append(TextLine(printed_at, align="center"))
    asked = [(q.text, bundle.answers[q.id]) for q in scenario.questions if q.id in bundle.answers]
    if asked:
        blocks += [Separator(), TextLine("您的情况（Your answers）", bold=True)]
        blocks += [TextLine(f"{text} {answer}") for text, answer in asked]
    blocks += [Separator(), TextLine(f"办理事项（Matters）共{len(bundle.matters)}项", bold=True)]
    for number, item in enumerate(bundle.matters, start=1):
        blocks.append(TextLine(f"{number}. {item.matter.name}"))
        blocks.append(TextLine(f"   {item.matter.department}"))
    if not bundle.matters:
        blocks.append(TextLine("（无）"))
    blocks += [Separator(), TextLine("需带材料（Materials, one list）", bold=True)]
    blocks += [TextLine(material_line(material, bundle)) for material in bundle.materials]
    if not bundle.materials and not bundle.without_guide:
        blocks.append(TextLine("（无）"))
    missing = bundle.without_guide
    if missing:
        numbers = "、".join(str(bundle.number_of(m.item_code)) for m in missing)
        blocks.append(TextLine(f"事项{numbers}的材料：请查看其办事指南（see its guide）"))
    if bundle.unknown_codes:
        blocks.append(TextLine(f"另有{len(bundle.unknown_codes)}项事项本机目录中没有，"
                               "请咨询窗口（ask at the counter）"))
    if bundle.is_sample:
        blocks += [Separator(), TextLine(SAMPLE_NOTE)]
    blocks += [Separator(), TextLine("材料齐全后可到窗口一次办理", align="center"),
               Feed(3), Cut()]
    return Receipt(tuple(blocks), paper)
