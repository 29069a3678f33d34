"""Life-event bundles in a real window: questions one at a time, the matters and one list of
documents, the checklist printed on the emulated receipt printer, a printer out of paper."""

from __future__ import annotations

import pytest

from tests.driving import run as drive_steps
from tests.kiosk_files import JOURNEY_MATTER, seed_matter

pytestmark = pytest.mark.gui

MOVING_ANSWERS = ("从外地搬来", "暂时不迁", "有")  # choices 2, 2, 1 of 搬家一件事


def named(screen, automation_id: str):
    """The widget of the page with that automation id (None when not shown)."""
    return next((w for box in (screen.ids.body, screen.ids.side, screen.ids.actions)
                 for w in box.walk(restrict=True)
                 if getattr(w, "automation_id", "") == automation_id), None)


def cache_id_card_guides(services, codes: list[str]) -> None:
    """Sample guides naming the ID card as different offices do, for all but the first."""
    from reference_platform.samples import guide

    for number, code in enumerate(codes[1:3], start=1):
        matter = services.catalog.matter(code)
        body = guide({"item_code": code, "name": matter.name,
                      "department": matter.department}, 1)
        body["materials"] = [
            {"name": ("【示例】身份证复印件", "【示例】居民身份证")[number % 2],
             "copies": 1 + number, "original": False, "note": ""},
            {"name": "【示例】户口本", "copies": 1, "original": True, "note": ""}]
        services.catalog.store_document("guide", code, body, 1)


@pytest.fixture()
def bundle(kiosk):
    services = kiosk.app.services
    seed_matter(services)  # 居住证办理: the sample guide (申请人居民身份证...) and its form
    controls = services.devices.emulators
    controls.set_paper("ok")
    controls.tear_off()
    kiosk.app.start_session()
    kiosk.pump(2)
    kiosk.tap(kiosk.app.screen("home").ids.bundle)
    assert kiosk.app.manager.current == "bundle"
    kiosk.pump(2)
    yield kiosk.app.screen("bundle")
    controls.set_paper("ok")


def answer_moving(kiosk, screen) -> None:
    kiosk.tap(named(screen, "scenario_moving"))
    for answer in MOVING_ANSWERS:
        assert screen.mode == "question"
        button = next(w for w in screen.ids.body.children
                      if getattr(w, "automation_id", "").startswith("choice_")
                      and w.text == answer)
        kiosk.tap(button)
    assert screen.mode == "result"


def test_answers_give_the_matters_and_one_list_without_repeats(kiosk, bundle):

    scenario = next(s for s in bundle.scenarios() if s.id == "moving")
    codes = scenario.item_codes_for(dict(zip(("from", "hukou", "kids"), MOVING_ANSWERS,
                                             strict=True)))
    assert codes[0] == JOURNEY_MATTER
    cache_id_card_guides(kiosk.app.services, codes)
    answer_moving(kiosk, bundle)

    assert [m.item_code for m in bundle.bundle.matters] == codes
    for number in range(1, len(codes) + 1):
        row = named(bundle, f"bundle_matter_{number}")
        assert row is not None and row.height >= 72
        assert ("材料：请查看" in row.text) == (number > 3), "no guide: says so, not dropped"
    assert named(bundle, f"bundle_matter_{len(codes) + 1}") is None
    keys = [m.key for m in bundle.bundle.materials]
    assert len(keys) == len(set(keys))
    lines = bundle.material_lines()
    id_lines = [line for line in lines if "身份证" in line]
    assert len(id_lines) == 1, lines
    assert "×3" in id_lines[0] and "用于事项 1、2、3" in id_lines[0]
    shown = "\n".join(w.text for w in bundle.ids.body.children)
    assert "【示例】" in shown and "示例内容" in shown

    kiosk.tap(named(bundle, "bundle_matter_2"))
    assert kiosk.app.manager.current == "guide"
    assert kiosk.app.services.session.matter.item_code == codes[1]
    kiosk.app.back()
    kiosk.pump(2)
    assert kiosk.app.manager.current == "bundle" and bundle.mode == "result"


