"""Office guides cached from the platform: parsing, and the guide screen showing them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.finding.guides import Guide, parse_guide
from offline_cache.documents import DocumentCache
from reference_platform import samples

RECORD = {"item_code": "C-1", "name": "测试事项", "department": "区测试局"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(
        st.sampled_from(["item_code", "materials", "name", "copies", "original", "steps",
                         "locations", "hall", "time_limit_days", "fee", "delivery", "x"]),
        c, max_size=6),
    max_leaves=20)


def test_the_reference_platform_guide_parses_and_is_marked_sample():
    guide = parse_guide(samples.guide(RECORD, 1))
    assert isinstance(guide, Guide) and guide.item_code == "C-1"
    assert guide.materials and guide.steps and guide.locations
    assert guide.is_sample


def test_a_real_looking_guide_is_not_called_sample():
    document = {"item_code": "C-2", "materials": [{"name": "居民身份证", "copies": 1,
                                                   "original": True, "note": ""}],
                "steps": ["提交"], "time_limit_days": 1, "fee": "不收费"}
    guide = parse_guide(document)
    assert guide is not None and not guide.is_sample


@pytest.mark.parametrize("change", [
    lambda g: g.pop("materials"),
    lambda g: g.update(materials="户口簿"),
    lambda g: g.update(time_limit_days="十天"),
    lambda g: g.update(steps=[1, 2]),
    lambda g: g["materials"][0].update(copies=-1),
])
def test_unusable_guides_are_refused(change):
    document = samples.guide(RECORD, 1)
    change(document)
    assert parse_guide(document) is None


@given(json_values)
def test_any_cached_document_parses_or_is_refused(document):
    guide = parse_guide(document)
    assert guide is None or isinstance(guide, Guide)


@pytest.mark.gui
def test_guide_screen_shows_a_cached_guide_and_falls_back_plainly(kiosk):
    app = kiosk.app
    catalog = app.services.catalog
    matters = catalog.matters()
    with_guide, without_guide = matters[5], matters[6]
    record = {"item_code": with_guide.item_code, "name": with_guide.name,
              "department": with_guide.department}
    cache = DocumentCache(catalog._connection())
    cache.put("guide", with_guide.item_code, samples.guide(record, 1), 1)
    try:
        app.start_session()
        app.open_matter(with_guide)
        kiosk.pump(3)
        guide = app.screen("guide")
        shown = guide.ids.guide_pending.text
        assert "所需材料" in shown and "办理流程" in shown and "【示例】" in shown
        assert "并非真实办事指南" in shown
        app.toggle_language("en")
        kiosk.pump(2)
        assert "Required materials" in guide.ids.guide_pending.text
        app.toggle_language("zh_CN")
        app.show("home")
        app.open_matter(without_guide)
        kiosk.pump(3)
        assert guide.ids.guide_pending.text.startswith("本机尚未从省政务服务平台同步")
    finally:
        cache.delete("guide", [with_guide.item_code])


@pytest.mark.gui
def test_a_guide_not_cached_is_fetched_when_opened_online(kiosk, tmp_path):
    """A fresh kiosk online shows the platform's guide at once, not "not received yet";
    offline, or when the fetch fails, it says so plainly and asks once, not in a loop."""
    from dataclasses import replace

    from kiosk.finding.documents_on_demand import DocumentFetcher
    from tests.platform_server import PlatformServer
    from tests.waiting import pump_until

    app = kiosk.app
    config = app.services.config
    matter = next(m for m in app.services.catalog.matters()
                  if app.services.catalog.guide(m.item_code) is None)
    guide = app.screen("guide")
    asked: list[str] = []
    with PlatformServer(tmp_path, kiosks={config.kiosk.id: config.platform.key_file}) as server:
        fetcher = DocumentFetcher(replace(config, platform=replace(config.platform,
                                                                   url=server.base_url)))
        real_fetch = fetcher.fetch
        fetcher.fetch = lambda path, done: (asked.append(path), real_fetch(path, done))[1]
        saved, app.services.documents = app.services.documents, fetcher
        try:
            app.start_session()
            app.online = False
            app.open_matter(matter)
            kiosk.pump(3)
            assert asked == [] and "尚未" in guide.ids.guide_pending.text

            app.online = True
            app.home()
            app.open_matter(matter)
            assert guide.fetching and "正在从省级平台获取" in guide.ids.guide_pending.text
            pump_until(kiosk, lambda: "所需材料" in guide.ids.guide_pending.text,
                       what="the fetched guide")
            assert not guide.fetching and asked == [f"/matters/{matter.item_code}/guide"]
            assert app.services.catalog.guide(matter.item_code) is not None  # cached now

            server.stop()
            other = next(m for m in app.services.catalog.matters()
                         if app.services.catalog.guide(m.item_code) is None)
            app.home()
            app.open_matter(other)
            pump_until(kiosk, lambda: not guide.fetching, what="the failed fetch")
            assert "尚未" in guide.ids.guide_pending.text
            kiosk.pump(5)
            assert asked.count(f"/matters/{other.item_code}/guide") == 1, "asked once, no loop"
        finally:
            app.services.documents = saved
            fetcher.close()
            app.online = None
