"""Accessibility audit states of the life-event bundle screen (added to
:data:`screens.audit.STATES`).

Each state goes where a citizen would by the screen's own actions: the list of life events,
the second question of 搬家一件事 (a question reached after an answer, so Back leads to the
first), and its result. The result has the reference platform's sample guide of 居住证办理
cached as a sync would (:func:`screens.audit_apply.seed`), so it shows a combined materials
list beside matters whose guides are not on the kiosk.
"""

from __future__ import annotations

from collections.abc import Callable

MOVING_ANSWERS = ("从外地搬来", "暂时不迁", "有")
"""The answers of the result state: from elsewhere, household register not moved, children."""


def _open(app):
    app.start_session()
    app.show("bundle")
    return app.screen("bundle")


def _moving(app, answers: tuple[str, ...]) -> None:
    from screens.audit_apply import seed

    seed(app)
    screen = _open(app)
    screen.choose(next(s for s in screen.scenarios() if s.id == "moving"))
    for answer in answers:
        screen.answer(answer)


BUNDLE_STATES: dict[str, Callable[[object], None]] = {
    "bundle-list": _open,
    "bundle-question": lambda app: _moving(app, MOVING_ANSWERS[:1]),
    "bundle-result": lambda app: _moving(app, MOVING_ANSWERS),
}
"""State name -> how to reach it from the attract screen."""
