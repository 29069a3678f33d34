"""Pinyin search keys: polyphones in context, normalisation, syllable cuts."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import Style, lazy_pinyin

from kiosk.finding.pinyin_keys import (
    PinyinKeys,
    han_syllables,
    is_han,
    pinyin_keys,
    pinyin_syllables,
    syllable_starts,
    toneless_readings,
)

SAMPLE = Path(__file__).resolve().parent.parent / "kiosk" / "data" / "matters_guangan.json"


def sample_texts() -> list[str]:
    """Every matter name and department name of the shipped sample."""
    with SAMPLE.open(encoding="utf-8") as handle:
        matters = json.load(handle)["matters"]
    return sorted({m["name"] for m in matters} | {m["department"] for m in matters})


@pytest.mark.parametrize(
    ("text", "full", "initials"),
    [
        ("居住证办理", "juzhuzhengbanli", "jzzbl"),
        ("银行", "yinhang", "yh"),
        ("行政审批", "xingzhengshenpi", "xzsp"),
        ("重庆银行", "chongqingyinhang", "cqyh"),
        ("女", "nv", "n"),
        ("ＣＴ检查", "ctjiancha", "ctjc"),
        ("2024年度 报告！", "2024niandubaogao", "2024ndbg"),
        ("企业投资项目备案（技术改造）", "qiyetouzixiangmubeianjishugaizao", "qytzxmbajsgz"),
        ("𠮷祥", "jixiang", "jx"),
        ("", "", ""),
        ("，。！ 、", "", ""),
    ],
)
def test_keys_of_known_texts(text: str, full: str, initials: str) -> None:
    assert pinyin_keys(text) == PinyinKeys(full, initials)


def test_keys_equal_pypinyin_lazy_pinyin_on_every_sample_text() -> None:
    """The fast path must give exactly what pypinyin's own phrase-aware conversion gives."""
    for text in sample_texts():
        normal = unicodedata.normalize("NFKC", text).lower()
        expected = "".join(
            char for piece in lazy_pinyin(normal, style=Style.NORMAL) for char in piece
            if char.isalnum()
        )
        assert pinyin_keys(text).full == expected, text


def test_han_syllables_align_one_per_char() -> None:
    assert han_syllables("居住证办理") == ["ju", "zhu", "zheng", "ban", "li"]
    assert han_syllables("银行行长") == ["yin", "hang", "hang", "zhang"]


def test_rare_name_characters_have_readings() -> None:
    assert "kun" in toneless_readings("堃")
    assert "zhe" in toneless_readings("喆")
    assert "yan" in toneless_readings("䶮")
    assert "ji" in toneless_readings("𠮷")
    assert toneless_readings("a") == ()


def test_syllable_set_is_plausible() -> None:
    syllables = pinyin_syllables()
    assert {"zhuang", "lv", "nve", "a", "er", "xian"} <= syllables
    assert 380 < len(syllables) < 450
    assert all(s.isascii() and s.isalpha() and s.islower() for s in syllables)


def test_is_han() -> None:
    assert all(is_han(c) for c in "居〇䶮𠮷")
    assert not any(is_han(c) for c in "aＡ1，、（ぁ")


def _pieces(keys: PinyinKeys) -> list[str]:
    starts = syllable_starts(keys)
    if not starts:
        return []
    return [keys.full[a:b] for a, b in zip(starts, (*starts[1:], len(keys.full)), strict=True)]


def test_syllable_starts_of_ambiguous_pinyin() -> None:
    assert syllable_starts(pinyin_keys("西安")) == (0, 2)
    assert syllable_starts(pinyin_keys("先")) == (0,)
    assert _pieces(pinyin_keys("方案")) == ["fang", "an"]
    assert _pieces(pinyin_keys("反感")) == ["fan", "gan"]
    assert _pieces(pinyin_keys("户口变更")) == ["hu", "kou", "bian", "geng"]
    assert _pieces(pinyin_keys("CT检查")) == ["c", "t", "jian", "cha"]


def _check_cut(keys: PinyinKeys) -> None:
    pieces = _pieces(keys)
    assert "".join(pieces) == keys.full
    assert "".join(piece[0] for piece in pieces) == keys.initials
    valid = pinyin_syllables()
    assert all(piece in valid or len(piece) == 1 for piece in pieces), pieces


def test_syllable_starts_on_every_sample_text() -> None:
    for text in sample_texts():
        _check_cut(pinyin_keys(text))


def test_syllable_starts_never_fails_on_inconsistent_keys() -> None:
    assert syllable_starts(PinyinKeys("", "")) == ()
    assert syllable_starts(PinyinKeys("xyz", "ab")) == ()
    assert syllable_starts(PinyinKeys("abc", "abcd")) == (0, 1, 2)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_keys_of_arbitrary_text(text: str) -> None:
    keys = pinyin_keys(text)
    assert len(keys.initials) <= len(keys.full)
    assert not any(char.isspace() for char in keys.full)
    assert not any(is_han(char) for char in keys.full)
    _check_cut(keys)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("居住证办理银行重长乐行政审批公安区局的一二三女绿"),
               min_size=1, max_size=20))
def test_keys_of_hanzi_are_pinyin(text: str) -> None:
    keys = pinyin_keys(text)
    assert len(keys.initials) == len(text)
    assert keys.full.isascii() and keys.full.isalpha()
    _check_cut(keys)
