"""Search in a real window by tapping the on-screen keyboard's keys."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def key_centre(keyboard, label: str) -> tuple[float, float]:
    """Window coordinates of the key showing ``label`` on the VKeyboard."""
    layout = keyboard.available_layouts[keyboard.layout]
    for line in range(1, layout["rows"] + 1):
        for index, key in enumerate(layout[f"{keyboard.layout_mode}_{line}"]):
            if key[0] == label:
                (x, y), (width, height) = keyboard.layout_geometry[f"LINE_{line}"][index]
                # the keyboard is a Scatter: its own transform applies (initial=False)
                return keyboard.to_window(x + width / 2, y + height / 2, initial=False)
    raise KeyError(label)


def type_keys(kiosk, keyboard, labels) -> None:
    for label in labels:
        kiosk.tap_at(*key_centre(keyboard, label))


@pytest.fixture()
def search(kiosk):
    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    kiosk.tap(app.screen("home").ids.search)
    assert app.manager.current == "search"
    screen = app.screen("search")
    kiosk.pump(3)
    return screen


def test_initials_typed_on_the_keyboard_find_the_matter(kiosk, search):
    type_keys(kiosk, search.ids.keyboard, "jzz")
    assert search.pinyin == "jzz"
    names = [row["name"] for row in search.ids.results.data]
    assert names and names[0] == "居住证办理"
    assert search.candidates, "the candidate bar offers characters for the letters"

    # the first result opens the guide straight away
    kiosk.pump(2)
    view = next(v for v in search.ids.results.view_adapter.views.values()
                if v.name == "居住证办理")
    kiosk.tap(view)
    assert kiosk.app.manager.current == "guide"
    assert kiosk.app.screen("guide").ids.matter_name.text == "居住证办理"
    assert kiosk.app.services.session.search_text == "jzz"


def test_choosing_a_candidate_commits_characters(kiosk, search):
    type_keys(kiosk, search.ids.keyboard, "hukou")
    assert "户口" in search.candidates
    button = next(b for b in search.ids.candidate_bar.children if b.text == "户口")
    kiosk.tap(button)
    assert (search.text, search.pinyin) == ("户口", "")
    names = [row["name"] for row in search.ids.results.data]
    assert names and all("户口" in name for name in names[:5])


def test_backspace_clear_and_mode_keys(kiosk, search):
    keyboard = search.ids.keyboard
    type_keys(kiosk, keyboard, "sheb")
    kiosk.tap_at(*key_centre(keyboard, "删除"))
    assert search.pinyin == "she"
    kiosk.tap_at(*key_centre(keyboard, "中/EN"))
    assert not search.chinese_mode and search.text == "she" and search.pinyin == ""
    type_keys(kiosk, keyboard, "b")
    assert search.text == "sheb" and not search.candidates
    kiosk.tap_at(*key_centre(keyboard, "清空"))
    assert search.query == "" and search.ids.results.data == []


def test_no_match_says_what_to_do(kiosk, search):
    type_keys(kiosk, search.ids.keyboard, "qqqqqq")
    assert search.ids.results.data == []
    assert "呼叫工作人员" in search.ids.status.text
