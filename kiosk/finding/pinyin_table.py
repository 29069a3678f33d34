"""Compact pinyin tables of the kiosk process: readings, dictionary order, phrase segmenter.

Why not pypinyin at run time: importing its dictionaries costs about 55 MiB of resident
memory in every kiosk process (issue 11), while what the kiosk uses of them -- every hanzi's
toneless readings, an order of characters for the keyboard, and the phrase table for
reading names in context -- fits in about 2 MiB as a few large strings. The strings are
derived from pypinyin by :mod:`kiosk.finding.pinyin_table_build` and shipped in
``kiosk/data/pinyin_table.json``; loading them takes about 20 ms.

Layout in memory: the characters with readings as one string in code-point order with a
parallel ``array`` of code points for ``bisect``, and two parallel ``uint16`` arrays (index
into the distinct reading tuples, position in the global order). Phrases are kept per first
character as one string ``|phrase|phrase=yin hang|...|`` sorted by phrase, so the first
occurrence of ``|`` + word is the word itself when it is a phrase, and is absent when the
word is not the start of any phrase: one ``str.find`` answers pypinyin's prefix-set and
phrase-table questions at once. Only the 3,400 phrases whose reading differs from their
characters' commonest readings carry a reading.
"""

from __future__ import annotations

import json
import sys
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

__all__ = [
    "DATA_PATH",
    "SUPPLEMENT",
    "PinyinTable",
    "dictionary_key",
    "gb2312_level",
    "is_han",
    "pack_uint16",
    "pinyin_table",
]

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "pinyin_table.json"

# Hanzi that pypinyin's tables lack but that appear in personal names on ID cards.
SUPPLEMENT: dict[str, tuple[str, ...]] = {"\U00020bb7": ("ji",)}  # 𠮷 (吉 variant)


def is_han(char: str) -> bool:
    """Whether ``char`` is a CJK ideograph (BMP blocks, compatibility block, planes 2-3)."""
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x3FFFF
        or 0xF900 <= code <= 0xFAFF
        or code == 0x3007
    )


def gb2312_level(char: str) -> int:
    """1 or 2 for GB2312 level-1/level-2 hanzi (0xB0A1-0xD7FE / 0xD8A1-0xF7FE), else 3."""
    try:
        encoded = char.encode("gb2312")
    except UnicodeEncodeError:
        return 3
    if len(encoded) != 2:
        return 3
    return 1 if 0xB0 <= encoded[0] <= 0xD7 else 2 if 0xD8 <= encoded[0] <= 0xF7 else 3


def pack_uint16(values: Iterable[int], code: str = "H") -> str:
    """Unsigned 16-bit (or ``code`` "I": 32-bit) values as big-endian hex, the file's form
    of an array."""
    packed = array(code, values)
    if sys.byteorder == "little":
        packed.byteswap()
    return packed.tobytes().hex()


def _unpack(text: str, code: str = "H") -> array:
    packed = array(code, bytes.fromhex(text))
    if sys.byteorder == "little":
        packed.byteswap()
    return packed


def dictionary_key(level: int, rank: int, order: int) -> int:
    """One int ordering characters as (GB2312 level, rank of the reading, global order)."""
    return level << 28 | rank << 20 | order


