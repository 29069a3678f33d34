"""Literal tiers of catalogue search: ranking on the real sample, an independent oracle,
and properties.

These tests were written for the whole search when it was only the literal tiers; the
ranking engine (kiosk.finding.search, tested in test_search_ranking.py) now adds
relevance, synonyms, English and typos on top, and deliberately returns related matters
where the tiers return nothing (居住证 税务), so the oracle and tier tests check
kiosk.finding.literal.LiteralIndex, the engine's first stage, exactly as before.
"""

from __future__ import annotations

import random
from functools import cache

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kiosk.finding.literal import REASONS, LiteralIndex, SearchHit, fold, query_terms
from kiosk.finding.pinyin_keys import PinyinKeys, is_han, pinyin_keys, syllable_starts
from kiosk.models import Matter
from tests.kiosk_files import sample_matters as sample


@cache
def index() -> LiteralIndex:
    return LiteralIndex(sample())


def names(hits: list[SearchHit]) -> list[str]:
    return [hit.matter.name for hit in hits]


def matter(name: str, code: str, department: str = "区行政审批局") -> Matter:
    return Matter(item_code=code, name=name, department=department, task_type=1,
                  task_type_name="行政许可")


# -- an independent, obviously correct (and slow) reference ---------------------------------

_ORACLE_SCORES = dict(zip(REASONS, (100, 90, 80, 70, 60, 50, 45, 30, 20, 10), strict=True))


def _at_syllables(keys: PinyinKeys, pin: str, cuts: list[int], anywhere: bool) -> bool:
    """pin occurs in keys.full starting at a syllable (at 0 only unless anywhere) with
    every cut offset on a syllable boundary too."""
    bounds = {*syllable_starts(keys), len(keys.full)}
    starts = [0] if not anywhere else [i for i in range(len(keys.full)) if i in bounds]
    return any(keys.full.startswith(pin, s) and all(s + c in bounds for c in cuts)
               for s in starts)


def oracle_reason(m: Matter, term: str) -> str | None:
    """The best reason one matter matches one folded term, straight from the definitions."""
    name = fold(m.name)
    pin = term.replace("'", "")
    cuts, offset = [], 0
    for part in term.split("'")[:-1]:
        offset += len(part)
        cuts.append(offset)
    keys, dept_keys = pinyin_keys(m.name), pinyin_keys(m.department)
    checks = [
        ("name_exact", name == term),
        ("name_prefix", name.startswith(term)),
        ("name", term in name),
        ("initials_prefix", bool(pin) and keys.initials.startswith(pin)),
        ("pinyin_prefix", bool(pin) and _at_syllables(keys, pin, cuts, anywhere=False)),
        ("pinyin", bool(pin) and _at_syllables(keys, pin, cuts, anywhere=True)),
        ("initials", bool(pin) and pin in keys.initials),
        ("department", term in fold(m.department) or (bool(pin) and (
            pin in dept_keys.initials or _at_syllables(dept_keys, pin, cuts, True)))),
        ("item_code", term in fold(m.item_code)),
        ("chars", any(is_han(c) for c in term) and set(term) <= set(name)),
    ]
    return next((reason for reason, ok in checks if ok), None)


def oracle(matters: tuple[Matter, ...], query: str, limit: int) -> list[tuple[str, float, str]]:
    terms = query_terms(query)
    if not terms or limit <= 0:
        return []
    scored = []
    for m in matters:
        reasons = [oracle_reason(m, term) for term in terms]
        if None in reasons:
            continue
        scores = [_ORACLE_SCORES[r] for r in reasons]  # type: ignore[index]
        weakest = reasons[scores.index(min(scores))]
        scored.append((-sum(scores) / len(scores), len(m.name), m.item_code, weakest))
    scored.sort()
    return [(code, -score, reason) for score, _len, code, reason in scored[:limit]]


def as_rows(hits: list[SearchHit]) -> list[tuple[str, float, str]]:
    return [(hit.matter.item_code, hit.score, hit.reason) for hit in hits]