def test_back_goes_one_question_at_a_time_and_keeps_the_answer(kiosk, bundle):
    kiosk.tap(named(bundle, "scenario_moving"))
    assert named(bundle, "question_back") is not None
    kiosk.tap(named(bundle, "choice_2"))
    assert bundle.step == 1
    kiosk.tap(named(bundle, "question_back"))
    assert bundle.mode == "question" and bundle.step == 0
    chosen = named(bundle, "choice_2")
    assert chosen.text == "从外地搬来" and tuple(chosen.bg_color) != tuple(
        named(bundle, "choice_1").bg_color), "the answer given is shown"
    kiosk.tap(named(bundle, "question_back"))
    assert bundle.mode == "list" and named(bundle, "scenario_baby") is not None


def test_the_checklist_prints_on_the_receipt_printer(kiosk, bundle):
    answer_moving(kiosk, bundle)
    controls = kiosk.app.services.devices.emulators
    kiosk.tap(named(bundle, "bundle_print"))
    kiosk.idle_until(lambda: bundle.print_state != "printing", what="printed", seconds=60)
    assert bundle.print_state == "printed", bundle.print_message
    assert "清单已打印" in bundle.ids.print_status.text
    printed = "\n".join(controls.printed_lines())
    assert "一件事办理清单" in printed and "搬家一件事" in printed
    assert "1. 居住证办理" in printed
    for item in bundle.bundle.matters:
        assert item.matter.name[:8] in printed
    assert "需带材料" in printed and "请查看其办事指南" in printed
    assert "测试甲" not in printed, "nothing personal on the checklist"


def test_out_of_paper_says_so_and_keeps_the_list(kiosk, bundle):
    answer_moving(kiosk, bundle)
    controls = kiosk.app.services.devices.emulators
    controls.set_paper("out")
    kiosk.tap(named(bundle, "bundle_print"))
    kiosk.idle_until(lambda: bundle.print_state != "printing", what="refused", seconds=60)
    assert bundle.print_state == "failed"
    assert "打印机缺纸" in bundle.print_message and "拍照" in bundle.print_message
    assert bundle.mode == "result" and bundle.material_lines()
    assert named(bundle, "bundle_matter_1") is not None
    assert not any("一件事办理清单" in line for line in controls.printed_lines())
    controls.set_paper("ok")
    kiosk.tap(named(bundle, "bundle_print"))
    kiosk.idle_until(lambda: bundle.print_state != "printing", what="printed", seconds=60)
    assert bundle.print_state == "printed"
    assert any("一件事办理清单" in line for line in controls.printed_lines())


def test_english_and_the_visit_ending_forgets_everything(kiosk, bundle):
    answer_moving(kiosk, bundle)
    kiosk.app.toggle_language("en")
    kiosk.pump(2)
    assert named(bundle, "bundle_print").text == "Print checklist"
    assert any("for services 1" in line for line in bundle.material_lines())
    kiosk.app.end_session()
    kiosk.pump(2)
    assert bundle.mode == "list" and bundle.bundle is None and bundle.answers == {}
    assert bundle.scenario is None and bundle.print_message == ""


def run(kiosk, steps: list[dict], tmp_path, name: str) -> None:
    """Drive ``steps`` on from where the visit is (the journey scripts' own driver)."""
    drive_steps(kiosk, steps, tmp_path, name, fresh=False)


