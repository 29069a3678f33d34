"""Accessibility audit states of the progress screen (added to :data:`screens.audit.STATES`).

Each state opens the screen as a citizen would; the answers are made here in the contract's
shape (made-up numbers of a demo kiosk, sample notes marked 【示例】) and handed to the
screen as the fetch thread would, so no platform is needed: the camera waiting for a
receipt, a number with a typo, the timeline of several applications (online), what the
kiosk knows offline, and an unknown number. :func:`sample_applications` also feeds the
progress benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from kiosk.applying.progress import ApplicationProgress, Step, from_platform
from kiosk.applying.receipt_numbers import make_receipt_number
from kiosk.platform.client import Progress

CHINA = timezone(timedelta(hours=8))
JOURNEY_MATTER = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理
PATHS = (
    ("received", "accepted", "needs_material"),
    ("received", "accepted", "in_review"),
    ("received", "accepted", "in_review", "approved", "completed"),
    ("received", "accepted", "in_review", "rejected"),
    ("received",),
)
NOTES = {"received": "平台已收到申请", "accepted": "窗口已受理", "in_review": "部门审查中",
         "needs_material": "请补充材料：相关证明材料，送至5号窗口（示例）",
         "approved": "审批通过", "rejected": "材料不符合要求（示例）",
         "completed": "办结，可按约定方式领取结果"}


def _item_codes(app, count: int) -> list[str]:
    codes = [JOURNEY_MATTER] + [m.item_code for m in app.services.catalog.matters()[:count]]
    return [codes[index % len(codes)] for index in range(count)]


def sample_applications(app, count: int = 5) -> list[ApplicationProgress]:
    """``count`` applications as the platform would answer for one person, newest first."""
    kiosk_id = app.services.config.kiosk.id
    start = datetime(2026, 11, 2, 9, 30, tzinfo=CHINA)
    result = []
    for index, code in enumerate(_item_codes(app, count)):
        path = PATHS[index % len(PATHS)]
        began = start + timedelta(days=index)
        progress = Progress(
            application_no=f"511602{began:%Y%m%d}{index + 1:06d}",
            receipt_no=make_receipt_number(kiosk_id, began.date(), index + 1),
            item_code=code, status=path[-1],
            timeline=[{"status": status, "at": (began + timedelta(hours=5 * step)).isoformat(),
                       "note": "【示例】" + NOTES[status]} for step, status in enumerate(path)],
            delivery_method="express" if index % 4 == 2 else "pickup")
        result.append(from_platform(progress, time.time()))
    return sorted(result, key=lambda item: item.sort_key, reverse=True)


def offline_applications(app) -> list[ApplicationProgress]:
    """What a kiosk's outbox knows (as :func:`kiosk.applying.progress.from_outbox` makes
    it): one queued here, one acknowledged with the status fetched two hours ago."""
    kiosk_id = app.services.config.kiosk.id
    now = datetime.now().astimezone()
    codes = _item_codes(app, 2)
    queued = ApplicationProgress(
        item_code=JOURNEY_MATTER, receipt_no=make_receipt_number(kiosk_id, date.today(), 3),
        application_no="", status="", next_step="unsent", from_platform=False,
        kiosk_state="queued", applied_at=now - timedelta(minutes=10))
    checked = now - timedelta(hours=2)
    known = ApplicationProgress(
        item_code=codes[1], receipt_no=make_receipt_number(kiosk_id, date.today(), 1),
        application_no=f"511602{date.today():%Y%m%d}000001", status="in_review",
        steps=(Step("in_review", checked),), next_step="wait", from_platform=False,
        known_at=checked, kiosk_state="acknowledged", applied_at=now - timedelta(days=1))
    return [queued, known]


def _progress(app, mode: str = "scan") -> None:
    app.start_session()
    app.show("progress")
    screen = app.screen("progress")
    screen.use_mode(mode)


def _typo(app) -> None:
    _progress(app, "type")
    screen = app.screen("progress")
    number = make_receipt_number(app.services.config.kiosk.id, date.today(), 7)
    screen.number_text = number[:-1] + ("A" if number[-1] != "A" else "B")
    screen.check_typed()


def _shown(app, found: Callable[[object], list[ApplicationProgress]],
           heading: Callable[[int], str], problem: bool = False) -> None:
    _progress(app)
    screen = app.screen("progress")
    screen._begin("")
    items = found(app)
    screen._show(items, heading(len(items)), problem)


def _tr(text: str) -> str:
    from screens.i18n import tr

    return tr._(text)


def _offline_words(_count: int) -> str:
    from screens.progress import offline_words  # Kivy loads with the app, not with the audit

    return offline_words()


PROGRESS_STATES: dict[str, Callable[[object], None]] = {
    "progress-scan": _progress,
    "progress-typo": _typo,
    "progress-timeline": lambda app: _shown(app, sample_applications, lambda count: _tr(
        "Your applications: {count}").format(count=count)),
    "progress-offline": lambda app: _shown(app, offline_applications, _offline_words),
    "progress-unknown": lambda app: _shown(app, lambda _app: [], lambda _count: _tr(
        "No application with this number was found. Please check the number on your receipt, or ask at the counter."), True),  # noqa: E501
}
"""State name -> how to reach it from the attract screen."""
