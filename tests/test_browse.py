"""Browsing as citizens think: themes from the shipped rules, most-used matters first."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.finding.browse import Browser
from kiosk.finding.catalog import SAMPLE_CATALOG, CatalogService
from kiosk.finding.themes import ThemeFileError, load_themes, parse_themes
from offline_cache.usage_store import UsageStore

RESIDENCE_PERMIT = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理
HIGHWAY_FILING = "公路工程"


@pytest.fixture()
def catalog(tmp_path: Path):
    with CatalogService(tmp_path / "kiosk.db") as service:
        service.ensure_loaded(SAMPLE_CATALOG)
        yield service


def names_of(browser: Browser, theme_id: str) -> list[str]:
    return [m.name for m in browser.theme_matters(theme_id)]


def test_every_shipped_theme_has_matters_and_known_matters_land_where_citizens_look(catalog):
    browser = Browser(catalog)
    groups = browser.theme_groups()
    assert len(groups) == len(browser.themes) and all(g.count > 0 for g in groups)
    assert [g.theme.audience for g in groups] == sorted(
        (g.theme.audience for g in groups), key=lambda a: a != "person"), "person themes first"
    assert "居住证办理" in names_of(browser, "residence")
    assert "补领结婚证" in names_of(browser, "marriage")
    assert "残疾人证新办" in names_of(browser, "disability")
    assert "教师资格认定" in names_of(browser, "education")
    assert "临时救助" in names_of(browser, "assistance")
    person = {m for g in groups if g.theme.audience == "person"
              for m in names_of(browser, g.theme.id)}
    assert not any(HIGHWAY_FILING in name for name in person), "filings are not for citizens"
    assert not any("驾驶员培训" in name for name in names_of(browser, "driving")), \
        "driving schools' filings are a business theme, not a citizen's licence"


def test_all_matters_no_longer_open_with_engineering_filings(catalog):
    asked = {RESIDENCE_PERMIT}
    browser = Browser(catalog, asked_codes=lambda: asked)
    first = browser.most_used_first(catalog.matters())
    assert first[0].item_code == RESIDENCE_PERMIT, "what citizens ask about comes first"
    top = [m.name for m in first[:50]]
    assert not any(HIGHWAY_FILING in name or "备案" in name for name in top), top
    assert len(first) == catalog.count() and len({m.item_code for m in first}) == len(first)


def test_the_most_used_matter_comes_first_everywhere_and_is_remembered(catalog, tmp_path):
    browser = Browser(catalog)
    matters = catalog.by_department("区交通运输局")
    chosen = matters[-1]
    assert browser.most_used_first(matters)[0] != chosen
    for _ in range(2):
        browser.record(chosen.item_code, "guide")
    browser.record(chosen.item_code, "apply")
    assert browser.most_used_first(matters)[0] == chosen
    assert browser.most_used_first(catalog.matters())[0] == chosen
    # a new process (another Browser over the same file) sees the same counts
    with CatalogService(tmp_path / "kiosk.db") as again:
        assert Browser(again).most_used_first(again.matters())[0] == chosen
        assert UsageStore(again._connection()).counts(chosen.item_code) == (2, 1)


def test_usage_keeps_counts_only(catalog):
    conn = catalog._connection()
    columns = [row[1] for row in conn.execute("PRAGMA table_info(matter_usage)")]
    assert columns == ["item_code", "guide_opens", "apply_starts"], "no time, no visit, no one"


def test_a_count_that_cannot_be_written_is_dropped_not_raised(catalog, caplog):
    browser = Browser(catalog)
    catalog._connection().execute("DROP TABLE matter_usage")
    browser.record(RESIDENCE_PERMIT, "guide")  # no exception reaches the citizen's tap
    assert "not counted" in caplog.text
    assert browser.most_used_first(catalog.matters())  # browsing still works


def test_a_broken_themes_file_names_the_file_and_the_theme(tmp_path):
    path = tmp_path / "themes.json"
    path.write_text('{"themes": [{"id": "x", "audience": "alien", "title": {"zh_CN": "甲"},'
                    ' "name_terms": ["甲"]}]}', encoding="utf-8")
    with pytest.raises(ThemeFileError, match=r"themes.json: theme 1 \(x\): 'audience'"):
        load_themes(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ThemeFileError, match="cannot be read as JSON"):
        load_themes(path)
    shipped = load_themes()
    assert len({t.id for t in shipped}) == len(shipped)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(["id", "audience", "title", "zh_CN",
                                                       "name_terms", "exclude_terms",
                                                       "themes", "en"]), inner, max_size=6),
                    max_leaves=20)


@given(JSON)
def test_any_themes_document_is_taken_or_refused_with_a_clear_error(document):
    try:
        themes = parse_themes(document)
    except ThemeFileError as error:
        assert str(error).startswith("themes:")
        return
    for theme in themes:
        assert theme.name_terms and theme.audience in ("person", "business")
        assert isinstance(theme.covers("居住证办理"), bool)


NAMES = st.dictionaries(st.text(alphabet="户口迁移居住证税务登记", min_size=1, max_size=6),
                        st.text(alphabet="户口迁移居住证税务登记\n（）", max_size=12), max_size=30)
TERMS = st.lists(st.text(alphabet="户口迁移居住证税务登记", min_size=1, max_size=3), max_size=4)


@given(NAMES, TERMS.filter(bool), TERMS)
def test_theme_members_are_exactly_the_names_the_rule_covers(names, terms, excluded):
    from kiosk.finding.themes import Theme, theme_members

    theme = Theme("t", "person", {"zh_CN": "题"}, tuple(terms), tuple(excluded))
    assert theme_members([theme], names) == {
        "t": [code for code, name in names.items() if theme.covers(name)]}


def test_the_shipped_themes_file_says_where_it_comes_from():
    document = json.loads((SAMPLE_CATALOG.parent / "themes.json").read_text(encoding="utf-8"))
    assert "Not an official classification" in document["source"]


def test_usage_store_rejects_an_unknown_kind(tmp_path):
    conn = sqlite3.connect(":memory:")
    with pytest.raises(KeyError):
        UsageStore(conn).record("x", "printed")


@pytest.mark.gui
def test_the_catalogue_opens_by_theme_and_counts_guides_opened(kiosk):
    app = kiosk.app
    app.start_session()
    kiosk.pump(2)
    kiosk.tap(app.screen("home").ids.guides)
    catalogue = app.screen("catalogue")
    assert catalogue.mode == "theme"
    kiosk.idle_until(lambda: len(catalogue.ids.groups.view_adapter.views) > 2, what="themes")
    row = next(view for view in catalogue.ids.groups.view_adapter.views.values()
               if view.text == "户籍与身份证")
    assert row.count == "个人办事 · 共 15 项"
    kiosk.tap(row)
    assert catalogue.selected == "residence"
    names = [item["name"] for item in catalogue.ids.matters.data]
    assert "居住证办理" in names and len(names) == 15
    kiosk.pump(2)
    view = next(view for view in catalogue.ids.matters.view_adapter.views.values()
                if view.name == "居住证办理")
    before = app.services.catalog.usage_scores().get(view.item_code, 0)
    kiosk.tap(view)
    assert app.manager.current == "guide"
    assert app.services.catalog.usage_scores()[view.item_code] == before + 1
    shown = [item["name"] for item in catalogue.ids.matters.data]
    kiosk.tap(app.screen("guide").ids.action_bar.ids.back)
    assert [item["name"] for item in catalogue.ids.matters.data] == shown, \
        "Back finds the list as it was left: nothing moves under the citizen's finger"
    kiosk.tap(catalogue.ids.by_department)
    assert catalogue.mode == "department" and catalogue.selected == "all"
    app.end_session()  # the next citizen finds the most used first
    app.start_session()
    kiosk.pump(2)
    kiosk.tap(app.screen("home").ids.guides)
    catalogue.select_group("residence")
    assert catalogue.ids.matters.data[0]["name"] == "居住证办理", "most used first"
