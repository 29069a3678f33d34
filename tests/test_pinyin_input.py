"""Pinyin keyboard candidates over the real sample catalogue."""

from __future__ import annotations

import json
import string
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.finding.pinyin_input import PinyinInput
from kiosk.finding.pinyin_keys import is_han, toneless_readings

SAMPLE = Path(__file__).resolve().parent.parent / "kiosk" / "data" / "matters_guangan.json"


@cache
def vocabulary() -> tuple[str, ...]:
    with SAMPLE.open(encoding="utf-8") as handle:
        matters = json.load(handle)["matters"]
    return tuple(m["name"] for m in matters) + tuple(m["department"] for m in matters)


@cache
def engine() -> PinyinInput:
    return PinyinInput(vocabulary())


def test_full_pinyin_gives_the_catalogue_phrase_first() -> None:
    assert engine().candidates("juzhuzheng")[:2] == ["居住证", "居住"]
    assert engine().candidates("zhengming")[0] == "证明"
    assert engine().candidates("shenfenzheng")[0] == "身份证"
    assert engine().candidates("gongan")[0] == "公安"
    assert engine().candidates("xingzheng")[0] == "行政"  # polyphone read in context


def test_consumed_keeps_the_rest_of_the_letters() -> None:
    letters = "juzhuzheng"
    assert engine().consumed(letters, "居住证") == 10
    assert engine().consumed(letters, "居住") == 5
    assert letters[engine().consumed(letters, "居住"):] == "zheng"
    assert engine().consumed(letters, "居") == 2
    assert engine().consumed(letters, "好") == 0
    assert engine().consumed("jzz", "居住证") == 3
    assert engine().consumed("xi'an", "西") == 3  # the apostrophe goes with it


def test_initials_and_incomplete_last_syllable() -> None:
    assert "居住证" in engine().candidates("jzz")[:10]
    assert engine().candidates("jzzbl")[0] == "居住证办理"
    assert engine().candidates("qgafj")[0] == "区公安分局"
    assert engine().candidates("juzhuzh")[0] == "居住证"
    assert engine().candidates("JZZBL") == engine().candidates("jzzbl")


def test_misreadings_do_not_lead() -> None:
    # y + an would spell 预案; a citizen typing yan wants 验/延/严... first.
    first = engine().candidates("yan")[:20]
    assert all(len(c) == 1 and "yan" in toneless_readings(c) for c in first)
    # yin + hang, never yin + h(ua) + ...
    assert "印花" not in engine().candidates("yinhang", limit=200)


def test_single_characters_follow_the_first_syllable() -> None:
    chars = [c for c in engine().candidates("ju", limit=2000) if len(c) == 1]
    assert {"局", "居"} <= set(chars[:5])
    # Full ju first, then the syllables ju may begin (juan, jue, jun); never j + u.
    readings = [toneless_readings(c) for c in chars]
    full = ["ju" in r for r in readings]
    assert full == sorted(full, reverse=True)
    assert all(any(s.startswith("ju") for s in r) for r in readings)


def _gb2312_level(char: str) -> int:
    try:
        encoded = char.encode("gb2312")
    except UnicodeEncodeError:
        return 3
    return 1 if encoded[0] <= 0xD7 else 2


@pytest.mark.parametrize(("letters", "rare"), [
    ("yan", "䶮"), ("kun", "堃"), ("zhe", "喆"), ("ji", "𠮷"),
])
def test_rare_name_characters_are_reachable_after_common_ones(letters: str, rare: str) -> None:
    candidates = engine().candidates(letters, limit=10_000)
    assert rare in candidates
    catalogue = set("".join(vocabulary()))
    singles = [c for c in candidates if len(c) == 1 and letters in toneless_readings(c)]
    # Characters read this way in the catalogue first, then GB2312 level 1, level 2, rest.
    first_outside = next(i for i, c in enumerate(singles) if c not in catalogue)
    assert first_outside >= 1
    levels = [_gb2312_level(c) for c in singles[first_outside:]]
    assert levels == sorted(levels)
    assert levels[-1] == 3 and _gb2312_level(rare) == 3


def test_limits_and_empty_input() -> None:
    assert engine().candidates("") == []
    assert engine().candidates("ju", limit=0) == []
    assert len(engine().candidates("ju", limit=5)) == 5
    assert engine().candidates("iii") == []
    assert engine().candidates("'") == []


def test_vocabulary_duplicates_count_once() -> None:
    many = PinyinInput(["居住证办理"] * 50 + ["局长"])
    once = PinyinInput(["居住证办理", "局长"])
    assert many.candidates("ju") == once.candidates("ju")
    assert many.candidates("juzhu")[0] == "居住"


@settings(max_examples=300, deadline=None)
@given(st.text(string.ascii_letters + "'", max_size=30), st.integers(0, 60))
def test_candidates_properties(letters: str, limit: int) -> None:
    candidates = engine().candidates(letters, limit)
    assert len(candidates) <= limit
    assert len(set(candidates)) == len(candidates)
    for candidate in candidates:
        assert candidate and all(is_han(char) for char in candidate)
        assert 0 < engine().consumed(letters, candidate) <= len(letters)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20), st.text(max_size=4))
def test_arbitrary_text_never_raises(letters: str, candidate: str) -> None:
    engine().candidates(letters)
    assert engine().consumed(letters, candidate) >= 0
