"""Application forms: parsing the platform's FORM, checking values, pre-filling."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.idcard.emulator import SAMPLE_CARDS
from kiosk.applying.applicant import ENTRY_MESSAGES, Applicant
from kiosk.applying.forms import (
    FIELD_TYPES,
    VALIDATION_MESSAGES,
    Form,
    FormError,
    FormField,
    Prefilled,
    check_value,
    normalize_value,
    parse_form,
    prefill,
)
from kiosk.platform.client import Licence, parse_licences
from reference_platform import samples
from reference_platform.matters import code_hash, form_id_of, shipped_records

RESIDENT = SAMPLE_CARDS["resident"].identity
NUMBER = RESIDENT.id_number


def licences_of(id_number: str) -> list[Licence]:
    """The sample person's e-licences as the platform client reads them off the wire."""
    return parse_licences(json.dumps(samples.licences(id_number)).encode("utf-8"))


def records_with_forms() -> list[dict[str, Any]]:
    return [r for r in shipped_records() if form_id_of(r["item_code"])]


def sample_form(with_household: bool = True) -> dict[str, Any]:
    """A FORM of the reference platform; with the household-register field or without."""
    record = next(r for r in records_with_forms()
                  if bool(code_hash(r["item_code"], "form") % 2) == with_household)
    return samples.form(form_id_of(record["item_code"]), record, 7)


def make_field(kind: str, **extra: Any) -> FormField:
    return FormField(name="f", label_zh="字段", label_en="Field", type=kind, **extra)


# --- parsing ----------------------------------------------------------------------------


def test_every_sample_form_parses():
    records = records_with_forms()
    assert len(records) > 50
    for record in records:
        form = parse_form(samples.form(form_id_of(record["item_code"]), record, 3))
        assert form.version == 3
        assert form.face_presence is samples.needs_face_presence(record["item_code"])
        assert form.fields[0].prefill == "idcard.name"
        assert {item.type for item in form.fields} <= set(FIELD_TYPES)


def test_sample_form_fields_in_detail():
    form = parse_form(sample_form())
    phone = form.field("phone")
    assert phone is not None and phone.required and phone.pattern == r"^1[3-9][0-9]{9}$"
    assert phone.keyboard() == "numeric"
    gender = form.field("gender")
    assert gender.choices == ("男", "女") and gender.keyboard() == "none"
    assert form.field("address").keyboard() == "text"
    assert form.field("agree").keyboard() == "none"
    assert form.field("household_no").prefill == "licence.household_register.household_no"
    assert form.field("applicant_name").label("zh_CN") == "申请人姓名"
    assert form.field("applicant_name").label("en") == "Applicant name"
    assert form.field("nope") is None


def test_a_missing_label_falls_back_to_the_other_language():
    document = sample_form()
    document["fields"][0]["label"] = {"zh": "姓名"}
    assert parse_form(document).fields[0].label("en") == "姓名"


def test_face_presence_and_unknown_keys():
    document = sample_form() | {"face_presence": True, "layout": {"columns": 2}}
    document["fields"][0]["hint"] = "ignored"
    form = parse_form(document)
    assert form.face_presence is True
    assert isinstance(form, Form)


def test_unknown_prefill_sources_leave_the_field_for_the_citizen():
    document = sample_form()
    document["fields"][0]["prefill"] = "socialsecurity.card_no"
    document["fields"][1]["prefill"] = "idcard.shoe_size"
    form = parse_form(document)
    assert form.fields[0].prefill is None and form.fields[1].prefill is None


def broken(change) -> dict[str, Any]:
    document = copy.deepcopy(sample_form())
    change(document)
    return document


