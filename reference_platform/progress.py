"""Simulated processing: an application's status moves on by itself as time passes.

A real application takes days; a demo or a test wants to see the kiosk's progress screen
change.  Every ``step`` seconds after it was received an application reaches the next
status; about one in ten (chosen by a hash of the receipt number, so it is repeatable)
is asked for more material on the way.  Nothing is stored: the status is computed from
``received_at`` on every query.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from reference_platform.samples import marked

CHINA = timezone(timedelta(hours=8))
"""Times are written with the +08:00 offset the province uses."""

NORMAL = ("received", "accepted", "in_review", "approved", "completed")
WITH_MATERIAL = ("received", "accepted", "needs_material", "in_review", "approved", "completed")
NOTES = {
    "received": "平台已收到申请",
    "accepted": "窗口已受理",
    "in_review": "部门审查中",
    "needs_material": "请补充材料：相关证明材料（示例）",
    "approved": "审批通过",
    "completed": "办结，可按约定方式领取结果",
}


def iso(moment: float) -> str:
    """Unix seconds as ISO 8601 with the +08:00 offset."""
    return datetime.fromtimestamp(moment, CHINA).isoformat(timespec="seconds")


def path_of(receipt_no: str) -> tuple[str, ...]:
    """The statuses this application goes through."""
    digest = hashlib.sha256(receipt_no.encode()).digest()
    return WITH_MATERIAL if int.from_bytes(digest[:4], "big") % 10 == 0 else NORMAL


def progress(record: dict[str, Any], now: float, step: float, *, owner: bool = True
             ) -> dict[str, Any]:
    """PROGRESS of a stored application at time ``now``.

    Only the ``owner`` (the kiosk that submitted it) gets the delivery details as sent,
    address and phone included.  Application numbers are sequential, so any other kiosk
    could walk through them: it gets the status and timeline, and of the delivery only the
    method, which keeps the contract's shape and names nobody."""
    statuses = path_of(record["receipt_no"])
    received = float(record["received_at"])
    reached = len(statuses) if step <= 0 else 1 + int(max(0.0, now - received) // step)
    reached = min(reached, len(statuses))
    timeline = [
        {"status": status, "at": iso(received + index * step), "note": marked(NOTES[status])}
        for index, status in enumerate(statuses[:reached])
    ]
    return {
        "application_no": record["application_no"],
        "receipt_no": record["receipt_no"],
        "item_code": record["item_code"],
        "status": statuses[reached - 1],
        "timeline": timeline,
        "delivery": record["delivery"] if owner else public_delivery(record["delivery"]),
    }


def public_delivery(delivery: dict[str, Any]) -> dict[str, Any]:
    """The part of a delivery that is not personal: how, not where or whom to call."""
    return {key: delivery[key] for key in ("method",) if key in delivery}
