"""Evaluation (好差评) in a real window: after an application's done screen, from the home
tile, skipped with one tap, a low rating with indicators and words, offline, and nothing of
it left on screen once the visit ends.

The shared test kiosk has no platform, so every rating here is made offline: it must be in
the kiosk's queue, sealed, with the thank-you saying it will be sent when the network is
back (tests/test_evaluations.py sends such a rating to a real platform process)."""

from __future__ import annotations

import pytest

from offline_cache.evaluations import EvalState, EvaluationQueue
from tests.driving import run

pytestmark = pytest.mark.gui

JOURNEY = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理




def queue_of(kiosk) -> EvaluationQueue:
    storage = kiosk.app.services.applications().storage
    return EvaluationQueue(storage.conn, storage.master_key)


def queued_ids(kiosk) -> set[str]:
    queue = queue_of(kiosk)
    return {r.eval_id for r in queue.listing(tuple(EvalState), limit=10_000)}


APPLY = [
    {"card_on": "resident"}, {"paper": "ok"}, {"show": "document"}, {"start": True},
    {"wait_screen": "home"}, {"tap": "search"}, {"wait_screen": "search"}, {"type": "jzz"},
    {"tap_text": "居住证办理"}, {"wait_screen": "guide"}, {"tap": "guide_apply"},
    {"wait_screen": "form", "seconds": 20}, {"tap": "field_phone"}, {"type": "13800138000"},
    {"tap": "field_agree"}, {"tap": "form_next"}, {"wait_screen": "materials"},
    {"tap": "material_1"}, {"wait_screen": "capture"}, {"tap": "capture_use", "seconds": 30},
    {"wait_screen": "review", "seconds": 10}, {"tap": "review_consent"},
    {"tap": "review_submit"}, {"wait_screen": "done", "seconds": 15},
    {"expect_printed": "居住证办理", "seconds": 30},
]
FROM_HOME = [{"start": True}, {"wait_screen": "home"}, {"tap": "evaluate"},
             {"wait_screen": "evaluate"}, {"expect_text": "您要评价哪项服务？"},
             {"type": "jzz"}, {"tap_text": "居住证办理"},
             {"expect_text": "您对本次服务满意吗？"}]


def test_rate_after_an_application_offline(kiosk, tmp_path):
    from tests.kiosk_files import seed_matter

    seed_matter(kiosk.app.services)
    before = queued_ids(kiosk)
    run(kiosk, [*APPLY, {"tap": "done_rate"}, {"wait_screen": "evaluate"},
                {"expect_text": "您对本次服务满意吗？"}, {"expect_text": "居住证办理"},
                {"expect_no_text": "测试"},  # no name of the card's holder anywhere
                {"tap": "rate_5"}, {"expect_text": "感谢您的评价"},
                {"expect_text": "网络恢复后将自动发送到平台"}], tmp_path)
    receipt_no = kiosk.app.screen("done").receipt_no
    assert receipt_no
    new = queued_ids(kiosk) - before
    assert len(new) == 1
    queue = queue_of(kiosk)
    (eval_id,) = new
    assert queue.get(eval_id).state is EvalState.QUEUED
    assert queue.body(eval_id) == {"item_code": JOURNEY, "score": 5, "tags": [],
                                   "receipt_no": receipt_no}
    run(kiosk, [{"tap": "rate_finish"}, {"wait_screen": "attract"}], tmp_path, "end",
        fresh=False)


def test_skip_is_one_tap_and_keeps_nothing(kiosk, tmp_path):
    from tests.kiosk_files import seed_matter

    seed_matter(kiosk.app.services)
    before = queued_ids(kiosk)
    run(kiosk, [*FROM_HOME, {"tap": "rate_skip"}, {"wait_screen": "home"}], tmp_path)
    # after an application the citizen comes back to the done screen, its buttons intact
    run(kiosk, [*APPLY, {"tap": "done_rate"}, {"wait_screen": "evaluate"},
                {"tap": "rate_2"}, {"expect_text": "哪些方面不满意？（可不选）"},
                {"tap": "rate_skip"}, {"wait_screen": "done"},
                {"expect_text": "回执编号"}], tmp_path, "after")
    done = kiosk.app.screen("done")
    assert done.ids.done_rate.opacity == 1 and done.ids.done_finish.opacity == 1
    assert queued_ids(kiosk) == before


def test_five_large_levels_none_chosen_and_no_identity(kiosk, tmp_path):
    from tests.kiosk_files import seed_matter

    seed_matter(kiosk.app.services)
    run(kiosk, FROM_HOME, tmp_path)
    screen = kiosk.app.screen("evaluate")
    buttons = {w.automation_id: w for w in screen.walk(restrict=True)
               if getattr(w, "automation_id", "").startswith("rate_")}
    assert {f"rate_{n}" for n in range(1, 6)} | {"rate_skip"} <= set(buttons)
    assert [buttons[f"rate_{n}"].text for n in (5, 4, 3, 2, 1)] == \
        ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert all(buttons[f"rate_{n}"].height >= 96 for n in range(1, 6))
    assert screen.score == 0 and screen.step == "rate"  # nothing pre-selected
    kiosk.app.toggle_language("en")
    kiosk.pump(2)
    assert "Very satisfied" in [w.text for w in screen.walk(restrict=True)
                                if isinstance(getattr(w, "text", None), str)]


def test_a_low_rating_with_indicators_and_words_is_queued_sealed(kiosk, tmp_path):
    from tests.kiosk_files import seed_matter

    seed_matter(kiosk.app.services)
    before = queued_ids(kiosk)
    run(kiosk, [*FROM_HOME, {"tap": "rate_1"}, {"expect_text": "办事效率"},
                {"expect_text": "服务态度"}, {"tap": "rate_tag_efficiency"},
                {"tap": "rate_tag_attitude"}, {"tap": "rate_comment"}, {"type": "man "}],
        tmp_path)
    screen = kiosk.app.screen("evaluate")
    typed = screen._comment
    assert typed and not typed.isascii()
    run(kiosk, [{"tap": "rate_send"}, {"expect_text": "感谢您的评价"},
                {"expect_no_text": typed}], tmp_path, "send", fresh=False)
    (eval_id,) = queued_ids(kiosk) - before
    body = queue_of(kiosk).body(eval_id)
    assert body == {"item_code": JOURNEY, "score": 1, "tags": ["efficiency", "attitude"],
                    "comment": typed}
    assert screen._comment == "" and not any(r.checked for r in screen._tags.values())


def test_the_visit_end_forgets_an_unsent_rating(kiosk, tmp_path):
    from tests.kiosk_files import seed_matter

    seed_matter(kiosk.app.services)
    before = queued_ids(kiosk)
    run(kiosk, [*FROM_HOME, {"tap": "rate_2"}, {"tap": "rate_tag_overall"},
                {"tap": "rate_comment"}, {"type": "man "}], tmp_path)
    screen = kiosk.app.screen("evaluate")
    assert screen._comment and screen._tags["overall"].checked
    kiosk.app.end_session()
    kiosk.pump(2)
    assert (screen._comment, screen.text, screen.pinyin, screen.item_code,
            screen.matter_name, screen.receipt_no, screen.score) == ("", "", "", "", "", "", 0)
    assert not any(r.checked for r in screen._tags.values())
    assert queued_ids(kiosk) == before
    # the next citizen's home tile asks which service, nothing of the last one on screen
    run(kiosk, [{"start": True}, {"tap": "evaluate"}, {"wait_screen": "evaluate"},
                {"expect_text": "您要评价哪项服务？"}, {"expect_no_text": "居住证办理"}],
        tmp_path, "next")
