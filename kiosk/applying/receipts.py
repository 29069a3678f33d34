"""The paper receipt of an application: what it says, its QR code, and reading that code back.

A receipt leaves the kiosk in the citizen's pocket and may end up on a table in the hall, so
it carries only what the citizen needs to follow the application and nothing that helps a
stranger: the ID number masked (``mask_number``) with only the name beside it
(``SHOWN_BESIDE_MASKED``: never the birth date, gender, address or validity), the phone of
an express delivery masked and never the delivery address, and the face-presence still
named as "a photo for the record" rather than by its technical name.

Everything is built from the sealed outbox record, the record that will reach the platform,
so a receipt reprinted a week later says exactly what the first one said, plus the
platform's application number once it is known. The printer's code set is GB18030: the text
is Chinese, with short English in brackets where it costs a few columns only.

The QR code holds the plain receipt number: it is short (a small, robust code), the
kiosk's own camera reads it back for progress queries, and any phone shows it as text that
can be typed into the platform's progress page. No URL is printed because a kiosk knows no
public address of the platform that would stay valid for the receipt's lifetime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
from kiosk.applying.receipt_numbers import ReceiptNumberError, parse_receipt_number
from kiosk.applying.submission import ReceiptNotFound, find_record
from kiosk.finding.guides import Guide

if TYPE_CHECKING:
    from kiosk.applying.applications import OutboxStorage
    from kiosk.finding.catalog import CatalogService

__all__ = [
    "FACE_PRESENCE",
    "MAX_QR_TEXT",
    "NOT_OURS",
    "PRESENCE_PHOTO_TEXT",
    "QR_PROBLEMS",
    "PickupPlace",
    "ReceiptFacts",
    "ReceiptNotFound",
    "ReceiptQRError",
    "facts_from_outbox",
    "facts_from_record",
    "mask_phone",
    "parse_receipt_qr",
    "receipt_for",
    "receipt_qr_payload",
]

FACE_PRESENCE = "face_presence"
"""The contract's attachment name of the live still (evidence the applicant was present)."""
PRESENCE_PHOTO_TEXT = "现场留影（photo for the record）"
"""How the receipt lists that still: what it is for, not how the platform files it."""
MAX_QR_TEXT = 64
"""Longer text is no receipt number (the longest is 1 + 32 + 1 + 8 + 1 + 6 + 1 + 1 = 51)."""
NOT_OURS = "not a receipt QR code"
QR_PROBLEMS: dict[str, str] = {
    "not_text": "the payload is not text",
    "empty": "it is empty",
    "too_long": "longer than any receipt number",
    "characters": "a receipt number has only letters, digits, hyphens and '*'",
    "shape": "not a receipt number (expected K<kiosk>-<yyyymmdd>-<6 digits>-<check>)",
    "date": "impossible date in the receipt number",
    "check": "check character does not match: mistyped or damaged",
    "sequence": "sequence 000000 is never issued",
}
"""Every reason :func:`parse_receipt_qr` gives: fixed texts, so none can echo the input."""


class ReceiptQRError(ValueError):
    """A scanned text that is not one of our receipts' QR codes.

    The message never repeats the text: the camera may be shown any QR code, an electronic
    ID code included.
    """


@dataclass(frozen=True)
class PickupPlace:
    """Where the citizen collects the result (a location of the matter's guide)."""

    hall: str
    address: str = ""
    window: str = ""
    hours: str = ""


@dataclass(frozen=True)
class ReceiptFacts:
    """Everything a receipt prints, taken from a sealed record; personal data already masked.

    Only the names are unmasked, and they stay out of ``repr`` (logs, tracebacks).
    """

    receipt_no: str
    item_code: str
    matter_name: str
    applicant_name: str = field(repr=False)
    masked_id_number: str
    created_at: str
    """ISO 8601 with offset, exactly as sealed."""
    kiosk_hall: str
    application_no: str | None = None
    materials: tuple[str, ...] = ()
    """Material names as printed: one per material, pages counted, the still renamed."""
    delivery_method: str = "pickup"
    pickup: PickupPlace | None = None
    masked_phone: str = ""
    """Express delivery only: the contact phone, masked like ``138****5678``."""
    agent_name: str = field(default="", repr=False)
    masked_agent_number: str = ""
    time_limit_days: int | None = None
    next_steps: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- the facts


