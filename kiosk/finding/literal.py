"""Literal tiers of catalogue search: exact, prefix and substring hits on names and keys.

This was the whole search until the ranking engine (:mod:`kiosk.finding.search`) came;
it is now that engine's first stage, because a literal hit (``jzz`` -> 居住证办理, an exact
name) is the strongest evidence there is and must stay on top.

Tiers, best first (the ``reason`` word of each :class:`SearchHit` in brackets):

1. exact name (``name_exact``), name prefix (``name_prefix``), name substring (``name``);
2. pinyin initials prefix (``initials_prefix``: ``jzz`` -> 居住证办理), full pinyin prefix
   (``pinyin_prefix``), full pinyin starting at a syllable boundary anywhere (``pinyin``:
   ``banli``), initials anywhere (``initials``: ``bl``); pinyin inside a syllable
   (``heng`` in ``zheng``) is never a hit, it is noise to a citizen;
3. the department's name, pinyin or initials (``department``);
4. item code substring (``item_code``), for staff;
5. for a term with hanzi: the name holds every character of it in any order (``chars``:
   办理居住证 -> 居住证办理). This fills the list after the real substring hits when they
   are fewer than ``limit``, so a reordered phrase is found even when some other name
   happens to contain it literally.

Ties go to the shorter name, then the item code. Several whitespace-separated terms must
all match (each in any field); the hit's score is the mean of its terms' scores and its
reason is that of its weakest term. An apostrophe in a pinyin term marks a syllable break
(``xi'an``). Query and fields are compared after :func:`fold` (NFKC, so full-width
``ＪＺＺ`` equals ``jzz``; lowercase; whitespace removed).

Why it is fast in pure Python -- the work is done in C:

* rows are sorted once in tie-break order, so within a tier rows come in rank order and a
  one-term search stops as soon as ``limit`` rows are found, best tier first;
* substring tiers: each field of every row is joined into one string (``"\\n"`` between
  rows) searched with ``str.find``; an offset maps back to its row with ``bisect`` and the
  scan jumps to the next row; syllable boundaries are a bytearray parallel to the pinyin;
* prefix tiers: a sorted copy of the field, bisected (no pass over the text at all);
* ``chars`` tier: char -> rows lists, intersected with ``set.intersection``;
* several terms: the most selective term is scanned, the others are checked only on its
  rows (for a term with hanzi, only on what a set intersection leaves).

Measured on a 2-core EPYC (``python -m bench.bench_search``, 1,000 mixed queries):
p95 0.2 ms at the 1,135 sample matters and about 8 ms at 100,000 generated ones, where
building the index from stored keys takes about 2.5 s.
"""

from __future__ import annotations

import heapq
import unicodedata
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

from kiosk.finding.pinyin_keys import PinyinKeys, is_han, pinyin_keys, syllable_starts
from kiosk.models import Matter

__all__ = ["REASONS", "LiteralIndex", "SearchHit", "fold", "query_terms"]

#: Reason words by tier, best first; ``_SCORES`` gives each tier's score.
REASONS: tuple[str, ...] = (
    "name_exact",
    "name_prefix",
    "name",
    "initials_prefix",
    "pinyin_prefix",
    "pinyin",
    "initials",
    "department",
    "item_code",
    "chars",
)
_SCORES: tuple[float, ...] = (100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 45.0, 30.0, 20.0, 10.0)
(_EXACT, _NAME_PREFIX, _NAME, _INI_PREFIX, _FULL_PREFIX, _FULL, _INI, _DEPT, _CODE,
 _CHARS) = range(len(REASONS))

@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: the matter, its score (higher is better) and why it matched."""

    matter: Matter
    score: float
    reason: str


def fold(text: str) -> str:
    """The comparison form of text: NFKC (full-width -> half-width), lowercase, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def query_terms(query: str) -> list[str]:
    """The distinct folded terms of a query, in the order typed."""
    terms: list[str] = []
    for part in query.split():
        term = fold(part)
        if term and term not in terms:
            terms.append(term)
    return terms


