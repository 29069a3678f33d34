"""The apply journey on the real app, offline, with the emulated reader, camera and printer.

The shared offscreen kiosk has no platform: its catalogue is given the 居住证办理 matter,
guide and form as a sync would have cached them (the reference platform's sample
generators), and every test checks what reached the outbox, what the printer emulator
printed, and that nothing personal is left once the visit ends.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from kiosk.applying.applications import OutboxStorage
from offline_cache.outbox import State
from tests.driving import run
from tests.kiosk_files import JOURNEY_MATTER, seed_matter

REPO = Path(__file__).resolve().parent.parent
APPLY = REPO / "etc" / "journeys" / "apply.json"
RESIDENT_NUMBER = "110101199003078013"  # the emulator's "resident" card
RESIDENT_NAME = "测试甲"

pytestmark = pytest.mark.gui


@pytest.fixture()
def apply_kiosk(kiosk):
    """The shared kiosk with the journey's matter cached and its devices ready."""
    services = kiosk.app.services
    seed_matter(services)
    controls = services.devices.emulators
    controls.card_on("resident")
    controls.set_paper("ok")
    controls.show_scene("document")
    controls.tear_off()
    yield kiosk
    controls.reader_fault("clear")
    controls.set_paper("ok")
    controls.card_on("resident")
    controls.show_scene("document")




def outbox_records(services) -> list[tuple[object, dict]]:
    """Every application in the kiosk's outbox with its unsealed payload, newest last."""
    storage = OutboxStorage(services.config)
    try:
        rows = storage.outbox.listing(limit=1000)
        return sorted(((row, storage.outbox.payload(row.local_id)) for row in rows),
                      key=lambda pair: pair[0].created_at)
    finally:
        storage.close()


def personal_texts(kiosk) -> list[str]:
    """Every text in the widget tree of every screen and dialog that holds personal data."""
    from kivy.core.window import Window

    secrets = (RESIDENT_NUMBER, RESIDENT_NUMBER[-8:], RESIDENT_NAME, "13800138000",
               "19900307", "1990-03-07", "测试省测试市模拟路")
    found = []
    roots = [*kiosk.app.manager.screens, *Window.children]
    for root in roots:
        for widget in root.walk(restrict=False):
            for attribute in ("text", "value", "label", "hint", "badge", "status"):
                text = getattr(widget, attribute, None)
                if isinstance(text, str) and any(secret in text for secret in secrets):
                    found.append(f"{type(widget).__name__}.{attribute}")
    return found


def test_the_shipped_apply_journey_seals_prints_and_wipes(apply_kiosk, tmp_path: Path):
    services = apply_kiosk.app.services
    before = len(outbox_records(services))
    lines = run(apply_kiosk, json.loads(APPLY.read_text(encoding="utf-8"))["steps"], tmp_path)
    assert lines[-1].startswith("ok") and "wait_screen attract" in lines[-1]

    records = outbox_records(services)
    assert len(records) == before + 1
    row, payload = records[-1]
    assert row.state in (State.SEALED, State.RETRY_LATER) and row.item_code == JOURNEY_MATTER
    assert payload["applicant"]["id_number"] == RESIDENT_NUMBER
    assert payload["applicant"]["name"] == RESIDENT_NAME
    assert payload["form"]["phone"] == "13800138000" and payload["form"]["agree"] == "1"
    assert payload["delivery"]["method"] == "pickup"
    assert [a["name"] for a in payload["attachments"]] == ["【示例】居住证明（租房合同或房产证明）"]
    assert payload["attachments"][0]["content_type"] == "image/jpeg"

    controls = services.devices.emulators
    printed = "\n".join(controls.printed_lines())
    assert row.receipt_no in printed and "居住证办理" in printed
    assert "110***********8013" in printed and RESIDENT_NUMBER not in printed
    assert "19900307" not in printed and "1990-03-07" not in printed
    assert controls.printed_qr_payloads()[-1] == row.receipt_no

    # the visit ended with "Finish": nothing personal is left on any screen or in memory
    assert services.session.draft is None
    assert personal_texts(apply_kiosk) == []


