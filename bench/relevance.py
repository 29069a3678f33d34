"""Relevance of catalogue search: does the right matter come first for what citizens type?

Latency (``bench.bench_search``) says nothing about whether 丢了身份证 finds the ID-card
matters. This module scores a search function against the hand-written question set
``tests/data/relevance_questions.json`` (colloquial Chinese, pinyin, initials, typos,
English; every right answer an item code of the shipped catalogue):

* top-1 / top-3: share of questions with a right matter first / among the first three;
* MRR: mean of 1/rank of the first right matter within the first ``limit`` (0 if none);
* empty: questions for which the engine returned nothing at all.

Besides the shipped engine it scores two simple baselines, so a figure can be read against
"what would plain fuzzy matching do": rapidfuzz WRatio over the names, and BM25 over
character bigrams of the names (``bm25s``). Both come with the ``dev`` extra that ``make`` installs
(``pip install -e '.[dev]'``); the shipped engine and the test need neither.

Run: ``python -m bench.relevance [--engine current|rapidfuzz|bm25|all] [--json]
[--show-misses]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "relevance_questions.json"
SAMPLE = ROOT / "kiosk" / "data" / "matters_guangan.json"
#: How deep MRR looks; a kiosk screen shows about this many results before scrolling.
LIMIT = 10
ENGINES = ("current", "rapidfuzz", "bm25")

Search = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class Question:
    """One question of the set: the text and every item code that counts as right."""

    q: str
    right: tuple[str, ...]
    lang: str
    kind: str
    note: str = ""


@dataclass(frozen=True)
class Miss:
    """A question whose right matter was not first: what came first, and the right rank."""

    q: str
    kind: str
    first: str | None
    rank: int | None


@dataclass(frozen=True)
class Metrics:
    """Figures over a set of questions (shares in 0..1); ``per_kind`` splits them by kind."""

    top1: float
    top3: float
    mrr: float
    n: int
    empty: int
    per_kind: dict[str, Metrics] = field(default_factory=dict)
    misses: tuple[Miss, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain figures for ``--json`` (misses left out; they have their own flag)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("per_kind", "misses")}
        out["per_kind"] = {kind: m.as_dict() for kind, m in self.per_kind.items()}
        return out


def load_questions(path: Path | str = QUESTIONS) -> list[Question]:
    """The question set (the file's ``questions`` list)."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return [Question(q=r["q"], right=tuple(r["right"]), lang=r["lang"], kind=r["kind"],
                     note=r.get("note", "")) for r in document["questions"]]


def _rank(found: Sequence[str], right: Sequence[str]) -> int | None:
    """1-based rank of the first right item code in ``found``, or None."""
    wanted = set(right)
    return next((i for i, code in enumerate(found, 1) if code in wanted), None)


def _figures(ranks: Sequence[int | None], empties: int) -> tuple[float, float, float]:
    n = len(ranks) or 1
    top1 = sum(1 for r in ranks if r == 1) / n
    top3 = sum(1 for r in ranks if r is not None and r <= 3) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return top1, top3, mrr


def evaluate(search: Search, questions: Sequence[Question], limit: int = LIMIT) -> Metrics:
    """Score ``search(query, limit) -> item codes, best first`` on ``questions``."""
    ranks: list[int | None] = []
    empty: list[bool] = []
    misses: list[Miss] = []
    for question in questions:
        found = list(search(question.q, limit))[:limit]
        rank = _rank(found, question.right)
        ranks.append(rank)
        empty.append(not found)
        if rank != 1:
            misses.append(Miss(question.q, question.kind, found[0] if found else None, rank))
    per_kind: dict[str, Metrics] = {}
    for kind in sorted({q.kind for q in questions}):
        picked = [i for i, q in enumerate(questions) if q.kind == kind]
        k_ranks = [ranks[i] for i in picked]
        k_empty = sum(empty[i] for i in picked)
        per_kind[kind] = Metrics(*_figures(k_ranks, k_empty), n=len(picked), empty=k_empty)
    return Metrics(*_figures(ranks, sum(empty)), n=len(questions), empty=sum(empty),
                   per_kind=per_kind, misses=tuple(misses))


# -- engines ----------------------------------------------------------------------------


def _catalogue() -> list[dict[str, Any]]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))["matters"]


