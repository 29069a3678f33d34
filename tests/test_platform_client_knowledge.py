"""The client's parsers of GET /faq, /scenarios and /policies: a well-formed answer comes
back as the contract's shape, anything else is a TRANSIENT bad answer, never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.platform.client import (
    Failure,
    FaqDelta,
    PlatformError,
    parse_faq,
    parse_policies,
    parse_scenarios,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
texts = st.text(min_size=1, max_size=12)
ids = st.text(alphabet="abcdefghij-", min_size=1, max_size=6)
versions = st.integers(0, 2**40)

faq_entries = st.fixed_dictionaries({
    "id": ids, "questions": st.lists(texts, min_size=1, max_size=6),
    "answer": texts, "item_codes": st.lists(texts, max_size=4)})
faq_answers = st.fixed_dictionaries({
    "version": versions,
    "entries": st.lists(faq_entries, max_size=5, unique_by=lambda e: e["id"]),
    "removed": st.lists(ids, max_size=3)})


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    questions = draw(st.lists(st.fixed_dictionaries({
        "id": ids, "text": texts, "choices": st.lists(texts, min_size=1, max_size=3)}),
        max_size=4, unique_by=lambda q: q["id"]))
    matters = []
    for _ in range(draw(st.integers(0, 5))):
        matter: dict[str, Any] = {"item_code": draw(texts)}
        if questions and draw(st.booleans()):
            question = draw(st.sampled_from(questions))
            matter["when"] = {question["id"]: draw(st.sampled_from(question["choices"]))}
        matters.append(matter)
    return {"id": draw(ids), "title": draw(texts), "questions": questions,
            "matters": matters}


eligibility = st.fixed_dictionaries({}, optional={
    "age_min": st.integers(0, 60), "age_max": st.integers(60, 120),
    "gender": st.sampled_from(["男", "女"]),
    "area_prefix": st.from_regex(r"[0-9]{2,6}", fullmatch=True),
    "tags_any": st.lists(st.sampled_from(["graduate", "unemployed", "disabled"]), max_size=3)})
policies = st.fixed_dictionaries({
    "id": ids, "title": texts, "department": texts, "summary": texts, "benefit": texts,
    "eligibility": eligibility, "item_code": st.none() | texts, "version": versions})


def body(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def refused(parse: Any, raw: bytes) -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        parse(raw)
    assert caught.value.failure is Failure.TRANSIENT
    return caught.value


@given(faq_answers)
def test_a_wellformed_faq_comes_back_as_sent(answer: dict[str, Any]):
    assert parse_faq(body(answer)) == FaqDelta(answer["version"], answer["entries"],
                                               answer["removed"])


@given(st.lists(scenarios(), max_size=4, unique_by=lambda s: s["id"]))
def test_wellformed_scenarios_come_back_as_sent(answer: list[dict[str, Any]]):
    assert parse_scenarios(body(answer)) == answer


@given(st.lists(policies, max_size=4, unique_by=lambda p: p["id"]))
def test_wellformed_policies_come_back_as_sent(answer: list[dict[str, Any]]):
    assert parse_policies(body(answer)) == answer


@pytest.mark.parametrize("parse", [parse_faq, parse_scenarios, parse_policies])
@given(value=json_values)
def test_any_json_is_parsed_or_refused_as_transient(parse: Any, value: Any):
    try:
        parse(body(value))
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT and error.status is None


@pytest.mark.parametrize("parse", [parse_faq, parse_scenarios, parse_policies])
@given(raw=st.binary(max_size=40))
def test_bytes_that_are_not_json_are_transient(parse: Any, raw: bytes):
    try:
        json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        refused(parse, raw)


SECRET = "张三-110101199003078013"
"""Planted in a broken field: an error text names the field, never its value."""


@given(faq_answers.filter(lambda a: a["entries"]), st.sampled_from(
    ["id", "questions", "answer", "item_codes"]), st.sampled_from(["drop", "wrong"]))
def test_one_bad_faq_entry_refuses_the_whole_answer(answer: dict[str, Any], name: str,
                                                    how: str):
    entry = answer["entries"][-1]
    if how == "drop":
        del entry[name]
    else:
        entry[name] = {"x": SECRET} if name in ("id", "answer") else [SECRET, 7]
    error = refused(parse_faq, body(answer))
    assert SECRET not in str(error) and "GET /faq" in str(error)


@pytest.mark.parametrize("answer", [
    {"version": -1, "entries": [], "removed": []},
    {"version": True, "entries": [], "removed": []},
    {"version": 1, "entries": {}, "removed": []},
    {"version": 1, "entries": [], "removed": [""]},
    {"version": 1, "entries": [{"id": "a", "questions": [], "answer": "x", "item_codes": []}]},
    {"version": 1, "entries": [{"id": "a", "questions": ["q"], "answer": "x",
                                "item_codes": []}] * 2},
])
def test_faq_answers_the_contract_does_not_allow(answer: dict[str, Any]):
    refused(parse_faq, body(answer))


SCENARIO = {"id": "baby", "title": "t", "questions": [{"id": "q", "text": "?",
                                                       "choices": ["a", "b"]}],
            "matters": [{"item_code": "C1", "when": {"q": "a"}}, {"item_code": "C2"}]}


@pytest.mark.parametrize("change", [
    {"matters": [{"item_code": "C1", "when": {"q": "c"}}]},       # a choice not offered
    {"matters": [{"item_code": "C1", "when": {"other": "a"}}]},   # an unknown question
    {"matters": [{"item_code": "C1", "when": ["q"]}]},
    {"matters": [{"code": "C1"}]},
    {"questions": [{"id": "q", "text": "?", "choices": []}]},
    {"questions": [{"id": "q", "text": "?", "choices": ["a"]}] * 2, "matters": []},
    {"title": None},
])
def test_scenarios_the_contract_does_not_allow(change: dict[str, Any]):
    refused(parse_scenarios, body([SCENARIO | change]))


def test_a_null_when_is_no_condition():
    answer = parse_scenarios(body([SCENARIO | {"matters": [{"item_code": "C", "when": None}]}]))
    assert answer[0]["matters"] == [{"item_code": "C"}]


POLICY = {"id": "p", "title": "t", "department": "d", "summary": "s", "benefit": "b",
          "eligibility": {"age_min": 18}, "item_code": None, "version": 1}


@pytest.mark.parametrize("change", [
    {"eligibility": {"income_max": 1000}},     # a rule the kiosk cannot check
    {"eligibility": {"age_min": "18"}},
    {"eligibility": {"age_min": 70, "age_max": 60}},
    {"eligibility": {"tags_any": "graduate"}},
    {"eligibility": None},
    {"item_code": 5},
    {"version": None},
    {"summary": ""},
])
def test_policies_the_contract_does_not_allow(change: dict[str, Any]):
    refused(parse_policies, body([POLICY | change]))


def test_a_policy_must_say_item_code_even_when_null():
    refused(parse_policies, body([{k: v for k, v in POLICY.items() if k != "item_code"}]))


def test_null_eligibility_rules_are_dropped():
    answer = parse_policies(body([POLICY | {"eligibility": {"age_min": None, "gender": "女"}}]))
    assert answer[0]["eligibility"] == {"gender": "女"}