def open_apply(steps_before: list[dict] | None = None) -> list[dict]:
    """Steps from the attract screen to the apply journey's first screen for 居住证办理."""
    return [*(steps_before or []), {"start": True}, {"tap": "search"}, {"type": "jzz"},
            {"tap_text": "居住证办理"}, {"wait_screen": "guide"}, {"tap": "guide_apply"}]


def test_typed_number_when_the_reader_fails(apply_kiosk, tmp_path: Path):
    app = apply_kiosk.app
    screen = app.screen("identify")
    run(apply_kiosk, [*open_apply([{"reader_fault": "sam_self_test_fail"}]),
                      {"wait_screen": "identify"},
                      {"expect_text": "读卡器暂时无法使用", "seconds": 15},
                      {"tap": "identify_manual"},
                      {"type": "110101199003078019"}], tmp_path, "typed-wrong")
    # the check character is refused as it is typed, in plain words, and blocks Continue
    assert screen.number_message == "最后一位校验码不符，请核对号码"
    assert not screen.can_continue
    run(apply_kiosk, [{"type": "\b3"}, {"expect_no_text": "校验码不符"}], tmp_path, "fix",
        fresh=False)
    assert screen.number_message == "" and screen.editing == "name"
    screen._name_changed("测试甲")  # pinyin candidates depend on the dictionary: set it
    run(apply_kiosk, [{"tap": "manual_continue"}, {"wait_screen": "form"}], tmp_path, "go",
        fresh=False)
    draft = app.services.session.draft
    assert draft.applicant.source == "manual" and draft.applicant.id_number == RESIDENT_NUMBER
    assert draft.sources["id_number"] == "citizen" and "birth_date" not in draft.values
    # typed in, the ID card itself is a material to photograph, front and back
    card = next(need for need in draft.materials if "身份证" in need.name)
    assert card.how == "photograph" and card.pages == 2
    app.end_session()
    assert app.services.session.draft is None and personal_texts(apply_kiosk) == []


def test_card_removed_mid_read_asks_to_place_it_again(apply_kiosk, tmp_path: Path):
    app = apply_kiosk.app
    run(apply_kiosk, [*open_apply([{"card_off": True}]), {"wait_screen": "identify"},
                      {"reader_fault": "removed_mid_read"}, {"card_on": "resident"},
                      {"expect_text": "请拿开证件，再重新放到读卡区", "seconds": 15},
                      {"card_off": True}, {"card_on": "resident"},
                      {"wait_screen": "form", "seconds": 15}], tmp_path)
    assert app.services.session.draft.applicant.source == "card"


def test_agent_applies_for_someone_else(apply_kiosk, tmp_path: Path):
    app = apply_kiosk.app
    services = app.services
    before = len(outbox_records(services))
    run(apply_kiosk, [
        *open_apply([{"card_off": True}]), {"wait_screen": "identify"},
        {"tap": "identify_for_other"}, {"card_on": "rare_name"},
        {"expect_text": "请代办人本人验证身份", "seconds": 15},
        {"card_off": True}, {"card_on": "resident"},
        {"wait_screen": "form", "seconds": 15},
        {"tap": "field_agent_phone"}, {"type": "13900139000"},
        {"tap": "field_phone"}, {"type": "13800138000"}, {"tap": "field_agree"},
        {"tap": "form_next"}, {"wait_screen": "materials"},
        {"tap": "material_1"}, {"wait_screen": "capture"},
        {"tap": "capture_use", "seconds": 30}, {"wait_screen": "materials"},
        {"tap": "material_2"}, {"wait_screen": "capture"},
        {"tap": "capture_use", "seconds": 30}, {"wait_screen": "review"},
        {"expect_text": "代办人：测试甲"},
        {"tap": "review_consent"}, {"tap": "review_submit"}, {"wait_screen": "done"},
        {"expect_printed": "代办人", "seconds": 30}, {"tap": "done_finish"},
    ], tmp_path)
    _row, payload = outbox_records(services)[-1]
    assert len(outbox_records(services)) == before + 1
    assert payload["applicant"]["name"] == "测试堃喆䶮𠮷"
    assert payload["applicant"]["agent"] == {"name": RESIDENT_NAME, "id_number": RESIDENT_NUMBER,
                                             "phone": "13900139000"}
    assert "授权委托书" in [a["name"] for a in payload["attachments"]]


