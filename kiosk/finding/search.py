"""Catalogue search: what a citizen types -> ranked matters, one answer per matter.

A citizen types an official name (居住证办理), a fragment, pinyin or initials (``jzz``), their
own words (驾照到期了, 开饭馆), a typo (居住正) or English (``residence permit``). One engine
ranks them all, offline, from two kinds of evidence added together:

1. literal tiers (:mod:`kiosk.finding.literal`): exact name, name prefix, substring, pinyin
   initials / full pinyin at syllable boundaries, department, item code. They are the
   strongest evidence and get a fixed bonus that keeps them on top: ``jzz`` still puts
   居住证办理 first and an exact name is always first;
2. relevance (:mod:`kiosk.finding.ranking`): BM25 over character bigrams and unigrams of the
   names, for a weighted query made by :mod:`kiosk.finding.synonyms` from the query's own
   hanzi (1.0), its synonyms' official terms (0.8), English translations (0.9), intent
   words (补办 -> 补领/补发/遗失补办, 0.6: enough that the right variant of a matter wins;
   with no action asked, a little of 新办/核发 among rows that match), and the bigrams
   that sound like the query (typed pinyin 0.9, homophone typos 0.8); the department's
   name adds a little (field boost: name > synonyms > department). Each official term
   counts as one concept, however many bigrams it has, so long terms do not drown short.

BM25 is normalised to the best row's, so the literal bonuses mean the same for every query.
Matters that share a name (the same service of two departments) are one answer: the best
one in place, the others after every distinct answer (and from :meth:`SearchIndex.variants`).
A page is never empty while any name shares a character or a syllable pair with the query.

``SearchHit.reason`` is the literal tier's word, or ``related`` for a relevance-only hit.
Build the index once (about 0.1 s at the 1,135 sample matters, 3.5 s at 100,000, most of it
the literal tiers) and query per keystroke: p95 about 3 ms at 1,135 and 15-25 ms at 100,000
on the 2-core dev machine (``python -m bench.bench_search``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from kiosk.finding.literal import REASONS as LITERAL_REASONS
from kiosk.finding.literal import LiteralIndex, SearchHit, fold, query_terms
from kiosk.finding.ranking import BM25Index, char_tokens
from kiosk.finding.synonyms import Analysis, analyse, dictionary
from kiosk.models import Matter, PinyinKeys

__all__ = ["REASONS", "SearchHit", "SearchIndex", "fold", "query_terms"]

#: Every ``SearchHit.reason``: the literal tiers best first, then relevance alone.
REASONS: tuple[str, ...] = (*LITERAL_REASONS, "related")

#: Bonus of each literal tier, added to relevance (at most 1.0).
_BONUS: dict[str, float] = {
    "name_exact": 3.0, "name_prefix": 1.2, "name": 1.0, "initials_prefix": 1.0,
    "pinyin_prefix": 0.9, "pinyin": 0.6, "initials": 0.35, "department": 0.1,
    "item_code": 1.0, "chars": 0.3,
}
_OWN, _SYNONYM, _ENGLISH, _INTENT = 1.0, 0.8, 0.9, 0.6
_DEFAULT_INTENT = 0.5  # share of _INTENT for the default intent (新办...)
_SOUND_TYPED, _SOUND_TYPO = 0.9, 0.8
_DEPARTMENT = 0.3
_KEEP = 0.12  # relevance below this share of the best row's is noise, not an answer
#: Name words of actions that undo, repeat or amend what a citizen has (代开发票作废,
#: 护士执业注销注册). Typing a matter's words without any action word means getting the
#: thing: a matter whose name carries one of these words, not typed, keeps this share of its
#: score, so 代开发票 finds 代开增值税普通发票 before 代开发票作废.
_UNASKED_ACTIONS = ("作废", "注销", "撤销", "变更", "延续", "遗失", "挂失", "补办", "补发",
                    "补领", "换发", "重核", "解挂", "封存", "转出", "终止", "歇业")
_UNASKED_SHARE = 0.8


class SearchIndex:
    """The search engine over one catalogue; immutable, rebuild when the catalogue changes.

    ``keys`` are the importer's pinyin keys by item code (computed here when missing).
    """

    def __init__(
        self, matters: Sequence[Matter], keys: Mapping[str, PinyinKeys] | None = None
    ) -> None:
        self._literal = LiteralIndex(matters, keys)
        rows = self._literal.matters
        self._matters = rows
        self._names = self._literal.folded_names
        self._bm25 = BM25Index([m.name for m in rows], [m.department for m in rows])
        self._by_name: dict[str, list[int]] = {}
        for row, name in enumerate(self._names):
            self._by_name.setdefault(name, []).append(row)
        # per action word, which rows' names hold it (a few bits per row)
        self._actions = {word: np.fromiter((word in name for name in self._names), bool,
                                           len(self._names)) for word in _UNASKED_ACTIONS}

    def __len__(self) -> int:
        return len(self._matters)

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """The best ``limit`` matters for ``query``, best first; [] for a blank query."""
        if not query_terms(query) or limit <= 0:
            return []
        analysis = analyse(query)
        relevance = self._relevance(analysis)
        best = float(relevance.max()) if len(relevance) else 0.0
        total = relevance / best if best > 0 else relevance
        total[total < _KEEP] = 0.0
        reasons: dict[int, str] = {}
        if not analysis.english:
            for row, _score, reason in self._literal.ranked_rows(query, max(60, 3 * limit)):
                reasons[row] = reason
                total[row] += _BONUS[reason]
        if not analysis.intents:
            typed = fold(query)
            unasked = [self._actions[word] for word in _UNASKED_ACTIONS if word not in typed]
            if unasked:
                total[np.logical_or.reduce(unasked)] *= _UNASKED_SHARE
        ranked = self._top(total, limit)
        return [SearchHit(self._matters[row], round(float(total[row]) * 100, 2),
                          reasons.get(row, "related")) for row in ranked]

    def variants(self, matter: Matter) -> list[Matter]:
        """Every matter with the same name as ``matter`` (itself included), by row order."""
        return [self._matters[row] for row in self._by_name.get(fold(matter.name), [])]

    def _relevance(self, analysis: Analysis) -> np.ndarray:
        """BM25 of every row for the query's tokens, intents included.

        With no intent asked, the dictionary's default intent (新办, 核发...: getting the
        thing) is added to rows that match the query's subject, never to others, so a
        query of nonsense (``qqqqqq``) still finds nothing.
        """
        relevance = self._bm25.scores(self._tokens(analysis), _DEPARTMENT)
        if not analysis.intents and relevance.any():
            default: dict[str, float] = {}
            for term in dictionary().default_intent:
                self._add(default, term, _INTENT * _DEFAULT_INTENT, concept=True)
            relevance += (relevance > 0) * self._bm25.scores(default, 0.0)
        return relevance

    def _tokens(self, analysis: Analysis) -> dict[str, float]:
        """The weighted query tokens: own words, synonyms, English, intents and sound."""
        query: dict[str, float] = {}

        def add(text: str, weight: float, concept: bool = False) -> None:
            self._add(query, text, weight, concept)

        for run in analysis.hanzi:
            add(run, _OWN)
        for term, weight in analysis.expansions.items():
            add(term, (_ENGLISH if analysis.english else _SYNONYM) * weight, concept=True)
        for term, weight in analysis.intents.items():
            add(term, _INTENT * weight, concept=True)
        known = self._bm25.vocabulary
        for run, syllables in zip(analysis.hanzi, analysis.syllables, strict=False):
            # a typo: only where the typed pair is no word of the catalogue (居住正: 住正)
            for index in range(len(run) - 1):
                if run[index:index + 2] not in known:
                    for bigram in self._bm25.sound_alikes(syllables[index:index + 2]):
                        query[bigram] = max(query.get(bigram, 0.0), _SOUND_TYPO)
        for syllables in analysis.syllables[len(analysis.hanzi):]:
            for bigram in self._bm25.sound_alikes(syllables):
                query[bigram] = max(query.get(bigram, 0.0), _SOUND_TYPED)
        return query

    @staticmethod
    def _add(query: dict[str, float], text: str, weight: float, concept: bool) -> None:
        """Add a text's tokens to a weighted query (a token keeps its highest weight)."""
        tokens = char_tokens(text)
        if concept:  # one official term is one concept, however many bigrams it has
            weight *= 2.0 / max(2, sum(1 for t, _w in tokens if len(t) > 1))
        for token, token_weight in tokens:
            if len(token) == 1 and not token.isalpha():
                continue  # a lone digit (the 1 of 15年) matches any number: noise
            query[token] = max(query.get(token, 0.0), weight * token_weight)

    def _top(self, total: np.ndarray, limit: int) -> list[int]:
        """Rows with a positive score, best first (ties: row order), one per name."""
        count = int(np.count_nonzero(total > 0))
        if count == 0:
            return []
        take = min(count, limit * 2 + 10)
        if take < len(total):
            candidates = np.argpartition(-total, take - 1)[:take]
        else:
            candidates = np.arange(len(total))
        candidates = candidates[total[candidates] > 0]
        order = candidates[np.lexsort((candidates, -total[candidates]))]
        first: list[int] = []
        later: list[int] = []
        seen: set[str] = set()
        for row in order.tolist():
            name = self._names[row]
            (later if name in seen else first).append(row)
            seen.add(name)
        return (first + later)[:limit]