ORACLE_QUERIES = [
    "居住证办理", "居住证", "办理", "证明", "jzz", "juzhu", "banli", "xzsp", "sp", "bg",
    "公安", "gongan", "qgafj", "区人社局", "renshe", "511602", "A0138", "办理居住证",
    "证明 公安", "zheng ming", "审批 xianji", "医保", "yibao", "xi'an", "zhen'", "'ju",
    "ＪＺＺ", "户口", "hukou", "补领 身份证", "许可 变更 注销", "x", "a", "1",
]


@pytest.mark.parametrize("query", ORACLE_QUERIES)
def test_matches_oracle_on_sample(query: str) -> None:
    assert as_rows(index().search(query, limit=60)) == oracle(sample(), query, 60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_matches_oracle_on_fragments(data: st.DataObject) -> None:
    """Queries cut from real names, their pinyin and initials, singly or in pairs."""
    def fragment() -> str:
        m = data.draw(st.sampled_from(sample()))
        source = data.draw(st.sampled_from([
            m.name, pinyin_keys(m.name).full, pinyin_keys(m.name).initials, m.department,
            m.item_code]))
        start = data.draw(st.integers(0, max(0, len(source) - 1)))
        return source[start:start + data.draw(st.integers(1, 6))]

    query = " ".join(fragment() for _ in range(data.draw(st.integers(1, 2))))
    assert as_rows(index().search(query, limit=30)) == oracle(sample(), query, 30)


# -- ranking a citizen can rely on ----------------------------------------------------------

def test_exact_name_ranks_first() -> None:
    rng = random.Random(7)
    for m in [*rng.sample(sample(), 25), next(x for x in sample() if x.name == "居住证办理")]:
        top = index().search(m.name, limit=5)[0]
        assert top.matter.name == m.name
        assert top.reason == "name_exact"


def test_jzz_finds_residence_permit_first() -> None:
    hits = index().search("jzz")
    assert hits[0].matter.name == "居住证办理"
    assert hits[0].reason == "initials_prefix"
    assert all(h.reason in {"initials_prefix", "initials"} for h in hits)
    assert index().search("jzzbl")[0].matter.name == "居住证办理"


def test_own_initials_find_a_name_in_its_first_tier() -> None:
    rng = random.Random(11)
    for m in rng.sample(sample(), 40):
        initials = pinyin_keys(m.name).initials
        hits = index().search(initials, limit=100)
        first_tier = [h for h in hits if h.reason == hits[0].reason]
        assert m.item_code in {h.matter.item_code for h in first_tier}, (m.name, initials)


def test_tiers_in_order() -> None:
    hits = index().search("居住证")
    assert names(hits)[:2] == ["居住证办理", "居住证换领"] or hits[0].reason == "name_prefix"
    assert hits[0].matter.name == "居住证办理"
    assert index().search("juzhu")[0].reason == "pinyin_prefix"
    assert index().search("zhuzheng")[0].reason == "pinyin"


def test_pinyin_matches_only_on_syllables() -> None:
    for hit in index().search("eng", limit=200):  # never a syllable start
        assert hit.reason not in {"pinyin", "pinyin_prefix"}
    for hit in index().search("banli", limit=200):
        keys = pinyin_keys(hit.matter.name)
        assert hit.reason == "pinyin"
        assert any(keys.full.startswith("banli", s) for s in syllable_starts(keys))


def test_apostrophe_forces_a_syllable_break() -> None:
    extra = LiteralIndex([matter("西安市居住证", "X-1"), matter("乡村医生执业注册", "X-2")])
    assert names(extra.search("xi'an")) == ["西安市居住证"]
    assert names(extra.search("xian")) == ["西安市居住证", "乡村医生执业注册"]


def test_reordered_characters_fall_back_to_chars() -> None:
    hits = index().search("办理居住证")
    assert hits[0].matter.name == "居住证办理"
    assert hits[0].reason == "chars"


def test_department_and_item_code() -> None:
    hits = index().search("区公安分局", limit=200)
    assert hits and all(h.matter.department == "区公安分局" for h in hits)
    assert {h.reason for h in hits} == {"department"}
    code = sample()[0].item_code
    hits = index().search(code)
    assert hits[0].matter.item_code == code
    assert hits[0].reason == "item_code"


def test_every_term_must_match() -> None:
    hits = index().search("证明 公安", limit=100)
    assert hits
    for hit in hits:
        assert "证明" in hit.matter.name and "公安" in hit.matter.department
    assert index().search("居住证 公安")[0].matter.name == "居住证办理"
    assert index().search("居住证 税务") == []


def test_order_is_score_then_shorter_name_then_code() -> None:
    for query in ["证", "z", "变更 登记", "gongan"]:
        hits = index().search(query, limit=500)
        keys = [(-h.score, len(h.matter.name), h.matter.item_code) for h in hits]
        assert keys == sorted(keys)


def test_normalisation() -> None:
    assert as_rows(index().search("ＪＺＺ")) == as_rows(index().search("jzz"))
    assert as_rows(index().search("  居住证\u3000")) == as_rows(index().search("居住证"))
    assert as_rows(index().search("JuZhu")) == as_rows(index().search("juzhu"))


def test_blank_queries_and_limits() -> None:
    assert index().search("") == []
    assert index().search(" \t\u3000\n") == []
    assert index().search("证", limit=0) == []
    assert len(index().search("证", limit=3)) == 3
    assert len(index().search("证", limit=5000)) == sum("证" in m.name for m in sample())


def test_precomputed_keys_are_used() -> None:
    matters = [matter("居住证办理", "A"), matter("营业执照", "B")]
    keys = {"B": PinyinKeys("juzhuzhengbanli", "jzzbl")}  # deliberately wrong, to prove use
    hits = LiteralIndex(matters, keys).search("jzz")
    assert [h.matter.item_code for h in hits] == ["B", "A"]  # tie: shorter name first
    assert as_rows(LiteralIndex(matters).search("jzz")) == [("A", 70.0, "initials_prefix")]


def test_generated_matters() -> None:
    matters = [
        matter("居住证签注", "G-3"), matter("居住证办理", "G-2"), matter("临时居住证明", "G-4"),
        matter("建筑施工许可", "G-1"), matter("居住证", "G-5", department="区公安分局"),
    ]
    idx = LiteralIndex(matters)
    assert names(idx.search("jzz")) == ["居住证", "居住证办理", "居住证签注", "临时居住证明"]
    assert [h.reason for h in idx.search("jzz")] == ["initials_prefix"] * 3 + ["initials"]
    assert names(idx.search("居住证")) == ["居住证", "居住证办理", "居住证签注", "临时居住证明"]
    assert names(idx.search("居住证 公安")) == ["居住证"]
    assert idx.search("jz") and idx.search("jz")[0].matter.name == "居住证"
    assert len(LiteralIndex([]).search("jzz")) == 0


# -- properties -----------------------------------------------------------------------------

def contains_terms(hit: SearchHit, query: str) -> bool:
    """Every term really occurs in a searched field of the hit (or all its chars do)."""
    m = hit.matter
    keys, dept = pinyin_keys(m.name), pinyin_keys(m.department)
    for term in query_terms(query):
        pin = term.replace("'", "")
        fields = [fold(m.name), fold(m.department), fold(m.item_code)]
        pinyin_fields = [keys.full, keys.initials, dept.full, dept.initials]
        if not (any(term in f for f in fields) or (pin and any(pin in f for f in pinyin_fields))
                or set(term) <= set(fold(m.name))):
            return False
    return True


ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
CATALOGUE_TEXT = st.text(st.sampled_from("居住证办理公安区局审批变更 jzzbl'ＪＺ1-"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(query=st.one_of(ANY_TEXT, CATALOGUE_TEXT), limit=st.integers(-2, 40))
def test_search_properties(query: str, limit: int) -> None:
    hits = index().search(query, limit=limit)
    assert len(hits) <= max(limit, 0)
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    for hit in hits:
        assert hit.reason in REASONS
        assert contains_terms(hit, query), (query, hit)


@settings(max_examples=20, deadline=None)
@given(st.text(min_size=1, max_size=3))
def test_huge_queries(piece: str) -> None:
    assume(piece.strip())
    for query in (piece * 20_000, " ".join([piece] * 3_000), "居" * 100_000):
        assert len(index().search(query)) <= 20


def test_control_and_astral_characters() -> None:
    for query in ["\x00", "\n居住证\r", "\x1f\x7f", "𠮷", "居\u200b住", "\ud7ff", "\uffff"]:
        index().search(query)
    assert index().search("居住证\x00") == []
