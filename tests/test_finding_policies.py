"""Policy matching without a screen: the profile from an identity, and each policy's verdict
with its reasons, over the shipped sample policies (kiosk/data/policies.json)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.applying.applicant import Applicant
from kiosk.finding.knowledge import MET, MISSING, NOT_MET, UNKNOWN, Eligibility, KnowledgeBase
from kiosk.finding.policy_match import (
    MATCH,
    MAYBE,
    OUT,
    TAGS,
    Profile,
    age_on,
    area_name,
    match_policies,
    profile_of,
    profile_of_person,
)

TODAY = dt.date(2026, 11, 27)
SHIPPED = Path(__file__).resolve().parent.parent / "kiosk" / "data" / "policies.json"


@pytest.fixture(scope="module")
def policies():
    return KnowledgeBase().policies()


def by_id(result, policy_id: str):
    return next(m for m in (*result.shown, *result.ruled_out) if m.policy.id == policy_id)


def test_every_tag_of_the_sample_policies_can_be_ticked():
    document = json.loads(SHIPPED.read_text(encoding="utf-8"))
    used = {tag for p in document["policies"] for tag in p["eligibility"].get("tags_any") or ()}
    assert used == set(TAGS)
    assert {"graduate", "unemployed", "disabled", "elderly_carer", "small_business"} <= used


def test_age_counts_whole_years_and_birthdays():
    assert age_on("19900307", dt.date(2026, 3, 6)) == 35
    assert age_on("19900307", dt.date(2026, 3, 7)) == 36
    assert age_on("20000229", dt.date(2026, 2, 28)) == 25  # leap-day birthday not yet come
    assert age_on("20000229", dt.date(2026, 3, 1)) == 26
    assert age_on("20261128", TODAY) is None  # the future
    assert age_on("19901332", TODAY) is None and age_on("1990", TODAY) is None
    assert age_on("18000101", TODAY) is None  # older than anyone alive


def test_profile_from_a_card_and_from_a_typed_number():
    card = Applicant(name="测试乙", id_number="511602198511110029", source="card", gender="女",
                     birth_date="19851111")
    assert profile_of_person(card, ["disabled"], TODAY) == Profile(41, "女", "511602",
                                                                    frozenset({"disabled"}))
    # typed: only the number; birth date and gender come from its digits (17th odd: man)
    typed = Applicant(name="测试甲", id_number="110101199003078013", source="manual")
    assert profile_of_person(typed, today=TODAY) == Profile(36, "男", "110101")
    # a foreign permanent resident's old card: no area, no digits to read
    foreign = profile_of(birth_date="19800101", gender="男", id_number="TST110080010100",
                         today=TODAY)
    assert (foreign.age, foreign.gender, foreign.area_code) == (46, "男", None)
    assert not Profile().from_card and foreign.from_card


def test_area_names_the_district_city_or_province():
    assert area_name("511602") == "广安区" and area_name("511602", "en") == "Guang'an District"
    assert area_name("5116") == "广安市" and area_name("511699") == "广安市"
    assert area_name("110101") == "北京市"
    assert area_name("990000") is None and area_name("") is None


def test_without_a_card_nothing_is_ruled_out_and_the_card_is_what_is_missing(policies):
    result = match_policies(policies, Profile())
    assert not result.ruled_out and not result.full
    assert len(result.shown) == len(policies)
    elderly = by_id(result, "elderly-card")
    assert elderly.status == MAYBE
    assert [(c.rule, c.state, c.age_min) for c in elderly.missing] == [("age", UNKNOWN, 60)]
    # waiting only for the card comes before needing a situation ticked
    ranks = [any(c.state == MISSING for c in m.checks) for m in result.shown]
    assert ranks == sorted(ranks)


def test_ticking_a_tag_brings_its_policies_and_says_why(policies):
    result = match_policies(policies, Profile(tags=frozenset({"graduate"})))
    assert not result.full, "the age is still unknown"
    first = result.shown[0]
    assert first.policy.id in {"graduate-social-insurance", "startup-subsidy"}
    graduate = by_id(result, "graduate-social-insurance")
    assert [(c.rule, c.state, c.tags) for c in graduate.reasons] == [("tags", MET, ("graduate",))]
    assert [(c.rule, c.state, c.age_min, c.age_max) for c in graduate.missing] == [
        ("age", UNKNOWN, 18, 35)]


def test_card_and_tags_give_full_matches_first_and_rule_out_the_rest(policies):
    profile = Profile(41, "女", "511602", frozenset({"unemployed"}))
    result = match_policies(policies, profile)
    full = {m.policy.id for m in result.full}
    assert full == {"unemployment-benefit", "startup-loan", "startup-subsidy",
                    "flexible-employment", "maternity-allowance"}
    statuses = [m.status for m in result.shown]
    assert statuses == sorted(statuses, key=lambda s: s != MATCH)
    out = {m.policy.id: m for m in result.ruled_out}
    assert set(out) == {"graduate-social-insurance", "graduate-internship",
                        "flexible-employment-male", "elderly-allowance", "elderly-card"}
    assert [(c.rule, c.state) for c in out["flexible-employment-male"].failed] == [
        ("age", NOT_MET), ("gender", NOT_MET)]
    assert all(m.status == OUT for m in result.ruled_out)
    # a policy needing an unticked situation still shows, saying what to tick
    living = by_id(result, "disabled-living")
    assert living.status == MAYBE
    assert [(c.rule, c.state) for c in living.reasons] == [("area", MET)]
    assert [(c.rule, c.state, c.tags) for c in living.missing] == [
        ("tags", MISSING, ("disabled",))]


def test_someone_from_elsewhere_is_not_offered_local_allowances(policies):
    result = match_policies(policies, Profile(85, "男", "110101"))
    assert by_id(result, "elderly-allowance").status == OUT
    assert by_id(result, "elderly-card").status == MATCH
    assert result.shown[0].policy.id == "elderly-card"


def test_an_empty_rule_restricts_nobody():
    rules = Eligibility(gender="", area_prefix="")
    assert rules.matches() and rules.explain() == []


# -- properties -------------------------------------------------------------------------

digits = st.text(alphabet="0123456789", min_size=0, max_size=20)
numbers = st.one_of(digits, digits.map(lambda d: d + "X"), st.text(max_size=20))


@settings(max_examples=400, deadline=None)
@given(birth=st.one_of(digits, st.text(max_size=10)), number=numbers,
       gender=st.sampled_from(["", "男", "女", "未知", "M"]),
       today=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_any_birth_date_or_number_gives_a_sane_profile(birth, number, gender, today):
    profile = profile_of(birth_date=birth, gender=gender, id_number=number, today=today)
    assert profile.age is None or 0 <= profile.age <= 150
    assert profile.gender in (None, "男", "女")
    assert profile.area_code is None or (len(profile.area_code) == 6
                                         and profile.area_code.isdigit())
    try:
        born = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
        valid = len(birth) == 8 and birth.isdigit() and born <= today
    except ValueError:
        valid = False
    if not valid and len(number) != 18:
        assert profile.age is None, "an invalid date is unknown, never a guess"


@settings(max_examples=400, deadline=None)
@given(low=st.one_of(st.none(), st.integers(0, 100)), high=st.one_of(st.none(),
       st.integers(0, 120)), rule_gender=st.sampled_from([None, "", "男", "女"]),
       prefix=st.sampled_from([None, "", "51", "5116", "511602"]),
       rule_tags=st.one_of(st.none(), st.lists(st.sampled_from(TAGS), max_size=3)),
       age=st.one_of(st.none(), st.integers(0, 120)),
       gender=st.sampled_from([None, "男", "女"]),
       area=st.sampled_from([None, "511602", "511621", "110101"]),
       tags=st.sets(st.sampled_from(TAGS)))
def test_explain_agrees_with_matches(low, high, rule_gender, prefix, rule_tags, age, gender,
                                     area, tags):
    rules = Eligibility(low, high, rule_gender, prefix,
                        None if rule_tags is None else tuple(rule_tags))
    checks = rules.explain(age=age, gender=gender, area_code=area, tags=tags)
    assert all(c.state in (MET, NOT_MET, UNKNOWN, MISSING) for c in checks)
    assert rules.matches(age=age, gender=gender, area_code=area, tags=tags) == all(
        c.state == MET for c in checks)
    if age is not None and gender is not None and area is not None:
        assert all(c.state != UNKNOWN for c in checks), "a read card leaves nothing unknown"


@settings(max_examples=300, deadline=None)
@given(area=st.integers(110000, 829999), born=st.dates(min_value=dt.date(1880, 1, 1),
       max_value=dt.date(2100, 12, 31)), sequence=st.integers(0, 999),
       check=st.sampled_from("0123456789X"),
       today=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_a_typed_number_alone_gives_age_gender_and_area(area, born, sequence, check, today):
    number = f"{area}{born:%Y%m%d}{sequence:03d}{check}"
    profile = profile_of(id_number=number, today=today)
    assert profile.area_code == str(area)
    assert profile.gender == ("男" if sequence % 2 else "女")
    if born > today:
        assert profile.age is None, "a birth date in the future is unknown, not negative"
    else:
        expected = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        assert profile.age == (expected if expected <= 150 else None)
