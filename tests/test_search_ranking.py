"""The ranking engine on the real sample: citizens' words, English, typos, intents, variants.

Each test names what a citizen types and which matter must come first (or in the first
three, where several are equally right). Where the old engine (the literal tiers alone)
found nothing, a test says so, so it fails on that engine.
"""

from __future__ import annotations

from functools import cache

import pytest

from kiosk.finding.literal import LiteralIndex
from kiosk.finding.search import REASONS, SearchIndex
from kiosk.finding.synonyms import analyse, dictionary, split_pinyin
from kiosk.models import Matter
from tests.kiosk_files import sample_matters as sample


@cache
def index() -> SearchIndex:
    return SearchIndex(sample())


def top(query: str, count: int = 3) -> list[str]:
    return [hit.matter.name for hit in index().search(query, limit=count)]


def matter(name: str, code: str, department: str = "区行政审批局") -> Matter:
    return Matter(item_code=code, name=name, department=department, task_type=1,
                  task_type_name="行政许可")


# -- kept behaviour of the literal tiers ------------------------------------------------


def test_literal_tiers_stay_on_top() -> None:
    hits = index().search("jzz")
    assert hits[0].matter.name == "居住证办理"
    assert hits[0].reason == "initials_prefix"
    assert top("juzhu", 1) == ["居住证办理"]
    for m in sample()[::37]:
        first = index().search(m.name, limit=3)[0]
        assert (first.matter.name, first.reason) == (m.name, "name_exact")


def test_blank_and_limits() -> None:
    assert index().search("") == []
    assert index().search(" \u3000") == []
    assert index().search("证", limit=0) == []
    assert len(index().search("证", limit=7)) == 7
    assert {hit.reason for hit in index().search("驾照", 20)} <= set(REASONS)


# -- citizens' own words -------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("开饭馆", {"食品(含保健食品)经营许可核发", "食品小经营店备案发放"}),
    ("身份证丢了", {"居民身份证挂失申报、丢失招领"}),
    ("生孩子", {"生育医疗费支付", "生育津贴支付", "《出生医学证明》首次签发"}),
    ("低保", {"最低生活保障"}),
    ("社保卡", {"社会保障卡申领"}),
    ("无犯罪证明", {"无犯罪记录证明"}),
    ("退休", {"企业职工基本养老保险正常退休申请"}),
])
def test_colloquial_words_find_official_names(query: str, expected: set[str]) -> None:
    """开饭馆, 身份证丢了 and 生孩子 find nothing in the literal tiers."""
    assert expected & set(top(query)), top(query)


def test_synonym_dictionary_is_curated_and_big_enough() -> None:
    table = dictionary()
    assert len(table.synonyms) >= 150
    assert len(table.english) >= 120
    names = "\n".join(m.name for m in sample())
    # every key stands for wording that the catalogue really has
    dangling = [k.text for k in table.synonyms if not any(t in names for t in k.targets)]
    assert len(dangling) <= len(table.synonyms) // 20, dangling


# -- pinyin, initials and typos ---------------------------------------------------------


def test_pinyin_of_citizens_words() -> None:
    assert split_pinyin("jiashizheng") == ("jia", "shi", "zheng")
    assert split_pinyin("jsz") is None
    assert "机动车驾驶证公证（指引）" in top("jiazhao", 5)  # 驾照 by sound
    assert top("dibao", 1) == ["最低生活保障"]
    assert top("huzhao", 1) == ["普通护照签发"]


def test_initials_read_as_dictionary_words() -> None:
    """sbkgs: 社保卡 + 挂失; no name has those initials, the old engine found nothing."""
    assert LiteralIndex(sample()).search("sbkgs") == []
    assert top("sbkgs", 1) == ["社会保障卡挂失"]
    # jsz: 驾驶证 as citizens mean it, before 教师资格's initials (jszg...) that start alike
    assert "驾驶证" in top("jsz", 1)[0]
    assert analyse("qqqqqq").expansions == {}  # 气球 气球 气球 is no reading


@pytest.mark.parametrize(("typo", "meant"), [
    ("居住正", "居住证办理"),
    ("无犯最证明", "无犯罪记录证明"),
    ("最低生活保帐", "最低生活保障"),
])
def test_homophone_typos(typo: str, meant: str) -> None:
    assert top(typo, 1) == [meant]


def test_correct_words_do_not_pull_homophones() -> None:
    """居住证 is a catalogue word: its sound must not bring 属争 (zhu zheng) along."""
    assert not any("争议" in name for name in top("居住证", 10))


# -- English ------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("residence permit", {"居住证办理"}),
    ("passport", {"普通护照签发"}),
    ("marriage", {"中国内地公民婚姻登记", "结婚登记预约"}),
    ("Social Security card", {"社会保障卡申领"}),
    ("unemployment benefits", {"失业保险金申领"}),
    ("birth certificate", {"《出生医学证明》首次签发"}),
])
def test_english_queries(query: str, expected: set[str]) -> None:
    assert LiteralIndex(sample()).search(query, 3) == []
    assert expected & set(top(query)), top(query)
    assert analyse(query).english


# -- intents, variants, never empty ---------------------------------------------------------


def test_intent_word_picks_the_variant() -> None:
    assert top("社保卡补办", 1) == ["社会保障卡补领、换领、换发"]
    assert top("社保卡挂失", 1) == ["社会保障卡挂失"]
    assert top("残疾证换", 1) == ["残疾人证换领"]
    assert top("残疾证注销", 1) == ["残疾人证注销"]


def test_same_name_is_one_answer_with_variants_after() -> None:
    idx = SearchIndex([matter("求职创业补贴申领", "A", "区人社局"),
                       matter("求职创业补贴申领", "B", "区就业局"),
                       matter("创业补贴申请", "C", "区人社局")])
    hits = idx.search("创业补贴", 10)
    assert [h.matter.item_code for h in hits] == ["C", "A", "B"]
    assert [m.item_code for m in idx.variants(hits[1].matter)] == ["A", "B"]


def test_never_empty_when_something_is_related() -> None:
    """Nothing contains 居住证 and 税务 both: the literal tiers give up, the engine ranks."""
    assert LiteralIndex(sample()).search("居住证 税务") == []
    assert top("居住证 税务", 1) == ["居住证办理"]
    assert top("我想问一下怎么办理居住证明", 1) == ["居住证办理"]
    assert index().search("qxzv") == []
    assert index().search("鑫淼") == []


def test_no_action_asked_prefers_getting_the_thing() -> None:
    """公共场所卫生许可 names five variants equally; a citizen most often wants the new one."""
    assert top("公共场所卫生许可", 1) == ["公共场所卫生许可新办审批（县级）"]
    assert top("公共场所卫生许可注销", 1) == ["公共场所卫生许可证注销（县级）"]


def test_an_undo_action_not_asked_does_not_outrank_getting_the_thing() -> None:
    """Typing a matter's words without an action means getting it: 注销 only when asked."""
    assert top("护士执业注册", 1) == ["护士新办执业注册"]
    assert top("护士执业注册注销", 1) == ["护士执业注销注册"]
    assert top("公共场所卫生许可", 1) == ["公共场所卫生许可新办审批（县级）"]
    assert top("公共场所卫生许可注销", 1) == ["公共场所卫生许可证注销（县级）"]


def test_sichuan_sound_merges_are_typos_too() -> None:
    """zao for zhao: 护造 is 护照 to a Guang'an speaker (zh=z)."""
    assert "普通护照签发" in top("办护造", 3)


def test_two_letter_initials_in_a_longer_query() -> None:
    assert top("hz bl", 1) == ["普通护照签发"]
