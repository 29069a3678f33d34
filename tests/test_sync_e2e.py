"""End to end: the kiosk's outbox and sync worker against the reference platform process.

Everything is real: the SQLite file, sealed attachments, the signed HTTP requests, and the
platform running as its own process on 127.0.0.1 (tests/platform_server.py).
"""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path

import pytest
import requests

from kiosk.applying.applications import ApplicationService, OutboxStorage, read_application_file
from kiosk.cli import main
from kiosk.platform.signing import create_key_file, read_key_file
from kiosk.platform.sync import (
    OUTBOX_ONLY,
    Backoff,
    Schedule,
    SingleFlightLock,
    SyncReport,
    SyncWorker,
    make_client,
)
from offline_cache.outbox import State
from tests.kiosk_files import (
    KIOSK_ID,
    application_document,
    citizen,
    make_config,
    write_application,
    write_config,
)
from tests.platform_server import PlatformServer, install_key

KIOSK_IDS = iter(f"511602-E2E-{n:02d}" for n in range(1, 100))
"""Each kiosk of a test gets its own id: receipt numbers restart with each data folder, and
the shared platform would rightly see a reused number with another body as a conflict."""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("platform")
    key_file = folder / "platform.key"
    kiosks = {KIOSK_ID: key_file} | {f"511602-E2E-{n:02d}": key_file for n in range(1, 100)}
    with PlatformServer(folder, kiosks=kiosks, progress_step=0.3) as running:
        running.key_file = key_file
        yield running


@pytest.fixture(autouse=True)
def no_faults(server):
    server.set_faults({})
    yield
    server.set_faults({})


class Kiosk:
    """One kiosk's data folder, its storage and a worker pointed at ``url``."""

    def __init__(self, tmp_path: Path, url: str, key_file: Path,
                 schedule: Schedule = OUTBOX_ONLY, kiosk_id: str | None = None) -> None:
        self.folder = tmp_path
        self.kiosk_id = kiosk_id or next(KIOSK_IDS)
        self.config = make_config(tmp_path, url=url, kiosk_id=self.kiosk_id)
        # share the platform's key file: the config names tmp_path/platform.key
        install_key(key_file, tmp_path / "platform.key")
        self.storage = OutboxStorage(self.config)
        self.service = ApplicationService(self.storage)
        self.worker = SyncWorker(self.storage, make_client(self.config),
                                 backoff=Backoff(0.001, 0.01), schedule=schedule)
        self.index = 0

    def submit(self, files: int = 1) -> str:
        self.index += 1
        path = write_application(self.folder / "in", self.index, files=files)
        return self.service.submit(read_application_file(path))

    def drain(self, passes: int = 50) -> SyncReport:
        report = SyncReport()
        for _ in range(passes):
            report = self.worker.sync_once(progress=False)
            if report.pending == 0:
                return report
            time.sleep(0.02)
        return report

    def state(self, receipt_no: str) -> State:
        return self.storage.outbox.find(receipt_no).state

    def close(self) -> None:
        self.worker.client.close()
        self.storage.close()


@pytest.fixture()
def kiosk(tmp_path: Path, server):
    opened = Kiosk(tmp_path, server.base_url, server.key_file)
    yield opened
    opened.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_offline_enqueue_then_platform_starts_then_sync_and_progress(tmp_path: Path):
    """The contract's story: queue while the platform is down, start it, sync, follow."""
    key_file = tmp_path / "platform.key"
    (tmp_path / "platform").mkdir()
    platform = PlatformServer(tmp_path / "platform", kiosks={KIOSK_ID: key_file},
                              progress_step=0.3, start=False)
    platform.port = free_port()
    url = f"http://127.0.0.1:{platform.port}/api/v1"
    kiosk = Kiosk(tmp_path / "kiosk", url, key_file, kiosk_id=KIOSK_ID)
    receipts = [kiosk.submit(files=2) for _ in range(3)]
    report = kiosk.worker.sync_once()
    assert not report.online and report.acknowledged == 0 and report.pending == 3
    assert {kiosk.state(r) for r in receipts} == {State.SEALED}

    platform.start()  # the network is back
    try:
        assert platform.base_url == url
        report = kiosk.worker.sync_once(progress=False)
        assert report.online and report.acknowledged == 3 and report.pending == 0
        assert report.attachments_uploaded == 6
        on_platform = platform.receipt_numbers()
        for receipt_no in receipts:
            record = kiosk.storage.outbox.find(receipt_no)
            assert record.state is State.ACKNOWLEDGED and record.application_no
            assert on_platform.count(receipt_no) == 1
        time.sleep(0.7)  # the platform moves a status every 0.3 s
        kiosk.worker.progress_interval_s = 0
        report = kiosk.worker.sync_once()
        assert report.progress_checked == 3
        record = kiosk.storage.outbox.find(receipts[0])
        assert record.state is State.STATUS_SYNCED and record.platform_status != "received"
        answer = platform.session(KIOSK_ID).get(f"/applications/{record.application_no}")
        assert answer.json()["receipt_no"] == receipts[0]
    finally:
        kiosk.close()
        platform.stop()


