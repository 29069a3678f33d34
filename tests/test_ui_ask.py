"""Ask a question in a real window: typed on the keyboard, answered with one card."""

from __future__ import annotations

import pytest

from tests.test_ui_search import key_centre, type_keys

pytestmark = pytest.mark.gui

TRACTOR_RENEW = "511A20039005-511602000000-000-115113016823646795-1-00"  # 拖拉机…驾驶证补换证


def named(screen, automation_id: str):
    """The widget of the answer area with that automation id (None when not shown)."""
    return next((w for w in [*screen.ids.body.children, *screen.ids.actions.children]
                 if getattr(w, "automation_id", "") == automation_id), None)


@pytest.fixture()
def ask(kiosk):
    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    kiosk.tap(app.screen("home").ids.ask)
    assert app.manager.current == "ask"
    kiosk.pump(3)
    return app.screen("ask")


def choose(kiosk, screen, word: str) -> None:
    button = next(b for b in screen.ids.candidate_bar.children if b.text == word)
    kiosk.tap(button)


def test_home_offers_ask_beside_search(kiosk):
    from kiosk.finding.offering import offered_services

    assert "ask" in offered_services()
    kiosk.app.start_session()
    kiosk.pump(2)
    home = kiosk.app.screen("home")
    assert home.ids.ask.title == "我要问"
    assert home.ids.search.title != home.ids.ask.title


def test_a_question_typed_in_pinyin_gets_the_faq_answer_card(kiosk, ask):
    type_keys(kiosk, ask.ids.keyboard, "jiashizheng")
    choose(kiosk, ask, "驾驶证")
    type_keys(kiosk, ask.ids.keyboard, "daoqi")
    choose(kiosk, ask, "到期")
    assert ask.question == "驾驶证到期"
    kiosk.tap(ask.ids.ask_submit)
    kiosk.pump(2)
    assert ask.mode == "answer" and ask.result.matter.item_code == TRACTOR_RENEW
    texts = [w.text for w in ask.ids.body.children]
    assert any(text.startswith("【示例】") for text in texts), "the FAQ text keeps its mark"
    assert ask.ids.typing_panel.parent is None, "the keyboard makes room for the card"
    assert named(ask, "answer_apply") is None, "no form on this kiosk: no Apply button"
    assert named(ask, "answer_guide") is not None
    for widget in ask.ids.actions.children:
        if hasattr(widget, "automation_id"):
            assert widget.height >= 48, widget.automation_id

    kiosk.tap(named(ask, "answer_other"))
    kiosk.pump(2)
    rows = [named(ask, f"candidate_{n}") for n in range(1, 6)]
    assert all(rows) and named(ask, "candidate_6") is None
    kiosk.tap(rows[0])
    kiosk.pump(2)
    assert ask.mode == "answer" and ask.result.matter.item_code != TRACTOR_RENEW
    assert TRACTOR_RENEW in {m.item_code for m in ask.result.candidates}

    kiosk.tap(named(ask, "answer_guide"))
    assert kiosk.app.manager.current == "guide"
    assert kiosk.app.screen("guide").ids.matter_name.text == ask.result.matter.name


def test_apply_here_only_with_the_form_and_it_starts_the_journey(kiosk, ask):
    from screens.audit_apply import JOURNEY_MATTER, seed

    seed(kiosk.app)  # record with its form id, sample guide and form, as a sync caches them
    ask._composer.set("居住证怎么办")
    ask._take()
    kiosk.tap(ask.ids.ask_submit)
    kiosk.pump(2)
    assert ask.result.matter.item_code == JOURNEY_MATTER
    assert ask.result.facts is not None and ask.result.can_apply
    texts = "\n".join(w.text for w in ask.ids.body.children)
    assert "需带材料" in texts and "办理时限" in texts and "本机办理：可以" in texts
    kiosk.tap(named(ask, "answer_apply"))
    kiosk.pump(2)
    assert kiosk.app.services.session.matter.item_code == JOURNEY_MATTER
    assert kiosk.app.manager.current != "ask"


def test_no_answer_names_departments_and_calls_staff(kiosk, ask):
    ask._composer.set("天上下雨")
    ask._take()
    kiosk.tap(ask.ids.ask_submit)
    kiosk.pump(2)
    assert ask.mode == "none"
    assert named(ask, "department_1") is not None
    kiosk.tap(named(ask, "ask_call_staff"))
    kiosk.pump(2)
    assert kiosk.app.staff_dialog is not None
    kiosk.app.end_staff_call("staff")


def test_tapping_the_question_brings_the_keyboard_back_and_english_works(kiosk, ask):
    ask._composer.set("驾照到期了")
    ask._take()
    kiosk.tap(ask.ids.ask_submit)
    kiosk.pump(2)
    kiosk.app.toggle_language("en")
    kiosk.pump(2)
    assert named(ask, "answer_guide").text.startswith("Office guide")
    assert "Sample answer" in "\n".join(w.text for w in ask.ids.body.children)
    kiosk.app.toggle_language("zh_CN")
    kiosk.tap(ask.ids.ask_input)
    kiosk.pump(2)
    assert ask.mode == "typing" and ask.ids.typing_panel.parent is not None
    kiosk.tap_at(*key_centre(ask.ids.keyboard, "清空"))
    assert ask.question == ""
    kiosk.tap(ask.ids.ask_submit)
    assert ask.mode == "typing", "an empty question is not asked"


def test_the_visit_ending_forgets_the_question(kiosk, ask):
    ask._composer.set("驾照到期了")
    ask._take()
    ask.ask()
    kiosk.app.end_session()
    kiosk.pump(2)
    assert ask.question == "" and ask.result is None and ask.mode == "typing"