def mask_phone(phone: str) -> str:
    """``13812345678`` -> ``138****5678``: the first 3 and last 4 digits stay."""
    digits = "".join(ch for ch in str(phone) if ch.isascii() and (ch.isdigit() or ch == "+"))
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def facts_from_outbox(storage: OutboxStorage, receipt_no: str,
                      catalog: CatalogService | None) -> ReceiptFacts:
    """The facts of the sealed record ``receipt_no`` (unsealed with the kiosk's master key).

    The matter's name and guide come from ``catalog`` (the item code stands in for a matter
    the catalogue no longer has); the application number is there once the platform
    acknowledged the record. Raises :class:`ReceiptNotFound` for a number this kiosk does
    not have (never made here, or purged after its retention period).
    """
    record = find_record(storage, receipt_no)
    payload = storage.outbox.payload(record.local_id)
    matter = catalog.matter(record.item_code) if catalog is not None else None
    guide = catalog.guide(record.item_code) if catalog is not None else None
    return facts_from_record(
        receipt_no=record.receipt_no or receipt_no,
        item_code=record.item_code,
        payload=payload,
        application_no=record.application_no,
        matter_name=matter.name if matter is not None else record.item_code,
        guide=guide,
        kiosk_hall=storage.config.kiosk.hall,
    )


