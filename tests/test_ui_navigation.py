"""Tap through the real app in an offscreen window: attract -> home -> catalogue -> guide."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def current(kiosk) -> str:
    return kiosk.app.manager.current


def test_touch_on_attract_starts_a_visit(kiosk):
    assert current(kiosk) == "attract"
    assert not kiosk.app.services.session.active
    window = kiosk.app.root_window
    kiosk.tap_at(window.width / 2, window.height / 2)
    assert current(kiosk) == "home"
    assert kiosk.app.services.session.active


def test_language_buttons_on_attract_do_not_start_a_visit(kiosk):
    attract = kiosk.app.screen("attract")
    kiosk.tap(attract.ids.lang_en)
    assert current(kiosk) == "attract"
    assert kiosk.app.language == "en"
    assert attract.ids.touch_to_start.text == "Touch the screen to start"
    kiosk.tap(attract.ids.lang_zh)
    assert attract.ids.touch_to_start.text == "请轻触屏幕开始"


def test_home_catalogue_guide_and_back(kiosk):
    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    home = app.screen("home")
    kiosk.tap(home.ids.guides)
    assert current(kiosk) == "catalogue"
    catalogue = app.screen("catalogue")
    kiosk.idle_until(lambda: catalogue.ids.matters.data, what="matter rows")
    assert len(catalogue.ids.matters.data) == app.services.catalog.count() == 1135

    # pick the second department group (the first is "all matters")
    kiosk.tap(catalogue.ids.by_department)
    department, count = app.services.catalog.departments()[0]
    kiosk.idle_until(lambda: any(view.key == department for view in
                                 catalogue.ids.groups.view_adapter.views.values()),
                     what="department rows")
    row = next(view for view in catalogue.ids.groups.view_adapter.views.values()
               if view.key == department)
    kiosk.tap(row)
    assert catalogue.selected == department
    assert len(catalogue.ids.matters.data) == count
    assert all(item["detail"].startswith(department) for item in catalogue.ids.matters.data)

    first = catalogue.ids.matters.data[0]
    matters = catalogue.ids.matters
    assert matters.scroll_y == 1, "a new group's list starts at its top"
    try:
        kiosk.idle_until(lambda: any(view.item_code == first["item_code"]
                                     for view in matters.view_adapter.views.values()),
                         what="the first matter row drawn", seconds=15)
    except TimeoutError as error:  # say what the list was doing (a CI run once hit this)
        drawn = sorted(matters.view_adapter.views)
        raise AssertionError(f"{error}; scroll_y {matters.scroll_y:.3f}, list height "
                             f"{matters.height:.0f}, rows {len(matters.data)}, row indexes "
                             f"drawn {drawn[:3]}...{drawn[-3:]}, screen "
                             f"{kiosk.app.manager.current}") from error
    kiosk.pump(5)  # the rows are laid out where they are drawn before one is tapped
    view = next(view for view in catalogue.ids.matters.view_adapter.views.values()
                if view.item_code == first["item_code"])
    # the row's own release (a touch on a recycled row right after the list changed can
    # land on the row before it; etc/journeys/find-guide.json taps rows through real touches)
    view.dispatch("on_release")
    kiosk.pump(2)
    assert current(kiosk) == "guide"
    guide = app.screen("guide")
    assert guide.ids.matter_name.text == first["name"]
    assert app.services.session.matter.item_code == first["item_code"]

    kiosk.tap(guide.ids.action_bar.ids.back)
    assert current(kiosk) == "catalogue"
    kiosk.tap(catalogue.ids.action_bar.ids.home)
    assert current(kiosk) == "home"


def test_a_list_left_out_of_range_by_the_scroll_effect_comes_back_to_its_rows(kiosk):
    """Kivy's scroll effect once left the matter list at scroll_y 17,885 after the catalogue's
    rows were replaced by one department's (CI): no row was drawn. The list takes itself back
    to the nearest end, and draws its rows."""
    app = kiosk.app
    app.start_session()
    app.show("catalogue")
    catalogue = app.screen("catalogue")
    kiosk.pump(2)
    catalogue.mode = "department"
    department = app.services.catalog.departments()[0][0]
    catalogue.select_group(department)
    matters = catalogue.ids.matters
    kiosk.pump(3)
    first = matters.data[0]["item_code"]
    matters.scroll_y = 17885.06  # what the effect's stale value made of it
    kiosk.pump(3)
    assert matters.scroll_y == 1
    kiosk.idle_until(lambda: any(view.item_code == first
                                 for view in matters.view_adapter.views.values()),
                     what="the first row drawn again", seconds=10)
    matters.scroll_y = -42.0
    kiosk.pump(3)
    assert matters.scroll_y == 0, "below the end: back at the last rows"


def test_task_type_browsing_counts_match_the_catalogue(kiosk):
    app = kiosk.app
    app.start_session()
    app.show("catalogue")
    catalogue = app.screen("catalogue")
    kiosk.tap(catalogue.ids.by_task_type)
    assert catalogue.mode == "task_type"
    groups = catalogue.ids.groups.data
    assert sum(group["total"] for group in groups[1:]) == 1135
    assert groups[0]["count"] == "共 1,135 项"
    assert {group["text"] for group in groups[1:]} >= {"行政许可", "公共服务"}


def test_language_switch_rerenders_live(kiosk):
    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    home = app.screen("home")
    assert home.ids.guides.title == "办事指南"
    kiosk.tap(home.ids.action_bar.ids.language)
    assert app.language == "en"
    assert home.ids.guides.title == "Office guides"
    assert home.ids.action_bar.ids.call_staff.text == "Call staff"
    app.show("catalogue")
    kiosk.pump(2)
    catalogue = app.screen("catalogue")
    assert catalogue.ids.groups.data[0]["text"] == "All services"
    kiosk.tap(catalogue.ids.action_bar.ids.language)
    assert catalogue.ids.groups.data[0]["text"] == "全部事项"


def test_large_text_switch_scales_text_and_resets_with_the_visit(kiosk):
    from kivy.metrics import Metrics

    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    home = app.screen("home")
    before = home.ids.action_bar.ids.home.font_size
    kiosk.tap(home.ids.action_bar.ids.large_text)
    assert app.large_text
    assert Metrics.fontscale == pytest.approx(app.services.config.kiosk.large_font_scale)
    assert home.ids.action_bar.ids.home.font_size > before * 1.2
    app.end_session()
    assert Metrics.fontscale == 1.0


def test_tiles_of_services_not_offered_are_hidden_and_one_tile_finds(kiosk):
    from kiosk.finding.offering import offered_services

    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    grid = app.screen("home").ids.tiles
    shown = [tile for tile in grid.children if tile.opacity > 0]
    assert {tile.title for tile in shown} == {"办事申请", "办事指南", "搜索事项", "我要问",
                                              "一件事一次办", "政策匹配", "进度查询", "预约取号",
                                              "好差评"}
    assert len(grid.children) == len(offered_services()) == 9
    kiosk.tap(app.screen("home").ids.search)
    assert current(kiosk) == "search"


def test_one_call_staff_button_on_every_screen(kiosk):
    """One label and one colour for one action: only the action bar and attract call staff."""
    from screens import theme
    from screens.widgets import KButton

    app = kiosk.app
    app.start_session()
    app.open_matter(app.services.catalog.matters()[0])
    for name in ("home", "catalogue", "search", "guide"):
        app.show(name)
        kiosk.pump(2)
        callers = [w for w in app.screen(name).walk() if isinstance(w, KButton)
                   and w.text == "呼叫人工"]
        assert len(callers) == 1, name
        assert tuple(callers[0].bg_color) == pytest.approx(theme.DANGER)


def test_window_close_is_refused_in_lockdown(kiosk):
    app = kiosk.app
    app.lockdown = True
    try:
        assert app.root_window.dispatch("on_request_close") is True
        assert app.open_settings() is False
    finally:
        app.lockdown = False


def test_attract_clock_follows_time_and_language(kiosk):
    app = kiosk.app
    attract = app.screen("attract")
    texts = {label.text for label in attract.walk() if hasattr(label, "text")}
    assert app.time_text in texts and app.date_text in texts
    assert "星期" in app.date_text
    app.toggle_language("en")
    kiosk.pump(1)
    texts = {label.text for label in attract.walk() if hasattr(label, "text")}
    assert app.date_text in texts and "星期" not in app.date_text
    app.time_text = "23:59"  # what the one-second tick does; labels follow at once
    assert "23:59" in {label.text for label in attract.walk() if hasattr(label, "text")}


def test_large_text_can_be_chosen_before_the_visit_starts(kiosk):
    app = kiosk.app
    attract = app.screen("attract")
    kiosk.tap(attract.ids.large_text)
    assert app.manager.current == "attract" and app.large_text
    window = app.root_window
    kiosk.tap_at(window.width / 2, window.height / 2)
    assert app.manager.current == "home" and app.large_text, "the choice carries into the visit"


def test_apply_tile_says_plainly_when_the_kiosk_refuses_applications(kiosk):
    """Pre-flight refuses (the platform key is gone): the guides stay open, the reason shows."""
    from screens.widgets import Notice

    app = kiosk.app
    key_file = app.services.config.platform.key_file
    saved = key_file.read_bytes()
    app.start_session()
    kiosk.pump(2)
    app.start_application()  # the Apply tile's action
    kiosk.pump(2)
    assert current(kiosk) == "catalogue"
    assert not [w for w in app.root_window.children if isinstance(w, Notice)]
    app.show("home")
    key_file.unlink()
    try:
        app.start_application()
        kiosk.pump(2)
        assert current(kiosk) == "catalogue"
        notices = [w for w in app.root_window.children if isinstance(w, Notice)]
        assert notices and notices[0].title == "本机暂时无法受理申请"
        assert "本机尚未就绪" in notices[0].message and "办事指南" in notices[0].message
        kiosk.tap(notices[0].ids.ok)
        assert current(kiosk) == "catalogue"
    finally:
        key_file.write_bytes(saved)
        key_file.chmod(0o600)
