"""Pinyin -> hanzi candidates for the on-screen keyboard.

Kivy's VKeyboard never goes through a system input method, so the kiosk converts the
letters a citizen types itself. The citizen is looking for a catalogue matter, so the
words worth offering first are the catalogue's own: every run of 2 to 6 hanzi cut from the
matter and department names, read in context (银行 -> yin hang), is a candidate phrase.
After them come single characters for the first syllable from the dictionary (the compact
tables of :mod:`kiosk.finding.pinyin_table`, derived from pypinyin's), the catalogue's
characters first and then by GB2312 level, so rare personal-name characters (堃 kun,
喆 zhe, 䶮 yan, 𠮷 ji) are still reachable further down.

Matching the letters against a phrase's syllables, each syllable may be typed

* in full (``juzhuzheng`` -> 居住证);
* as its initial, ``z`` or ``zh`` for ``zhu`` (``jzz`` -> 居住证, ``qgafj`` -> 区公安分局),
  unless the next typed letter is the syllable's own next letter (``zhuz`` is zhu + z...,
  not z + huz...), an ``i``/``u``/``v`` (no syllable starts so), an ``h`` after
  ``z``/``c``/``s`` (``zhe`` is never z + he), or a vowel once some syllable was typed in
  full (``yinhang`` is 银行, never yin + h + ang 印花);
* partly, when it is the last thing typed (``juzhuzh`` -> 居住证).

An abbreviated or partial syllable may not directly follow a full one that the letter
would extend (``yinhang`` is yin + hang, never yi + n + hang), mirroring how pinyin is cut.

An apostrophe forces a syllable break (``xi'an``). Phrases are ranked by how many typed
letters they consume, then by fewer abbreviated syllables, then by how often they occur
in the catalogue. A phrase that spells fewer letters, or as many with more abbreviations,
than a single character for the first syllable is a misreading (``yan`` as y + an ->
预案) and goes after the single characters, which are ordered by how much of the input
their syllable spells (``xian`` before ``xi``), then by the buckets above.
:meth:`PinyinInput.consumed` tells the keyboard how many letters a chosen candidate used,
so it can keep the rest (choosing 居住 from ``juzhuzheng`` leaves ``zheng``).
"""

from __future__ import annotations

import gc
import heapq
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from itertools import accumulate

from kiosk.finding.pinyin_keys import (
    han_syllables,
    is_han,
    pinyin_syllables,
    toneless_readings,
)
from kiosk.finding.pinyin_table import pinyin_table

__all__ = ["PinyinInput"]

_MIN_PHRASE, _MAX_PHRASE = 2, 6
_TWO_LETTER_INITIALS = frozenset({"zh", "ch", "sh"})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SYLLABLE_BITS = 12  # syllable ids in a trie edge's key (about 420 syllables exist)


def _abbreviations(syllable: str) -> tuple[int, ...]:
    """How many letters an abbreviation of ``syllable`` may use: its first, or zh/ch/sh."""
    if syllable[:2] in _TWO_LETTER_INITIALS and len(syllable) > 2:
        return (1, 2)
    return (1,) if len(syllable) > 1 else ()


def _skip_breaks(letters: str, pos: int) -> int:
    """Past any apostrophes (typed syllable breaks) at ``pos``."""
    while pos < len(letters) and letters[pos] == "'":
        pos += 1
    return pos


@lru_cache(maxsize=1)
def _syllable_prefixes() -> frozenset[str]:
    """Every non-empty prefix of every syllable ('z', 'zh', 'zhu', 'zhua', ...)."""
    return frozenset(s[:size] for s in pinyin_syllables() for size in range(1, len(s) + 1))


