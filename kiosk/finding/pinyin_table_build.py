"""Build ``kiosk/data/pinyin_table.json`` from pypinyin's dictionaries (a build step).

The kiosk process needs pinyin twice: search keys of catalogue names (read in context, so
银行 is yinhang) and the keyboard's candidates. Importing pypinyin for that costs about
55 MiB of resident memory (its 47,000-phrase table is a dict of nested lists of tone-marked
strings, plus the segmenter's prefix set) and building our own indexes over it another 12;
a kiosk runs on small PCs next to a camera pipeline. Everything the kiosk uses of pypinyin
fits in a few large strings, so they are derived here once and shipped:

* every character's distinct toneless readings, commonest first (``v`` for ü);
* per syllable, the characters read so, in the keyboard's dictionary order, with the
  sort keys that order (so a keystroke merges syllables without computing any);
* a global order of characters by GB2312 level then by how many phrases use them;
* the phrase table reduced to what the segmenter and the readings need: every phrase, for
  maximum matching exactly as pypinyin's ``mmseg`` does, and a toneless reading only for
  the 3,400 phrases whose reading differs from their characters' commonest readings.

Run ``python -m kiosk.finding.pinyin_table_build`` after upgrading pypinyin;
``tests/test_pinyin_table.py`` fails while the shipped file differs from what the installed
pypinyin gives. pypinyin's data (pinyin-data, phrase-pinyin-data) is MIT-licensed.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections import Counter
from functools import cache
from itertools import chain
from pathlib import Path

from kiosk.finding.pinyin_table import (
    DATA_PATH,
    SUPPLEMENT,
    dictionary_key,
    gb2312_level,
    is_han,
    pack_uint16,
)

__all__ = ["build_table", "main"]

_COMMON_MIN = 5  # syllables of at least this many characters cut greedy pinyin


@cache
def _toneless(reading: str) -> str:
    """One tone-marked pypinyin reading without tone, ü written ``v``; '' if not ASCII."""
    from pypinyin import Style
    from pypinyin.style import convert

    plain = convert(reading, Style.NORMAL, strict=True)
    return plain if plain.isascii() and plain.isalpha() else ""


def _readings() -> dict[str, tuple[str, ...]]:
    """Char -> its distinct toneless readings, commonest first (pypinyin's order)."""
    from pypinyin.constants import PINYIN_DICT

    table: dict[str, tuple[str, ...]] = {}
    for code, readings in PINYIN_DICT.items():
        if 0xE000 <= code <= 0xF8FF:  # private-use glyphs of old fonts: not typable text
            continue
        plain: list[str] = []
        for reading in readings.split(","):
            syllable = _toneless(reading)
            if syllable and syllable not in plain:
                plain.append(syllable)
        if plain:
            table[chr(code)] = tuple(plain)
    for char, readings in SUPPLEMENT.items():
        table.setdefault(char, readings)
    return table


def _phrase_buckets(first: dict[str, str]) -> dict[str, str]:
    """First char -> ``|phrase|phrase=reading|...|``, phrases sorted; see the module doc."""
    from pypinyin.constants import PHRASES_DICT

    entries: dict[str, list[str]] = {}
    for word in sorted(PHRASES_DICT):
        options = PHRASES_DICT[word]
        entry = word
        if len(options) == len(word):
            reading = [_toneless(choices[0]) for choices in options]
            if reading != [first.get(char, "") for char in word]:
                entry = word + "=" + " ".join(reading)
        entries.setdefault(word[0], []).append(entry)
    return {char: "|" + "|".join(group) + "|" for char, group in sorted(entries.items())}


def build_table() -> dict[str, object]:
    """The shipped table as a JSON-ready dict (about 1 s; imports pypinyin)."""
    import pypinyin
    from pypinyin.constants import PHRASES_DICT

    readings = _readings()
    chars = sorted(readings, key=ord)
    combos = sorted(set(readings.values()))
    combo_index = {combo: index for index, combo in enumerate(combos)}
    use = Counter(chain.from_iterable(PHRASES_DICT))
    by_order = sorted(chars, key=lambda c: (gb2312_level(c), -use[c], ord(c)))
    order = {char: index for index, char in enumerate(by_order)}
    readers: dict[str, list[str]] = {}
    for char in chars:
        if is_han(char) and unicodedata.normalize("NFKC", char) == char:
            for syllable in readings[char]:
                readers.setdefault(syllable, []).append(char)
    by_syllable = {
        syllable: "".join(sorted(group, key=lambda c, s=syllable: (
            gb2312_level(c), readings[c].index(s), order[c])))
        for syllable, group in sorted(readers.items())
    }
    keys = {
        syllable: pack_uint16((dictionary_key(gb2312_level(c), readings[c].index(syllable),
                                              order[c]) for c in group), "I")
        for syllable, group in by_syllable.items()
    }
    counts = Counter(chain.from_iterable(readings.values()))
    first = {char: options[0] for char, options in readings.items()}
    return {
        "about": "toneless readings and phrases derived from pypinyin "
                 f"{pypinyin.__version__} (MIT) by kiosk/finding/pinyin_table_build.py",
        "chars": "".join(chars),
        "combos": "|".join(" ".join(combo) for combo in combos),
        "readings": pack_uint16(combo_index[readings[char]] for char in chars),
        "order": pack_uint16(order[char] for char in chars),
        "by_syllable": by_syllable,
        "keys": keys,
        "common": " ".join(sorted(s for s, count in counts.items() if count >= _COMMON_MIN)),
        "phrases": _phrase_buckets(first),
    }


def render(table: dict[str, object]) -> str:
    """The file's text: stable, one top-level key per line for readable diffs."""
    lines = [json.dumps({key: value}, ensure_ascii=False, sort_keys=True)[1:-1]
             for key, value in table.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(path: Path = DATA_PATH) -> None:
    """Write the table to ``path``."""
    path.write_text(render(build_table()), encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
