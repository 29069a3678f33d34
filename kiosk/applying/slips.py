"""The paper slips of an appointment (预约单) and of a queue ticket (排队号), for the receipt
printer (:meth:`kiosk.devices.hub.DeviceHub.print_receipt`).

A slip goes into a pocket and may be left on a table in the hall, so it says what the
citizen needs to come back at the right time to the right place, and nothing that helps a
stranger: the ID number only masked (``mask_number``: first 3 and last 4), never a name or
a birth date beside it, the phone masked like ``138****5678``. The QR code holds the plain
appointment number, which the hall's counter scans or types; no URL (a kiosk knows no public
address that stays valid). Text is Chinese with short English in brackets, as on the
application receipt (the printer's code set is GB18030).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from drivers.idcard.identity import mask_number
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
from kiosk.applying.receipts import mask_phone

__all__ = ["AppointmentFacts", "TicketFacts", "appointment_slip", "ticket_slip", "when_text"]

WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class AppointmentFacts:
    """What an appointment slip prints; the personal parts are masked when it is made."""

    appointment_no: str
    matter_name: str
    item_code: str
    hall: str
    start: datetime
    end: datetime
    masked_id_number: str
    masked_phone: str
    kiosk_hall: str
    booked_at: datetime = field(default_factory=lambda: datetime.now().astimezone())

    @classmethod
    def of(cls, *, appointment_no: str, matter_name: str, item_code: str, hall: str,
           start: datetime, end: datetime, id_number: str, phone: str, kiosk_hall: str
           ) -> AppointmentFacts:
        """The facts with the ID number and the phone masked here, once, before any use."""
        return cls(appointment_no=appointment_no, matter_name=matter_name,
                   item_code=item_code, hall=hall, start=start, end=end,
                   masked_id_number=mask_number(id_number), masked_phone=mask_phone(phone),
                   kiosk_hall=kiosk_hall)


@dataclass(frozen=True)
class TicketFacts:
    """What a queue ticket prints: no personal data at all."""

    ticket_no: str
    waiting: int
    matter_name: str
    item_code: str
    hall: str
    taken_at: datetime = field(default_factory=lambda: datetime.now().astimezone())


def when_text(start: datetime, end: datetime) -> str:
    """``2026年12月1日（星期二）09:30-10:00`` in the hall's own time."""
    return (f"{start.year}年{start.month}月{start.day}日（星期{WEEKDAYS[start.weekday()]}）"
            f"{start:%H:%M}-{end:%H:%M}")


def appointment_slip(facts: AppointmentFacts, paper: Paper = Paper.MM80) -> Receipt:
    """The printable appointment slip, with the appointment number as a QR code."""
    blocks: list[Block] = [
        Title("预约凭证"),
        TextLine("(appointment slip)", align="center"),
        TextLine(facts.kiosk_hall, align="center"),
        Separator(),
        KeyValue("预约号", facts.appointment_no),
        TextLine("办理事项（Matter）", bold=True),
        TextLine(facts.matter_name),
        TextLine(f"事项编码 {facts.item_code}"),
        Separator(),
        TextLine("预约时间（When）", bold=True),
        TextLine(when_text(facts.start, facts.end)),
        TextLine("办理地点（Where）", bold=True),
        TextLine(facts.hall),
        Separator(),
        KeyValue("证件号码", facts.masked_id_number or "—"),
        KeyValue("联系电话", facts.masked_phone or "—"),
        KeyValue("预约时间", f"{facts.booked_at:%Y-%m-%d %H:%M}"),
        Separator(),
        QRCode(facts.appointment_no),
        TextLine("请提前10分钟到达，凭本凭证或预约号取号", align="center"),
        TextLine("(come 10 minutes early; show this slip)", align="center"),
        TextLine("请携带身份证原件及办事所需材料", align="center"),
        Feed(3),
        Cut(),
    ]
    return Receipt(tuple(blocks), paper)


def ticket_slip(facts: TicketFacts, paper: Paper = Paper.MM80) -> Receipt:
    """The printable queue ticket: the number large, the people waiting, the hall."""
    blocks: list[Block] = [
        Title("排队号"),
        TextLine("(queue ticket)", align="center"),
        TextLine(facts.hall, align="center"),
        Separator(),
        Title(facts.ticket_no),
        KeyValue("前面等候人数", f"{facts.waiting}人"),
        TextLine("办理事项（Matter）", bold=True),
        TextLine(facts.matter_name),
        KeyValue("取号时间", f"{facts.taken_at:%Y-%m-%d %H:%M}"),
        Separator(),
        TextLine("请留意叫号屏幕和广播，过号请重新取号", align="center"),
        TextLine("(watch the screens; a missed number needs a new ticket)", align="center"),
        TextLine("当日有效（valid today only）", align="center"),
        Feed(3),
        Cut(),
    ]
    return Receipt(tuple(blocks), paper)
