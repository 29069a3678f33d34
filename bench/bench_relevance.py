"""Search relevance on citizens' questions: top-1, top-3, MRR; shipped engine vs. baselines.

The question set is ``tests/data/relevance_questions.json`` (colloquial Chinese, pinyin,
initials, typos and English, written from the shipped catalogue; every right answer an
item code). The shipped engine is reached through ``CatalogService.search`` as the screen
reaches it; the baselines are rapidfuzz WRatio over the names and BM25 over character
bigrams of the names (:mod:`bench.relevance`). The shipped engine's goals are the floors
of ``tests/data/relevance_floor.json`` that ``tests/test_search_relevance.py`` enforces.
MRR is shown x100 so that it reads with the same precision as the shares. The wider
comparison (SQLite FTS5, tantivy, jieba) and the engine's design are in docs/search.md.

Run: ``python -m bench.bench_relevance`` (or ``python -m bench.relevance --show-misses`` to
see which questions miss).
"""

from __future__ import annotations

import json
from collections import Counter

from bench.common import BenchResult, machine_info
from bench.relevance import ENGINES, QUESTIONS, SAMPLE, Metrics, load_questions, measure

FLOORS = QUESTIONS.parent / "relevance_floor.json"
_LABELS = {"current": "shipped engine", "rapidfuzz": "rapidfuzz WRatio",
           "bm25": "BM25 char bigrams"}


def _engine_results(engine: str, metrics: Metrics, floors: dict | None) -> list[BenchResult]:
    label = _LABELS[engine]
    kinds = ", ".join(f"{k} {m.top1:.0%}" for k, m in metrics.per_kind.items())

    def goal(name: str) -> float | None:
        return floors[name] * 100 if floors else None

    return [
        BenchResult(f"top-1, {label}", metrics.top1 * 100, "%", goal("top1"), True,
                    detail=f"top-1 by kind: {kinds}"),
        BenchResult(f"top-3, {label}", metrics.top3 * 100, "%", goal("top3"), True,
                    detail=f"{metrics.empty} of {metrics.n} questions got no result"),
        BenchResult(f"MRR x100, {label}", metrics.mrr * 100, "%", goal("mrr"), True,
                    detail="first right answer within the first 10"),
    ]


def run() -> list[BenchResult]:
    """Every figure of this benchmark (a few seconds)."""
    questions = load_questions()
    catalogue = {m["item_code"]: m for m in
                 json.loads(SAMPLE.read_text(encoding="utf-8"))["matters"]}
    departments = {catalogue[c]["department"] for q in questions for c in q.right}
    kinds = Counter(q.kind for q in questions)
    results = [BenchResult(
        "question set size", len(questions), "questions",
        detail=f"{len(departments)} departments; "
               + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))]
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))
    for engine in ENGINES:
        try:
            metrics = measure(engine, questions)
        except ImportError as error:  # a baseline's package is not installed
            results.append(BenchResult(f"top-1, {_LABELS[engine]}", 0.0, "%",
                                       detail=f"not measured: {error}"))
            continue
        results.extend(_engine_results(engine, metrics, floors if engine == "current" else None))
    return results


def main() -> None:
    """Print the figures with the machine they ran on."""
    print(machine_info())
    for result in run():
        met = {None: "", True: " (goal met)", False: " (GOAL MISSED)"}[result.met]
        print(f"{result.name}: {result.value:,.1f} {result.unit}{met}  {result.detail}")


if __name__ == "__main__":
    main()