def test_lost_acknowledgement_is_resent_without_duplicate(kiosk, server):
    receipt_no = kiosk.submit()
    before = server.stats()
    server.set_faults({"reset_rate": 1.0, "phase": "after", "methods": ["POST"],
                       "paths": ["/api/v1/applications"], "max_faults": 1})
    first = kiosk.worker.sync_once(progress=False)
    assert first.deferred == 1 and first.stopped == "transient"
    assert kiosk.state(receipt_no) is State.RETRY_LATER
    assert receipt_no in server.receipt_numbers()  # the platform committed it
    time.sleep(0.02)
    second = kiosk.worker.sync_once(progress=False)
    assert second.replayed == 1 and kiosk.state(receipt_no) is State.ACKNOWLEDGED
    after = server.stats()
    assert after["applications"] - before["applications"] == 1
    assert after["application_posts"] - before["application_posts"] == 2
    assert after["duplicate_receipts"] == 0


def test_crash_while_uploading_is_recovered_and_sent_once(kiosk, server):
    receipt_no = kiosk.submit()
    record = kiosk.storage.outbox.find(receipt_no)
    kiosk.storage.outbox.start_upload(record.local_id)  # the process died here
    assert kiosk.drain().pending == 1  # stuck in uploading: not due until recovery
    found = kiosk.worker.recover()
    assert found is not None and found.resumed_uploads == 1
    assert kiosk.drain().pending == 0
    assert server.receipt_numbers().count(receipt_no) == 1


def test_bad_records_are_quarantined_and_the_rest_flow(kiosk, server, tmp_path: Path):
    good_before = kiosk.submit()
    unknown = application_document(900, item_code="NO-SUCH-MATTER")
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(unknown, ensure_ascii=False), encoding="utf-8")
    bad = kiosk.service.submit(read_application_file(path))
    conflicting = kiosk.submit()
    # another body under the same receipt number reached the platform first
    body = {"receipt_no": conflicting, "kiosk_id": kiosk.kiosk_id,
            "item_code": application_document(1)["item_code"], "applicant": {"name": "x"},
            "form": {}, "attachments": [], "delivery": {"method": "pickup"},
            "created_at": "2026-11-22T10:00:00+08:00"}
    answer = server.session(kiosk.kiosk_id).post("/applications", json=body,
                                           headers={"Idempotency-Key": conflicting})
    assert answer.status_code == 201
    good_after = kiosk.submit()
    report = kiosk.worker.sync_once(progress=False)
    assert report.acknowledged == 2 and report.quarantined == 2 and report.pending == 0
    assert kiosk.state(good_before) is State.ACKNOWLEDGED
    assert kiosk.state(good_after) is State.ACKNOWLEDGED
    assert kiosk.state(bad) is State.QUARANTINED
    assert "422" in kiosk.storage.outbox.find(bad).quarantine_reason
    assert "idempotency_conflict" in kiosk.storage.outbox.find(conflicting).quarantine_reason
    assert any("quarantined" in alert for alert in report.alerts)


def test_rate_limit_honours_retry_after(kiosk, server):
    receipt_no = kiosk.submit()
    server.set_faults({"rate_limit_rate": 1.0, "retry_after_s": 7, "max_faults": 1,
                       "paths": ["/api/v1/applications"]})
    started = time.time()
    report = kiosk.worker.sync_once(progress=False)
    assert report.stopped == "rate_limited" and report.deferred == 1
    record = kiosk.storage.outbox.find(receipt_no)
    assert record.state is State.RETRY_LATER
    assert 6.5 <= record.next_attempt_at - started <= 8
    assert kiosk.worker.paused_until - time.monotonic() > 6
    assert kiosk.drain(passes=1).pending == 1  # not due before Retry-After has passed


def test_server_errors_back_off_and_stop_the_pass(kiosk, server):
    receipts = [kiosk.submit() for _ in range(3)]
    server.set_faults({"error_rate": 1.0, "paths": ["/api/v1/attachments"]})
    report = kiosk.worker.sync_once(progress=False)
    assert report.deferred == 1 and report.stopped == "transient"  # one failure ends it
    assert [kiosk.state(r) for r in receipts] == [State.RETRY_LATER, State.SEALED, State.SEALED]
    server.set_faults({})
    assert kiosk.drain().pending == 0


def test_wrong_key_alerts_the_technician_and_keeps_the_record(kiosk, server, tmp_path: Path):
    receipt_no = kiosk.submit()
    other = tmp_path / "other.key"
    create_key_file(other)
    kiosk.worker.client._key = read_key_file(other)
    report = kiosk.worker.sync_once(progress=False)
    assert report.stopped == "auth" and kiosk.state(receipt_no) is State.RETRY_LATER
    assert any("key file" in alert for alert in report.alerts)


def test_a_kiosk_clock_off_by_an_hour_still_syncs_and_alerts(kiosk, server):
    receipt_no = kiosk.submit()
    kiosk.worker.client.clock = lambda: time.time() + 3600
    report = kiosk.worker.sync_once(progress=False)
    assert report.clock_skew_s is not None and report.clock_skew_s > 3000
    assert any("clock" in alert for alert in report.alerts)
    assert kiosk.state(receipt_no) is State.ACKNOWLEDGED


