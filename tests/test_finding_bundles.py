"""Life-event bundles: the matters the answers select, one materials list without duplicates,
and the printed checklist.

Runs on the shipped catalogue imported into a real SQLite file, the shipped sample scenarios,
and guides made by the reference platform's own sample generator, cached as a sync would.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.layout import TextLine, Title
from kiosk.finding.bundles import bundle_for, combine_materials, material_key
from kiosk.finding.catalog import SAMPLE_CATALOG, CatalogService
from kiosk.finding.checklist import CHECKLIST_TITLE, checklist_for
from kiosk.finding.guides import Material
from kiosk.finding.knowledge import KnowledgeBase, Scenario, ScenarioMatter

RESIDENCE = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    service = CatalogService(tmp_path_factory.mktemp("bundles") / "kiosk.db")
    service.ensure_loaded(SAMPLE_CATALOG)
    yield service
    service.close()


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {s.id: s for s in KnowledgeBase(None).scenarios()}


def cache_guide(catalog: CatalogService, code: str, names: list[tuple[str, int, bool]]):
    """A guide for ``code`` with exactly these materials (name, copies, original)."""
    from reference_platform.samples import guide

    matter = catalog.matter(code)
    body = guide({"item_code": code, "name": matter.name, "department": matter.department}, 1)
    body["materials"] = [{"name": n, "copies": c, "original": o, "note": ""}
                         for n, c, o in names]
    catalog.store_document("guide", code, body, 1)


# -- the normaliser ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["居民身份证", "申请人身份证原件", "身份证复印件",
                                  "【示例】申请人居民身份证", "身份证（正反面）", "有效身份证件",
                                  " 身份证 原件及复印件 "])
def test_id_card_names_of_different_offices_are_one_document(name):
    assert material_key(name) == "身份证"


def test_other_documents_keep_apart_and_notes_in_brackets_are_ignored():
    assert material_key("户口本") == material_key("居民户口簿") == "户口簿"
    assert material_key("营业执照副本") == material_key("营业执照原件") == "营业执照"
    assert material_key("授权委托书（委托办理时）") == "授权委托书"
    assert material_key("近期一寸免冠照片") == material_key("一寸免冠照片")
    keys = {material_key(n) for n in ("身份证", "户口簿", "结婚证", "营业执照", "出生医学证明")}
    assert len(keys) == 5
    assert material_key("原件") == "原件", "a name of qualifiers only is not emptied"


def test_combined_keeps_largest_copies_originals_and_the_matters_needing_it():
    combined = combine_materials([
        ("A", Material("【示例】申请人居民身份证", 1, True, "")),
        ("B", Material("身份证复印件", 3, False, "")),
        ("B", Material("户口本", 1, False, "")),
        ("C", Material("居民身份证", 2, False, "")),
    ])
    assert [m.key for m in combined] == ["身份证", "户口簿"]
    card = combined[0]
    assert card.copies == 3 and card.original and card.item_codes == ("A", "B", "C")
    assert card.name == "【示例】居民身份证", "plain name, sample mark kept"
    assert set(card.names) == {"【示例】申请人居民身份证", "身份证复印件", "居民身份证"}


def test_each_matter_keeps_its_own_application_form():
    combined = combine_materials([("A", Material("申请表", 1, False, "")),
                                  ("B", Material("申请表", 1, False, "")),
                                  ("B", Material("【示例】申请表", 2, False, ""))])
    assert [m.item_codes for m in combined] == [("A",), ("B",)]
    assert combined[1].copies == 2


NAME_PARTS = st.sampled_from(["身份证", "居民身份证", "户口簿", "户口本", "结婚证", "营业执照",
                              "申请表", "照片", "出生医学证明", "租房合同", "x", ""])
DECORATIONS = st.sampled_from(["", "【示例】", "申请人", "原件", "复印件", "（正反面）", " ",
                               "副本"])


@st.composite
def material_inputs(draw) -> list[tuple[str, Material]]:
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(DECORATIONS) + draw(NAME_PARTS) + draw(DECORATIONS)
        if not name.strip():
            name = draw(st.text(min_size=1, max_size=6))
        rows.append((draw(st.sampled_from("ABCD")),
                     Material(name, draw(st.integers(1, 5)), draw(st.booleans()), "")))
    return rows


@settings(max_examples=300, deadline=None)
@given(material_inputs())
def test_combining_loses_nothing_and_repeats_nothing(rows):
    combined = combine_materials(rows)
    keys = [m.key for m in combined]
    assert len(keys) == len(set(keys)), "no document twice"
    for code, material in rows:
        key = material_key(material.name)
        home = [m for m in combined if m.key in (key, f"{key}@{code}")]
        assert len(home) == 1, f"{material.name} of {code} lands in exactly one line"
        line = home[0]
        assert code in line.item_codes and material.name in line.names
        assert line.copies >= material.copies
        assert line.original or not material.original


@given(st.text(max_size=20))
def test_the_key_of_any_name_is_stable(name):
    assert material_key(material_key(name)) == material_key(name)


# -- the bundle ----------------------------------------------------------------------------

def test_answers_select_the_matters_and_one_list_without_repeats(catalog, scenarios):
    moving = scenarios["moving"]
    answers = {"from": "从外地搬来", "hukou": "暂时不迁", "kids": "没有"}
    codes = moving.item_codes_for(answers)
    for number, code in enumerate(codes):
        cache_guide(catalog, code, [("【示例】申请人居民身份证", 1, True),
                                    ("身份证复印件", 1 + number, False),
                                    ("申请表", 1, False)])
    bundle = bundle_for(moving, answers, catalog)
    assert [m.item_code for m in bundle.matters] == codes and RESIDENCE in codes
    assert bundle.unknown_codes == () and bundle.without_guide == ()
    id_lines = [m for m in bundle.materials if m.key == "身份证"]
    assert len(id_lines) == 1 and id_lines[0].copies == len(codes)
    assert len(id_lines[0].item_codes) == len(codes)
    assert sum(1 for m in bundle.materials if m.key.startswith("申请表")) == len(codes)
    assert bundle.is_sample


def test_a_matter_without_guide_is_kept_and_an_unknown_code_reported(catalog, scenarios):
    baby = scenarios["baby"]
    unknown = "000000000000-000000000000-000-000000000000000000-0-00"
    scenario = Scenario("t", "【示例】测试", baby.questions,
                        (*baby.matters, ScenarioMatter(unknown)))
    codes = baby.item_codes_for({"insured": "没有", "married": "已登记"})
    cache_guide(catalog, codes[0], [("户口本", 1, True)])
    bundle = bundle_for(scenario, {"insured": "没有", "married": "已登记"}, catalog)
    assert [m.item_code for m in bundle.matters] == codes
    assert bundle.unknown_codes == (unknown,)
    assert {m.item_code for m in bundle.without_guide} == set(codes[1:])
    assert [m.key for m in bundle.materials] == ["户口簿"]


def test_the_checklist_lists_matters_materials_and_what_is_missing(catalog, scenarios):
    baby = scenarios["baby"]
    answers = {"insured": "没有", "married": "已登记"}
    codes = baby.item_codes_for(answers)
    cache_guide(catalog, codes[0], [("【示例】户口本", 2, True), ("居民户口簿", 1, False)])
    bundle = bundle_for(baby, answers, catalog)
    slip = checklist_for(bundle, hall="测试大厅", printed_at="2026-11-27 15:00")
    texts = [b.text for b in slip.blocks if isinstance(b, (TextLine, Title))]
    assert texts[0] == CHECKLIST_TITLE and baby.title in texts
    assert f"1. {bundle.matters[0].matter.name}" in texts
    assert "· 【示例】户口本 ×2 原件 （事项1）" in texts, texts
    assert sum("户口" in t and t.startswith("·") for t in texts) == 1
    assert any(t.startswith("事项2、3的材料") for t in texts)
    assert any("【示例】" in t and "sample" in t for t in texts)
    assert "【示例】妈妈有没有参加职工医保？ 没有" in texts


def test_every_shipped_scenario_names_matters_of_the_catalogue(catalog, scenarios):
    assert {"small-shop", "baby", "retire", "moving", "company"} <= set(scenarios)
    for scenario in scenarios.values():
        every = {q.id: q.choices[0] for q in scenario.questions}
        assert bundle_for(scenario, every, catalog).unknown_codes == (), scenario.id


def test_checklist_slip_renders_for_the_receipt_printer(catalog, scenarios):
    from drivers.printer.render import render

    bundle = bundle_for(scenarios["small-shop"], {"food": "卖", "tobacco": "卖", "staff": "有"},
                        catalog)
    data = render(checklist_for(bundle, hall="大厅", printed_at="2026-11-27 15:00"))
    assert CHECKLIST_TITLE.encode("gb18030") in data