@pytest.mark.parametrize(("change", "part"), [
    (lambda d: d.pop("fields"), "fields"),
    (lambda d: d.update(fields={}), "fields"),
    (lambda d: d.pop("form_id"), "form_id"),
    (lambda d: d.update(version="1"), "version"),
    (lambda d: d.update(version=True), "version"),
    (lambda d: d.update(title=None), "title"),
    (lambda d: d.update(face_presence="yes"), "face_presence"),
    (lambda d: d["fields"].append("name"), "fields[9]"),
    (lambda d: d["fields"][2].update(type="signature"), "fields[2].type"),
    (lambda d: d["fields"][2].update(type=["text"]), "fields[2].type"),
    (lambda d: d["fields"][5].update(pattern="^1[3-9"), "fields[5].pattern"),
    (lambda d: d["fields"][5].update(pattern="(?P<a>x)(?P<a>y)"), "fields[5].pattern"),
    (lambda d: d["fields"][5].update(pattern=5), "fields[5].pattern"),
    (lambda d: d["fields"][2].update(choices=[]), "fields[2].choices"),
    (lambda d: d["fields"][2].update(choices=["男", 1]), "fields[2].choices[1]"),
    (lambda d: d["fields"][0].update(max_length=0), "fields[0].max_length"),
    (lambda d: d["fields"][0].update(max_length=2.5), "fields[0].max_length"),
    (lambda d: d["fields"][0].update(required="yes"), "fields[0].required"),
    (lambda d: d["fields"][0].update(label="姓名"), "fields[0].label"),
    (lambda d: d["fields"][0].update(label={"zh": "", "en": ""}), "fields[0].label"),
    (lambda d: d["fields"][0].update(name=""), "fields[0].name"),
    (lambda d: d["fields"][1].update(name="applicant_name"), "fields[1].name"),
    (lambda d: d["fields"][0].update(prefill=["idcard.name"]), "fields[0].prefill"),
    (lambda d: d.update(fields=d["fields"] * 12), "fields"),
])
def test_malformed_forms_name_the_part(change, part: str):
    with pytest.raises(FormError) as caught:
        parse_form(broken(change))
    assert str(caught.value).startswith(part)


def test_unknown_field_types_say_which_types_are_known():
    with pytest.raises(FormError, match=r"unknown field type 'signature' \(known: text, "):
        parse_form(broken(lambda d: d["fields"][2].update(type="signature")))


def test_a_form_error_does_not_repeat_the_document():
    secret = "测试甲110101199003078013"
    with pytest.raises(FormError) as caught:
        parse_form(broken(lambda d: d["fields"][0].update(label=secret, name=secret)))
    assert secret not in str(caught.value) and "1101" not in str(caught.value)


def test_a_hundred_fields_is_the_limit():
    def fields(count):
        return [{"name": f"f{i}", "label": {"zh": "字段"}, "type": "text"}
                for i in range(count)]
    base = {"form_id": "F1", "title": "t", "version": 1}
    assert len(parse_form(base | {"fields": fields(100)}).fields) == 100
    with pytest.raises(FormError):
        parse_form(base | {"fields": fields(101)})


def test_numeric_form_ids_are_kept_as_text():
    assert parse_form({"form_id": 12, "title": "", "version": 0, "fields": []}).form_id == "12"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25)


@settings(max_examples=300)
@given(JSON)
def test_parse_form_of_any_json_raises_only_form_error(document):
    with contextlib.suppress(FormError):
        parse_form(document)


FIELD_KEYS = st.sampled_from(["name", "label", "type", "required", "pattern", "choices",
                              "max_length", "prefill"])


@settings(max_examples=300)
@given(st.integers(0, 8), FIELD_KEYS, JSON | st.text(alphabet="^$()[]{}*+?|\\.0-9az,"))
def test_a_sample_form_with_any_one_value_changed_raises_only_form_error(index, key, value):
    document = sample_form()
    document["fields"][index][key] = value
    try:
        form = parse_form(document)
    except FormError as error:
        assert str(error).startswith(("fields", "form_id", "title", "version"))
    else:
        assert len(form.fields) == len(document["fields"])


# --- checking ---------------------------------------------------------------------------


