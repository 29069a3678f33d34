"""FAQ, life-event scenarios and policies: served by the reference platform as a real
process, pulled by the kiosk's sync into its SQLite file, and read offline afterwards."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from kiosk.finding.knowledge import SHIPPED_DIR, KnowledgeBase
from kiosk.platform.catalog_sync import pull_faq, refresh_lists
from kiosk.platform.client import (
    Failure,
    PlatformClient,
    PlatformError,
    check_faq,
    check_policies,
    check_scenarios,
)
from kiosk.platform.signing import signed_headers
from offline_cache.database import open_database
from offline_cache.knowledge_store import KnowledgeStore
from reference_platform.matters import shipped_records
from reference_platform.samples import DATA_DIR, MARK

try:  # tests/ is a package in some checkouts, a plain folder on sys.path in others
    from tests.platform_server import PlatformServer
except ModuleNotFoundError:  # pragma: no cover
    from platform_server import PlatformServer  # type: ignore[no-redef]

KIOSK = "511602-HALL-03"
CODES = {record["item_code"] for record in shipped_records()}
TAGS = {"graduate", "unemployed", "disabled", "elderly_carer", "small_business"}
EVENTS = {"small-shop", "restaurant", "baby", "retire", "moving", "company"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("platform")
    with PlatformServer(folder, kiosks={KIOSK: folder / "k.key"}) as running:
        yield running


@pytest.fixture()
def session(server: PlatformServer):
    with server.session(KIOSK) as signed:
        yield signed


def load(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


# -- the written sample files -------------------------------------------------------------


@pytest.mark.parametrize("name", ["faq.json", "scenarios.json", "policies.json"])
def test_the_kiosk_ships_the_platforms_sample_files_unchanged(name: str):
    assert (SHIPPED_DIR / name).read_bytes() == (DATA_DIR / name).read_bytes()
    assert "sample content written for this project" in load(name)["source"].lower()


def test_faq_file_is_sample_content_leading_to_real_matters():
    document = load("faq.json")
    entries = check_faq(document, "faq.json").entries
    assert len(entries) >= 60
    for entry in entries:
        assert 3 <= len(entry["questions"]) <= 6, entry["id"]
        assert entry["answer"].startswith(MARK), entry["id"]
        assert entry["item_codes"] and set(entry["item_codes"]) <= CODES, entry["id"]


def test_scenarios_file_covers_the_life_events_with_real_matters():
    scenarios = check_scenarios(load("scenarios.json")["scenarios"], "scenarios.json")
    assert {s["id"] for s in scenarios} >= EVENTS
    for scenario in scenarios:
        assert scenario["title"].startswith(MARK)
        assert 2 <= len(scenario["questions"]) <= 4
        assert 3 <= len(scenario["matters"]) <= 8
        assert {m["item_code"] for m in scenario["matters"]} <= CODES
        assert any("when" in m for m in scenario["matters"])


def test_policies_file_has_machine_readable_eligibility():
    policies = check_policies(load("policies.json")["policies"], "policies.json")
    assert len(policies) >= 12
    assert all(p["title"].startswith(MARK) and p["summary"].startswith(MARK) for p in policies)
    assert {p["item_code"] for p in policies} - {None} <= CODES
    assert any(p["item_code"] is None for p in policies)
    used = {tag for p in policies for tag in p["eligibility"].get("tags_any", [])}
    assert used >= TAGS
    keys = {key for p in policies for key in p["eligibility"]}
    assert keys == {"age_min", "age_max", "gender", "area_prefix", "tags_any"}


# -- the routes ---------------------------------------------------------------------------


def test_faq_route_answers_the_contract_shape(session: requests.Session):
    answer = session.get("/faq")
    assert answer.status_code == 200 and answer.headers["X-Sample-Content"] == "true"
    data = answer.json()
    assert set(data) == {"version", "entries", "removed"} and data["removed"] == []
    assert data["version"] == 1 and len(data["entries"]) == len(load("faq.json")["entries"])
    assert all(set(e) == {"id", "questions", "answer", "item_codes"} for e in data["entries"])
    assert session.get("/faq", params={"since": 1}).json() == {
        "version": 1, "entries": [], "removed": []}


def test_faq_needs_a_signature_and_a_valid_since(server: PlatformServer,
                                                 session: requests.Session):
    unsigned = requests.get(server.base_url + "/faq", timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "bad_signature"
    headers = signed_headers(KIOSK, b"\x00" * 32, "GET", "/api/v1/faq", b"")
    forged = requests.get(server.base_url + "/faq", headers=headers, timeout=5)
    assert forged.status_code == 401
    bad = session.get("/faq", params={"since": "soon"})
    assert bad.status_code == 422 and bad.json()["error"] == "validation"


def test_scenarios_and_policies_routes_serve_the_written_files(session: requests.Session):
    scenarios = session.get("/scenarios")
    assert scenarios.headers["X-Sample-Content"] == "true"
    assert scenarios.json() == load("scenarios.json")["scenarios"]
    policies = session.get("/policies")
    assert policies.headers["X-Sample-Content"] == "true"
    assert policies.json() == load("policies.json")["policies"]


def test_faq_delta_lists_changes_and_removals_then_a_restart_keeps_them(tmp_path: Path):
    with PlatformServer(tmp_path, kiosks={KIOSK: tmp_path / "k.key"}) as platform:
        first = platform.admin("POST", "/faq/dog", json={"answer": "改过的回答"})
        assert first.json() == {"version": 2}
        assert platform.admin("DELETE", "/faq/passport").json() == {"version": 3}
        added = platform.admin("POST", "/faq/new-one", json={
            "questions": ["新问题"], "answer": "新回答", "item_codes": [sorted(CODES)[0]]})
        assert added.json() == {"version": 4}
        bad = platform.admin("POST", "/faq/x", json={"questions": ["q"], "answer": "a",
                                                     "item_codes": ["no-such-code"]})
        assert bad.status_code == 422
        platform.restart()
        with platform.session(KIOSK) as signed:
            delta = signed.get("/faq", params={"since": 1}).json()
            full = signed.get("/faq").json()
    assert delta["version"] == 4 and delta["removed"] == ["passport"]
    assert [e["id"] for e in delta["entries"]] == ["dog", "new-one"]
    assert delta["entries"][0]["answer"] == MARK + "改过的回答"
    assert "passport" not in {e["id"] for e in full["entries"]} and full["removed"] == []


def test_a_removed_matter_leaves_scenarios_and_policies(tmp_path: Path):
    scenario_code = load("scenarios.json")["scenarios"][0]["matters"][0]["item_code"]
    policy = load("policies.json")["policies"][0]
    with PlatformServer(tmp_path, kiosks={KIOSK: tmp_path / "k.key"}) as platform:
        platform.admin("DELETE", f"/catalog/{scenario_code}").raise_for_status()
        platform.admin("DELETE", f"/catalog/{policy['item_code']}").raise_for_status()
        with platform.session(KIOSK) as signed:
            scenarios = signed.get("/scenarios").json()
            policies = signed.get("/policies").json()
    assert scenario_code not in {m["item_code"] for s in scenarios for m in s["matters"]}
    assert next(p for p in policies if p["id"] == policy["id"])["item_code"] is None


# -- the kiosk: sync into SQLite, read offline ----------------------------------------------


def client_of(platform: PlatformServer) -> PlatformClient:
    return PlatformClient(platform.base_url, KIOSK, platform.keys[KIOSK], timeout=10)


def test_sync_caches_then_pulls_only_changes_then_reads_offline(tmp_path: Path):
    db = tmp_path / "kiosk.db"
    with PlatformServer(tmp_path, kiosks={KIOSK: tmp_path / "k.key"}) as platform:
        client = client_of(platform)
        conn = open_database(db)
        assert refresh_lists(client, conn) == len(load("faq.json")["entries"]) + 2
        store = KnowledgeStore(conn)
        assert store.faq_version() == 1
        platform.admin("POST", "/faq/dog", json={"answer": "只改这一条"}).raise_for_status()
        platform.admin("DELETE", "/faq/passport").raise_for_status()
        second = pull_faq(client, conn)
        assert (second.full, second.changed, second.removed) == (False, 1, 1)
        assert store.faq_version() == 3
        with platform.session(KIOSK) as signed:
            served = signed.get("/faq").json()["entries"]
        assert store.faq_entries() == served  # the delta left the cache equal to the whole
        assert pull_faq(client, conn).changed == 0  # nothing new: an empty delta
        client.close()
        conn.close()
    with KnowledgeBase(db) as knowledge:  # the platform has stopped
        entries = knowledge.faq_entries()
        assert knowledge.source("faq") == knowledge.source("policies") == "platform"
        dog = next(e for e in entries if e.id == "dog")
        assert dog.answer == MARK + "只改这一条" and "passport" not in {e.id for e in entries}
        assert {s.id for s in knowledge.scenarios()} >= EVENTS
        assert len(knowledge.policies()) == len(load("policies.json")["policies"])


def test_a_kiosk_that_never_synced_reads_the_shipped_copies(tmp_path: Path):
    with KnowledgeBase(tmp_path / "never.db") as knowledge:
        assert knowledge.source("faq") == knowledge.source("scenarios") == "shipped"
        assert len(knowledge.faq_entries()) == len(load("faq.json")["entries"])
        baby = next(s for s in knowledge.scenarios() if s.id == "baby")
        everything = baby.item_codes_for({"insured": "有", "married": "未登记"})
        assert len(everything) == len(baby.matters)
        assert len(baby.item_codes_for({})) < len(everything)
        elderly = next(p for p in knowledge.policies() if p.id == "elderly-allowance")
        assert elderly.eligibility.matches(age=85, area_code="511602000000")
        assert not elderly.eligibility.matches(age=70, area_code="511602000000")
        assert not elderly.eligibility.matches(age=None, area_code="511602000000")


def test_a_broken_shipped_file_gives_nothing_rather_than_an_error(tmp_path: Path):
    (tmp_path / "faq.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "policies.json").write_text(json.dumps({"policies": [{"id": 1}]}))
    knowledge = KnowledgeBase(tmp_path / "k.db", shipped_dir=tmp_path)
    assert knowledge.faq_entries() == [] and knowledge.policies() == []
    assert knowledge.scenarios() == []  # missing file
    knowledge.close()


def test_a_malformed_answer_leaves_the_cache_as_it_was(tmp_path: Path):
    """A bad answer (here: a fault cuts the body) is TRANSIENT and changes nothing."""
    with PlatformServer(tmp_path, kiosks={KIOSK: tmp_path / "k.key"}) as platform:
        client = client_of(platform)
        conn = open_database(tmp_path / "kiosk.db")
        refresh_lists(client, conn)
        before = KnowledgeStore(conn).get_list("policies")
        platform.set_faults({"truncate_rate": 1.0, "paths": ["/api/v1/policies"]})
        time.sleep(0.05)
        with pytest.raises(PlatformError) as caught:
            refresh_lists(client, conn)
        assert caught.value.failure is Failure.TRANSIENT
        assert KnowledgeStore(conn).get_list("policies") == before
        conn.close()
        client.close()


class OlderPlatform(BaseHTTPRequestHandler):
    """A platform from before the FAQ: 404 on /faq, the lists as the reference serves."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0].removeprefix("/api/v1")
        if path in ("/scenarios", "/policies"):
            body, status = json.dumps(load(path[1:] + ".json")[path[1:]]).encode(), 200
        else:
            body, status = b'{"error": "not_found", "message": "no"}', 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_platform_without_faq_keeps_the_lists_coming(tmp_path: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), OlderPlatform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = PlatformClient(f"http://127.0.0.1:{server.server_port}/api/v1", KIOSK,
                                bytes(32), timeout=5)
        conn = open_database(tmp_path / "kiosk.db")
        assert refresh_lists(client, conn) == 2
        store = KnowledgeStore(conn)
        assert store.faq_version() is None
        assert store.get_list("policies") == load("policies.json")["policies"]
        conn.close()
        client.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
