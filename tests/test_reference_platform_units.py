"""The reference platform's pieces in-process, its OpenAPI schema, its command line, and a
property test: no body whatsoever makes POST /applications answer 5xx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.idcard.emulator import SAMPLE_CARDS
from kiosk.platform.signing import read_key_file, signed_headers
from reference_platform import progress, samples
from reference_platform.app import create_app
from reference_platform.faults import FaultConfigError, FaultInjector, parse_faults
from reference_platform.matters import keywords_of, shipped_records

try:  # tests/ is a package in some checkouts, a plain folder on sys.path in others
    from tests.platform_server import READY, REPO, PlatformServer
except ModuleNotFoundError:  # pragma: no cover
    from platform_server import READY, REPO, PlatformServer  # type: ignore[no-redef]

CONTRACT = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/kiosks/{kiosk_id}/heartbeat"),
    ("GET", "/api/v1/catalog"),
    ("GET", "/api/v1/matters/{item_code}/guide"),
    ("GET", "/api/v1/forms/{form_id}"),
    ("GET", "/api/v1/scenarios"),
    ("GET", "/api/v1/faq"),
    ("GET", "/api/v1/policies"),
    ("POST", "/api/v1/identity/ecode"),
    ("POST", "/api/v1/licences/lookup"),
    ("PUT", "/api/v1/attachments/{sha256}"),
    ("POST", "/api/v1/applications"),
    ("GET", "/api/v1/applications/{number}"),
    ("POST", "/api/v1/applications/lookup"),
    ("GET", "/api/v1/appointments/slots"),
    ("POST", "/api/v1/appointments"),
    ("POST", "/api/v1/queue/tickets"),
    ("POST", "/api/v1/evaluations"),
    ("GET", "/api/v1/kiosks/{kiosk_id}/profile"),
}
"""Platform API v1, section Endpoints (copied here: CI runs without the shared folder)."""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    return create_app(tmp_path_factory.mktemp("app") / "p.db", {"K1": bytes(32)})


def test_openapi_lists_exactly_the_contract(app):
    schema = app.openapi()
    found = {(method.upper(), path) for path, methods in schema["paths"].items()
             for method in methods}
    assert found == CONTRACT
    post = schema["paths"]["/api/v1/applications"]["post"]
    assert {"201", "200", "409", "422"} <= set(post["responses"])
    assert post["summary"] and "ApplicationIn" in json.dumps(post["requestBody"])
    assert "X-Signature" in post["security"][0]
    assert "security" not in schema["paths"]["/api/v1/health"]["get"]


def test_the_benchmark_runs():
    from reference_platform import bench

    assert bench.main(["--seconds", "0.5", "--threads", "2"]) == 0


def test_sample_people_agree_with_the_emulator_cards():
    people = samples.sample_people()
    assert len(people) == len(SAMPLE_CARDS)
    for card in SAMPLE_CARDS.values():
        person = people[card.identity.id_number]
        assert person["name"] == card.identity.name
        assert person["birth_date"] == card.identity.birth_date
        assert person["address"] == card.identity.address


def test_every_matter_gets_a_marked_guide_and_keywords():
    records = shipped_records()
    assert len(records) == 1135
    for record in records:
        guide = samples.guide(record, 1)
        assert guide["materials"] and all(m["name"].startswith(samples.MARK)
                                          for m in guide["materials"])
        assert keywords_of(record["name"])
    assert samples.guide(records[5], 1) == samples.guide(records[5], 1)


def test_keywords_split_the_name():
    words = keywords_of("护照申请（首次）", "区公安局")
    assert {"护照申请", "护照", "首次", "公安局"} <= set(words)


def test_progress_path_and_timeline():
    record = {"application_no": "511602202611230000001", "receipt_no": "R1", "item_code": "X",
              "received_at": 1_000.0, "delivery": {"method": "pickup"}}
    assert progress.progress(record, 1_000.0, 60)["status"] == "received"
    assert progress.progress(record, 1_061.0, 60)["status"] == "accepted"
    done = progress.progress(record, 10_000.0, 60)
    assert done["status"] == "completed"
    assert [t["status"] for t in done["timeline"]] == list(progress.path_of("R1"))
    with_material = [f"R{n}" for n in range(200) if "needs_material" in progress.path_of(f"R{n}")]
    assert 5 <= len(with_material) <= 40  # about one in ten


def test_fault_switches_parse_and_draw():
    config = parse_faults({"error_rate": 0.25, "reset_rate": 0.25, "phase": {"reset": "after"},
                           "paths": ["/api/v1/applications"], "seed": 9})
    assert config.phase == {"error": "before", "rate_limit": "before", "reset": "after",
                            "truncate": "before"}
    injector = FaultInjector(config)
    assert injector.decide("GET", "/api/v1/catalog").kind is None
    kinds = [injector.decide("POST", "/api/v1/applications").kind for _ in range(400)]
    assert 60 < kinds.count("error") < 140 and 60 < kinds.count("reset") < 140
    assert injector.decide("POST", "/api/v1/applicationsX").kind is None
    exact = FaultInjector(parse_faults({"error_rate": 1.0, "paths": ["/api/v1/applications$"]}))
    assert exact.decide("POST", "/api/v1/applications").kind == "error"
    assert exact.decide("POST", "/api/v1/applications/lookup").kind is None
    assert FaultInjector(parse_faults({"error_rate": 1.0, "paths": ["/api/v1/applications"]})
                         ).decide("POST", "/api/v1/applications/lookup").kind == "error"
    for bad in ([], {"latency_s": -1}, {"seed": "x"}, {"phase": {"latency": "after"}}):
        with pytest.raises(FaultConfigError):
            parse_faults(bad)


# -- property: arbitrary bodies never make the server fail ---------------------------------

KIOSK = "511602-FUZZ-01"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("fuzz")
    with PlatformServer(folder, kiosks={KIOSK: folder / "k.key"}) as running:
        yield running


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
fields = st.sampled_from(["receipt_no", "kiosk_id", "item_code", "applicant", "form",
                          "attachments", "delivery", "created_at"])
application_like = st.dictionaries(fields, json_values, max_size=8)


def _post(server: PlatformServer, body: bytes, key: str = "K") -> requests.Response:
    headers = signed_headers(KIOSK, server.keys[KIOSK], "POST", "/api/v1/applications", body)
    headers |= {"Content-Type": "application/json", "Idempotency-Key": key}
    return requests.post(server.base_url + "/applications", data=body, headers=headers,
                         timeout=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=json_values | application_like)
def test_arbitrary_json_is_refused_cleanly(server: PlatformServer, document):
    body = json.dumps(document).encode()
    answer = _post(server, body)
    assert answer.status_code in (400, 422), answer.text
    assert set(answer.json()) <= {"error", "message", "field"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes_are_refused_cleanly(server: PlatformServer, body: bytes):
    answer = _post(server, body)
    assert answer.status_code in (400, 422), answer.text
    unsigned = requests.post(server.base_url + "/applications", data=body, timeout=10)
    assert unsigned.status_code == 401


# -- command line -------------------------------------------------------------------------


def test_refuses_a_public_host_without_public(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "platform", "serve", "--host", "0.0.0.0",
         "--db", str(tmp_path / "p.db")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert result.returncode == 2 and "--public" in result.stderr


def test_config_registers_the_configured_kiosk(tmp_path: Path):
    key_file = tmp_path / "data" / "platform.key"
    config = tmp_path / "kiosk.ini"
    config.write_text(f"[kiosk]\nid = 511602-CONF-01\n[storage]\ndata_dir = {tmp_path / 'data'}\n"
                      f"[platform]\nkey_file = {key_file}\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--config", str(config), "platform", "serve",
         "--port", "0", "--db", str(tmp_path / "p.db")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(READY) and line.rstrip().endswith("/api/v1")
        base = line[len(READY):].strip()
        assert key_file.stat().st_mode & 0o777 == 0o600
        key = read_key_file(key_file)
        headers = signed_headers("511602-CONF-01", key, "GET", "/api/v1/scenarios", b"")
        assert requests.get(base + "/scenarios", headers=headers, timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(10)
