"""The platform client's identity calls: resolving e-ID codes and looking up e-licences.

The parsers take outside bytes, so hypothesis feeds them anything; the calls themselves
run against the reference platform as a real process on loopback.
"""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.idcard.identity import id_check_char
from kiosk.platform.client import (
    Failure,
    Licence,
    PersonAnswer,
    PlatformClient,
    PlatformError,
    parse_ecode_answer,
    parse_licences,
)
from reference_platform import samples

try:  # tests/ is a package in some checkouts, a plain folder on sys.path in others
    from tests.platform_server import PlatformServer
except ModuleNotFoundError:  # pragma: no cover
    from platform_server import PlatformServer  # type: ignore[no-redef]

KIOSK = "511602-HALL-03"
RESIDENT = "110101199003078013"
NAME = "测试甲"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


# -- strategies for valid answers ----------------------------------------------------------


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    area = draw(st.from_regex(r"[1-9][0-9]{5}", fullmatch=True))
    born = draw(st.dates(min_value=date(1900, 1, 1)))
    serial = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    first17 = f"{area}{born:%Y%m%d}{serial}"
    return first17 + id_check_char(first17)


def printable(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(min_size=min_size, max_size=max_size).filter(str.isprintable)


ecode_answers = st.fixed_dictionaries(
    {"name": printable(64, 1), "id_number": id_numbers(), "gender": printable(16),
     "birth_date": st.from_regex(r"[0-9]{8}", fullmatch=True)},
    optional={"nation": printable(32) | st.none(), "address": printable(200) | st.none(),
              "valid_to": st.sampled_from(["长期", "20400101"]) | st.none()},
)
licence_entries = st.fixed_dictionaries({
    "type": printable(40, 1), "number": printable(40, 1), "issuer": st.text(max_size=40),
    "valid_to": st.text(max_size=12),
    "fields": st.dictionaries(st.text(max_size=12), json_values, max_size=5),
})


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


# -- parse_ecode_answer --------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_ecode_parser_takes_any_bytes(body: bytes):
    try:
        parse_ecode_answer(body)
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT


@given(json_values | st.dictionaries(st.sampled_from(
    ["name", "id_number", "gender", "birth_date", "nation", "address", "valid_to"]),
    json_values))
def test_ecode_parser_takes_any_json(value: Any):
    try:
        answer = parse_ecode_answer(encode(value))
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
    else:
        assert set(answer) == {"name", "id_number", "gender", "birth_date", "nation",
                               "address", "valid_to"}


@given(ecode_answers)
def test_valid_ecode_answers_round_trip(document: dict[str, Any]):
    answer = parse_ecode_answer(encode(document))
    assert isinstance(answer, PersonAnswer) and isinstance(answer, dict)
    expected = {key: document.get(key) or "" for key in
                ("name", "id_number", "gender", "birth_date", "nation", "address",
                 "valid_to")}
    assert answer == expected
    assert document["id_number"] not in repr(answer)


def test_the_id_number_is_checked_and_normalised():
    good = {"name": NAME, "id_number": "11010119900307803x", "gender": "男",
            "birth_date": "19900307"}
    assert parse_ecode_answer(encode(good))["id_number"] == "11010119900307803X"
    answer = parse_ecode_answer(encode(good | {"id_number": " 110101199003078013 "}))
    assert answer["id_number"] == RESIDENT
    for bad in ("110101199003078014", "11010119900307801", "110101199013078011", "TST1100800",
                "１１０１０１１９９００３０７８０１３"):
        with pytest.raises(PlatformError) as caught:
            parse_ecode_answer(encode(good | {"id_number": bad}))
        assert "id_number" in str(caught.value) and bad.strip() not in str(caught.value)


@pytest.mark.parametrize("change", [
    {"name": ""}, {"name": 5}, {"name": "测试\n甲"}, {"name": "甲" * 65}, {"gender": None},
    {"birth_date": 19900307}, {"nation": 1}, {"address": ["x"]}, {"valid_to": False},
])
def test_errors_name_the_field_never_the_person(change: dict[str, Any]):
    document = {"name": NAME, "id_number": RESIDENT, "gender": "男", "birth_date": "19900307",
                "address": "测试省测试市模拟路1号"} | change
    with pytest.raises(PlatformError) as caught:
        parse_ecode_answer(encode(document))
    text = str(caught.value) + repr(caught.value)
    assert next(iter(change)) in text
    assert RESIDENT not in text and NAME not in text and "模拟路" not in text


def test_person_answer_repr_is_masked():
    answer = parse_ecode_answer(encode({"name": NAME, "id_number": RESIDENT, "gender": "男",
                                        "birth_date": "19900307"}))
    assert repr(answer) == str(answer) == "PersonAnswer(id_number='110***********8013')"
    assert f"{answer}" == repr(answer) and NAME not in f"{[answer]}"


# -- parse_licences ------------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_licence_parser_takes_any_bytes(body: bytes):
    try:
        parse_licences(body)
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT


@given(json_values | st.lists(json_values | st.dictionaries(st.sampled_from(
    ["type", "number", "issuer", "valid_to", "fields"]), json_values), max_size=3))
def test_licence_parser_takes_any_json(value: Any):
    try:
        licences = parse_licences(encode(value))
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
    else:
        assert all(isinstance(licence, Licence) for licence in licences)


@given(st.lists(licence_entries, max_size=4))
def test_valid_licences_round_trip(entries: list[dict[str, Any]]):
    licences = parse_licences(encode(entries))
    assert [(lic.type, lic.number, lic.issuer, lic.valid_to, lic.fields) for lic in licences] \
        == [(e["type"], e["number"], e["issuer"], e["valid_to"], e["fields"]) for e in entries]


def test_one_bad_licence_refuses_the_answer_without_its_content():
    good = {"type": "household_register", "number": "SAMPLE-HR-1", "issuer": "x",
            "valid_to": "长期", "fields": {"name": NAME, "id_number": RESIDENT}}
    for bad in (good | {"fields": [NAME]}, good | {"number": ""}, {"type": NAME}, NAME):
        with pytest.raises(PlatformError) as caught:
            parse_licences(encode([good, bad]))
        assert "licence 1" in str(caught.value)
        assert NAME not in str(caught.value) and RESIDENT not in str(caught.value)


def test_licence_repr_shows_no_personal_data():
    licence = Licence("household_register", "SAMPLE-HR-12345678", "测试市公安局",
                      "长期", {"name": NAME, "id_number": RESIDENT})
    shown = repr(licence) + str(licence) + repr([licence])
    assert "household_register" in shown and "id_number" in shown
    assert NAME not in shown and RESIDENT not in shown and "12345678" not in shown
    assert hash(licence) == hash(Licence("household_register", "SAMPLE-HR-12345678",
                                         "测试市公安局", "长期", {}))


# -- against the reference platform --------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("client-identity")
    with PlatformServer(folder, kiosks={KIOSK: folder / "k.key"}) as running:
        yield running


@pytest.fixture()
def client(server: PlatformServer):
    platform = PlatformClient(server.base_url, KIOSK, server.keys[KIOSK], timeout=10)
    yield platform
    platform.close()


def test_resolve_ecode(client: PlatformClient):
    answer = client.resolve_ecode(samples.mint_ecode(RESIDENT, time.time()))
    assert answer == {"name": NAME, "id_number": RESIDENT, "gender": "男", "nation": "汉",
                      "birth_date": "19900307", "address": "测试省测试市模拟路1号",
                      "valid_to": "20400101"}
    rare = client.resolve_ecode(samples.ecode_for_card("rare_name"))
    assert rare["name"] == "测试堃喆䶮𠮷" and rare["valid_to"] == "长期"
    foreign = client.resolve_ecode(samples.ecode_for_card("foreign_2023"))
    assert foreign["nation"] == "" and foreign["address"] == ""


@pytest.mark.parametrize("age_s", [0, 120])
def test_unknown_and_expired_codes_are_unknown_code(client: PlatformClient, age_s: int):
    code = samples.mint_ecode(RESIDENT, time.time() - age_s)
    if age_s == 0:
        code = code[:-4] + "0000"
    with pytest.raises(PlatformError) as caught:
        client.resolve_ecode(code)
    error = caught.value
    assert (error.status, error.code, error.failure) == (404, "unknown_code", Failure.RECORD)
    assert code not in str(error)


def test_lookup_licences(client: PlatformClient):
    licences = client.lookup_licences(RESIDENT)
    assert [lic.type for lic in licences] == ["household_register", "marriage_certificate"]
    register = licences[0]
    assert register.fields["id_number"] == RESIDENT and register.valid_to == "长期"
    assert register.fields["household_no"].isdigit()
    assert client.lookup_licences("110101199003074372") == []


def test_a_refused_lookup_names_no_person(client: PlatformClient):
    with pytest.raises(PlatformError) as caught:
        client.lookup_licences("")
    assert caught.value.status == 422 and caught.value.failure is Failure.RECORD
    with pytest.raises(PlatformError) as caught:
        client.lookup_licences(RESIDENT + "9" * 60)
    assert RESIDENT not in str(caught.value)
