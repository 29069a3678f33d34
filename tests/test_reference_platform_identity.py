"""The apply journey's platform side: sample e-ID codes, face presence on forms, agents.

Server tests run `kiosk platform serve` as a real subprocess on loopback (one for the
module); the code format is also checked as a pure function, with hypothesis, because a
code is outside text read by a camera.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.idcard.emulator import SAMPLE_CARDS
from kiosk.applying.receipt_numbers import make_receipt_number
from reference_platform import ecodes, samples
from reference_platform.matters import WITH_FORM, form_id_of, shipped_records

try:  # tests/ is a package in some checkouts, a plain folder on sys.path in others
    from tests.platform_server import PlatformServer
except ModuleNotFoundError:  # pragma: no cover
    from platform_server import PlatformServer  # type: ignore[no-redef]

KIOSK = "511602-HALL-03"
RESIDENT = "110101199003078013"  # the emulator's "resident" card
RESIDENCE_PERMIT = "居住证办理"
PDF = b"%PDF-1.4 identity test " + bytes(range(32))
E_ID_HOLDERS = [p for p in samples.sample_people().values() if len(p["id_number"]) == 18]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("identity")
    with PlatformServer(folder, kiosks={KIOSK: folder / "k.key"}) as running:
        yield running


@pytest.fixture()
def session(server: PlatformServer):
    with server.session(KIOSK) as signed:
        yield signed


def resolve(session: requests.Session, code: Any) -> requests.Response:
    return session.post("/identity/ecode", json={"code": code})


def assert_unknown(answer: requests.Response) -> None:
    assert answer.status_code == 404, answer.text
    assert answer.json() == {"error": "unknown_code", "message": "unknown or expired e-ID code",
                             "field": "code"}


# -- e-ID codes over HTTP -------------------------------------------------------------------


def test_a_fresh_code_resolves_to_the_sample_person(session: requests.Session):
    answer = resolve(session, samples.mint_ecode(RESIDENT, time.time()))
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Sample-Content"] == "true"
    assert answer.json() == {"name": "测试甲", "id_number": RESIDENT, "gender": "男",
                             "nation": "汉", "birth_date": "19900307",
                             "address": "测试省测试市模拟路1号", "valid_to": "20400101"}


@pytest.mark.parametrize("person", E_ID_HOLDERS, ids=lambda p: p["card"])
def test_every_e_id_holder_resolves_with_optional_keys_absent_when_empty(
        session: requests.Session, person: dict[str, str]):
    answer = resolve(session, samples.ecode_for_card(person["card"]))
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["id_number"] == person["id_number"] and document["name"] == person["name"]
    assert {"name", "id_number", "gender", "birth_date"} <= set(document)
    for key in ("nation", "address", "valid_to"):
        assert document.get(key) == (person[key] or None)


def test_a_code_resolves_again_within_its_life(session: requests.Session):
    code = samples.mint_ecode(RESIDENT, time.time() - 30)
    assert resolve(session, code).status_code == 200
    assert resolve(session, code).status_code == 200  # stateless: a retry after a lost answer


@pytest.mark.parametrize("age_s", [90, 3600, -120])
def test_expired_and_future_codes_are_unknown(session: requests.Session, age_s: int):
    assert_unknown(resolve(session, samples.mint_ecode(RESIDENT, time.time() - age_s)))


def forged_codes() -> list[str]:
    now = int(time.time())
    good = samples.mint_ecode(RESIDENT, now)
    prefix, person, issued, mac = good.split(".")
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    return [
        f"{prefix}.{person}.{issued}.{flipped}",           # a changed signature
        f"{prefix}.1.{issued}.{mac}",                      # another person, same signature
        f"{prefix}.{person}.{now + 5}.{mac}",              # a changed time, same signature
        ecodes.sign(99, now),                              # signed, but nobody has index 99
        good.upper(), good + ".", " " + good, good[:-1],
        "EID2" + good[4:], RESIDENT, "", "EID1...", "EID1.0.0.0", "http://example.com/?id=1",
        "EID1.0." + "9" * 40 + "." + mac, "\x00" * 10, "测试甲",
    ]


@pytest.mark.parametrize("code", forged_codes())
def test_forged_and_garbled_codes_are_unknown(session: requests.Session, code: str):
    assert_unknown(resolve(session, code))


def test_a_15_character_holder_has_no_e_id(session: requests.Session):
    """The 2017 foreign permanent resident card's number is 15 characters: no e-ID, and a
    signed code naming that person is refused as well."""
    index = next(i for i, p in enumerate(samples.sample_people().values())
                 if len(p["id_number"]) != 18)
    with pytest.raises(ValueError, match="no e-ID") as caught:
        samples.ecode_for_card("foreign_2017")
    assert "TST" not in str(caught.value)
    assert_unknown(resolve(session, ecodes.sign(index, time.time())))


def test_malformed_requests_are_validation_errors(session: requests.Session):
    for body in ({"code": 12}, {"code": None}, {}, {"code": "x" * 5000}):
        answer = session.post("/identity/ecode", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "validation" and answer.json()["field"] == "code"
    assert session.post("/identity/ecode", data=b"{", headers={
        "Content-Type": "application/json"}).status_code == 400


def test_resolving_needs_a_signature(server: PlatformServer):
    answer = requests.post(server.base_url + "/identity/ecode",
                           json={"code": samples.mint_ecode(RESIDENT, time.time())}, timeout=5)
    assert answer.status_code == 401


# -- the code format as a pure function -----------------------------------------------------


@pytest.mark.parametrize("person", list(samples.sample_people().values()),
                         ids=lambda p: p["card"])
def test_no_personal_data_in_the_code_text(person: dict[str, str]):
    if len(person["id_number"]) != 18:
        return
    code = samples.mint_ecode(person["id_number"].lower(), 1_795_000_000)
    assert code.startswith("EID1.") and code.isascii() and len(code) <= 64
    for secret in (person["id_number"], person["id_number"][-8:], person["name"],
                   person["birth_date"]):
        assert secret not in code


def test_mint_refuses_strangers_without_repeating_the_number():
    with pytest.raises(ValueError) as caught:
        samples.mint_ecode("110101199003074372", time.time())
    assert "4372" not in str(caught.value)
    with pytest.raises(ValueError):
        samples.ecode_for_card("nobody")


def test_the_life_is_sixty_seconds_either_way():
    issued = 1_795_000_000
    code = ecodes.sign(0, issued + 0.9)
    assert ecodes.verify(code, issued) == 0
    assert ecodes.verify(code, issued + 60) == 0
    assert ecodes.verify(code, issued + 60.5) is None
    assert ecodes.verify(code, issued - 60) == 0
    assert ecodes.verify(code, issued - 61) is None
    assert samples.resolve_ecode(code, issued + 61) is None
    assert samples.resolve_ecode(code, issued + 1)["id_number"] == RESIDENT


@settings(max_examples=300)
@given(st.text(max_size=80) | st.from_regex(r"EID1\.[0-9]{1,3}\.[0-9]{1,12}\.[0-9a-f]{32}",
                                             fullmatch=True))
def test_any_text_is_refused_without_an_exception(text: str):
    assert ecodes.verify(text, time.time()) is None
    assert samples.resolve_ecode(text, time.time()) is None


@given(st.integers(min_value=0, max_value=len(E_ID_HOLDERS) - 1),
       st.integers(min_value=0, max_value=4_000_000_000), st.integers(-60, 60))
def test_signed_codes_round_trip(person: int, issued: int, drift: int):
    assert ecodes.verify(ecodes.sign(person, issued), issued + drift) == person


def test_sample_people_keep_the_emulator_validity():
    for card in SAMPLE_CARDS.values():
        person = samples.sample_people()[card.identity.id_number]
        assert person["valid_to"] == card.identity.valid_to
        assert person["gender"] == card.identity.gender
        assert person["nation"] == card.identity.nation


# -- face presence on forms -----------------------------------------------------------------


def residence_permit() -> dict[str, Any]:
    return next(r for r in shipped_records() if r["name"] == RESIDENCE_PERMIT)


def test_the_residence_permit_has_a_form_without_face_presence(session: requests.Session):
    record = residence_permit()
    assert record["item_code"] in WITH_FORM
    matters = session.get("/catalog").json()["matters"]
    matter = next(m for m in matters if m["item_code"] == record["item_code"])
    assert matter["form_id"] == form_id_of(record["item_code"]) is not None
    answer = session.get(f"/forms/{matter['form_id']}")
    assert answer.status_code == 200, answer.text
    assert "face_presence" not in answer.json()
    assert {f.get("prefill") for f in answer.json()["fields"]} >= {"idcard.name",
                                                                    "idcard.id_number"}


def test_some_forms_ask_for_face_presence(session: requests.Session):
    matters = [m for m in session.get("/catalog").json()["matters"] if m["form_id"]]
    flags = [session.get(f"/forms/{m['form_id']}").json().get("face_presence")
             for m in matters[:40]]
    assert set(flags) == {True, None}  # true when asked for, absent otherwise


def test_face_presence_is_about_one_form_in_four():
    with_form = [r for r in shipped_records() if form_id_of(r["item_code"])]
    asked = [r for r in with_form if samples.form("F", r, 1).get("face_presence")]
    assert 0.18 < len(asked) / len(with_form) < 0.32
    assert all(samples.form("F", r, 1)["face_presence"] is True for r in asked)


# -- agents in applications -----------------------------------------------------------------

_sequence = iter(range(1, 999_999))


def application(applicant: dict[str, Any]) -> dict[str, Any]:
    return {
        "receipt_no": make_receipt_number(KIOSK, date(2026, 11, 27), next(_sequence)),
        "kiosk_id": KIOSK, "item_code": residence_permit()["item_code"],
        "applicant": applicant, "form": {"phone": "13800000000"},
        "attachments": [{"name": "id.pdf", "sha256": hashlib.sha256(PDF).hexdigest(),
                         "size": len(PDF), "content_type": "application/pdf"}],
        "delivery": {"method": "pickup"}, "created_at": "2026-11-27T10:00:00+08:00",
    }


def submit(session: requests.Session, body: dict[str, Any]) -> requests.Response:
    return session.post("/applications", json=body,
                        headers={"Idempotency-Key": body["receipt_no"]})


APPLICANT = {"name": "测试甲", "id_number": RESIDENT}
AGENT = {"name": "测试堃喆䶮𠮷", "id_number": "511602198511110029", "phone": "13900000000"}


def test_an_application_with_an_agent_is_accepted(session: requests.Session):
    session.put(f"/attachments/{hashlib.sha256(PDF).hexdigest()}", data=PDF,
                headers={"Content-Type": "application/pdf"})
    for agent in (AGENT, AGENT | {"gender": "女", "nation": "土家"}):
        answer = submit(session, application(APPLICANT | {"agent": agent}))
        assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("agent", [
    None, "测试", [], {}, {"name": "测试", "id_number": RESIDENT},
    AGENT | {"phone": ""}, AGENT | {"id_number": 110101199003078013}, AGENT | {"name": None},
    AGENT | {"phone": "1" * 40},
])
def test_a_malformed_agent_is_named(session: requests.Session, agent: Any):
    answer = submit(session, application(APPLICANT | {"agent": agent}))
    assert answer.status_code == 422, answer.text
    document = answer.json()
    assert document["error"] == "validation" and document["field"] == "applicant.agent"
    assert AGENT["id_number"] not in answer.text and AGENT["name"] not in answer.text