class PinyinTable(Mapping[str, tuple[str, ...]]):
    """Every hanzi with a reading -> its toneless readings, commonest first; plus the
    keyboard's dictionary order and pypinyin's phrase segmentation (read-only)."""

    def __init__(self, data: Mapping[str, object]) -> None:
        chars = str(data["chars"])
        self._chars = chars
        self._codes = array("I", map(ord, chars))
        # one str object per syllable, shared by every reading tuple
        self._combos = tuple(tuple(map(sys.intern, combo.split(" ")))
                             for combo in str(data["combos"]).split("|"))
        self._reading_index = _unpack(str(data["readings"]))
        self._order = _unpack(str(data["order"]))
        self._by_syllable: dict[str, str] = dict(data["by_syllable"])  # type: ignore[arg-type]
        self._keys: dict[str, array] = {
            syllable: _unpack(text, "I")
            for syllable, text in data["keys"].items()  # type: ignore[attr-defined]
        }
        self._phrases: dict[str, str] = dict(data["phrases"])  # type: ignore[arg-type]
        self.syllables = frozenset(s for combo in self._combos for s in combo)
        """Every toneless syllable of any reading (about 420)."""
        self.common_syllables = tuple(str(data["common"]).split())
        """Syllables of at least 5 characters: the ones a greedy cut of pinyin may use."""
        if not (len(chars) == len(self._reading_index) == len(self._order)):
            raise ValueError("the pinyin table's parallel arrays differ in length")

    @classmethod
    def load(cls, path: Path = DATA_PATH) -> PinyinTable:
        """Read the shipped table (1.2 MB of JSON holding a few large strings).

        The file has one top-level key per line (``pinyin_table_build.render``) and is
        parsed a line at a time: the whole text as one string would be 5 MB (UCS-4, for
        the few characters beyond the BMP), 2 MiB of which the C allocator then keeps.
        """
        data: dict[str, object] = {}
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                entry = line.strip().rstrip(",")
                if entry not in ("{", "}", ""):
                    data.update(json.loads("{" + entry + "}"))
        return cls(data)

    # -- characters -----------------------------------------------------------------------

    def _index(self, char: str) -> int:
        """Position of ``char`` in the arrays, -1 when it has no reading."""
        if len(char) != 1:
            return -1
        code = ord(char)
        index = bisect_left(self._codes, code)
        return index if index < len(self._codes) and self._codes[index] == code else -1

    def __getitem__(self, char: str) -> tuple[str, ...]:
        index = self._index(char)
        if index < 0:
            raise KeyError(char)
        return self._combos[self._reading_index[index]]

    def __contains__(self, char: object) -> bool:
        return isinstance(char, str) and self._index(char) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._chars)

    def __len__(self) -> int:
        return len(self._chars)

    def readings(self, char: str) -> tuple[str, ...]:
        """All toneless readings of one hanzi, commonest first; () when unknown."""
        index = self._index(char)
        return self._combos[self._reading_index[index]] if index >= 0 else ()

    def order(self, char: str) -> int:
        """Position of ``char`` among all characters by GB2312 level, then by how many
        pypinyin phrases use it (a proxy for how common it is), then by code point."""
        index = self._index(char)
        return self._order[index] if index >= 0 else len(self._order)

    def chars_read(self, syllable: str) -> str:
        """Every hanzi read ``syllable`` (compatibility ideographs left out), in the
        keyboard's order: GB2312 level, rank of this reading among the char's, ``order``."""
        return self._by_syllable.get(syllable, "")

    def dictionary_keys(self, syllable: str) -> array:
        """The :func:`dictionary_key` of each of :meth:`chars_read`, ascending: a merge
        across syllables compares them without looking anything up on a keystroke."""
        return self._keys.get(syllable, _EMPTY_KEYS)

    # -- phrases --------------------------------------------------------------------------

    def _find(self, word: str) -> tuple[int, str | None]:
        """(0 not the start of a phrase / 1 a prefix only / 2 a phrase, its own reading)."""
        bucket = self._phrases.get(word[0])
        if bucket is None:
            return 0, None
        key = "|" + word
        at = bucket.find(key)
        if at < 0:
            return 0, None
        after = at + len(key)
        mark = bucket[after]
        if mark == "|":
            return 2, None
        if mark == "=":
            return 2, bucket[after + 1:bucket.index("|", after)]
        return 1, None

    def segments(self, run: str) -> Iterator[tuple[str, str | None]]:
        """Cut a run of hanzi into words as pypinyin's ``mmseg.seg`` does (strict forward
        maximum matching over its phrase table), each with its phrase reading
        (space-separated toneless syllables) when that differs from its characters'
        commonest readings, else None."""
        pos, end = 0, len(run)
        while pos < end:
            best, best_reading = 0, None
            for stop in range(pos + 1, end + 1):
                kind, reading = self._find(run[pos:stop])
                if kind == 0:
                    if best:
                        yield run[pos:pos + best], best_reading
                        pos += best
                    else:
                        yield run[pos], None
                        pos += 1
                    break
                if kind == 2:
                    best, best_reading = stop - pos, reading
            else:  # the whole rest starts some phrase
                if best:
                    yield run[pos:pos + best], best_reading
                    pos += best
                else:  # pypinyin then splits the whole rest into single characters
                    for char in run[pos:]:
                        yield char, None
                    pos = end


_EMPTY_KEYS = array("I")
_lock = threading.Lock()
_table: PinyinTable | None = None


def pinyin_table() -> PinyinTable:
    """The shipped table, loaded once per process (by whichever thread asks first)."""
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                _table = PinyinTable.load()
    return _table
