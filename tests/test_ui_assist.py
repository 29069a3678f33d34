"""What elderly and first-time citizens depend on, in the real app in an offscreen window:
a staff call that waits, a clean reset between visits, read aloud, the long catalogue,
and the keyboard in the citizen's language."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kiosk.assistance.speech import Speaker
from kiosk.config import SpeechSection

pytestmark = pytest.mark.gui


def dialogs(app) -> list:
    from kivy.uix.modalview import ModalView

    return [w for w in app.root_window.children if isinstance(w, ModalView)]


def test_staff_call_waits_without_timing_out_and_staff_end_it(kiosk):
    from screens.staff_call import StaffCallDialog

    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    kiosk.tap(app.screen("home").ids.action_bar.ids.call_staff)
    [dialog] = dialogs(app)
    assert isinstance(dialog, StaffCallDialog)
    assert app.services.staff_call.active
    assert app.services.staff_call.device_state() == "calling"
    assert not app.idle.armed, "the idle timeout must not wipe a citizen told to wait"
    app.idle._show_warning()  # what the idle trigger would do: nothing while waiting
    assert app.idle.warning is None
    message = dialog.ids.message.text
    assert "提示音" in message and "不会因超时而结束" in message
    assert "值班台" not in message, "no paging hook is configured: do not promise one"
    kiosk.tap(app.screen("home").ids.action_bar.ids.call_staff)  # covered: nothing new
    assert len(dialogs(app)) == 1
    kiosk.tap(dialog.ids.staff_arrived)
    assert not dialogs(app) and not app.services.staff_call.active
    assert app.idle.armed and app.services.session.active, "the visit goes on with staff"


def test_staff_call_says_the_hall_was_told_only_when_a_hook_is_configured(kiosk):
    from screens.staff_call import StaffCallDialog

    dialog = StaffCallDialog(paging=True, repeat_seconds=0)
    assert "已同时通知大厅值班台" in dialog.message()
    assert "值班台" not in StaffCallDialog(paging=False, repeat_seconds=0).message()
    dialog.dismiss(animation=False)


def test_staff_call_chime_repeats_while_waiting(kiosk, monkeypatch):
    from screens.staff_call import StaffCallDialog

    played: list[str] = []
    monkeypatch.setattr(kiosk.app, "play", played.append)
    dialog = StaffCallDialog(paging=False, repeat_seconds=10)
    dialog.open(animation=False)
    kiosk.pump(1)
    assert dialog._chime is not None and dialog._chime.is_triggered
    dialog._repeat_chime(10)
    dialog.dismiss(animation=False)
    kiosk.pump(1)
    assert played == ["call_staff"]
    assert not dialog._chime.is_triggered, "the chime stops with the call"


def test_a_visit_ends_with_nothing_left_on_any_screen(kiosk):
    """Notices closed, language and text size back, no text of the visit in any widget."""
    from kivy.uix.label import Label

    app = kiosk.app
    catalog = app.services.catalog
    app.toggle_language("en")
    kiosk.pump(1)
    app.start_session()
    app.toggle_large_text()
    app.show("search")
    search = app.screen("search")
    for letter in "juzhu":
        search.on_key(letter, letter)
    matter = next(m for m in catalog.matters() if "居住证" in m.name)
    app.open_matter(matter)
    kiosk.pump(2)
    app.call_staff()
    kiosk.pump(2)
    assert dialogs(app)
    assert app.screen("guide").ids.matter_name.text == matter.name

    app.end_session()
    kiosk.pump(3)
    assert not dialogs(app), "a notice left open blocks 'touch to start'"
    assert app.language == "zh_CN" == app.services.config.kiosk.language
    assert app.text_scale == 1.0 and not app.large_text
    assert not app.services.staff_call.active
    assert app.manager.current == "attract"
    leftovers = []
    for screen in app.manager.screens:
        for widget in screen.walk():
            text = getattr(widget, "text", "")
            # the catalogue's own rows are not the visit's: they list every matter, the
            # most used first (counts read once a day, tests/test_browse.py)
            if isinstance(widget, Label) and ("juzhu" in text or matter.name in text) and \
                    screen.name != "catalogue":
                leftovers.append((screen.name, text))
        for view in (w for w in screen.walk() if hasattr(w, "data")):
            assert not any("居住证" in str(row.get("name", "")) for row in view.data
                           if screen.name == "search"), "search results survive the visit"
    assert not leftovers
    window = app.root_window
    kiosk.tap_at(window.width / 2, window.height / 2)
    assert app.manager.current == "home", "touch to start works at once for the next citizen"


def recording_speaker(tmp_path: Path) -> tuple[Speaker, Path]:
    """A speaker whose engine writes what it was asked to say to a file."""
    record = tmp_path / "spoken.txt"
    engine = tmp_path / "engine"
    engine.write_text(f"#!/bin/sh\ncat >> {record}\necho >> {record}\n", encoding="utf-8")
    engine.chmod(engine.stat().st_mode | stat.S_IEXEC)
    return Speaker(SpeechSection(enabled=True), engine=str(engine)), record


def test_read_aloud_speaks_the_screen_and_the_open_dialog(kiosk, tmp_path):
    app = kiosk.app
    speaker, record = recording_speaker(tmp_path)
    saved, app.services.speaker = app.services.speaker, speaker
    try:
        app.start_session()
        app.show("catalogue")
        kiosk.pump(2)
        kiosk.tap(app.screen("catalogue").ids.action_bar.ids.read_aloud)
        assert speaker.wait(5)
        assert "办事指南" in record.read_text(encoding="utf-8")
        app.idle._show_warning()
        kiosk.pump(2)
        assert speaker.wait(5)
        assert "您还需要更多时间吗" in record.read_text(encoding="utf-8") or \
            "更多时间" in record.read_text(encoding="utf-8")
    finally:
        app.services.speaker = saved
        speaker.close()


def test_read_aloud_is_left_out_without_a_speech_engine(kiosk):
    from screens.widgets import NavBar

    app = kiosk.app
    app.speech_available = False
    try:
        bar = NavBar()
        kiosk.pump(2)
        assert bar.ids.read_aloud not in bar.children
        assert bar.ids.call_staff in bar.children
    finally:
        app.speech_available = True


def test_the_keyboard_speaks_the_citizens_language(kiosk):
    app = kiosk.app
    app.start_session()
    app.show("search")
    kiosk.pump(3)
    keyboard = app.screen("search").ids.keyboard

    def key_faces() -> set[str]:
        layout = keyboard.available_layouts[keyboard.layout]
        return {key[0] for row in range(1, 5) for key in layout[f"normal_{row}"]}

    assert {"删除", "清空", "空格"} <= key_faces()
    app.toggle_language("en")
    kiosk.pump(3)
    assert {"Delete", "Clear", "Space"} <= key_faces()
    assert not {"删除", "清空", "空格"} & key_faces()
    app.screen("search").on_key("backspace", None)  # the key still does what it did


def test_the_long_catalogue_pages_and_says_where_it_is(kiosk):
    app = kiosk.app
    app.start_session()
    app.show("catalogue")
    kiosk.pump(3)
    catalogue = app.screen("catalogue")
    kiosk.idle_until(lambda: catalogue.position_text, what="position")
    first = catalogue.position_text
    assert first.startswith("第 1–") and first.endswith("共 1,135 项")
    assert catalogue.at_top and not catalogue.at_bottom
    assert catalogue.ids.page_up.disabled
    kiosk.tap(catalogue.ids.page_down)
    second = catalogue.position_text
    assert second != first and not catalogue.at_top
    shown_last = int(first.split("–")[1].split(" ")[0])
    second_first = int(second.split("–")[0].split(" ")[1])
    assert second_first <= shown_last + 1, "a page keeps the last row in view, skips none"
    kiosk.tap(catalogue.ids.page_up)
    assert catalogue.position_text == first and catalogue.at_top


def test_every_matter_row_is_tall_enough_for_its_whole_name(kiosk):
    """Rows are sized from their text: three matters whose names differ only at the end no
    longer look identical, in every text size."""
    from kivy.core.text import Label as CoreLabel

    app = kiosk.app
    app.start_session()
    app.show("catalogue")
    for scale in (1.0, 2.0):
        app.set_text_scale(scale)
        kiosk.pump(4)
        view = app.screen("catalogue").ids.matters
        rows = view.view_adapter.views.values()
        assert rows
        for row in rows:
            label = row.ids.matter_name
            measured = CoreLabel(text=label.text, font_size=label.font_size,
                                 text_size=(label.width, None))
            assert row.height >= measured.render()[1], label.text


def test_search_result_rows_follow_their_text_once_laid_out(kiosk):
    """Results typed before the list had its width are re-measured, not left stretched."""
    from kivy.core.text import Label as CoreLabel

    app = kiosk.app
    app.start_session()
    app.show("search")
    search = app.screen("search")
    for letter in "juzhu":
        search.on_key(letter, letter)
    kiosk.pump(4)
    rows = list(search.ids.results.view_adapter.views.values())
    assert rows
    for row in rows:
        name, detail = row.ids.matter_name, row.ids.matter_detail
        needed = sum(CoreLabel(text=label.text, font_size=label.font_size,
                               text_size=(label.width, None)).render()[1]
                     for label in (name, detail))
        assert needed <= row.height <= max(needed + 80, 100), (name.text, row.height, needed)


def test_the_scroll_bar_keeps_one_binding_however_long_the_scroll(kiosk):
    """Kivy 2.3.1 binds the bar colour again on every scroll step and unbinds it once per
    half-second pause: paging through the catalogue piled up bindings for the life of the
    process (about 6 a visit in the visit benchmark)."""
    app = kiosk.app
    app.start_session()
    app.show("catalogue")
    kiosk.pump(3)
    catalogue = app.screen("catalogue")
    for _page in range(40):
        catalogue.page(1)
        kiosk.pump(1)
    view = catalogue.ids.matters
    bound = [c for c in view.get_property_observers("bar_color") if c == view._change_bar_color]
    assert len(bound) <= 1, f"{len(bound)} bindings after 40 pages"


def test_visits_leave_no_widgets_or_dialogs_behind(kiosk):
    """A kiosk runs for weeks: once every screen, group, language and text size has been
    seen, more visits add no live widgets (list rows are reused, dialogs are freed)."""
    import gc

    from kivy.uix.modalview import ModalView
    from kivy.uix.widget import Widget

    def widgets() -> int:
        gc.collect()
        # issubclass(type(...)): isinstance asks a dead weak proxy for its class and raises
        return sum(1 for o in gc.get_objects() if issubclass(type(o), Widget))

    for number in range(14):
        kiosk.sample_visit(number)
    before = widgets()
    for number in range(6):
        kiosk.sample_visit(number)
    after = widgets()
    assert after - before <= 3, f"{after - before} widgets left by 6 visits"
    assert not [o for o in gc.get_objects() if issubclass(type(o), ModalView)]
