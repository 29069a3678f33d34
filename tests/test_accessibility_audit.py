"""The accessibility audit: every state passes it, and each check finds what it looks for.

The full audit runs both orientations in their own processes (an SDL window keeps the size
it was created with), at the same time on the two cores, exactly as ``kiosk audit`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.gui


@pytest.mark.timeout(3600)  # ~75 states x 6 modes x 2 orientations, two processes: ~25 min here
def test_every_state_passes_the_audit_in_every_mode(tmp_path: Path):
    from screens.audit import STATES
    from screens.audit_report import ORIENTATIONS, counts, run_orientations

    results = run_orientations(tmp_path, None, None)
    problems = []
    for orientation in ORIENTATIONS:
        modes = results[orientation]["modes"]
        assert {(m["language"], m["text_scale"]) for m in modes} == {
            (language, scale) for language in ("zh_CN", "en") for scale in (1.0, 1.4, 2.0)}
        for mode in modes:
            assert set(mode["states"]) == set(STATES)
            for state, found in mode["states"].items():
                problems += [f"{orientation} {mode['language']} x{mode['text_scale']} {state}: "
                             f"{f['kind']} {f['widget']} {f['detail']}" for f in found]
        assert sum(total for *_rest, total, _kinds in counts(results[orientation])) == \
            len([p for p in problems if p.startswith(orientation)])
    assert not problems, "\n".join(problems)


@pytest.fixture()
def probe(kiosk):
    """A dialog on top of the home screen to put deliberately bad widgets in."""
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.modalview import ModalView

    from screens.widgets import KButton

    kiosk.app.start_session()
    kiosk.pump(2)
    dialog = ModalView(size_hint=(0.9, 0.5), auto_dismiss=False)
    from kivy.graphics import Color, Rectangle

    box = BoxLayout(orientation="vertical", padding=20, spacing=10)
    with box.canvas.before:
        Color(1, 1, 1, 1)
        page = Rectangle(pos=box.pos, size=box.size)
    box.bind(pos=lambda w, pos: setattr(page, "pos", pos),
             size=lambda w, size: setattr(page, "size", size))
    box.add_widget(KButton(text="close", size_hint_y=None, height=90))
    dialog.add_widget(box)
    dialog.open(animation=False)
    kiosk.pump(2)
    yield box
    dialog.dismiss(animation=False)
    kiosk.pump(1)


def kinds_for(kiosk, widget) -> list[tuple[str, str]]:
    from screens.audit_checks import check_state

    kiosk.pump(3)
    return [(f.kind, f.detail) for f in check_state(kiosk.app)
            if widget is None or f.detail.find(getattr(widget, "text", "")[:10]) >= 0
            or f.kind in ("small_target", "unreachable")]


def test_the_audit_finds_text_that_needs_more_room(kiosk, probe):
    from kivy.uix.label import Label

    label = Label(text="办理居住证需要带什么材料 " * 6, font_size=40, size_hint_y=None,
                  height=60, color=(0, 0, 0, 1))
    label.bind(width=lambda w, width: setattr(w, "text_size", (width, None)))
    probe.add_widget(label)
    assert any(kind == "overflow" for kind, _d in kinds_for(kiosk, label))


def test_the_audit_finds_ellipsized_and_broken_words(kiosk, probe):
    from kivy.uix.label import Label

    cut = Label(text="What would you like to do today at this kiosk?", font_size=40,
                shorten=True, color=(0, 0, 0, 1), size_hint=(None, None), size=(300, 60),
                text_size=(300, 60))
    broken = Label(text="Administrative", font_size=40, color=(0, 0, 0, 1),
                   size_hint=(None, None), size=(160, 200), text_size=(160, None))
    probe.add_widget(cut)
    probe.add_widget(broken)
    found = kinds_for(kiosk, None)
    assert any(kind == "ellipsized" for kind, _d in found)
    assert any(kind == "broken_word" for kind, _d in found)


def test_the_audit_finds_low_contrast_from_the_pixels(kiosk, probe):
    from kivy.uix.label import Label

    pale = Label(text="浅灰色的字看不清", font_size=22, color=(0.72, 0.72, 0.72, 1))
    probe.add_widget(pale)
    found = kinds_for(kiosk, pale)
    assert any(kind == "contrast" for kind, _d in found), found


def test_the_audit_finds_small_targets_and_unreachable_actions(kiosk, probe):
    from screens.widgets import KButton

    probe.add_widget(KButton(text="x", size_hint=(None, None), size=(40, 40)))
    found = kinds_for(kiosk, None)
    assert any(kind == "small_target" and "40x40" in detail for kind, detail in found)

    from screens.audit_checks import reachability

    home = kiosk.app.screen("home")
    call = home.ids.action_bar.ids.call_staff
    call.opacity = 0
    try:
        missing = reachability(kiosk.app, home.parent, {})
        assert [f.widget for f in missing] == ["home/call_staff"]
    finally:
        call.opacity = 1
