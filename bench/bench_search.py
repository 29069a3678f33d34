"""Benchmark of catalogue search and the pinyin keyboard's candidate engine.

Measures, on the 1,135 sample matters and on 100,000 generated ones: computing pinyin keys
(as the importer does), building the :class:`~kiosk.finding.search.SearchIndex` from matters and
precomputed keys, and per-query latency over 1,000 mixed queries of the kinds a citizen or
a clerk types; then building :class:`~kiosk.finding.pinyin_input.PinyinInput` and its latency per
keystroke. Generated matters recombine the heads and tails of real names (cut at random
points, so every name is still made of real catalogue wording) under real departments with
their real frequencies, from a fixed seed.

Since the ranking engine, the queries also hold what citizens type in their own words
(colloquial Chinese, typos, English: the phrasings of ``kiosk/data/search_synonyms.json`` and
``search_glossary_en.json``), and the index's memory is measured with tracemalloc (Python
allocations, numpy arrays included) at both sizes.

The ask screen's answer (:func:`kiosk.finding.answers.answer`: the FAQ match, the search
and the card) is timed on the 393 citizen questions of the relevance set at both sizes, with
the shipped sample FAQ; at 100,000 the catalogue's matter lookup is a dict instead of the
SQLite primary-key read (two such reads, the guide and the form, cost tens of microseconds).

Run: ``python -m bench.bench_search``.
"""

from __future__ import annotations

import gc
import json
import random
import string
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.common import BenchResult, machine_info, percentile
from bench.relevance import load_questions
from kiosk.finding.answers import answer
from kiosk.finding.knowledge import KnowledgeBase
from kiosk.finding.pinyin_input import PinyinInput
from kiosk.finding.pinyin_keys import PinyinKeys, is_han, pinyin_keys
from kiosk.finding.search import SearchIndex
from kiosk.finding.synonyms import dictionary
from kiosk.models import Matter

SAMPLE = Path(__file__).resolve().parent.parent / "kiosk" / "data" / "matters_guangan.json"
LARGE = 100_000
QUERIES = 1_000
SEED = 20_240_601
_PUNCTUATION = "（）()、，,/；;：:《》“”\"' "


def load_sample() -> list[Matter]:
    """The 1,135 real matters of the shipped sample catalogue."""
    with SAMPLE.open(encoding="utf-8") as handle:
        return [Matter(**record) for record in json.load(handle)["matters"]]