@contextmanager
def current_engine(sample: Path | str = SAMPLE) -> Iterator[Search]:
    """The shipped engine exactly as the screen reaches it: CatalogService on a fresh db."""
    from kiosk.finding.catalog import CatalogService

    with tempfile.TemporaryDirectory() as tmp, CatalogService(Path(tmp) / "kiosk.db") as service:
        service.ensure_loaded(sample)

        def search(query: str, limit: int) -> list[str]:
            return [hit.matter.item_code for hit in service.search(query, limit)]

        yield search


@contextmanager
def rapidfuzz_engine() -> Iterator[Search]:
    """Baseline: rapidfuzz ``process.extract`` with WRatio over the matter names."""
    from rapidfuzz import fuzz, process, utils

    matters = _catalogue()
    names = [m["name"] for m in matters]

    def search(query: str, limit: int) -> list[str]:
        hits = process.extract(query, names, scorer=fuzz.WRatio, limit=limit,
                               processor=utils.default_process, score_cutoff=1)
        return [matters[index]["item_code"] for _name, _score, index in hits]

    yield search


def bigrams(text: str) -> list[str]:
    """Character bigrams of ``text`` after NFKC and lowercasing, spaces dropped (one
    character alone is its own token, so a one-character query still means something)."""
    folded = "".join(unicodedata.normalize("NFKC", text).lower().split())
    if len(folded) < 2:
        return [folded] if folded else []
    return [folded[i:i + 2] for i in range(len(folded) - 1)]


@contextmanager
def bm25_engine() -> Iterator[Search]:
    """Baseline: BM25 (``bm25s``, default k1/b) over character bigrams of the names."""
    import bm25s

    matters = _catalogue()
    retriever = bm25s.BM25()
    retriever.index([bigrams(m["name"]) for m in matters], show_progress=False)
    vocabulary = retriever.vocab_dict

    def search(query: str, limit: int) -> list[str]:
        tokens = [t for t in bigrams(query) if t in vocabulary]
        if not tokens:
            return []
        docs, scores = retriever.retrieve([tokens], k=limit, show_progress=False)
        return [matters[int(d)]["item_code"]
                for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    yield search


_MAKERS = {"current": current_engine, "rapidfuzz": rapidfuzz_engine, "bm25": bm25_engine}


def measure(engine: str, questions: Sequence[Question] | None = None) -> Metrics:
    """Metrics of one named engine on the question set."""
    with _MAKERS[engine]() as search:
        return evaluate(search, questions if questions is not None else load_questions())


# -- command line -----------------------------------------------------------------------


def _report(name: str, metrics: Metrics, names: dict[str, str], show_misses: bool) -> str:
    lines = [f"{name}: top-1 {metrics.top1:.1%}  top-3 {metrics.top3:.1%}  "
             f"MRR {metrics.mrr:.3f}  questions {metrics.n}  empty {metrics.empty}"]
    for kind, m in metrics.per_kind.items():
        lines.append(f"  {kind:<11} n={m.n:<4} top-1 {m.top1:6.1%}  top-3 {m.top3:6.1%}  "
                     f"MRR {m.mrr:.3f}  empty {m.empty}")
    if show_misses:
        lines.append(f"  misses ({len(metrics.misses)}):")
        for miss in metrics.misses:
            first = names.get(miss.first, "-") if miss.first else "(nothing)"
            rank = f"right at {miss.rank}" if miss.rank else "right not in list"
            lines.append(f"    [{miss.kind}] {miss.q} -> {first} ({rank})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures of one engine or of all three."""
    parser = argparse.ArgumentParser(prog="python -m bench.relevance", description=__doc__
                                     .splitlines()[0])
    parser.add_argument("--engine", choices=(*ENGINES, "all"), default="current")
    parser.add_argument("--json", action="store_true", help="figures as JSON")
    parser.add_argument("--show-misses", action="store_true",
                        help="list questions whose right matter was not first")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    args = parser.parse_args(argv)
    questions = load_questions(args.questions)
    engines = ENGINES if args.engine == "all" else (args.engine,)
    results = {engine: measure(engine, questions) for engine in engines}
    if args.json:
        payload: dict[str, Any] = {e: m.as_dict() for e, m in results.items()}
        if args.show_misses:
            for engine, m in results.items():
                payload[engine]["misses"] = [asdict(miss) for miss in m.misses]
        print(json.dumps(payload, ensure_ascii=False, indent=1))
        return 0
    names = {m["item_code"]: m["name"] for m in _catalogue()}
    print("\n".join(_report(e, m, names, args.show_misses) for e, m in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
