"""Toneless pinyin keys of catalogue text, for pinyin and initials search.

A citizen at the kiosk types on an on-screen Latin keyboard, so every matter name and
department name needs a searchable pinyin form: ``full`` (``juzhuzhengbanli``) and
``initials`` (``jzzbl``). The importer computes these once per matter and stores them in
SQLite; the search index recomputes only what is missing.

Conversion follows pypinyin's own default pipeline -- its maximum-matching segmenter over
its phrase table, the phrase reading when the segment is a known phrase, else each
character's commonest reading -- so polyphones come out right (银行 -> yinhang, 行政 ->
xingzheng), and the tests check the result equals ``lazy_pinyin`` on every sample name.
It runs on the compact tables of :mod:`kiosk.finding.pinyin_table`, derived from
pypinyin's at build time, so the kiosk process never imports pypinyin (about 55 MiB of
resident memory, issue 11). Results are memoised per text (department names repeat, 8,192
texts kept).

Keys use ``v`` for ü (lv, nve), as pinyin keyboards do. Letters and digits that are not
hanzi are kept lowercased (NFKC first, so full-width ``Ａ１`` becomes ``a1``), one
"syllable" per character, so their initials are themselves: ``CT检查`` -> ``ctjiancha`` /
``ctjc``. Punctuation, spaces and hanzi without a known reading are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter

from kiosk.finding.pinyin_table import is_han, pinyin_table
from kiosk.models import PinyinKeys

__all__ = [
    "PinyinKeys",
    "han_syllables",
    "is_han",
    "pinyin_keys",
    "pinyin_syllables",
    "reading_table",
    "syllable_starts",
    "toneless_readings",
]

_LONG_RUN = 256


def reading_table() -> Mapping[str, tuple[str, ...]]:
    """Every hanzi with a reading -> its toneless readings, commonest first (read-only).

    Loaded once per process from the shipped table (about 20 ms).
    """
    return pinyin_table()


def toneless_readings(char: str) -> tuple[str, ...]:
    """All toneless readings of one hanzi, commonest first; () when unknown."""
    return pinyin_table().readings(char)


def pinyin_syllables() -> frozenset[str]:
    """Every toneless syllable of any reading (about 420, including rare ones like 'hm')."""
    return pinyin_table().syllables


_FIRST: dict[str, str] = {}


def _first_reading(char: str) -> str:
    """The commonest toneless reading of one hanzi ('' if unknown), memoised per char."""
    plain = _FIRST.get(char)
    if plain is None:
        readings = pinyin_table().readings(char)
        plain = _FIRST[char] = readings[0] if readings else ""
    return plain


def _runs(text: str) -> Iterator[tuple[bool, str]]:
    """Split ``text`` into maximal runs of hanzi (True) and of anything else (False)."""
    start = 0
    current: bool | None = None
    for index, char in enumerate(text):
        han = is_han(char)
        if han is not current:
            if current is not None:
                yield current, text[start:index]
            start, current = index, han
    if current is not None:
        yield current, text[start:]


def han_syllables(run: str) -> list[str]:
    """One toneless syllable per char of a run of hanzi, read in context; '' if unknown.

    This is the per-character alignment the pinyin keyboard needs to cut words out of
    catalogue names, and the core of :func:`pinyin_keys`. The segmenter is quadratic
    in the run length, so runs longer than any real name are read in pieces.
    """
    if len(run) > _LONG_RUN:
        return [syllable for start in range(0, len(run), _LONG_RUN)
                for syllable in han_syllables(run[start:start + _LONG_RUN])]
    out: list[str] = []
    for word, reading in pinyin_table().segments(run):
        if reading is not None:
            out.extend(reading.split(" "))
        else:
            out.extend(_first_reading(char) for char in word)
    return out


@lru_cache(maxsize=8192)
def pinyin_keys(text: str) -> PinyinKeys:
    """The pinyin search keys of ``text`` (``居住证办理`` -> ``juzhuzhengbanli`` / ``jzzbl``)."""
    normal = unicodedata.normalize("NFKC", text).lower()
    full: list[str] = []
    initials: list[str] = []
    for han, run in _runs(normal):
        if han:
            for syllable in han_syllables(run):
                if syllable:
                    full.append(syllable)
                    initials.append(syllable[0])
        else:
            for char in run:
                if char.isalnum() and not is_han(char):
                    full.append(char)
                    initials.append(char)
    return PinyinKeys("".join(full), "".join(initials))


def _trie_pattern(words: list[str]) -> str:
    """A regex matching any of ``words``, factored as a trie, longest alternative first."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items())
                    if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and "" not in node else \
            "(?:" + "|".join(branches) + ")"
        return body + "?" if "" in node else body

    return emit(root)


@lru_cache(maxsize=1)
def _greedy_splitter() -> re.Pattern[str]:
    """Regex cutting toneless pinyin into syllables, longest first, in C.

    The rare syllables (fewer than 5 characters, e.g. 'eng', 'biang') are left out because
    they make the greedy cut wrong far more often than right (biangeng -> biang|eng), and a
    syllable may not be followed by i, u or v, which never start one (jiang|u -> jian|gu).
    """
    common = sorted(pinyin_table().common_syllables)
    return re.compile("(?:" + _trie_pattern(common) + ")(?![iuv])|.", re.S)


_FIRST_CHAR = itemgetter(0)


def syllable_starts(keys: PinyinKeys) -> tuple[int, ...]:
    """Offsets in ``keys.full`` where each syllable starts (one per char of ``initials``).

    Stored keys keep only ``full`` and ``initials``; the syllable cut is recovered from them:
    syllable *i* starts with ``initials[i]`` and is a known syllable (or a single non-hanzi
    character). A greedy regex cut, accepted when its first letters spell ``initials``,
    settles about 94 % of the sample names in about 4 us; the rest take an exact
    depth-first search (longest syllable first, about 25 us). Inconsistent keys
    (hand-edited data) get a best-effort cut, so this never fails.
    """
    full, initials = keys.full, keys.initials
    count = len(initials)
    if count == 0:
        return ()
    pieces = _greedy_splitter().findall(full)
    if len(pieces) == count and "".join(map(_FIRST_CHAR, pieces)) == initials:
        return tuple(accumulate(map(len, pieces[:-1]), initial=0))
    valid = pinyin_syllables()
    end = len(full)

    def stops(pos: int, index: int) -> list[int]:
        """Where syllable ``index`` starting at ``pos`` may end, longest first."""
        if pos >= end or full[pos] != initials[index]:
            return []
        last = index + 1 == count
        found = []
        for stop in range(min(end, pos + 6), pos, -1):
            if stop - pos > 1 and full[pos:stop] not in valid:
                continue
            if (stop == end) if last else (stop < end and full[stop] == initials[index + 1]):
                found.append(stop)
        return found

    # Iterative depth-first search with a memo of dead ends: linear time, no recursion limit.
    failed: set[tuple[int, int]] = set()
    stack = [(0, 0, iter(stops(0, 0)))]
    while stack:
        pos, index, options = stack[-1]
        stop = next(options, None)
        if stop is None:
            failed.add((pos, index))
            stack.pop()
            continue
        if index + 1 == count:
            return tuple(frame[0] for frame in stack)
        if (stop, index + 1) not in failed:
            stack.append((stop, index + 1, iter(stops(stop, index + 1))))
    fallback: list[int] = []
    pos = 0
    for letter in initials:
        found = full.find(letter, pos)
        if found < 0:
            break
        fallback.append(found)
        pos = found + 1
    return tuple(fallback)
