"""The shipped compact pinyin table: up to date with pypinyin, and read the way it reads."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin.constants import PHRASES_DICT
from pypinyin.seg import mmseg

from kiosk.finding.pinyin_table import DATA_PATH, PinyinTable, is_han, pinyin_table
from kiosk.finding.pinyin_table_build import _toneless, build_table, render

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "kiosk" / "data" / "matters_guangan.json"


def sample_runs() -> list[str]:
    """The maximal runs of hanzi in every sample matter and department name."""
    with SAMPLE.open(encoding="utf-8") as handle:
        matters = json.load(handle)["matters"]
    runs: set[str] = set()
    for text in {m["name"] for m in matters} | {m["department"] for m in matters}:
        run = ""
        for char in text + " ":
            if is_han(char):
                run += char
            elif run:
                runs.add(run)
                run = ""
    return sorted(runs)


def pypinyin_segments(run: str) -> list[tuple[str, str | None]]:
    """What the table's segmenter must give: pypinyin's words, and a phrase's reading
    where it differs from its characters' commonest readings."""
    table = pinyin_table()
    out: list[tuple[str, str | None]] = []
    for word in mmseg.seg.cut(run):
        phrase = PHRASES_DICT.get(word)
        reading = None
        if phrase is not None and len(phrase) == len(word):
            syllables = [_toneless(options[0]) for options in phrase]
            if syllables != [(table.readings(char) or ("",))[0] for char in word]:
                reading = " ".join(syllables)
        out.append((word, reading))
    return out


@cache
def phrase_chars() -> str:
    """Characters of pypinyin's phrases, for text whose segmentation is not trivial."""
    return "".join(sorted({char for word in list(PHRASES_DICT)[::7] for char in word}))


def test_shipped_table_is_what_the_installed_pypinyin_gives() -> None:
    """After a pypinyin upgrade: python -m kiosk.finding.pinyin_table_build."""
    assert DATA_PATH.read_text(encoding="utf-8") == render(build_table())


def test_segments_equal_pypinyin_on_every_sample_run() -> None:
    table = pinyin_table()
    for run in sample_runs():
        assert list(table.segments(run)) == pypinyin_segments(run), run


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(PHRASES_DICT)), min_size=1, max_size=6),
       st.text(alphabet=st.sampled_from("银行长重庆都会乐的地"), max_size=4))
def test_segments_equal_pypinyin_on_phrase_soup(words: list[str], glue: str) -> None:
    run = glue.join(words)
    assert list(pinyin_table().segments(run)) == pypinyin_segments(run)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(phrase_chars()), min_size=1, max_size=12))
def test_segments_equal_pypinyin_on_arbitrary_hanzi(run: str) -> None:
    assert list(pinyin_table().segments(run)) == pypinyin_segments(run)


def test_polyphones_read_in_context() -> None:
    table = pinyin_table()
    # a phrase read as its characters' commonest readings carries no reading of its own
    assert list(table.segments("中国银行")) == [("中国", None), ("银行", "yin hang")]
    assert list(table.segments("办理")) == [("办", None), ("理", None)]  # not a phrase


def test_table_is_a_read_only_mapping_of_readings() -> None:
    table = pinyin_table()
    assert 40_000 < len(table) < 45_000
    assert "行" in table and "a" not in table and "行政" not in table
    assert table["行"][:2] == ("xing", "hang")
    assert table.readings("𠮷") == ("ji",)  # supplemented: pypinyin lacks it
    assert table.readings("a") == () and table.readings("") == ()
    with pytest.raises(KeyError):
        table["a"]
    assert sum(1 for _ in table) == len(table)


def test_dictionary_order_puts_common_characters_first() -> None:
    table = pinyin_table()
    yan = table.chars_read("yan")
    assert yan.index("严") < yan.index("䶮")  # GB2312 level 1 before unencoded
    assert table.order("的") < table.order("䶮")
    assert table.chars_read("not-a-syllable") == ""
    assert {"zhuang", "lv", "a", "er"} <= table.syllables
    assert set(table.common_syllables) <= table.syllables


def test_parallel_arrays_must_agree() -> None:
    data = {"chars": "一二", "combos": "yi|er", "readings": "0000", "order": "00000001",
            "by_syllable": {}, "keys": {}, "common": "", "phrases": {}}
    with pytest.raises(ValueError):
        PinyinTable(data)


def test_the_kiosk_path_never_imports_pypinyin() -> None:
    """Issue 11: pypinyin's dictionaries cost the kiosk process about 55 MiB."""
    script = (
        "import sys\n"
        "from kiosk.finding.pinyin_input import PinyinInput\n"
        "from kiosk.finding.pinyin_keys import pinyin_keys\n"
        "from kiosk.finding.search import SearchIndex\n"
        "engine = PinyinInput(['居住证办理', '中国银行'])\n"
        "assert engine.candidates('yinhang')[0] == '银行'\n"
        "assert pinyin_keys('银行').full == 'yinhang'\n"
        "print(sorted(name for name in sys.modules if name.startswith('pypinyin')))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, timeout=120, check=True)
    assert output.stdout.strip() == "[]"