def test_apply_for_all_reads_the_card_once_and_offers_the_next(kiosk, bundle, tmp_path):
    from reference_platform.matters import form_id_of
    from reference_platform.samples import needs_face_presence

    services = kiosk.app.services
    session = services.session
    scenario = next(s for s in bundle.scenarios() if s.id == "moving")
    codes = scenario.item_codes_for(dict(zip(("from", "hukou", "kids"), MOVING_ANSWERS,
                                             strict=True)))
    second = next(c for c in codes[1:] if form_id_of(c) and not needs_face_presence(c))
    seed_matter(services, second)
    guide = services.catalog.guide(second)
    assert guide is not None
    # the card stands for the ID card and the form is filled here: nothing to photograph
    services.catalog.store_document("guide", second, {
        "item_code": second, "materials": [
            {"name": "【示例】申请人居民身份证", "copies": 1, "original": True},
            {"name": "【示例】申请表", "copies": 1, "original": False}]}, 2)
    second_name = services.catalog.matter(second).name
    controls = services.devices.emulators
    controls.card_on("resident")
    controls.show_scene("document")
    answer_moving(kiosk, bundle)
    apply_all = named(bundle, "bundle_apply_all")
    assert apply_all is not None and "2" in apply_all.text

    kiosk.tap(apply_all)
    run(kiosk, [
        {"wait_screen": "form", "seconds": 20},
        {"tap": "field_phone"}, {"type": "13800138000"}, {"tap": "field_agree"},
        {"tap": "form_next"}, {"wait_screen": "materials"},
        {"tap": "material_1"}, {"wait_screen": "capture"},
        {"tap": "capture_use", "seconds": 30}, {"wait_screen": "review", "seconds": 10},
        {"tap": "review_consent"}, {"tap": "review_submit"},
        {"wait_screen": "done", "seconds": 15},
        {"expect_printed": "居住证办理", "seconds": 30},
        {"expect_text": f"下一项：{second_name}（第 2 项，共 2 项）", "seconds": 15},
    ], tmp_path, "first")
    assert session.bundle_applicant is not None, "kept for the next matter"
    controls.card_off()  # the card is not read again: the identity of the first is used
    run(kiosk, [{"tap": "done_next"}, {"wait_screen": "form", "seconds": 20}], tmp_path, "next")
    assert kiosk.app.screen("identify") is not kiosk.app.manager.current_screen
    draft = session.draft
    assert draft.matter.item_code == second
    assert draft.applicant is session.bundle_applicant and draft.applicant.source == "card"
    run(kiosk, [
        {"tap": "field_phone"}, {"type": "13800138000"}, {"tap": "field_agree"},
        {"tap": "form_next"}, {"wait_screen": "review", "seconds": 10},
        {"tap": "review_consent"}, {"tap": "review_submit"},
        {"wait_screen": "done", "seconds": 15},
        {"expect_printed": second_name[:8], "seconds": 30},
        {"expect_no_text": "下一项"},
        {"tap": "done_finish"}, {"wait_screen": "attract"},
    ], tmp_path, "second")
    assert session.bundle_applicant is None and session.bundle_queue == []
    controls.card_on("resident")


def test_a_matter_chosen_on_its_own_never_reuses_the_kept_identity(kiosk, bundle):
    from screens.audit_apply import SAMPLE_PERSON

    session = kiosk.app.services.session
    matter = kiosk.app.services.catalog.matter(JOURNEY_MATTER)
    session.start_bundle([matter, matter])
    session.bundle_applicant = SAMPLE_PERSON
    kiosk.app.services.devices.emulators.card_off()
    kiosk.app.flow.start(matter)  # the guide's Apply, not "Next"
    kiosk.pump(3)
    assert kiosk.app.manager.current == "identify"
    assert session.bundle_applicant is None and session.draft.applicant is None
    kiosk.app.services.devices.emulators.card_on("resident")


def test_a_guide_fetched_while_the_list_is_shown_joins_the_list(kiosk, bundle):
    from reference_platform.samples import guide

    answer_moving(kiosk, bundle)
    missing = bundle.bundle.without_guide[-1]
    number = bundle.bundle.number_of(missing.item_code)
    matter = missing.matter
    body = guide({"item_code": matter.item_code, "name": matter.name,
                  "department": matter.department}, 1)
    body["materials"] = [{"name": "【示例】学籍证明（测试）", "copies": 1, "original": True}]
    from screens.guide_fetch import GuideFetcher

    # what the fetch thread hands back via Clock: stored, then the screen is told
    GuideFetcher(kiosk.app.services, bundle._fetched)._arrived(matter.item_code, body)
    kiosk.pump(2)
    assert missing.item_code not in {m.item_code for m in bundle.bundle.without_guide}
    assert "材料：请查看" not in named(bundle, f"bundle_matter_{number}").text
    assert any("学籍证明" in line and f"用于事项 {number}" in line
               for line in bundle.material_lines())
