"""Search relevance: the shipped engine on citizens' questions must not fall below its floors.

Latency tests cannot see a ranking change that buries 居民身份证挂失 under 临时身份证明;
this one scores the engine, through ``CatalogService.search`` as the screen calls it, on
the hand-written question set and fails when top-1, top-3 or MRR drop below the floors
in ``tests/data/relevance_floor.json``. It also keeps the set itself honest: right answers
that exist in the catalogue, enough questions, departments and kinds, no duplicates.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from bench.relevance import QUESTIONS, Metrics, Question, evaluate, load_questions
from kiosk.finding.catalog import SAMPLE_CATALOG, CatalogService

FLOORS = QUESTIONS.parent / "relevance_floor.json"
KINDS = {"colloquial", "pinyin", "initials", "typo", "english", "official"}
#: Least share of the set each group of kinds must have (the set's design brief).
MIN_SHARE = {("pinyin", "initials"): 0.15, ("typo",): 0.10, ("english",): 0.10}


@cache
def catalogue() -> dict[str, dict]:
    matters = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))["matters"]
    return {m["item_code"]: m for m in matters}


@cache
def questions() -> tuple[Question, ...]:
    return tuple(load_questions())


def floors() -> dict:
    return json.loads(FLOORS.read_text(encoding="utf-8"))


# -- the metric itself ----------------------------------------------------------------


def test_metric_arithmetic_on_a_known_ranking() -> None:
    """Right first, right third, right absent, nothing returned: 1/4 top-1, 2/4 top-3,
    MRR (1 + 1/3) / 4, one empty; per kind split the same way."""
    qs = [Question("a", ("A",), "zh", "colloquial"), Question("b", ("B", "B2"), "zh", "typo"),
          Question("c", ("C",), "en", "english"), Question("d", ("D",), "zh", "typo")]
    answers = {"a": ["A", "x"], "b": ["x", "y", "B2", "B"], "c": ["x"], "d": []}
    metrics = evaluate(lambda query, limit: answers[query][:limit], qs, limit=10)
    assert (metrics.n, metrics.empty) == (4, 1)
    assert metrics.top1 == pytest.approx(0.25)
    assert metrics.top3 == pytest.approx(0.5)
    assert metrics.mrr == pytest.approx((1 + 1 / 3) / 4)
    assert metrics.per_kind["typo"].n == 2
    assert metrics.per_kind["typo"].top3 == pytest.approx(0.5)
    assert [m.q for m in metrics.misses] == ["b", "c", "d"]
    assert metrics.misses[0].first == "x" and metrics.misses[0].rank == 3


def test_metric_ignores_right_answers_beyond_the_limit() -> None:
    qs = [Question("a", ("A",), "zh", "colloquial")]
    metrics = evaluate(lambda query, limit: ["x"] * limit + ["A"], qs, limit=3)
    assert metrics.mrr == 0 and metrics.top3 == 0


# -- the shipped engine against its floors --------------------------------------------


def _describe(metrics: Metrics) -> str:
    kinds = ", ".join(f"{k} {m.top1:.0%}/{m.top3:.0%}" for k, m in metrics.per_kind.items())
    return (f"top-1 {metrics.top1:.1%}, top-3 {metrics.top3:.1%}, MRR {metrics.mrr:.3f} "
            f"on {metrics.n} questions ({metrics.empty} empty); top-1/top-3 by kind: {kinds}. "
            "See the misses with: python -m bench.relevance --show-misses")


def test_shipped_engine_meets_the_relevance_floors(tmp_path: Path) -> None:
    limits = floors()
    with CatalogService(tmp_path / "kiosk.db") as service:
        service.ensure_loaded(SAMPLE_CATALOG)
        metrics = evaluate(
            lambda query, limit: [hit.matter.item_code for hit in service.search(query, limit)],
            questions(), limit=limits["limit"])
    below = [f"{name} {getattr(metrics, name):.4f} < floor {limits[name]}"
             for name in ("top1", "top3", "mrr") if getattr(metrics, name) < limits[name]]
    assert not below, "; ".join(below) + ". " + _describe(metrics)


def test_floors_are_sane() -> None:
    limits = floors()
    for name in ("top1", "top3", "mrr"):
        assert 0 < limits[name] <= 1, name
    assert limits["top1"] <= limits["top3"], "top-3 can never be below top-1"


# -- the question set -----------------------------------------------------------------


def test_set_names_its_source() -> None:
    source = json.loads(QUESTIONS.read_text(encoding="utf-8"))["source"]
    assert "gov-kiosk" in source and "matters_guangan.json" in source


def test_every_right_answer_exists_in_the_catalogue() -> None:
    unknown = [(q.q, code) for q in questions() for code in q.right if code not in catalogue()]
    assert not unknown
    assert all(q.right for q in questions()), "a question without a right answer"
    assert all(len(set(q.right)) == len(q.right) for q in questions()), "repeated item code"


def test_set_is_large_and_spread_over_departments() -> None:
    assert len(questions()) >= 200
    departments = {catalogue()[code]["department"] for q in questions() for code in q.right}
    assert len(departments) >= 25, sorted(departments)
    task_types = {catalogue()[code]["task_type"] for q in questions() for code in q.right}
    assert len(task_types) >= 5


def test_kinds_and_their_shares() -> None:
    counts = Counter(q.kind for q in questions())
    assert set(counts) == KINDS, counts
    for group, share in MIN_SHARE.items():
        got = sum(counts[kind] for kind in group) / len(questions())
        assert got >= share, f"{'+'.join(group)}: {got:.1%} < {share:.0%}"
    for q in questions():
        assert q.lang == ("en" if q.kind == "english" else "zh"), q.q
        if q.kind in ("pinyin", "initials"):
            assert q.q.isascii(), q.q


def test_no_duplicate_questions() -> None:
    def key(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).casefold().split())

    repeated = [text for text, n in Counter(key(q.q) for q in questions()).items() if n > 1]
    assert not repeated