def _steps(
    letters: str, pos: int, syllable: str, previous: int, initials_only: bool
) -> Iterator[tuple[int, int, int]]:
    """Ways ``syllable`` can be typed at ``pos``: (position after it, abbreviated 0/1,
    start of this syllable if typed in full and not followed by an apostrophe, else -1).

    ``previous`` is that start for the syllable before (-1 if none or not full);
    ``initials_only`` says whether every syllable before was abbreviated.
    """
    end = len(letters)
    if letters.startswith(syllable, pos):
        after = pos + len(syllable)
        skipped = _skip_breaks(letters, after)
        yield skipped, 0, pos if skipped == after else -1
        return
    if previous >= 0 and letters[previous:pos + 1] in _syllable_prefixes():
        return  # the letter belongs to the full syllable before it
    rest = end - pos
    if 0 < rest < len(syllable) and syllable.startswith(letters[pos:]):
        yield end, 1, -1  # the last syllable, still being typed
        return
    for size in _abbreviations(syllable):
        after = pos + size
        if after >= end or not letters.startswith(syllable[:size], pos):
            continue
        following = letters[after]
        if following == syllable[size] or following in "iuv" or (
                size == 1 and following == "h" and syllable[0] in "zcs") or (
                following in "aeo" and not initials_only):
            continue
        yield _skip_breaks(letters, after), 1, -1


def _match(letters: str, syllables: tuple[str, ...]) -> tuple[int, int] | None:
    """Best (letters consumed, abbreviations) typing ``syllables`` from the start."""
    best: tuple[int, int] | None = None
    stack = [(_skip_breaks(letters, 0), 0, 0, -1)]
    while stack:
        pos, index, abbreviated, previous = stack.pop()
        if index == len(syllables):
            if best is None or (pos, -abbreviated) > (best[0], -best[1]):
                best = (pos, abbreviated)
            continue
        if pos >= len(letters):
            continue
        for after, short, full_start in _steps(
                letters, pos, syllables[index], previous, abbreviated == index):
            stack.append((after, index + 1, abbreviated + short, full_start))
    return best


def _dictionary_chars(
    syllable: str, after: int, short: int
) -> Iterator[tuple[tuple[int, ...], str]]:
    """Every hanzi read ``syllable``, best first (common characters in their main reading
    first), keyed ((-after, short, dictionary key), char) for the merge in _single_chars.

    The keys are shipped presorted (:func:`kiosk.finding.pinyin_table.dictionary_key`),
    so the first keystroke on a letter costs no more than the next one and nothing is
    kept per syllable typed.
    """
    table = pinyin_table()
    for key, char in zip(table.dictionary_keys(syllable), table.chars_read(syllable),
                         strict=True):
        yield (-after, short, key), char


@lru_cache(maxsize=1)
def _syllables_by_letter() -> dict[str, tuple[str, ...]]:
    """First letter -> the syllables starting with it, longest first."""
    table: dict[str, list[str]] = {}
    for syllable in pinyin_syllables():
        table.setdefault(syllable[0], []).append(syllable)
    return {letter: tuple(sorted(group, key=lambda s: (-len(s), s)))
            for letter, group in table.items()}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building.

    Building allocates tens of thousands of containers at once; the collector's
    generational passes over them took half the build time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Scaffold:
    """The phrase trie while it grows, made of integers and large tables only.

    Nodes are numbers (the root is 0); an edge is ``parent << 12 | syllable id`` -> child,
    and ``node << 32 | phrase id`` marks a phrase spelled at a node. Nested containers
    were the obvious build, but CPython keeps thousands of freed small tuples, lists and
    dicts on free lists, scattered over the allocator's arenas, and those pinned about
    10 MiB of the freed scaffolding in resident memory; integers have no free list.
    """

    __slots__ = ("counts", "edges", "marks", "phrase_ids", "syllable_ids")

    def __init__(self) -> None:
        self.edges: dict[int, int] = {}
        self.marks: set[int] = set()
        self.syllable_ids: dict[str, int] = {}
        self.phrase_ids: dict[str, int] = {}  # in order of first occurrence
        self.counts: list[int] = []  # by phrase id: occurrences in the vocabulary

    def grow(self, run: str, syllables: list[str]) -> None:
        """Add a run of hanzi's 2..6-char phrases, read ``syllables``, and count them."""
        edges, marks, syllable_ids = self.edges, self.marks, self.syllable_ids
        phrase_ids, counts = self.phrase_ids, self.counts
        size = len(run)
        for start in range(size - 1):
            node = 0
            for stop in range(start + 1, min(size, start + _MAX_PHRASE) + 1):
                syllable = syllables[stop - 1]
                if not syllable:
                    break
                syllable_id = syllable_ids.get(syllable)
                if syllable_id is None:
                    syllable_id = syllable_ids[syllable] = len(syllable_ids)
                    if syllable_id >> _SYLLABLE_BITS:
                        raise ValueError("more distinct syllables than a trie edge holds")
                key = node << _SYLLABLE_BITS | syllable_id
                child = edges.get(key)
                if child is None:
                    child = edges[key] = len(edges) + 1
                node = child
                if stop - start >= _MIN_PHRASE:
                    phrase_id = phrase_ids.setdefault(run[start:stop], len(phrase_ids))
                    if phrase_id == len(counts):
                        counts.append(1)
                    else:
                        counts[phrase_id] += 1
                    marks.add(node << 32 | phrase_id)