@pytest.mark.parametrize(("item", "value", "message"), [
    (make_field("text", required=True), "", "This field is required"),
    (make_field("text", required=True), "   ", "This field is required"),
    (make_field("text"), "", None),
    (make_field("text", max_length=3), "一二三", None),
    (make_field("text", max_length=3), "一二三四", "This text is too long: please shorten it"),
    (make_field("text"), "a\x00b", "This text contains characters that cannot be used"),
    (make_field("address", required=True), "测试省测试市模拟路1号", None),
    (make_field("address"), "测试路\U00031350号", None),  # a rare character stays
    (make_field("text"), "a\u200bb", "This text contains characters that cannot be used"),
    (make_field("number"), "12", None),
    (make_field("number"), "1.5", "Please enter digits only"),
    (make_field("number"), "-3", "Please enter digits only"),
    (make_field("date"), "1990-03-07", None),
    (make_field("date"), "19900307", None),
    (make_field("date"), "1990/03/07", "Please enter the date as year-month-day, "
                                       "for example 1990-03-07"),
    (make_field("date"), "1990-02-30", "This date does not exist: please check it"),
    (make_field("date"), "19900230", "This date does not exist: please check it"),
    (make_field("phone"), "13800138000", None),
    (make_field("phone"), " 13800138000 ", None),
    (make_field("phone"), "12800138000", "Please enter an 11-digit mobile number starting "
                                         "with 1"),
    (make_field("phone"), "1380013800", "Please enter an 11-digit mobile number starting "
                                        "with 1"),
    (make_field("phone", pattern=r"0826-[0-9]{7}|1[3-9][0-9]{9}"), "0826-1234567", None),
    (make_field("phone", pattern=r"0826-[0-9]{7}"), "13800138000",
     "Please check the phone number"),
    (make_field("id_number"), NUMBER, None),
    (make_field("id_number"), NUMBER.lower(), None),
    (make_field("id_number"), NUMBER[:-1] + "2",
     "The last character does not match: please check the number"),
    (make_field("id_number"), NUMBER[:12], "An ID number has 18 characters"),
    (make_field("id_number", pattern=r"^[0-9]{17}[0-9X]$"), NUMBER, None),
    (make_field("choice", choices=("男", "女")), "女", None),
    (make_field("choice", choices=("男", "女")), "未知", "Please choose one of the options"),
    (make_field("checkbox", required=True), "1", None),
    (make_field("checkbox", required=True), "", "Please tick this box to continue"),
    (make_field("checkbox"), "", None),
    (make_field("checkbox"), "yes", "This box can only be ticked or left empty"),
    (make_field("text", pattern=r"[0-9]{9}"), "123456789", None),
    (make_field("text", pattern=r"[0-9]{9}"), "12345678",
     "This does not match the required format: please check it"),
    (make_field("text", pattern=r"[0-9]{9}"), "1234567890",  # fullmatch, not search
     "This does not match the required format: please check it"),
    (make_field("text", pattern="(unclosed"), "x",
     "This field cannot be checked: please ask staff"),
    (make_field("sideways"), "x", None),
])
def test_check_value(item: FormField, value: str, message: str | None):
    assert check_value(item, value) == message


def test_every_message_is_listed():
    for message in VALIDATION_MESSAGES:
        assert message[0].isupper() and "{" not in message


FIELDS = st.builds(
    FormField,
    name=st.just("f"), label_zh=st.just("字段"), label_en=st.just("Field"),
    type=st.sampled_from(FIELD_TYPES), required=st.booleans(),
    pattern=st.none() | st.sampled_from([r"^1[3-9][0-9]{9}$", r"[0-9]+", "(a|aa)*b", "("]),
    choices=st.lists(st.text(max_size=4), max_size=3).map(tuple),
    max_length=st.none() | st.integers(1, 50), prefill=st.none())


@settings(max_examples=500)
@given(FIELDS, st.text(max_size=60))
def test_check_value_never_raises(item: FormField, value: str):
    message = check_value(item, value)
    assert message is None or message in VALIDATION_MESSAGES or message in ENTRY_MESSAGES


def test_huge_input_is_refused_before_any_pattern_runs():
    item = make_field("text", pattern="(a|aa)*b")
    assert check_value(item, "a" * 20_000) == "This text is too long: please shorten it"