def facts_from_record(*, receipt_no: str, item_code: str, payload: Mapping[str, Any],
                      application_no: str | None, matter_name: str, guide: Guide | None,
                      kiosk_hall: str) -> ReceiptFacts:
    """The facts of one sealed payload (``applicant``, ``attachments``, ``delivery``...).

    Tolerant of what an older version sealed: a missing part prints as nothing rather than
    failing a citizen's receipt.
    """
    applicant = _mapping(payload.get("applicant"))
    agent = _mapping(applicant.get("agent"))
    delivery = _mapping(payload.get("delivery"))
    method = "express" if delivery.get("method") == "express" else "pickup"
    return ReceiptFacts(
        receipt_no=receipt_no,
        item_code=item_code,
        matter_name=matter_name,
        applicant_name=_text(applicant.get("name")),
        masked_id_number=mask_number(_text(applicant.get("id_number"))),
        created_at=_text(payload.get("created_at")),
        kiosk_hall=kiosk_hall,
        application_no=application_no or None,
        materials=_materials(payload.get("attachments")),
        delivery_method=method,
        pickup=_pickup(delivery, guide, kiosk_hall) if method == "pickup" else None,
        masked_phone=mask_phone(_text(delivery.get("phone"))) if method == "express" else "",
        agent_name=_text(agent.get("name")),
        masked_agent_number=mask_number(_text(agent.get("id_number"))) if agent else "",
        time_limit_days=(guide.time_limit_days or None) if guide is not None else None,
        next_steps=guide.steps if guide is not None else (),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _materials(attachments: Any) -> tuple[str, ...]:
    """Material names in the order captured; pages of one material counted, not repeated."""
    pages: dict[str, int] = {}
    for attachment in attachments if isinstance(attachments, list) else []:
        name = _text(attachment.get("name")) if isinstance(attachment, Mapping) else ""
        if name:
            pages[name] = pages.get(name, 0) + 1
    shown = []
    for name, count in pages.items():
        label = PRESENCE_PHOTO_TEXT if name == FACE_PRESENCE else name
        shown.append(f"{label}（{count}页）" if count > 1 and name != FACE_PRESENCE else label)
    return tuple(shown)


def _pickup(delivery: Mapping[str, Any], guide: Guide | None, kiosk_hall: str) -> PickupPlace:
    """The chosen hall's location from the guide, else the guide's first, else this hall."""
    chosen = _text(delivery.get("hall"))
    locations = guide.locations if guide is not None else ()
    for location in locations:
        if chosen and location.hall == chosen:
            return PickupPlace(location.hall, location.address, location.window, location.hours)
    if chosen:
        return PickupPlace(chosen)
    if locations:
        first = locations[0]
        return PickupPlace(first.hall, first.address, first.window, first.hours)
    return PickupPlace(kiosk_hall)


# ---------------------------------------------------------------------------- the layout


def receipt_for(record: ReceiptFacts, paper: Paper = Paper.MM80) -> Receipt:
    """The printable receipt of ``record`` (Chinese; GB18030 on the printer)."""
    blocks: list[Block] = [
        Title("申请受理回执"),
        TextLine(record.kiosk_hall, align="center"),
        Separator(),
        KeyValue("回执编号", record.receipt_no),
        KeyValue("办件编号", record.application_no or "待平台受理（pending）"),
        KeyValue("提交时间", _when(record.created_at)),
        Separator(),
        TextLine("办理事项（Matter）", bold=True),
        TextLine(record.matter_name),
        TextLine(f"事项编码 {record.item_code}"),
        KeyValue("申请人", record.applicant_name or "—"),
        KeyValue("证件号码", record.masked_id_number or "—"),
    ]
    if record.agent_name or record.masked_agent_number:
        blocks += [KeyValue("代办人", record.agent_name or "—"),
                   KeyValue("代办人证件号码", record.masked_agent_number or "—")]
    blocks += [Separator(), TextLine("已收材料（Materials received）", bold=True)]
    blocks += [TextLine(f"· {name}") for name in record.materials] or [TextLine("（无）")]
    blocks += [Separator(), TextLine("取件方式（Delivery）", bold=True)]
    blocks += _delivery_blocks(record)
    if record.time_limit_days:
        blocks.append(KeyValue("承诺办结时限", f"{record.time_limit_days}日"))
    if record.next_steps:
        blocks.append(TextLine("后续步骤（Next steps）", bold=True))
        blocks += [TextLine(f"{number}. {step}")
                   for number, step in enumerate(record.next_steps, start=1)]
    if not record.application_no:
        blocks.append(TextLine("本机将自动提交至平台，无需再次申请。"))
    blocks += [
        Separator(),
        QRCode(receipt_qr_payload(record.receipt_no)),
        TextLine("扫码或凭回执编号查询办理进度", align="center"),
        TextLine("(scan to track progress)", align="center"),
        TextLine("请妥善保管本回执", align="center"),
        Feed(3),
        Cut(),
    ]
    return Receipt(tuple(blocks), paper)


def _delivery_blocks(record: ReceiptFacts) -> list[Block]:
    if record.delivery_method == "express":
        return [TextLine("快递送达（express delivery）"),
                KeyValue("联系电话", record.masked_phone or "—")]
    place = record.pickup or PickupPlace(record.kiosk_hall)
    blocks: list[Block] = [TextLine("窗口自取（pickup）"), KeyValue("取件地点", place.hall)]
    for label, value in (("地址", place.address), ("窗口", place.window), ("时间", place.hours)):
        if value:
            blocks.append(TextLine(f"{label}：{value}"))
    return blocks


def _when(created_at: str) -> str:
    """``2026-11-27T14:05:09+08:00`` -> ``2026-11-27 14:05`` (the kiosk's local time)."""
    try:
        return datetime.fromisoformat(created_at).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return created_at[:19]


# ------------------------------------------------------------------------------ QR codes


def receipt_qr_payload(receipt_no: str) -> str:
    """The QR payload of a receipt: its receipt number, checked and in canonical form."""
    try:
        return str(parse_receipt_number(receipt_no))
    except ReceiptNumberError as error:
        raise ReceiptQRError(f"cannot make a receipt QR code: {_plain(error)}") from None


def parse_receipt_qr(text: str) -> str:
    """The receipt number a scanned receipt QR code holds (canonical form).

    Surrounding whitespace is ignored and lower case accepted (a number typed into a phone);
    anything else raises :class:`ReceiptQRError` with one of the fixed :data:`QR_PROBLEMS`,
    saying what is wrong and never what was read. The check character (ISO 7064 MOD 37-2)
    catches a damaged or mistyped number.
    """
    if not isinstance(text, str):
        raise ReceiptQRError(f"{NOT_OURS}: {QR_PROBLEMS['not_text']}")
    candidate = text.strip()
    if not candidate:
        raise ReceiptQRError(f"{NOT_OURS}: {QR_PROBLEMS['empty']}")
    if len(candidate) > MAX_QR_TEXT:
        raise ReceiptQRError(f"{NOT_OURS}: {QR_PROBLEMS['too_long']}")
    if not candidate.isascii():
        raise ReceiptQRError(f"{NOT_OURS}: {QR_PROBLEMS['characters']}")
    try:
        return str(parse_receipt_number(candidate))
    except ReceiptNumberError as error:
        raise ReceiptQRError(f"{NOT_OURS}: {_plain(error)}") from None


def _plain(error: ReceiptNumberError) -> str:
    """The parser's reason as one of :data:`QR_PROBLEMS` (nothing of the text it read)."""
    message = str(error)
    if message.startswith("impossible date"):
        return QR_PROBLEMS["date"]
    if message.startswith("check character"):
        return QR_PROBLEMS["check"]
    if message.startswith("sequence"):
        return QR_PROBLEMS["sequence"]
    if message.startswith(("character", "kiosk id")):
        return QR_PROBLEMS["characters"]
    return QR_PROBLEMS["shape"]
