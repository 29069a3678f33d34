"""Pinyin -> hanzi candidates for the on-screen keyboard.

Kivy's VKeyboard never goes through a system input method, so the kiosk converts the
letters a citizen types itself. The citizen is looking for a catalogue matter, so the
words worth offering first are the catalogue's own: every run of 2 to 6 hanzi cut from the
matter and department names, read in context (银行 -> yin hang), is a candidate phrase.
After them come single characters for the first syllable from pypinyin's dictionary, the
catalogue's characters first and then by GB2312 level, so rare personal-name characters
(堃 kun, 喆 zhe, 䶮 yan, 𠮷 ji) are still reachable further down.

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
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from itertools import chain

from pypinyin.constants import PHRASES_DICT

from kiosk.finding.pinyin_keys import (
    han_syllables,
    is_han,
    pinyin_syllables,
    reading_table,
    toneless_readings,
)

__all__ = ["PinyinInput"]

_MIN_PHRASE, _MAX_PHRASE = 2, 6
_TWO_LETTER_INITIALS = frozenset({"zh", "ch", "sh"})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# A trie node over syllables: (syllable -> child node, phrases spelled by the path here).
# Plain tuples: a class instance per node made building three times slower.
_Node = tuple[dict[str, "_Node"], list[str]]


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


def _gb2312_level(char: str) -> int:
    """1 or 2 for GB2312 level-1/level-2 hanzi (0xB0A1-0xD7FE / 0xD8A1-0xF7FE), else 3."""
    try:
        encoded = char.encode("gb2312")
    except UnicodeEncodeError:
        return 3
    if len(encoded) != 2:
        return 3
    return 1 if 0xB0 <= encoded[0] <= 0xD7 else 2 if 0xD8 <= encoded[0] <= 0xF7 else 3


@lru_cache(maxsize=1)
def _readers() -> dict[str, list[tuple[str, int]]]:
    """Syllable -> every hanzi read so, with the rank of that reading among the char's.

    One pass over pypinyin's 41,000 characters (about 40 ms), shared by every instance;
    compatibility ideographs (NFKC maps them to another char) are left out as duplicates.
    """
    table: dict[str, list[tuple[str, int]]] = {}
    for char, readings in reading_table().items():
        if is_han(char) and unicodedata.normalize("NFKC", char) == char:
            for rank, syllable in enumerate(readings):
                table.setdefault(syllable, []).append((char, rank))
    return table


@lru_cache(maxsize=1)
def _phrase_use() -> Counter[str]:
    """Char -> how many pypinyin phrases use it: a proxy for how common it is."""
    return Counter(chain.from_iterable(PHRASES_DICT))


@cache
def _dictionary_chars(syllable: str) -> tuple[tuple[tuple[int, ...], str], ...]:
    """Every hanzi read ``syllable``, as ((GB2312 level, rank of the reading, minus phrase
    use, code point), char), best first: common characters in their main reading first.

    Sorted lazily per syllable (well under a millisecond) and kept for the process.
    """
    use = _phrase_use()
    return tuple(sorted(
        ((_gb2312_level(char), rank, -use[char], ord(char)), char)
        for char, rank in _readers().get(syllable, ())
    ))


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
    """Pause the cyclic garbage collector while building many small containers.

    Building allocates tens of thousands of dicts and lists that all stay alive; the
    collector's generational passes over them took half the build time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class PinyinInput:
    """Candidate engine of the on-screen keyboard over one catalogue's vocabulary.

    ``vocabulary`` is the matter names and department names; duplicates count once, so
    passing a department name per matter does not inflate it. Building over the 1,135
    sample matters takes about 0.2 s (0.3 s the first time in a process, which also
    builds tables from pypinyin's data); a keystroke takes about 0.25 ms at p95, except
    the first one on each initial letter, which sorts that letter's dictionary characters
    once (up to about 10 ms). Figures: ``python -m bench.bench_search``.
    """

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._root: _Node = ({}, [])
        self._phrase_count: dict[str, int] = {}
        self._phrase_readings: dict[str, set[tuple[str, ...]]] = {}
        self._char_count: dict[tuple[str, str], int] = {}  # (char, syllable) -> count
        with _gc_paused():
            for text in dict.fromkeys(vocabulary):
                for run in _han_runs(text):
                    self._add_run(run)
        # Syllable -> ((bucket 0, -count, code point), char), commonest in the catalogue first.
        by_syllable: dict[str, list[tuple[tuple[int, ...], str]]] = {}
        for (char, syllable), count in self._char_count.items():
            by_syllable.setdefault(syllable, []).append(((0, -count, ord(char)), char))
        self._catalogue_chars = {s: sorted(entries) for s, entries in by_syllable.items()}
        # Readings met in context (a phrase may read a char in a way its entry lacks).
        self._char_readings: dict[str, list[str]] = {}
        for char, syllable in self._char_count:
            self._char_readings.setdefault(char, []).append(syllable)
        _readers(), _phrase_use()  # shared tables, once per process: not on a keystroke

    def _add_run(self, run: str) -> None:
        """Count a run of hanzi's characters and add its 2..6-char phrases to the trie."""
        syllables = han_syllables(run)
        char_count = self._char_count
        for pair in zip(run, syllables, strict=True):
            if pair[1]:
                char_count[pair] = char_count.get(pair, 0) + 1
        phrase_count, readings = self._phrase_count, self._phrase_readings
        size = len(run)
        for start in range(size - 1):
            node = self._root
            for stop in range(start + 1, min(size, start + _MAX_PHRASE) + 1):
                syllable = syllables[stop - 1]
                if not syllable:
                    break
                children = node[0]
                child = children.get(syllable)
                if child is None:
                    child = children[syllable] = ({}, [])
                node = child
                if stop - start >= _MIN_PHRASE:
                    phrase = run[start:stop]
                    phrase_count[phrase] = phrase_count.get(phrase, 0) + 1
                    if phrase not in node[1]:
                        node[1].append(phrase)
                        readings.setdefault(phrase, set()).add(tuple(syllables[start:stop]))

    # -- public -------------------------------------------------------------------------

    def candidates(self, letters: str, limit: int = 40) -> list[str]:
        """Hanzi candidates for the typed ``letters``, best first, at most ``limit``."""
        letters = letters.translate(_ASCII_LOWER)
        if limit <= 0 or not letters:
            return []
        phrases = self._phrases(letters)
        ranked = sorted(phrases, key=lambda p: (-phrases[p][0], phrases[p][1],
                                                -self._phrase_count[p], p))
        # A phrase that spells less, or with more abbreviations, than a single character
        # typed as its first syllable is a misreading (yan -> 预案 as y + an): after them.
        steps = self._first_steps(letters)
        best_single = max(((after, -short) for _syllable, after, short in steps),
                          default=(0, 0))
        head = [p for p in ranked if (phrases[p][0], -phrases[p][1]) >= best_single]
        out = head[:limit]
        if len(out) < limit:
            out.extend(self._single_chars(steps, limit - len(out)))
        if len(out) < limit:
            out.extend(ranked[len(head):][:limit - len(out)])
        return out

    def consumed(self, letters: str, candidate: str) -> int:
        """How many of ``letters`` choosing ``candidate`` uses up (0 if it does not fit).

        The keyboard commits the candidate and keeps ``letters[consumed:]`` to go on with.
        """
        letters = letters.translate(_ASCII_LOWER)
        options: Iterable[tuple[str, ...]] = self._phrase_readings.get(candidate, ())
        best = self._best(letters, options)
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

    def _phrases(self, letters: str) -> dict[str, tuple[int, int]]:
        """Catalogue phrases the letters can spell -> best (consumed, abbreviations)."""
        found: dict[str, tuple[int, int]] = {}
        end = len(letters)
        stack: list[tuple[_Node, int, int, int, int]] = [
            (self._root, _skip_breaks(letters, 0), 0, 0, -1)]
        while stack:
            node, pos, depth, abbreviated, previous = stack.pop()
            if depth >= _MIN_PHRASE:
                for phrase in node[1]:
                    known = found.get(phrase)
                    if known is None or (pos, -abbreviated) > (known[0], -known[1]):
                        found[phrase] = (pos, abbreviated)
            if pos >= end or depth == _MAX_PHRASE:
                continue
            first = letters[pos]
            for syllable, child in node[0].items():
                if syllable[0] == first:
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
            streams.append(_keyed(_dictionary_chars(syllable), after, short))
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