def test_printer_out_of_paper_shows_the_qr_code_then_prints_again(apply_kiosk, tmp_path: Path):
    app = apply_kiosk.app
    steps = json.loads(APPLY.read_text(encoding="utf-8"))["steps"]
    cut = next(i for i, step in enumerate(steps) if "expect_printed" in step)
    steps = [{"paper": "out"} if step == {"paper": "ok"} else step for step in steps[:cut]]
    run(apply_kiosk, [*steps, {"expect_text": "打印机缺纸", "seconds": 20},
                      {"paper": "ok"}, {"tap": "done_print_again"},
                      {"expect_printed": "居住证办理", "seconds": 30}], tmp_path)
    done = app.screen("done")
    apply_kiosk.idle_until(lambda: done.print_state != "printing", what="printed", seconds=60)
    assert done.print_state == "printed", done.print_problem
    assert done.qr is not None
    receipt_no = done.receipt_no
    controls = app.services.devices.emulators
    assert controls.printed_qr_payloads()[-1] == receipt_no
    app.end_session()


def test_a_slip_still_printing_after_finish_says_nothing_to_the_next_citizen(apply_kiosk,
                                                                             tmp_path: Path):
    """Finish tapped while the slip prints: its outcome must not land on the next visit."""
    app = apply_kiosk.app
    steps = json.loads(APPLY.read_text(encoding="utf-8"))["steps"]
    cut = next(i for i, step in enumerate(steps) if "expect_printed" in step)
    done = app.screen("done")
    printer = app.services.devices._printer  # held, so the slip is still "printing" at Finish
    with printer.use():
        run(apply_kiosk, steps[:cut], tmp_path)
        assert done.print_state == "printing"
        app.end_session()
        assert done.print_state == ""
    apply_kiosk.idle_until(lambda: not [t for t in threading.enumerate()
                                        if t.name == "print-receipt"],
                           what="the slip printed", seconds=60)
    apply_kiosk.pump(3)
    assert (done.print_state, done.print_problem) == ("", "")


def test_timeout_in_the_middle_of_the_form_wipes_everything(apply_kiosk, tmp_path: Path):
    app = apply_kiosk.app
    services = app.services
    before = len(outbox_records(services))
    temporary = set(Path(services.config.storage.data_dir).rglob("*"))
    run(apply_kiosk, [*open_apply(), {"wait_screen": "form", "seconds": 15},
                      {"tap": "field_phone"}, {"type": "13800138000"}], tmp_path)
    assert services.session.draft.values["phone"] == "13800138000"
    app.idle._show_warning()  # what the idle trigger does when the timeout passes
    assert app.idle.warning is not None
    app.idle.expire()  # the countdown reached zero
    apply_kiosk.pump(3)
    assert app.manager.current == "attract"
    assert services.session.draft is None
    assert personal_texts(apply_kiosk) == []
    assert len(outbox_records(services)) == before
    # no photo or form left behind in the data folder either
    new_files = set(Path(services.config.storage.data_dir).rglob("*")) - temporary
    assert not [f for f in new_files if f.is_file() and f.suffix not in (".wav",)]


def test_the_electronic_id_code_needs_the_network(apply_kiosk, tmp_path: Path):
    run(apply_kiosk, [*open_apply([{"card_off": True}]), {"wait_screen": "identify"},
                      {"tap": "identify_ecode"},
                      {"expect_text": "电子身份证码需要联网核验"},
                      {"tap": "ecode_back"}, {"expect_text": "请将身份证放在读卡区"}], tmp_path)


def test_next_is_tappable_when_no_field_is_being_typed(apply_kiosk, tmp_path: Path):
    """The hidden keyboard pad takes no room and catches no touch meant for the form."""
    app = apply_kiosk.app
    run(apply_kiosk, [*open_apply(), {"wait_screen": "form", "seconds": 15}], tmp_path)
    draft = app.services.session.draft
    draft.set_value("phone", "13800138000")
    draft.set_value("agree", "1")
    form = app.screen("form")
    form.on_pre_enter()
    apply_kiosk.pump(2)
    pad = form.ids.pad
    assert not pad.shown and pad.height == 0 and pad.ids.candidates_view.height == 0
    apply_kiosk.tap(form.ids.form_next)
    assert app.manager.current == "materials"