def test_normalize_value():
    assert normalize_value(make_field("date"), " 19900307 ") == "1990-03-07"
    assert normalize_value(make_field("date", pattern="[0-9]{8}"), "19900307") == "19900307"
    assert normalize_value(make_field("id_number"), NUMBER[:-1] + "x") == NUMBER[:-1] + "X"
    assert normalize_value(make_field("text"), "  a b ") == "a b"


# --- pre-filling ------------------------------------------------------------------------


def test_prefill_from_the_card_and_the_household_register():
    form = parse_form(sample_form(with_household=True))
    applicant = Applicant.from_card(RESIDENT)
    known = prefill(form, applicant, licences_of(NUMBER))
    assert {name: p.source for name, p in known.items()} == {
        "applicant_name": "idcard", "id_number": "idcard", "gender": "idcard",
        "birth_date": "idcard", "address": "idcard", "household_no": "licence"}
    assert known["birth_date"].value == "1990-03-07"
    assert known["id_number"].value == NUMBER
    household = next(lic for lic in licences_of(NUMBER) if lic.type == "household_register")
    assert known["household_no"].value == household.fields["household_no"]
    for name, item in known.items():
        assert check_value(form.field(name), item.value) is None


def test_prefill_from_an_ecode_says_so():
    form = parse_form(sample_form(with_household=False))
    applicant = Applicant.from_ecode({"name": "测试甲", "id_number": NUMBER, "gender": "男",
                                      "birth_date": "19900307"})
    known = prefill(form, applicant, [])
    assert {p.source for p in known.values()} == {"ecode"}
    assert set(known) == {"applicant_name", "id_number", "gender", "birth_date"}


def test_a_typed_applicant_prefills_only_what_was_typed():
    form = parse_form(sample_form(with_household=True))
    applicant = Applicant.typed(NUMBER, "测试甲")
    known = prefill(form, applicant, licences_of(NUMBER))
    assert {name: p.source for name, p in known.items()} == {
        "applicant_name": "citizen", "id_number": "citizen", "household_no": "licence"}


def test_values_that_fail_the_form_are_left_to_the_citizen():
    form = parse_form(sample_form(with_household=True))
    odd = Applicant(name="测" * 41, id_number=NUMBER, source="card", gender="未说明的性别",
                    birth_date="19900230", address="")
    known = prefill(form, odd, [Licence("household_register", "N", "I", "长期",
                                        {"household_no": "x" * 21})])
    assert set(known) == {"id_number"}


def test_nation_is_matched_to_the_forms_wording():
    form = Form("F", "t", (
        make_field("choice", choices=("汉族", "回族"), prefill="idcard.nation"),
    ), 1)
    known = prefill(form, Applicant.from_card(RESIDENT), [])
    assert known["f"] == Prefilled("汉族", "idcard")


def test_card_dates_are_shown_as_dates_and_long_term_stays():
    rare = Applicant.from_card(SAMPLE_CARDS["rare_name"].identity)
    form = Form("F", "t", (
        FormField("a", "起", "From", "date", prefill="idcard.valid_from"),
        FormField("b", "止", "To", "text", prefill="idcard.valid_to"),
        FormField("c", "机关", "Issuer", "text", prefill="idcard.issuer"),
        FormField("d", "证", "Licence", "text", prefill="licence.marriage_certificate.number"),
        FormField("e", "x", "x", "text", prefill="licence.household_register.sample"),
    ), 1)
    known = prefill(form, rare, licences_of(NUMBER))
    assert known["a"].value == f"{rare.valid_from[:4]}-{rare.valid_from[4:6]}-{rare.valid_from[6:]}"
    assert known["b"].value == "长期"
    assert known["c"].value == rare.issuer
    assert "d" not in known  # a licence field that is not in the licence's fields
    assert "e" not in known  # a boolean is not a value to show


def test_no_applicant_no_prefill():
    assert prefill(parse_form(sample_form()), None, []) == {}


def test_prefilled_repr_hides_the_value():
    shown = repr(Prefilled(NUMBER, "idcard"))
    assert NUMBER not in shown and "idcard" in shown
