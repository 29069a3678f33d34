"""Policy matching in a real window: ticks, the card on the emulated reader, the guide, and
nothing personal left once the visit ends."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.finding.policy_match import TAGS, age_on
from tests.driving import run

pytestmark = pytest.mark.gui

LOCAL_NUMBER = "511602198511110029"  # the emulator's "rare_name" card: Guang'an, woman
LOCAL_BIRTH = "19851111"
LOCAL_NAME = "测试堃喆"




@pytest.fixture()
def reader(kiosk):
    """The emulated reader, empty until a step puts a card on it; the default card after."""
    controls = kiosk.app.services.devices.emulators
    controls.card_off()
    yield controls
    controls.reader_fault("clear")
    controls.card_on("resident")


def texts_of(root) -> list[str]:
    return [w.text for w in root.walk(restrict=True) if isinstance(getattr(w, "text", None), str)]


OPEN = [{"start": True}, {"tap": "policies"}, {"wait_screen": "policies"}]


def test_ticking_a_situation_shows_its_policies_with_reasons(kiosk, reader, tmp_path):
    run(kiosk, [*OPEN, {"expect_text": "请刷身份证并勾选您的情况"}, {"tap": "tag_graduate"},
                {"expect_text": "【示例】高校毕业生社保补贴"},
                {"expect_text": "高校毕业生：符合"},
                {"expect_text": "年龄 18-35 岁：尚不清楚，请刷身份证核对"},
                {"expect_text": "演示用的示例政策"}], tmp_path)
    screen = kiosk.app.screen("policies")
    assert screen.tags == {"graduate"}
    first = screen.result.shown[0].policy.id
    assert first in {"graduate-social-insurance", "startup-subsidy", "graduate-internship"}
    for tag in TAGS:  # every situation is a large target with its own id
        row = screen._rows[tag]
        assert row.automation_id == f"tag_{tag}" and row.height >= 96
    assert screen.ids.policy_read_card.height >= 96


def test_the_card_read_on_the_reader_gives_age_gender_and_area_only(kiosk, reader, tmp_path):
    app = kiosk.app
    run(kiosk, [*OPEN, {"tap": "tag_unemployed"}, {"tap": "policy_read_card"},
                {"wait_screen": "identify"}, {"expect_text": "核对年龄和地区；信息不会保存"}],
        tmp_path, "open")
    identify = app.screen("identify")
    assert identify.role == "profile"
    assert identify.ids.identify_for_other.opacity == 0, "no 'for someone else' here"
    age = age_on(LOCAL_BIRTH, dt.date.today())
    run(kiosk, [{"card_on": "rare_name"}, {"wait_screen": "policies", "seconds": 15},
                {"expect_text": f"身份证信息：{age} 岁，女，广安区"},
                {"expect_text": "符合您条件的政策"}], tmp_path, "card", fresh=False)
    screen = app.screen("policies")
    assert screen.card_read and screen.tags == {"unemployed"}, "the ticks survive the card"
    assert app.history[-1] == "home", "back from policies goes home, not to identify"
    full = {m.policy.id for m in screen.result.full}
    assert {"unemployment-benefit", "maternity-allowance"} <= full
    shown = "\n".join(texts_of(screen))
    for secret in (LOCAL_NUMBER, LOCAL_NUMBER[-8:], LOCAL_BIRTH, "1985", LOCAL_NAME):
        assert secret not in shown
    assert "另有" in shown and "未列出" in shown, "ruled-out policies are counted"

    # the card's facts can be taken back; the ticks stay
    run(kiosk, [{"tap": "policy_forget_card"}, {"expect_text": "尚未刷身份证"}], tmp_path,
        "forget", fresh=False)
    assert not screen.card_read and screen.tags == {"unemployed"}


def test_a_result_opens_its_matters_guide(kiosk, reader, tmp_path):
    app = kiosk.app
    run(kiosk, [*OPEN, {"tap": "tag_unemployed"},
                {"tap": "policy_guide_unemployment-benefit"}, {"wait_screen": "guide"}],
        tmp_path)
    policy = next(p for p in app.screen("policies").knowledge().policies()
                  if p.id == "unemployment-benefit")
    matter = app.services.catalog.matter(policy.item_code)
    assert app.services.session.matter.item_code == policy.item_code
    assert app.screen("guide").ids.matter_name.text == matter.name
    run(kiosk, [{"tap": "back"}, {"wait_screen": "policies"}], tmp_path, "back", fresh=False)
    assert app.screen("policies").tags == {"unemployed"}, "the visit's ticks are kept"


def test_english_words_and_the_ending_visit_forgets_everything(kiosk, reader, tmp_path):
    from screens.audit_policies import LOCAL_PERSON

    app = kiosk.app
    run(kiosk, [*OPEN, {"tap": "tag_disabled"}], tmp_path)
    screen = app.screen("policies")
    screen.identified(LOCAL_PERSON)
    kiosk.pump(2)
    app.toggle_language("en")
    kiosk.pump(2)
    shown = "\n".join(texts_of(screen))
    assert "woman, Guang'an District" in shown and "Living with a disability: met" in shown
    assert "Area: Guang'an City: met" in shown
    app.toggle_language("zh_CN")

    app.end_session()
    kiosk.pump(2)
    shown = "\n".join(texts_of(screen.ids.layout))  # the screen, not the hall's name
    assert not screen.card_read and screen.tags == frozenset()
    assert not any(row.checked for row in screen._rows.values())
    assert "尚未刷身份证" in screen.profile_text
    for fact in ("岁，女", "身份证信息：", "符合全部条件", "残疾人：符合"):
        assert fact not in shown, fact
    assert "广安区" not in "\n".join(texts_of(screen.ids.profile_box))
    assert all(m.status == "maybe" for m in screen.result.shown)
