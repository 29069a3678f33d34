"""Accessibility audit states of the evaluation screen (好差评), added to
:data:`screens.audit.STATES`.

Each state starts a visit and reaches the screen as a citizen would: from the home tile
with words typed into the service search, after an application (the five levels), after a
low rating (indicators ticked, a comment typed) and the thank-you while offline. The
thank-you is shown without queueing anything, so running the audit leaves no rating in
the kiosk's queue.
"""

from __future__ import annotations

from collections.abc import Callable

MATTER = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理 (sample)


def _after_service(app) -> object:
    app.start_session()
    app.offer_evaluation(MATTER, service="application", receipt_no=None)
    return app.screen("evaluate")


def _choose(app) -> None:
    app.start_session()
    app.show("evaluate")
    screen = app.screen("evaluate")
    screen._composer.set("居住证")
    screen._take()


def _low(app) -> None:
    screen = _after_service(app)
    screen.rate(2)
    screen._tags["efficiency"].checked = True
    screen._tags["attitude"].checked = True
    screen._comment = "等了四十分钟，窗口只开了一个"
    screen.build_body()


def _thanks(app) -> None:
    screen = _after_service(app)
    screen.score = 4
    screen.offline = True
    screen.step = "thanks"


EVALUATE_STATES: dict[str, Callable[[object], None]] = {
    "evaluate-choose": _choose,
    "evaluate-levels": _after_service,
    "evaluate-low": _low,
    "evaluate-thanks": _thanks,
}
"""State name -> how to reach it from the attract screen."""