def generate_matters(count: int, sample: Sequence[Matter], seed: int = SEED) -> list[Matter]:
    """``count`` realistic matters: the head of one real name + the tail of another.

    Cut points are random but never inside a bracketed qualifier, so most names read like
    real ones (``居住证`` + ``变更登记``); department, codes and task type come from a random
    real matter, so departments keep their real frequencies. Item codes are unique.
    """
    rng = random.Random(seed)
    names = [m.name for m in sample]
    out: list[Matter] = []
    for number in range(count):
        head, tail = rng.choice(names), rng.choice(names)
        cut_head = rng.randint(max(1, len(head) // 3), max(1, len(head) - 1))
        cut_tail = rng.randint(min(len(tail) - 1, len(tail) // 3), max(1, len(tail) - 1))
        name = (head[:cut_head] + tail[cut_tail:]).strip(_PUNCTUATION) or head
        template = rng.choice(sample)
        code = (
            f"{rng.randint(500, 519)}{rng.choice('ABCDEFGQZ')}{rng.randint(0, 10**10):010d}"
            f"-{template.area_code}-000-{template.dept_code}-1-{number % 100:02d}"
        )
        out.append(Matter(
            item_code=code, name=name, department=template.department,
            task_type=template.task_type, task_type_name=template.task_type_name,
            group=template.group, area_code=template.area_code, dept_code=template.dept_code,
        ))
    return out


def _han_word(rng: random.Random, name: str, low: int, high: int) -> str | None:
    """A random run of ``low``..``high`` hanzi from ``name``, or None if it has none."""
    runs = [run for run in "".join(c if is_han(c) else " " for c in name).split()
            if len(run) >= low]
    if not runs:
        return None
    run = rng.choice(runs)
    size = rng.randint(low, min(high, len(run)))
    start = rng.randint(0, len(run) - size)
    return run[start:start + size]


def make_queries(sample: Sequence[Matter], count: int = QUERIES,
                 seed: int = SEED) -> list[tuple[str, str]]:
    """``count`` (kind, query) pairs in realistic proportions, drawn from real wording."""
    rng = random.Random(seed)
    departments = sorted({m.department for m in sample})

    def word(low: int = 2, high: int = 4) -> str:
        while True:
            found = _han_word(rng, rng.choice(sample).name, low, high)
            if found:
                return found

    def pinyin_word() -> str:
        return pinyin_keys(word()).full

    def pinyin_prefix() -> str:
        full = pinyin_keys(rng.choice(sample).name).full
        return full[:rng.randint(2, min(8, len(full)))]

    def department() -> str:
        name = rng.choice(departments)
        return rng.choice([name, pinyin_keys(name).full, name[1:3]])

    def code_fragment() -> str:
        code = rng.choice(sample).item_code
        start = rng.randint(0, len(code) - 8)
        return code[start:start + rng.randint(6, 12)]

    def miss() -> str:
        return rng.choice([
            "".join(rng.choice("鑫淼焱犇骉羴猋麤") for _ in range(2)),
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 7))),
            "qxzv",
        ])

    def multi_term() -> str:
        return rng.choice([
            f"{word(2, 2)} {word(2, 2)}",
            f"{word()} {rng.choice(departments)}",
            f"{pinyin_word()} {word(2, 3)}",
            f"{pinyin_keys(word()).initials} {pinyin_word()}",
        ])

    def citizen() -> str:
        # what citizens type: their own words (synonym keys, with an intent word
        # now and then), or English phrases
        table = dictionary()
        if rng.random() < 0.3:
            return " ".join(rng.choice(list(table.english)))
        key = rng.choice(table.synonyms).text
        return key + rng.choice(["", "", "补办", "怎么办", "丢了", "到期了"])

    def reordered() -> str:
        chars = list(word(3, 5))
        rng.shuffle(chars)
        return "".join(chars)

    makers: list[tuple[str, float, Callable[[], str]]] = [
        ("hanzi word", 20, word),
        ("2 hanzi", 10, lambda: word(2, 2)),
        ("exact name", 5, lambda: rng.choice(sample).name),
        ("full pinyin", 10, pinyin_word),
        ("pinyin prefix", 10, pinyin_prefix),
        ("initials", 10, lambda: pinyin_keys(word(2, 5)).initials),
        ("department", 7, department),
        ("item code", 5, code_fragment),
        ("miss", 8, miss),
        ("multi-term", 10, multi_term),
        ("reordered", 5, reordered),
        ("citizen words", 15, citizen),
    ]
    weights = [weight for _kind, weight, _make in makers]
    queries = []
    for _ in range(count):
        kind, _weight, make = rng.choices(makers, weights)[0]
        queries.append((kind, make()))
    return queries


def _timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _query_results(label: str, index: SearchIndex, queries: Sequence[tuple[str, str]],
                   goal_ms: float) -> list[BenchResult]:
    """p50 / p95 / max latency of ``queries`` (20 results each) on ``index``."""
    for _kind, query in queries[:50]:  # warm caches, as a running kiosk would be
        index.search(query)
    samples: list[float] = []
    by_kind: dict[str, list[float]] = {}
    for kind, query in queries:
        elapsed = _timed(lambda q=query: index.search(q, 20)) * 1000
        samples.append(elapsed)
        by_kind.setdefault(kind, []).append(elapsed)
    worst = max(by_kind, key=lambda k: percentile(by_kind[k], 95))
    detail = (f"{len(samples)} queries; slowest kind: {worst} "
              f"(p95 {percentile(by_kind[worst], 95):.2f} ms)")
    return [
        BenchResult(f"search p50, {label}", percentile(samples, 50), "ms", detail=detail),
        BenchResult(f"search p95, {label}", percentile(samples, 95), "ms", goal_ms,
                    detail=detail),
        BenchResult(f"search max, {label}", max(samples), "ms",
                    detail="includes any garbage-collector pause"),
    ]


class _IndexCatalogue:
    """What :func:`~kiosk.finding.answers.answer` asks of the catalogue, over an index in
    memory: the matters a generated catalogue never stored in SQLite."""

    def __init__(self, index: SearchIndex, matters: Sequence[Matter]) -> None:
        self.index = index
        self.by_code = {m.item_code: m for m in matters}

    def search(self, query: str, limit: int = 20):
        return self.index.search(query, limit)

    def matter(self, item_code: str) -> Matter | None:
        return self.by_code.get(item_code)

    def guide(self, _item_code: str) -> None:
        return None

    def form_document(self, _item_code: str) -> tuple[None, None]:
        return None, None


def _answer_results(label: str, index: SearchIndex, matters: Sequence[Matter],
                    goal_ms: float) -> list[BenchResult]:
    """p95 of the ask screen's answer over the relevance set's citizen questions."""
    catalogue = _IndexCatalogue(index, matters)
    faq = KnowledgeBase(None).faq_entries()  # the shipped sample FAQ (75 entries)
    questions = [q.q for q in load_questions()]
    for question in questions[:30]:
        answer(question, catalogue, faq)
    samples = [_timed(lambda q=q: answer(q, catalogue, faq)) * 1000 for q in questions]
    found = sum(1 for q in questions if answer(q, catalogue, faq).found)
    return [BenchResult(f"answer p95, {label}", percentile(samples, 95), "ms", goal_ms,
                        detail=f"{len(questions)} citizen questions, {len(faq)} FAQ entries; "
                        f"{found} answered, p50 {percentile(samples, 50):.2f} ms, "
                        f"max {max(samples):.2f} ms")]


class _BrowseCatalogue:
    """What :class:`~kiosk.finding.browse.Browser` asks of the catalogue, in memory, with
    usage recorded for one matter in a hundred (a kiosk after months of visits)."""

    def __init__(self, matters: Sequence[Matter]) -> None:
        self._matters = list(matters)
        self.by_code = {m.item_code: m for m in matters}
        self.store = self  # Browser reads store.version()
        rng = random.Random(SEED)
        self.scores = {m.item_code: rng.randint(1, 500) for m in rng.sample(self._matters,
                                                                          len(matters) // 100)}

    def version(self) -> int:
        return 1

    def matters(self) -> list[Matter]:
        return list(self._matters)

    def matter(self, item_code: str) -> Matter | None:
        return self.by_code.get(item_code)

    def usage_scores(self) -> dict[str, int]:
        return dict(self.scores)


def _browse_results(label: str, matters: Sequence[Matter]) -> list[BenchResult]:
    """Theme membership (once per catalogue version, at start) and the most-used-first
    order of every matter (each time 全部事项 is shown after a use was recorded)."""
    from kiosk.finding.browse import Browser

    catalogue = _BrowseCatalogue(matters)
    browser = Browser(catalogue)  # type: ignore[arg-type]
    gc.collect()
    themes = _timed(browser.theme_groups)
    orders = []
    for _ in range(5):
        browser._scores = None  # a use was recorded: counts are read again
        orders.append(_timed(lambda: browser.most_used_first(catalogue.matters())) * 1000)
    return [
        BenchResult(f"theme membership, {label}", themes * 1000, "ms",
                    detail=f"{len(browser.themes)} themes; done while the attract loop runs"),
        BenchResult(f"all matters most used first, {label}", percentile(orders, 50), "ms",
                    detail=f"median of 5 sorts, {len(catalogue.scores):,} matters used"),
    ]


def _keys_for(matters: Sequence[Matter]) -> tuple[dict[str, PinyinKeys], float]:
    """Pinyin keys by item code as the importer computes them, and seconds taken (cold)."""
    pinyin_keys.cache_clear()
    start = time.perf_counter()
    keys = {m.item_code: pinyin_keys(m.name) for m in matters}
    return keys, time.perf_counter() - start


def _keystroke_results(sample: Sequence[Matter]) -> list[BenchResult]:
    """PinyinInput build time and per-keystroke latency of typing real words' pinyin."""
    vocabulary = [m.name for m in sample] + [m.department for m in sample]
    gc.collect()  # not the leftovers of the 100,000-matter index
    build_first = _timed(lambda: PinyinInput(vocabulary))
    engine = PinyinInput(vocabulary)
    build = _timed(lambda: PinyinInput(vocabulary))
    rng = random.Random(SEED)
    typed: list[str] = []
    for matter in rng.sample(list(sample), 200):
        found = _han_word(rng, matter.name, 2, 5)
        if found:
            keys = pinyin_keys(found)
            typed.append(rng.choice([keys.full, keys.initials, keys.full[:3] + keys.initials[1:]]))
    first_letter = [_timed(lambda c=c: engine.candidates(c)) * 1000
                    for c in string.ascii_lowercase]
    samples = [_timed(lambda p=word[:end]: engine.candidates(p)) * 1000
               for word in typed for end in range(1, len(word) + 1)]
    return [
        BenchResult("pinyin input build, 1,135 matters (first instance)", build_first * 1000,
                    "ms", 1000, detail="includes the shared character tables"),
        BenchResult("pinyin input build, 1,135 matters (next instances)", build * 1000, "ms",
                    1000),
        BenchResult("candidates p50 per keystroke", percentile(samples, 50), "ms",
                    detail=f"{len(samples)} keystrokes typing {len(typed)} words"),
        BenchResult("candidates p95 per keystroke", percentile(samples, 95), "ms", 5.0,
                    detail="full pinyin, initials and mixed"),
        BenchResult("candidates max per keystroke", max(samples), "ms"),
        BenchResult("candidates, first use of each initial letter (median)",
                    percentile(first_letter, 50), "ms",
                    detail="sorts that letter's dictionary characters once"),
        BenchResult("candidates, first use of each initial letter (max)", max(first_letter),
                    "ms", detail="includes any garbage-collector pause"),
    ]


def run() -> list[BenchResult]:
    """Every figure of this benchmark (takes about a minute)."""
    sample = load_sample()
    queries = make_queries(sample)
    results: list[BenchResult] = []
    for label, matters, goal in (
        ("1,135 matters", sample, 10.0),
        (f"{LARGE:,} matters", generate_matters(LARGE, sample), 50.0),
    ):
        keys, keys_seconds = _keys_for(matters)
        results.append(BenchResult(
            f"pinyin keys, {label}", keys_seconds * 1000, "ms",
            detail=f"{keys_seconds / len(matters) * 1e6:.1f} us per name"))
        gc.collect()
        build = _timed(lambda m=matters, k=keys: SearchIndex(m, k))
        results.append(BenchResult(
            f"index build, {label} (keys given)", build * 1000, "ms",
            3000.0 if len(matters) >= LARGE else None))
        gc.collect()
        tracemalloc.start()  # counts what the build allocates, not the keys made before
        index = SearchIndex(matters, keys)
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        results.append(BenchResult(
            f"index memory, {label}", size / 2**20, "MiB",
            detail="tracemalloc after build: literal tiers + BM25 arrays (numpy included)"))
        results.extend(_query_results(label, index, queries, goal))
        results.extend(_answer_results(label, index, matters, goal))
        results.extend(_browse_results(label, matters))
        del index, keys
    results.extend(_keystroke_results(sample))
    return results


def _table(results: Sequence[BenchResult]) -> str:
    """Results as an aligned text table."""
    rows = [("figure", "value", "goal", "met", "detail")]
    for r in results:
        goal = "" if r.goal is None else f"{'>=' if r.higher_is_better else '<='} {r.goal:g}"
        met = {None: "", True: "yes", False: "NO"}[r.met]
        rows.append((r.name, f"{r.value:,.2f} {r.unit}", goal, met, r.detail))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
             + ("  " + row[4] if row[4] else "") for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main() -> None:
    """Print the benchmark as a table, with the machine it ran on."""
    print(machine_info())
    print(_table(run()))


if __name__ == "__main__":
    main()