def test_missing_attachment_answer_uploads_it_and_resends(kiosk, server):
    kiosk.index = 700  # a photo the shared platform has not seen in another test
    receipt_no = kiosk.submit()
    record = kiosk.storage.outbox.find(receipt_no)
    digest = kiosk.storage.outbox.attachments(record.local_id)[0][0]
    report = SyncReport()
    # the worker believes the file is already there (as after a platform-side loss)
    kiosk.worker._send(record, report, uploaded={digest})
    assert report.acknowledged == 1 and report.attachments_uploaded == 1


def test_one_sender_at_a_time(kiosk):
    kiosk.submit()
    with SingleFlightLock(kiosk.worker.lock_path) as held:
        assert held
        report = kiosk.worker.sync_once()
    assert "another sender" in report.stopped and report.acknowledged == 0


def test_housekeeping_pulls_catalogue_delta_documents_and_sends_heartbeat(tmp_path, server):
    kiosk = Kiosk(tmp_path, server.base_url, server.key_file,
                  schedule=Schedule(heartbeat_s=0, catalog_s=0, lists_s=0, documents_s=0))
    heartbeats = server.stats()["heartbeats"]
    report = kiosk.worker.sync_once()
    assert report.housekeeping["catalog"].startswith("platform_version")
    assert server.stats()["heartbeats"] == heartbeats + 1
    from kiosk.finding.catalog import CatalogService
    from offline_cache.documents import DocumentCache

    catalog = CatalogService(kiosk.config.storage.database)
    assert catalog.count() == 1135
    code = catalog.matters()[0].item_code
    removed = catalog.matters()[1].item_code
    requests.post(f"{server.root_url}/admin/catalog/{code}", json={"name": "测试改名事项"},
                  headers=server.admin_headers(), timeout=5).raise_for_status()
    requests.delete(f"{server.root_url}/admin/catalog/{removed}", headers=server.admin_headers(),
                    timeout=5).raise_for_status()
    report = kiosk.worker.sync_once()
    assert "changed 1, removed 1" in report.housekeeping["catalog"]
    assert catalog.matter(code).name == "测试改名事项" and catalog.matter(removed) is None
    documents = DocumentCache(kiosk.storage.conn)
    assert documents.get("policies") and documents.get("scenarios")
    cached_guides = documents.versions("guide")
    assert len(cached_guides) >= 40
    guide = documents.get("guide", next(iter(cached_guides)))
    assert guide["materials"] is not None and "示例" in json.dumps(guide, ensure_ascii=False)
    catalog.close()
    kiosk.close()


def test_sync_command_once_json(tmp_path: Path, server, capsys):
    config = write_config(tmp_path, url=server.base_url)
    install_key(server.key_file, tmp_path / "platform.key")
    path = write_application(tmp_path / "in", 1)
    assert main(["--config", str(config), "queue", "add", str(path)]) == 0
    receipt_no = capsys.readouterr().out.strip()
    assert main(["--config", str(config), "sync", "--once", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["online"] and report["acknowledged"] == 1 and report["pending"] == 0
    assert receipt_no in server.receipt_numbers()
    assert main(["--config", str(config), "queue", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["acknowledged"] == 1 or status["counts"]["status_synced"] == 1


def test_sync_command_without_key_file_says_so(tmp_path: Path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "sync", "--once"]) == 2
    assert "no key file" in capsys.readouterr().err


def test_nothing_personal_at_rest_or_in_logs(tmp_path: Path, server, caplog):
    caplog.set_level(logging.DEBUG)
    kiosk = Kiosk(tmp_path / "k", server.base_url, server.key_file)
    offline = Kiosk(tmp_path / "k", "http://127.0.0.1:9/api/v1", server.key_file,
                    kiosk_id=kiosk.kiosk_id)
    for _ in range(5):
        offline.submit(files=2)
    offline.worker.sync_once()
    offline.close()
    server.set_faults({"error_rate": 0.3, "seed": 3})
    kiosk.index = 5
    for _ in range(5):
        kiosk.submit(files=1)
    kiosk.drain()
    server.set_faults({})
    kiosk.drain()
    # scanned while the kiosk still holds the database: the WAL is there, not yet folded in
    secrets = []
    for index in range(1, 11):
        person = citizen(index)
        secrets += [person["id_number"], person["name"], person["phone"], person["address"]]
    files = [p for p in (tmp_path / "k" / "data").rglob("*") if p.is_file()]
    wal = [p for p in files if p.name.endswith("-wal")]
    assert wal and wal[0].stat().st_size > 0
    assert sum(p.suffix == ".sealed" for p in files) == 15
    logs = caplog.text
    assert "acknowledged" in logs
    try:
        for secret in secrets:
            needles = {secret.encode("utf-8"), secret.encode("utf-16-le"),
                       secret.encode("gb18030")}
            for path in files:
                data = path.read_bytes()
                assert not any(n in data for n in needles), f"{secret[:3]}... in {path.name}"
            assert secret not in logs
    finally:
        kiosk.close()
