"""The reference platform over real HTTP: a `kiosk platform serve` subprocess on loopback.

One server for the module (started in ~1 s); tests that need their own database or
switches start another.  Signatures, idempotency and the error shapes are checked from
the outside, with the same signing code the kiosk uses.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.applying.receipt_numbers import make_receipt_number
from kiosk.platform.signing import load_or_create_key_file, signed_headers
from reference_platform.matters import shipped_records

try:  # tests/ is a package in some checkouts, a plain folder on sys.path in others
    from tests.platform_server import PlatformServer
except ModuleNotFoundError:  # pragma: no cover
    from platform_server import PlatformServer  # type: ignore[no-redef]

KIOSK = "511602-HALL-03"
OTHER = "511602-HALL-04"
ITEM = shipped_records()[0]["item_code"]
PDF = b"%PDF-1.4 sample attachment " + bytes(range(64))
PERSON = "110101199003078013"  # the emulator's "resident" test card
STEP = 0.25


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("platform")
    with PlatformServer(folder, kiosks={KIOSK: folder / "a.key", OTHER: folder / "b.key"},
                        progress_step=STEP) as running:
        yield running


@pytest.fixture()
def session(server: PlatformServer):
    with server.session(KIOSK) as signed:
        yield signed


_sequence = iter(range(1, 999_999))


def receipt(kiosk: str = KIOSK) -> str:
    return make_receipt_number(kiosk, date(2026, 11, 23), next(_sequence))


def application(receipt_no: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_no": receipt_no, "kiosk_id": KIOSK, "item_code": ITEM,
        "applicant": {"name": "测试甲", "id_number": PERSON, "phone": "13800000000"},
        "form": {"address": "测试省测试市模拟路1号"},
        "attachments": [{"name": "id.pdf", "sha256": hashlib.sha256(PDF).hexdigest(),
                         "size": len(PDF), "content_type": "application/pdf"}],
        "delivery": {"method": "pickup"}, "created_at": "2026-11-23T10:00:00+08:00",
    }
    return body | changes


def upload(session: requests.Session, data: bytes = PDF,
           content_type: str = "application/pdf") -> requests.Response:
    return session.put(f"/attachments/{hashlib.sha256(data).hexdigest()}", data=data,
                       headers={"Content-Type": content_type})


def submit(session: requests.Session, body: dict[str, Any],
           key: str | None = None) -> requests.Response:
    return session.post("/applications", json=body,
                        headers={"Idempotency-Key": key or body["receipt_no"]})


def raw(server: PlatformServer, method: str, path: str, body: bytes = b"",
        headers: dict[str, str] | None = None, **sign: Any) -> requests.Response:
    """A request with hand-made authentication headers (for the signature tests)."""
    key = server.keys[KIOSK]
    signed = signed_headers(KIOSK, key, method, "/api/v1" + path, body, **sign)
    return requests.request(method, server.base_url + path, data=body,
                            headers=signed | (headers or {}), timeout=10)


def assert_error(answer: requests.Response, status: int, code: str,
                 field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["error"] == code, document
    assert isinstance(document["message"], str) and document["message"]
    assert set(document) <= {"error", "message", "field"}
    if field is not None:
        assert document["field"] == field
    return document


# -- authentication -----------------------------------------------------------------------


def test_health_needs_no_signature(server: PlatformServer):
    answer = requests.get(server.base_url + "/health", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["time"].endswith("+08:00")


def test_unsigned_and_unknown_kiosk_are_rejected(server: PlatformServer):
    assert_error(requests.get(server.base_url + "/catalog", timeout=5), 401, "bad_signature")
    stranger = signed_headers("511602-NOBODY", secrets.token_bytes(32), "GET",
                              "/api/v1/catalog", b"")
    answer = requests.get(server.base_url + "/catalog", headers=stranger, timeout=5)
    assert_error(answer, 401, "bad_signature")


def test_tampered_body_is_rejected(server: PlatformServer):
    body = json.dumps({"id_number": PERSON}).encode()
    signed = signed_headers(KIOSK, server.keys[KIOSK], "POST", "/api/v1/licences/lookup", body)
    tampered = body.replace(b"8013", b"8014")
    answer = requests.post(server.base_url + "/licences/lookup", data=tampered,
                           headers=signed | {"Content-Type": "application/json"}, timeout=5)
    assert_error(answer, 401, "bad_signature")


def test_wrong_key_and_wrong_path_are_rejected(server: PlatformServer):
    signed = signed_headers(KIOSK, server.keys[OTHER], "GET", "/api/v1/catalog", b"")
    answer = requests.get(server.base_url + "/catalog", headers=signed, timeout=5)
    assert_error(answer, 401, "bad_signature")
    signed = signed_headers(KIOSK, server.keys[KIOSK], "GET", "/api/v1/scenarios", b"")
    answer = requests.get(server.base_url + "/catalog", headers=signed, timeout=5)
    assert_error(answer, 401, "bad_signature")


def test_old_and_future_timestamps_are_stale(server: PlatformServer):
    assert_error(raw(server, "GET", "/catalog", now=time.time() - 301), 401, "stale_timestamp")
    assert_error(raw(server, "GET", "/catalog", now=time.time() + 400), 401, "stale_timestamp")
    assert raw(server, "GET", "/scenarios", now=time.time() - 200).status_code == 200


def test_replayed_nonce_is_rejected(server: PlatformServer):
    nonce = secrets.token_hex(16)
    assert raw(server, "GET", "/scenarios", nonce=nonce).status_code == 200
    assert_error(raw(server, "GET", "/scenarios", nonce=nonce), 401, "replayed_nonce")


def test_the_query_is_signed_as_sent(server: PlatformServer, session: requests.Session):
    # percent-encoded and in an unusual order: the server must not re-encode it
    path = f"/appointments/slots?date=2026-11-24&item_code={requests.utils.quote(ITEM)}"
    assert raw(server, "GET", path).status_code == 200
    signed = signed_headers(KIOSK, server.keys[KIOSK], "GET",
                            f"/api/v1/appointments/slots?item_code={ITEM}&date=2026-11-24", b"")
    answer = requests.get(server.base_url + path, headers=signed, timeout=5)
    assert_error(answer, 401, "bad_signature")


def test_nonces_survive_a_restart(tmp_path: Path):
    with PlatformServer(tmp_path, kiosks={KIOSK: tmp_path / "k.key"}) as server:
        nonce = secrets.token_hex(16)
        assert raw(server, "GET", "/scenarios", nonce=nonce).status_code == 200
        server.restart()
        assert_error(raw(server, "GET", "/scenarios", nonce=nonce), 401, "replayed_nonce")


# -- errors -------------------------------------------------------------------------------


def test_unknown_routes_and_methods(session: requests.Session):
    assert_error(session.get("/no/such/thing"), 404, "not_found")
    assert_error(session.delete("/catalog"), 405, "method_not_allowed")


def test_malformed_json_is_400(session: requests.Session):
    for body in (b"{not json", b"\xff\xfe", b'{"a": NaN}', b"[" * 100_000):
        answer = session.post("/applications", data=body,
                              headers={"Content-Type": "application/json",
                                       "Idempotency-Key": "x"})
        assert_error(answer, 400, "malformed")


def test_schema_violations_name_the_field(session: requests.Session):
    body = application(receipt(), attachments=[{"name": "x", "sha256": "nothex", "size": 1,
                                                "content_type": "image/png"}])
    assert_error(submit(session, body), 422, "validation", "attachments.0.sha256")
    body = application(receipt())
    del body["item_code"]
    assert_error(submit(session, body), 422, "validation", "item_code")
    assert_error(submit(session, application(receipt(), delivery={"method": "drone"})),
                 422, "validation", "delivery.method")
    assert_error(submit(session, application(receipt(), created_at=5)), 422, "validation",
                 "created_at")


# -- attachments --------------------------------------------------------------------------


def test_attachment_upload_is_idempotent(session: requests.Session):
    data = b"\x89PNG" + secrets.token_bytes(100)
    assert upload(session, data, "image/png").status_code == 201
    assert upload(session, data, "image/png").status_code == 200


def test_attachment_checks(session: requests.Session):
    data = secrets.token_bytes(50)
    assert_error(upload(session, data, "text/plain"), 422, "validation", "content_type")
    wrong = hashlib.sha256(b"other").hexdigest()
    answer = session.put(f"/attachments/{wrong}", data=data, headers={"Content-Type": "image/jpeg"})
    assert_error(answer, 400, "digest_mismatch")
    big = bytes(10 * 1024 * 1024 + 1)
    assert_error(upload(session, big, "image/jpeg"), 413, "too_large")
    exact = bytes(10 * 1024 * 1024)
    assert upload(session, exact, "image/jpeg").status_code in (200, 201)
    answer = session.put("/attachments/ABC", data=data, headers={"Content-Type": "image/jpeg"})
    assert_error(answer, 422, "validation", "sha256")


# -- applications -------------------------------------------------------------------------


def test_application_exactly_once(server: PlatformServer, session: requests.Session):
    upload(session)
    body = application(receipt())
    first = submit(session, body)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["status"] == "received" and answer["receipt_no"] == body["receipt_no"]
    assert answer["application_no"].startswith("511602") and len(answer["application_no"]) == 20
    reordered = json.loads(json.dumps(body, sort_keys=True))
    again = session.post("/applications", data=json.dumps(reordered, indent=2),
                         headers={"Idempotency-Key": body["receipt_no"],
                                  "Content-Type": "application/json"})
    assert again.status_code == 200 and again.json() == answer
    other = submit(session, body | {"form": {"address": "另一个地址"}})
    assert_error(other, 409, "idempotency_conflict")
    assert server.receipt_numbers().count(body["receipt_no"]) == 1
    assert server.stats()["duplicate_receipts"] == 0


def test_application_checks(session: requests.Session):
    upload(session)
    body = application(receipt())
    assert_error(submit(session, body, key="K-OTHER"), 422, "validation", "Idempotency-Key")
    answer = session.post("/applications", json=body)
    assert_error(answer, 422, "validation", "Idempotency-Key")
    foreign = application(receipt(OTHER))
    assert_error(submit(session, foreign), 422, "validation", "receipt_no")
    assert_error(submit(session, application(receipt(), kiosk_id=OTHER)), 422, "validation",
                 "kiosk_id")
    bad = receipt()[:-1] + ("A" if not receipt().endswith("A") else "B")
    assert_error(submit(session, application(bad)), 422, "validation", "receipt_no")
    assert_error(submit(session, application(receipt(), item_code="NO-SUCH-ITEM")), 422,
                 "validation", "item_code")


def test_missing_attachment_names_its_digest(session: requests.Session):
    data = secrets.token_bytes(40)
    digest = hashlib.sha256(data).hexdigest()
    listed = [{"name": "photo.jpg", "sha256": digest, "size": len(data),
               "content_type": "image/jpeg"}]
    body = application(receipt(), attachments=listed)
    assert_error(submit(session, body), 422, "missing_attachment", digest)
    assert upload(session, data, "image/jpeg").status_code == 201
    wrong_size = application(receipt(), attachments=[listed[0] | {"size": len(data) + 1}])
    assert_error(submit(session, wrong_size), 422, "missing_attachment", digest)
    assert submit(session, body).status_code == 201


def test_progress_moves_on_and_lookup_by_person(session: requests.Session):
    upload(session)
    body = application(receipt(), delivery={"method": "express", "address": "测试路1号",
                                            "phone": "13800000000"})
    stored = submit(session, body).json()
    by_receipt = session.get(f"/applications/{body['receipt_no']}").json()
    by_number = session.get(f"/applications/{stored['application_no']}").json()
    assert by_receipt["application_no"] == by_number["application_no"]
    assert by_receipt["timeline"][0]["status"] == "received"
    assert by_receipt["delivery"]["method"] == "express"
    time.sleep(7 * STEP)
    done = session.get(f"/applications/{body['receipt_no']}").json()
    assert done["status"] == "completed"
    statuses = [entry["status"] for entry in done["timeline"]]
    assert statuses[:2] == ["received", "accepted"] and statuses[-2:] == ["approved", "completed"]
    assert all(entry["note"].startswith("【示例】") for entry in done["timeline"])
    mine = session.post("/applications/lookup", json={"id_number": PERSON}).json()
    assert body["receipt_no"] in {entry["receipt_no"] for entry in mine}
    assert session.post("/applications/lookup", json={"id_number": "1" * 18}).json() == []
    assert_error(session.get("/applications/K-NOTHING"), 404, "not_found")


def test_id_numbers_are_not_stored_in_plaintext(server: PlatformServer,
                                                session: requests.Session):
    upload(session)
    assert submit(session, application(receipt())).status_code == 201
    for path in server.folder.glob("platform.db*"):
        assert PERSON.encode() not in path.read_bytes()


# -- catalogue and sample content ---------------------------------------------------------


MATTER_FIELDS = {"item_code", "name", "department", "group", "task_type", "task_type_name",
                 "keywords", "online", "form_id", "version"}


def test_catalog_and_deltas(tmp_path: Path):
    with PlatformServer(tmp_path, kiosks={KIOSK: tmp_path / "k.key"}) as server:
        session = server.session(KIOSK)
        full = session.get("/catalog").json()
        assert full["version"] == 1 and full["removed"] == [] and len(full["matters"]) == 1135
        assert all(set(matter) == MATTER_FIELDS for matter in full["matters"])
        assert all(matter["keywords"] for matter in full["matters"])
        assert session.get("/catalog", params={"since": 1}).json()["matters"] == []
        first, second = full["matters"][0]["item_code"], full["matters"][1]["item_code"]
        assert server.admin("POST", f"/catalog/{first}", json={"name": "新名称"}).json() == {
            "version": 2}
        assert server.admin("DELETE", f"/catalog/{second}").json() == {"version": 3}
        delta = session.get("/catalog", params={"since": 1}).json()
        assert delta["version"] == 3 and delta["removed"] == [second]
        assert [(m["item_code"], m["name"], m["version"]) for m in delta["matters"]] == [
            (first, "新名称", 2)]
        assert session.get("/catalog", params={"since": 2}).json()["matters"] == []
        assert session.get("/catalog", params={"since": 3}).json()["removed"] == []
        server.restart()
        session = server.session(KIOSK)
        after = session.get("/catalog").json()
        assert after["version"] == 3 and len(after["matters"]) == 1134
        assert_error(session.get("/catalog", params={"since": "x"}), 422, "validation", "since")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_guides_and_forms_are_marked_samples(session: requests.Session):
    matters = session.get("/catalog").json()["matters"]
    with_form = next(m for m in matters if m["form_id"])
    guide = session.get(f"/matters/{with_form['item_code']}/guide")
    assert guide.status_code == 200 and guide.headers["X-Sample-Content"] == "true"
    document = guide.json()
    assert document["item_code"] == with_form["item_code"] and document["materials"]
    assert all(m["name"].startswith("【示例】") for m in document["materials"])
    assert document["fee"].startswith("【示例】") and document["steps"][0].startswith("【示例】")
    form = session.get(f"/forms/{with_form['form_id']}")
    assert form.headers["X-Sample-Content"] == "true"
    fields = {field["name"]: field for field in form.json()["fields"]}
    assert fields["applicant_name"]["prefill"] == "idcard.name"
    assert fields["id_number"]["prefill"] == "idcard.id_number"
    assert fields["address"]["prefill"] == "idcard.address"
    assert fields["phone"]["type"] == "phone"
    assert form.json()["title"].startswith("【示例】")
    assert_error(session.get("/forms/NOPE"), 404, "not_found")
    assert_error(session.get("/matters/NOPE/guide"), 404, "not_found")


def test_scenarios_policies_and_licences(session: requests.Session):
    scenarios = session.get("/scenarios")
    assert scenarios.headers["X-Sample-Content"] == "true"
    assert all(s["title"].startswith("【示例】") and s["matters"] for s in scenarios.json())
    policies = session.get("/policies")
    assert policies.headers["X-Sample-Content"] == "true"
    assert {"age_min", "gender", "tags_any"} <= {k for p in policies.json()
                                                 for k in p["eligibility"]}
    licences = session.post("/licences/lookup", json={"id_number": PERSON})
    assert licences.headers["X-Sample-Content"] == "true"
    types = {licence["type"] for licence in licences.json()}
    assert {"household_register", "marriage_certificate"} <= types
    assert all(licence["fields"]["sample"] is True for licence in licences.json())
    assert session.post("/licences/lookup", json={"id_number": "2" * 18}).json() == []


# -- appointments, tickets, evaluations, heartbeat ----------------------------------------


def test_appointments_fill_up(session: requests.Session):
    slots = session.get("/appointments/slots", params={"item_code": ITEM, "date": "2026-11-25"})
    assert slots.status_code == 200 and len(slots.json()) == 13
    slot = slots.json()[0]
    assert slot["remaining"] == 4 and slot["start"].endswith("+08:00")
    booking = {"slot_id": slot["slot_id"], "item_code": ITEM, "id_number": PERSON,
               "phone": "13800000000"}
    answers = [session.post("/appointments", json=booking, headers={"Idempotency-Key": f"b{n}"})
               for n in range(4)]
    assert [a.status_code for a in answers] == [201] * 4
    again = session.post("/appointments", json=booking, headers={"Idempotency-Key": "b0"})
    assert again.status_code == 200 and again.json() == answers[0].json()
    full = session.post("/appointments", json=booking, headers={"Idempotency-Key": "b5"})
    assert_error(full, 409, "slot_full")
    left = session.get("/appointments/slots", params={"item_code": ITEM, "date": "2026-11-25"})
    assert left.json()[0]["remaining"] == 0
    weekend = session.get("/appointments/slots", params={"item_code": ITEM, "date": "2026-11-28"})
    assert weekend.json() == []
    assert_error(session.get("/appointments/slots", params={"item_code": ITEM,
                                                            "date": "2026-13-40"}),
                 422, "validation", "date")


def test_tickets_and_evaluations(session: requests.Session):
    ticket = session.post("/queue/tickets", json={"hall": "广安区政务服务中心", "item_code": ITEM})
    assert ticket.status_code == 201 and set(ticket.json()) == {"ticket_no", "waiting"}
    evaluation = {"item_code": ITEM, "score": 5, "tags": ["办事快"], "comment": "好"}
    first = session.post("/evaluations", json=evaluation, headers={"Idempotency-Key": "e1"})
    assert first.status_code == 201
    again = session.post("/evaluations", json=evaluation, headers={"Idempotency-Key": "e1"})
    assert again.json() == first.json()
    unknown = session.post("/evaluations", json=evaluation | {"item_code": "NOPE"},
                           headers={"Idempotency-Key": "e-unknown"})
    assert_error(unknown, 422, "validation", "item_code")
    for score in (0, 6, "5", 4.5):
        bad = session.post("/evaluations", json=evaluation | {"score": score},
                           headers={"Idempotency-Key": f"e-{score}"})
        assert_error(bad, 422, "validation", "score")


def test_heartbeat(session: requests.Session):
    body = {"app_version": "0.1", "devices": {"printer": "ok"},
            "queue": {"pending": 2, "oldest_age_s": 31.5}, "catalog_version": 1}
    answer = session.post(f"/kiosks/{KIOSK}/heartbeat", json=body)
    assert answer.status_code == 200 and answer.json()["config_version"] == 1
    assert answer.json()["server_time"].endswith("+08:00")
    assert_error(session.post(f"/kiosks/{OTHER}/heartbeat", json=body), 401, "bad_signature")


def test_key_file_is_shared_with_the_kiosk(tmp_path: Path):
    key = load_or_create_key_file(tmp_path / "k.key")
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600 and len(key) == 32


def test_concurrent_twins_store_one_application(server: PlatformServer):
    from concurrent.futures import ThreadPoolExecutor

    with server.session(KIOSK) as first:
        upload(first)
    body = application(receipt())

    def send(_: int) -> tuple[int, dict[str, Any]]:
        with server.session(KIOSK) as own:
            answer = submit(own, body)
            return answer.status_code, answer.json()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(send, range(8)))
    assert sorted(status for status, _ in results) == [200] * 7 + [201]
    assert len({json.dumps(answer, sort_keys=True) for _, answer in results}) == 1
    assert server.receipt_numbers().count(body["receipt_no"]) == 1


def test_applications_survive_a_kill(tmp_path: Path):
    with PlatformServer(tmp_path, kiosks={KIOSK: tmp_path / "k.key"}) as server:
        session = server.session(KIOSK)
        upload(session)
        body = application(receipt())
        stored = submit(session, body).json()
        server.kill()
        server.start()
        session = server.session(KIOSK)
        again = submit(session, body)
        assert again.status_code == 200 and again.json() == stored
