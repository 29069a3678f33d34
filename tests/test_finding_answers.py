"""Answers to free-text questions: FAQ first, search next, no answer rather than a wrong one.

Runs on the shipped catalogue imported into a real SQLite file and the shipped sample FAQ.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.finding.answers import (
    CANDIDATES,
    answer,
    answer_for,
    best_faq,
    normalise,
    similarity,
)
from kiosk.finding.catalog import SAMPLE_CATALOG, CatalogService
from kiosk.finding.knowledge import FaqEntry, KnowledgeBase

TRACTOR_RENEW = "511A20039005-511602000000-000-115113016823646795-1-00"  # 拖拉机…驾驶证补换证
RESIDENCE = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    service = CatalogService(tmp_path_factory.mktemp("answers") / "kiosk.db")
    service.ensure_loaded(SAMPLE_CATALOG)
    yield service
    service.close()


@pytest.fixture(scope="module")
def faq() -> list[FaqEntry]:
    return KnowledgeBase(None).faq_entries()


def test_fillers_and_punctuation_do_not_count():
    assert normalise("请问，驾照到期了怎么办？") == "驾照到期"
    assert similarity("驾照到期了", "驾照到期了怎么办") == 1.0
    assert similarity("天上下雨", "驾照到期了怎么办") == 0.0


def test_a_faq_question_puts_its_matter_first_with_its_sample_answer(catalog, faq):
    card = answer("驾照到期了", catalog, faq)
    assert card.found and card.matter.item_code == TRACTOR_RENEW
    assert card.faq_text.startswith("【示例】") and card.faq_is_sample
    assert 0 < len(card.candidates) <= CANDIDATES
    assert TRACTOR_RENEW not in {m.item_code for m in card.candidates}


def test_close_wording_finds_the_faq_entry(faq):
    entry = best_faq("驾驶证到期", faq)
    assert entry is not None and entry.id == "driving-licence"
    assert best_faq("户口", faq) is None  # one word in common: the search decides


def test_without_faq_the_search_answers_when_the_name_matches(catalog, faq):
    card = answer("居住证", catalog, [])
    assert card.matter.item_code == RESIDENCE
    assert card.faq_text == "" and not card.faq_is_sample


def test_a_question_sharing_only_a_character_gets_no_answer_but_departments(catalog, faq):
    card = answer("天上下雨", catalog, faq)
    assert not card.found
    assert 0 < len(card.departments) <= 4
    assert all(card.departments.count(d) == 1 for d in card.departments)


def test_nothing_at_all_and_an_empty_question(catalog, faq):
    assert answer("qqqqxv", catalog, faq).departments == ()
    assert not answer("  ", catalog, faq).found


def test_key_facts_and_apply_follow_the_cached_guide_and_form(catalog):
    from reference_platform.matters import form_id_of
    from reference_platform.samples import guide

    matter = catalog.matter(RESIDENCE)
    bare = answer_for(matter, catalog)
    assert bare.facts is None and not bare.can_apply
    record = {"item_code": RESIDENCE, "name": matter.name, "department": matter.department,
              "form_id": form_id_of(RESIDENCE), "version": 1}
    document = guide(record, 1)
    catalog.store_document("guide", RESIDENCE, document, 1)
    catalog.store_document("matter", RESIDENCE, record, 1)
    card = answer_for(matter, catalog)
    assert card.facts is not None and card.facts.is_sample
    assert card.facts.materials == len(document["materials"])
    assert card.facts.time_limit_days == document["time_limit_days"]
    assert card.can_apply


def test_no_kivy_in_the_core():
    source = Path(__file__).resolve().parent.parent / "kiosk" / "finding" / "answers.py"
    assert "kivy" not in source.read_text(encoding="utf-8").lower().replace(
        "without widgets", "")