def _pinyin_form(term: str) -> tuple[str, tuple[int, ...]]:
    """A term as compared with pinyin keys, and where the typist put syllable breaks.

    Apostrophes are dropped (``xi'an`` -> ``xian``) and remembered as offsets that must fall
    on a syllable boundary of the match, so ``xi'an`` finds 西安 but not 乡村 (xiangcun);
    a trailing one asks for a whole syllable (``zhen'`` does not match ``zheng``).
    """
    if "'" not in term:
        return term, ()
    parts = term.split("'")
    cuts = tuple(accumulate(len(part) for part in parts[:-1]))
    return "".join(parts), cuts


class _Joined:
    """One field of every row joined into a single string, with each row's start offset."""

    __slots__ = ("starts", "text")

    def __init__(self, items: Sequence[str]) -> None:
        self.text = "\n" + "\n".join(items) + "\n"
        # starts[r] is the offset of row r's first char; starts[n] == len(text).
        self.starts = list(accumulate((len(item) + 1 for item in items), initial=1))

    def sampled_count(self, needle: str) -> int:
        """Occurrences of ``needle``, estimated from the first sixteenth of a long text."""
        size = len(self.text)
        if size < 1 << 16:
            return self.text.count(needle)
        return self.text.count(needle, 0, size // 16) * 16

    def scan(
        self,
        needle: str,
        tier: int,
        found: dict[int, int],
        want: int | None,
        boundary: bytearray | None = None,
        checks: tuple[int, ...] = (0,),
    ) -> None:
        """Add rows holding ``needle`` to ``found`` in row order until ``want`` rows.

        With ``boundary`` (a byte per char of ``text``, non-zero where a syllable starts)
        a match counts only if every offset in ``checks`` from its start is a boundary.
        """
        find, starts = self.text.find, self.starts
        pos = find(needle)
        while pos >= 0:
            if boundary is not None and not all(boundary[pos + c] for c in checks):
                pos = find(needle, pos + 1)
                continue
            row = bisect_right(starts, pos) - 1
            if row not in found:
                found[row] = tier
                if want is not None and len(found) >= want:
                    return
            pos = find(needle, starts[row + 1])


class _Sorted:
    """One field of every row in sorted order, for prefix search by bisection."""

    __slots__ = ("keys", "rows")

    def __init__(self, items: Sequence[str]) -> None:
        self.rows = sorted(range(len(items)), key=items.__getitem__)
        self.keys = [items[row] for row in self.rows]

    def prefixed(self, prefix: str) -> list[int]:
        """Rows whose value starts with ``prefix``, in no particular order."""
        keys = self.keys
        low = bisect_left(keys, prefix)
        high = bisect_left(keys, prefix + "\U0010ffff", low)
        while high < len(keys) and keys[high].startswith(prefix):
            high += 1
        return self.rows[low:high]

    def scan(
        self,
        prefix: str,
        tier: int,
        found: dict[int, int],
        want: int | None,
        accept: Callable[[int], bool] | None = None,
    ) -> None:
        """Add rows starting with ``prefix`` (and ``accept``-ed) to ``found`` in row order
        until ``want`` rows."""
        rows = self.prefixed(prefix)
        if accept is not None:
            rows = [row for row in rows if accept(row)]
        if want is None:
            for row in rows:
                found.setdefault(row, tier)
            return
        # At most len(found) of them are known already: that many more is enough.
        for row in heapq.nsmallest(want + len(found), rows):
            if row not in found:
                found[row] = tier
                if len(found) >= want:
                    return


@dataclass(frozen=True, slots=True)
class _Term:
    """One term of a several-term query, prepared for checking rows one by one."""

    term: str
    pin: str
    cuts: tuple[int, ...]
    chars: frozenset[str]
    han: bool
    departments: frozenset[int]
    possible: set[int] | None  # for a term with hanzi: every row it can match


@dataclass(frozen=True, slots=True)
class _Department:
    """One distinct department: folded name, pinyin keys, syllable starts and its rows."""

    name: str
    keys: PinyinKeys
    starts: frozenset[int]
    rows: list[int]

    def matches(self, term: str, pin: str, cuts: tuple[int, ...]) -> bool:
        """Whether ``term`` is in the name or ``pin`` in the initials or at a syllable."""
        if term in self.name:
            return True
        if not pin:
            return False
        if pin in self.keys.initials:
            return True
        full, starts = self.keys.full, self.starts
        pos = full.find(pin)
        while pos >= 0:
            if pos in starts and all(pos + cut in starts for cut in cuts):
                return True
            pos = full.find(pin, pos + 1)
        return False


class LiteralIndex:
    """The literal tiers over the catalogue; build once, query per keystroke.

    ``keys`` are the importer's precomputed pinyin keys of each matter name by item code;
    missing ones are computed here (about 30 us each). The index is immutable: rebuild it
    when the catalogue changes.
    """

    def __init__(
        self, matters: Sequence[Matter], keys: Mapping[str, PinyinKeys] | None = None
    ) -> None:
        keys = keys or {}
        rows = sorted(matters, key=lambda m: (len(m.name), m.item_code))
        self._matters: list[Matter] = rows
        self._names = [fold(m.name) for m in rows]
        row_keys = [keys.get(m.item_code) or pinyin_keys(m.name) for m in rows]
        self._initials = [k.initials for k in row_keys]
        self._fulls = [k.full for k in row_keys]
        self._codes = [fold(m.item_code) for m in rows]

        self._name = _Joined(self._names)
        self._ini = _Joined(self._initials)
        self._full = _Joined(self._fulls)
        self._code = _Joined(self._codes)
        self._name_sorted = _Sorted(self._names)
        self._ini_sorted = _Sorted(self._initials)
        self._full_sorted = _Sorted(self._fulls)

        # 1 where a syllable starts, and on every "\n" (the end of the previous row).
        boundary = bytearray(len(self._full.text))
        for base, row_key in zip(self._full.starts, row_keys, strict=False):
            boundary[base - 1] = 1
            for offset in syllable_starts(row_key):
                boundary[base + offset] = 1
        boundary[-1] = 1
        self._boundary = boundary

        # Name -> its row; names held by several rows -> all their rows. (No list per row:
        # 100,000 small lists are memory and garbage-collector work for nothing.)
        self._exact: dict[str, int] = {}
        self._exact_shared: dict[str, list[int]] = {}
        # Char -> rows whose name has it, ascending. Lists, not sets: half the build time
        # and a third of the memory; set.intersection takes them as they are.
        char_rows: defaultdict[str, list[int]] = defaultdict(list)
        for row, name in enumerate(self._names):
            first = self._exact.setdefault(name, row)
            if first != row:
                self._exact_shared.setdefault(name, [first]).append(row)
            for char in set(name):
                char_rows[char].append(row)
        self._char_rows: dict[str, list[int]] = dict(char_rows)

        by_department: dict[str, list[int]] = {}
        for row, matter in enumerate(rows):
            by_department.setdefault(matter.department, []).append(row)
        self._departments: list[_Department] = []
        self._row_department: list[int] = [0] * len(rows)
        for index, (department, dept_rows) in enumerate(by_department.items()):
            dept_keys = pinyin_keys(department)
            dept_starts = frozenset((*syllable_starts(dept_keys), len(dept_keys.full)))
            self._departments.append(
                _Department(fold(department), dept_keys, dept_starts, dept_rows))
            for row in dept_rows:
                self._row_department[row] = index

    def __len__(self) -> int:
        return len(self._matters)

    # -- public -------------------------------------------------------------------------

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """The best ``limit`` matters for ``query``, best first; [] for a blank query."""
        return [SearchHit(self._matters[row], score, reason)
                for row, score, reason in self.ranked_rows(query, limit)]

    def ranked_rows(self, query: str, limit: int) -> list[tuple[int, float, str]]:
        """``(row, score, reason)`` of the best ``limit`` rows, best first.

        Rows index :attr:`matters` (sorted by name length, then item code), so the ranking
        engine can add its own evidence to the same rows without looking matters up again.
        """
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        if len(terms) == 1:
            found = self._match(terms[0], want=limit)
            ranked = sorted(found.items(), key=lambda item: (item[1], item[0]))[:limit]
            return [(row, _SCORES[tier], REASONS[tier]) for row, tier in ranked]
        return self._search_terms(terms, limit)

    @property
    def folded_names(self) -> list[str]:
        """Each row's name as :func:`fold` leaves it."""
        return self._names

    @property
    def matters(self) -> list[Matter]:
        """The matters in row order: shorter name first, then item code."""
        return self._matters

    # -- single term --------------------------------------------------------------------

    def _match(self, term: str, want: int | None) -> dict[int, int]:
        """Rows matching one term -> best tier; stops after ``want`` rows (None: all)."""
        found: dict[int, int] = {}
        pin, cuts = _pinyin_form(term)

        def full() -> bool:
            return want is not None and len(found) >= want

        exact = self._exact.get(term)
        if exact is not None:
            for row in self._exact_shared.get(term, (exact,)):
                found[row] = _EXACT
        if full():
            return found
        self._name_sorted.scan(term, _NAME_PREFIX, found, want)
        if full():
            return found
        self._name.scan(term, _NAME, found, want)
        if pin and not full():
            self._ini_sorted.scan(pin, _INI_PREFIX, found, want)
            if not full():
                self._full_sorted.scan(pin, _FULL_PREFIX, found, want,
                                       accept=self._cuts_check(cuts) if cuts else None)
            if not full():
                self._full.scan(pin, _FULL, found, want, boundary=self._boundary,
                                checks=(0, *cuts))
            if not full():
                self._ini.scan(pin, _INI, found, want)
        if full():
            return found
        self._scan_departments(term, pin, cuts, found, want)
        if full():
            return found
        self._code.scan(term, _CODE, found, want)
        if not full():
            self._scan_chars(term, found, want)
        return found

    def _cuts_check(self, cuts: tuple[int, ...]) -> Callable[[int], bool]:
        """Whether a row's pinyin has a syllable boundary at each of ``cuts``."""
        boundary, starts = self._boundary, self._full.starts
        return lambda row: all(boundary[starts[row] + cut] for cut in cuts)

    def _scan_departments(
        self, term: str, pin: str, cuts: tuple[int, ...], found: dict[int, int],
        want: int | None,
    ) -> None:
        """Add rows of every department matching the term, in row order."""
        matched = [d.rows for d in self._departments if d.matches(term, pin, cuts)]
        if not matched:
            return
        for row in heapq.merge(*matched) if len(matched) > 1 else matched[0]:
            if row not in found:
                found[row] = _DEPT
                if want is not None and len(found) >= want:
                    return

    def _char_candidates(self, term: str) -> set[int] | None:
        """Rows whose name holds every character of a term with hanzi; None otherwise."""
        chars = set(term)
        if not any(is_han(char) for char in chars):
            return None
        buckets = []
        for char in chars:
            bucket = self._char_rows.get(char)
            if bucket is None:
                return set()
            buckets.append(bucket)
        buckets.sort(key=len)
        return set(buckets[0]).intersection(*buckets[1:])

    def _scan_chars(self, term: str, found: dict[int, int], want: int | None) -> None:
        """Add rows holding all the term's characters (any order), in row order."""
        candidates = self._char_candidates(term)
        if not candidates:
            return
        candidates.difference_update(found)
        rows = sorted(candidates) if want is None else heapq.nsmallest(
            want - len(found), candidates)
        for row in rows:
            found[row] = _CHARS

    # -- several terms ------------------------------------------------------------------

    def _prepare(self, term: str) -> _Term:
        """What checking one term row by row needs, computed once per query."""
        pin, cuts = _pinyin_form(term)
        chars = frozenset(term)
        han = any(is_han(char) for char in chars)
        departments = frozenset(i for i, d in enumerate(self._departments)
                                if d.matches(term, pin, cuts))
        possible: set[int] | None = None
        if han:
            # Every row a term with hanzi can match, from sets and C-speed scans: rows with
            # all its characters (a superset of name hits), its departments, other fields.
            possible = self._char_candidates(term) or set()
            for index in departments:
                possible.update(self._departments[index].rows)
            others: dict[int, int] = {}
            self._code.scan(term, _CODE, others, None)
            if pin:
                self._full.scan(pin, _FULL, others, None)
                self._ini.scan(pin, _INI, others, None)
            possible.update(others)
        return _Term(term, pin, cuts, chars, han, departments, possible)

    def _row_tier(self, t: _Term, row: int) -> int | None:
        """The best tier at which one row matches one term (the per-row twin of _match)."""
        name, term = self._names[row], t.term
        if term in name:
            return _EXACT if name == term else _NAME_PREFIX if name.startswith(term) \
                else _NAME
        pin = t.pin
        if pin:
            initials, full = self._initials[row], self._fulls[row]
            in_full = pin in full
            if in_full or pin in initials:
                if initials.startswith(pin):
                    return _INI_PREFIX
                if in_full:
                    base, boundary, cuts = self._full.starts[row], self._boundary, t.cuts
                    if full.startswith(pin) and all(boundary[base + c] for c in cuts):
                        return _FULL_PREFIX
                    pos = full.find(pin)
                    while pos >= 0:
                        if boundary[base + pos] and all(
                                boundary[base + pos + c] for c in cuts):
                            return _FULL
                        pos = full.find(pin, pos + 1)
                if pin in initials:
                    return _INI
        if self._row_department[row] in t.departments:
            return _DEPT
        if term in self._codes[row]:
            return _CODE
        if t.han and t.chars.issubset(name):
            return _CHARS
        return None

    def _estimate(self, t: _Term) -> int:
        """Roughly how many rows a term matches, to start from the most selective one."""
        if t.possible is not None:
            return len(t.possible)
        rows = sum(len(self._departments[i].rows) for i in t.departments)
        for joined, needle in ((self._name, t.term), (self._code, t.term),
                               (self._full, t.pin), (self._ini, t.pin)):
            if needle:
                rows += joined.sampled_count(needle)
        return rows

    def _search_terms(self, terms: list[str], limit: int) -> list[tuple[int, float, str]]:
        """Rows matching every term, ranked by their terms' mean score.

        The most selective term is matched by scanning; the others are checked only on
        its rows (for terms with hanzi, only on rows a set intersection leaves).
        """
        prepared = sorted((self._prepare(term) for term in terms), key=self._estimate)
        tiers: dict[int, list[int]] = {
            row: [tier] for row, tier in self._match(prepared[0].term, want=None).items()}
        for t in prepared[1:]:
            if not tiers:
                return []
            rows = tiers.keys() & t.possible if t.possible is not None else list(tiers)
            checked: dict[int, list[int]] = {}
            for row in rows:
                tier = self._row_tier(t, row)
                if tier is not None:
                    tiers[row].append(tier)
                    checked[row] = tiers[row]
            tiers = checked

        def rank(item: tuple[int, list[int]]) -> tuple[float, int]:
            row, row_tiers = item
            return (-sum(_SCORES[t] for t in row_tiers) / len(row_tiers), row)

        best = heapq.nsmallest(limit, tiers.items(), key=rank)
        return [(row, -rank((row, row_tiers))[0], REASONS[max(row_tiers)])
                for row, row_tiers in best]

