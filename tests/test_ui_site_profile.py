"""A site profile applied while the kiosk runs changes the real window: the home tiles, the
host's name and hours, the search results and the staff-call wording, without a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_ui_search import type_keys

pytestmark = pytest.mark.gui

BANK = Path(__file__).resolve().parent.parent / "etc" / "profiles" / "bank-branch.json"
HUKOU_MOVE = "511A0147300000-511602000000-000-11511300008778693M-1-00"  # 户口迁移审批


def search_names(kiosk, letters: str) -> list[str]:
    app = kiosk.app
    app.home()
    kiosk.tap(app.screen("home").ids.search)
    screen = app.screen("search")
    kiosk.pump(3)
    type_keys(kiosk, screen.ids.keyboard, letters)
    return [row["name"] for row in screen.ids.results.data]


def test_a_bank_profile_pushed_while_running_changes_home_and_search(kiosk):
    app = kiosk.app
    profiles = app.services.profiles
    app.start_session()
    kiosk.pump(2)
    home = app.screen("home")
    assert "appointment" in home.offered() and home.ids.site_band.text == ""
    assert "户口迁移审批" in search_names(kiosk, "hkqy")
    catalogue = app.screen("catalogue")
    catalogue.refresh()
    assert catalogue.ids.groups.data[0]["total"] == 1135
    app.end_session()
    try:
        # as the sync thread does after a heartbeat: the app is told through Kivy's Clock
        assert profiles.apply_pushed(BANK.read_bytes(), 900)
        kiosk.pump(3)
        app.start_session()
        kiosk.pump(2)
        assert "appointment" not in home.offered() and "search" in home.offered()
        assert "合作网点：【示例】广安某银行城南支行" in home.ids.site_band.text
        assert "开放时间：周一至周五 9:00-17:00" in home.ids.site_band.text
        assert app.hall_name == "广安区政务服务 银行网点自助终端"
        assert "户口迁移审批" not in search_names(kiosk, "hkqy")
        # the catalogue's lists, built before the push, follow it (no visit was open)
        assert catalogue.ids.groups.data[0]["total"] == app.services.catalog.count() < 1135

        # reached anyway (a bundle, a policy): its guide, and where it is done instead
        app.open_matter(app.services.catalog.matter(HUKOU_MOVE))
        kiosk.pump(2)
        from screens.widgets import Notice

        notice = next(w for w in app.root_window.children if isinstance(w, Notice))
        assert notice.title == "本终端不提供此项服务" and "广安区政务服务中心" in notice.message
        notice.dismiss(animation=False)
        assert not app.screen("guide").can_book, "this branch takes no appointments"

        # a life event lists what is not done here apart, with where to go
        bundle = app.screen("bundle")
        app.show("bundle")
        kiosk.pump(2)
        bundle.choose(next(s for s in bundle.scenarios() if s.id == "moving"))
        bundle.answer("要")
        bundle.answer("从外地搬来")
        bundle.answer("没有")
        kiosk.pump(2)
        shown = "\n".join(getattr(w, "text", "") for w in bundle.walk())
        elsewhere = [matter.name for matter in bundle.bundle.elsewhere]
        assert elsewhere and "以下事项也属于这件事，但本终端不提供" in shown
        assert all(f"• {name}" in shown for name in elsewhere)
        assert "本机目录中没有符合您回答的事项" not in shown, "not 'nothing matches'"
        assert "广安区政务服务中心" in shown

        app.call_staff()
        kiosk.pump(2)
        assert "请到大堂经理处" in app.staff_dialog.ids.message.text
        app.end_staff_call("citizen")
    finally:
        profiles.platform_has_none(901)  # back to the shared app's own (no) profile
        kiosk.pump(3)
    assert "appointment" in home.offered() and app.services.catalog.count() == 1135


def test_tiles_a_profile_hides_come_back_after_garbage_collection(kiosk):
    """A hidden tile is out of the widget tree; only the screen's own reference keeps it
    (the kv ids are weak proxies). It must survive a collection and come back."""
    import gc
    import weakref

    app = kiosk.app
    profiles = app.services.profiles
    home = app.screen("home")
    app.end_session()
    hidden = weakref.ref(home.ids["appointment"].__self__)
    try:
        assert profiles.apply_pushed(BANK.read_bytes(), 910)
        kiosk.pump(3)
        assert "appointment" not in home.offered()
        gc.collect()
        assert hidden() is not None, "the hidden tile was collected: it could never come back"
    finally:
        profiles.platform_has_none(911)
        kiosk.pump(3)
    assert "appointment" in home.offered()
    assert hidden() in home.ids.tiles.children
