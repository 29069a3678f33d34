"""Fault switches seen by a real HTTP client (requests), as the kiosk's sync worker sees them.

The important case is the lost acknowledgement: with ``phase: after`` the server stores the
application and only then loses the answer, so the client must retry with the same
Idempotency-Key and get the stored answer back, and the platform holds one record.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.applying.receipt_numbers import make_receipt_number
from reference_platform.matters import shipped_records

try:  # tests/ is a package in some checkouts, a plain folder on sys.path in others
    from tests.platform_server import PlatformServer
except ModuleNotFoundError:  # pragma: no cover
    from platform_server import PlatformServer  # type: ignore[no-redef]

KIOSK = "511602-HALL-07"
ITEM = shipped_records()[3]["item_code"]
PNG = b"\x89PNG fault test image"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("faults")
    with PlatformServer(folder, kiosks={KIOSK: folder / "k.key"}) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults(server: PlatformServer):
    server.set_faults({})
    yield
    server.set_faults({})


@pytest.fixture()
def session(server: PlatformServer):
    with server.session(KIOSK) as signed:
        signed.put(f"/attachments/{hashlib.sha256(PNG).hexdigest()}", data=PNG,
                   headers={"Content-Type": "image/png"})
        yield signed


_sequence = iter(range(1, 999_999))


def body() -> dict[str, Any]:
    receipt_no = make_receipt_number(KIOSK, date(2026, 11, 23), next(_sequence))
    return {"receipt_no": receipt_no, "kiosk_id": KIOSK, "item_code": ITEM,
            "applicant": {"name": "测试甲"}, "form": {},
            "attachments": [{"name": "a.png", "sha256": hashlib.sha256(PNG).hexdigest(),
                             "size": len(PNG), "content_type": "image/png"}],
            "delivery": {"method": "pickup"}, "created_at": "2026-11-23T09:00:00+08:00"}


def post(session: requests.Session, document: dict[str, Any]) -> requests.Response:
    return session.post("/applications", json=document,
                        headers={"Idempotency-Key": document["receipt_no"]})


ONLY_APPLICATIONS = {"paths": ["/api/v1/applications"], "methods": ["POST"]}


def test_rate_limit_answers_429_with_retry_after(server: PlatformServer, session):
    server.set_faults({"rate_limit_rate": 1.0, "retry_after_s": 7})
    answer = session.get("/scenarios")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    assert answer.json()["error"] == "rate_limited"


def test_error_before_stores_nothing_error_after_stores(server: PlatformServer, session):
    document = body()
    server.set_faults({"error_rate": 1.0, **ONLY_APPLICATIONS})
    answer = post(session, document)
    assert answer.status_code == 503 and set(answer.json()) == {"error", "message"}
    assert document["receipt_no"] not in server.receipt_numbers()
    server.set_faults({"error_rate": 1.0, "error_status": 500, "phase": "after",
                       **ONLY_APPLICATIONS})
    assert post(session, document).status_code == 500
    assert document["receipt_no"] in server.receipt_numbers()


def test_reset_is_a_connection_error(server: PlatformServer, session):
    document = body()
    server.set_faults({"reset_rate": 1.0, **ONLY_APPLICATIONS})
    with pytest.raises(requests.ConnectionError):
        post(session, document)
    assert document["receipt_no"] not in server.receipt_numbers()


def test_lost_acknowledgement_then_retry_gets_the_stored_answer(server: PlatformServer,
                                                                 session):
    document = body()
    before = server.stats()
    server.set_faults({"reset_rate": 1.0, "phase": {"reset": "after"}, "max_faults": 1,
                       **ONLY_APPLICATIONS})
    with pytest.raises(requests.ConnectionError):
        post(session, document)
    assert server.receipt_numbers().count(document["receipt_no"]) == 1  # committed
    retry = post(session, document)
    assert retry.status_code == 200 and retry.json()["receipt_no"] == document["receipt_no"]
    after = server.stats()
    assert after["applications"] - before["applications"] == 1
    assert after["application_posts"] - before["application_posts"] == 2
    assert after["duplicate_receipts"] == 0
    assert after["faults_injected"]["reset"] - before["faults_injected"]["reset"] == 1


def test_truncated_body_is_a_broken_read(server: PlatformServer, session):
    server.set_faults({"truncate_rate": 1.0, "phase": "after"})
    with pytest.raises((requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError, requests.ConnectionError)):
        session.get("/catalog")
    document = body()
    server.set_faults({"truncate_rate": 1.0, "phase": "after", **ONLY_APPLICATIONS})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        post(session, document)
    assert document["receipt_no"] in server.receipt_numbers()


def test_slow_body_and_latency(server: PlatformServer, session):
    server.set_faults({"slow_body_rate": 1.0, "slow_body_s": 0.5, "paths": ["/api/v1/policies"]})
    started = time.monotonic()
    answer = session.get("/policies")
    assert answer.status_code == 200 and answer.json()
    assert time.monotonic() - started >= 0.45
    server.set_faults({"latency_s": 0.3})
    started = time.monotonic()
    assert session.get("/scenarios").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_paths_filter_and_max_faults(server: PlatformServer, session):
    server.set_faults({"error_rate": 1.0, "max_faults": 2, **ONLY_APPLICATIONS})
    assert session.get("/scenarios").status_code == 200
    document = body()
    assert [post(session, document).status_code for _ in range(3)] == [503, 503, 201]


def test_same_seed_same_faults(server: PlatformServer, session):
    def run() -> list[int]:
        server.set_faults({"error_rate": 0.5, "seed": 42, "paths": ["/api/v1/scenarios"]})
        return [session.get("/scenarios").status_code for _ in range(12)]

    first = run()
    assert first == run() and {200, 503} == set(first)


def test_health_can_fail_too_and_admin_never_does(server: PlatformServer):
    server.set_faults({"error_rate": 1.0})
    assert requests.get(server.base_url + "/health", timeout=5).status_code == 503
    assert "applications" in server.stats()


def test_bad_switches_are_refused(server: PlatformServer):
    for faults in ({"error_rate": 2}, {"nonsense": 1}, {"phase": "during"},
                   {"error_rate": 0.6, "reset_rate": 0.6}, {"paths": "/api"}):
        answer = server.admin("PUT", "/faults", json=faults)
        assert answer.status_code == 422 and answer.json()["error"] == "validation"


def test_initial_switches_from_the_command_line(tmp_path: Path):
    faults = {"rate_limit_rate": 1.0, "retry_after_s": 3}
    with PlatformServer(tmp_path, kiosks={KIOSK: tmp_path / "k.key"}, faults=faults) as server:
        answer = server.session(KIOSK).get("/catalog")
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
        assert server.admin("GET", "/faults").json()["rate_limit_rate"] == 1.0
        server.admin("POST", "/reset").raise_for_status()
        assert server.session(KIOSK).get("/scenarios").status_code == 200