def _starts(groups: Iterable[int], count: int) -> array:
    """CSR offsets: ``count + 1`` positions where each of ``count`` groups starts, given
    the (sorted) group of every item."""
    sizes = array("I", bytes(4 * (count + 1)))
    for group in groups:
        sizes[group + 1] += 1
    return array("I", accumulate(sizes))


class PinyinInput:
    """Candidate engine of the on-screen keyboard over one catalogue's vocabulary.

    ``vocabulary`` is the matter names and department names; duplicates count once, so
    passing a department name per matter does not inflate it. Building over the 1,135
    sample matters takes about 0.15 s and leaves about 1.5 MiB of arrays (issue 11: the
    trie as Python containers held 10 MiB, and pypinyin's tables 55 MiB more); a keystroke
    takes about 0.25 ms at p95, the first one on a letter hardly more, as the dictionary
    characters come presorted. Figures: ``python -m bench.bench_search``.
    """

    __slots__ = (
        "_catalogue_chars", "_char_count", "_char_readings", "_edge_child", "_edge_start",
        "_edge_syllable", "_node_phrases", "_phrase_count", "_phrase_offsets",
        "_phrase_start", "_phrase_text", "_syllable_names",
    )

    def __init__(self, vocabulary: Iterable[str]) -> None:
        # The trie is grown in a scaffold of about 10 MiB, then stored as arrays (_flatten).
        # Whatever outlives the build is allocated before the scaffold, so that once freed
        # its memory goes back whole to the system; a survivor allocated among it would pin
        # it in resident memory.
        self._edge_start, self._edge_child = array("I"), array("I")
        self._edge_syllable = array("H")
        self._phrase_start, self._node_phrases = array("I"), array("I")
        self._phrase_offsets, self._phrase_count = array("I"), array("I")
        self._char_count: dict[tuple[str, str], int] = {}  # (char, syllable) -> count
        with _gc_paused():
            runs = [(run, han_syllables(run))
                    for text in dict.fromkeys(vocabulary) for run in _han_runs(text)]
            for run, syllables in runs:
                for pair in zip(run, syllables, strict=True):
                    if pair[1]:
                        self._char_count[pair] = self._char_count.get(pair, 0) + 1
            # Readings met in context (a phrase may read a char in a way its entry lacks).
            self._char_readings: dict[str, list[str]] = {}
            for char, syllable in self._char_count:
                self._char_readings.setdefault(char, []).append(syllable)
            # Syllable -> ((bucket 0, -count, code point), char), commonest here first.
            by_syllable: dict[str, list[tuple[tuple[int, ...], str]]] = {}
            for (char, syllable), count in self._char_count.items():
                by_syllable.setdefault(syllable, []).append(((0, -count, ord(char)), char))
            self._catalogue_chars = {s: sorted(entries) for s, entries in by_syllable.items()}
            del by_syllable
            _syllable_prefixes(), _syllables_by_letter()  # shared, once: not on a keystroke
            scaffold = _Scaffold()
            for run, syllables in runs:
                scaffold.grow(run, syllables)
            self._flatten(scaffold)
            del scaffold, runs

    def _flatten(self, scaffold: _Scaffold) -> None:
        """Store the trie as arrays: node n's edges are ``_edge_start[n]`` up to
        ``_edge_start[n + 1]`` in ``_edge_child`` / ``_edge_syllable``, its phrases
        ``_node_phrases[_phrase_start[n]:_phrase_start[n + 1]]``.

        Over the sample catalogue that is under 1 MiB where a trie of Python containers
        took 10 MiB, and a walk over it is hardly slower.
        """
        nodes = len(scaffold.edges) + 1
        keys = sorted(scaffold.edges)
        mask = (1 << _SYLLABLE_BITS) - 1
        self._edge_start.extend(_starts((key >> _SYLLABLE_BITS for key in keys), nodes))
        self._edge_child.extend(map(scaffold.edges.__getitem__, keys))
        self._edge_syllable.extend(key & mask for key in keys)
        del keys
        marks = sorted(scaffold.marks)
        self._phrase_start.extend(_starts((mark >> 32 for mark in marks), nodes))
        self._node_phrases.extend(mark & 0xFFFFFFFF for mark in marks)
        del marks
        self._syllable_names = tuple(scaffold.syllable_ids)
        phrases = list(scaffold.phrase_ids)
        self._phrase_text = "".join(phrases)
        self._phrase_offsets.extend(accumulate(map(len, phrases), initial=0))
        self._phrase_count.extend(scaffold.counts)

    def _phrase(self, phrase_id: int) -> str:
        """The text of one catalogue phrase."""
        offsets = self._phrase_offsets
        return self._phrase_text[offsets[phrase_id]:offsets[phrase_id + 1]]

    # -- public -------------------------------------------------------------------------

    def candidates(self, letters: str, limit: int = 40) -> list[str]:
        """Hanzi candidates for the typed ``letters``, best first, at most ``limit``."""
        letters = letters.translate(_ASCII_LOWER)
        if limit <= 0 or not letters:
            return []
        count = self._phrase_count
        # (-letters consumed, abbreviations, -count in the catalogue, phrase), best first
        ranked = sorted((-pos, short, -count[phrase_id], self._phrase(phrase_id))
                        for phrase_id, (pos, short) in self._phrases(letters).items())
        # A phrase that spells less, or with more abbreviations, than a single character
        # typed as its first syllable is a misreading (yan -> 预案 as y + an): after them.
        steps = self._first_steps(letters)
        best_single = max(((after, -short) for _syllable, after, short in steps),
                          default=(0, 0))
        leading = sum(1 for key in ranked if (-key[0], -key[1]) >= best_single)
        out = [key[3] for key in ranked[:min(leading, limit)]]
        if len(out) < limit:
            out.extend(self._single_chars(steps, limit - len(out)))
        if len(out) < limit:
            out.extend(key[3] for key in ranked[leading:leading + limit - len(out)])
        return out

    def consumed(self, letters: str, candidate: str) -> int:
        """How many of ``letters`` choosing ``candidate`` uses up (0 if it does not fit).

        The keyboard commits the candidate and keeps ``letters[consumed:]`` to go on with.
        """
        letters = letters.translate(_ASCII_LOWER)
        # a catalogue phrase: the trie's walk over its readings in context (keeping those
        # per phrase cost 3 MiB over the sample catalogue for a call made once per choice)
        best = next((found for phrase_id, found in self._phrases(letters).items()
                     if self._phrase(phrase_id) == candidate), None) \
            if len(candidate) >= _MIN_PHRASE else None
        if best is None and candidate and len(candidate) <= _MAX_PHRASE:
            per_char = [tuple(dict.fromkeys(
                (*toneless_readings(char), *self._char_readings.get(char, ()))))
                for char in candidate]
            if all(per_char):
                best = self._best(letters, _product(per_char))
        return 0 if best is None else best[0]

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _best(
        letters: str, options: Iterable[tuple[str, ...]]
    ) -> tuple[int, int] | None:
        """The best (consumed, abbreviations) over several readings of one candidate."""
        best: tuple[int, int] | None = None
        for syllables in options:
            found = _match(letters, syllables)
            if found and (best is None or (found[0], -found[1]) > (best[0], -best[1])):
                best = found
        return best

    def _phrases(self, letters: str) -> dict[int, tuple[int, int]]:
        """Catalogue phrases the letters can spell: id -> best (consumed, abbreviations)."""
        found: dict[int, tuple[int, int]] = {}
        end = len(letters)
        edge_start, edge_child = self._edge_start, self._edge_child
        edge_syllable, names = self._edge_syllable, self._syllable_names
        phrase_start, node_phrases = self._phrase_start, self._node_phrases
        stack: list[tuple[int, int, int, int, int]] = [(0, _skip_breaks(letters, 0), 0, 0, -1)]
        while stack:
            node, pos, depth, abbreviated, previous = stack.pop()
            if depth >= _MIN_PHRASE:
                for phrase_id in node_phrases[phrase_start[node]:phrase_start[node + 1]]:
                    known = found.get(phrase_id)
                    if known is None or (pos, -abbreviated) > (known[0], -known[1]):
                        found[phrase_id] = (pos, abbreviated)
            if pos >= end or depth == _MAX_PHRASE:
                continue
            first = letters[pos]
            for edge in range(edge_start[node], edge_start[node + 1]):
                syllable = names[edge_syllable[edge]]
                if syllable[0] == first:
                    child = edge_child[edge]
                    for after, short, full_start in _steps(
                            letters, pos, syllable, previous, abbreviated == depth):
                        stack.append(
                            (child, after, depth + 1, abbreviated + short, full_start))
        return found

    @staticmethod
    def _first_steps(letters: str) -> list[tuple[str, int, int]]:
        """Syllables the first letters may stand for: (syllable, position after, short)."""
        start = _skip_breaks(letters, 0)
        if start >= len(letters):
            return []
        return [(syllable, after, short)
                for syllable in _syllables_by_letter().get(letters[start], ())
                for after, short, _full in _steps(letters, start, syllable, -1, True)]

    def _single_chars(self, steps: list[tuple[str, int, int]], limit: int) -> list[str]:
        """Characters for the first typed syllable: catalogue's, then by GB2312 level."""
        streams = []
        for syllable, after, short in steps:
            streams.append(_keyed(self._catalogue_chars.get(syllable, ()), after, short))
            streams.append(_dictionary_chars(syllable, after, short))
        out: list[str] = []
        seen: set[str] = set()
        for _key, char in heapq.merge(*streams):
            if char not in seen:
                seen.add(char)
                out.append(char)
                if len(out) >= limit:
                    break
        return out


def _keyed(
    entries: Iterable[tuple[tuple[int, ...], str]], after: int, short: int
) -> Iterator[tuple[tuple[int, ...], str]]:
    """Entries (bucket, *order) -> (-after, short, bucket, *order): a merge key across
    the syllables the first letters may stand for, longest and fully typed first."""
    for key, char in entries:
        yield (-after, short, *key), char


def _han_runs(text: str) -> Iterator[str]:
    """Maximal runs of hanzi in ``text``."""
    start = None
    for index, char in enumerate(text):
        if is_han(char):
            if start is None:
                start = index
        elif start is not None:
            yield text[start:index]
            start = None
    if start is not None:
        yield text[start:]


def _product(per_char: list[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    """Every combination of per-character readings (few: most hanzi have one or two)."""
    if not per_char:
        yield ()
        return
    for head in per_char[0]:
        for tail in _product(per_char[1:]):
            yield (head, *tail)
