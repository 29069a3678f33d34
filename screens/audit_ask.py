"""Accessibility audit states of the ask screen (added to :data:`screens.audit.STATES`).

Each state types its question as a citizen would (the screen's own key handler) and presses
Ask: the empty screen with the keyboard, an answer from the sample FAQ without a guide on
the kiosk, an answer with the sample guide and form cached (facts and "Apply here"), the
other candidates, and a question with no answer (departments and call staff).
"""

from __future__ import annotations

from collections.abc import Callable


def _ask(app, question: str, *, others: bool = False) -> None:
    app.start_session()
    app.show("ask")
    screen = app.screen("ask")
    screen._composer.set(question)
    screen._take()
    if question:
        screen.ask()
    if others:
        screen.show_others()


def _answer_with_guide(app) -> None:
    from screens.audit_apply import seed

    seed(app)  # 居住证办理's record, sample guide and form, as a sync would cache them
    _ask(app, "居住证怎么办")


ASK_STATES: dict[str, Callable[[object], None]] = {
    "ask-empty": lambda app: _ask(app, ""),
    "ask-answer": lambda app: _ask(app, "驾照到期了"),
    "ask-answer-guide": _answer_with_guide,
    "ask-others": lambda app: _ask(app, "驾照到期了", others=True),
    "ask-nothing": lambda app: _ask(app, "天上下雨"),
}
"""State name -> how to reach it from the attract screen."""
