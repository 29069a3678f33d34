"""A small fleet after a platform outage: every application once, Retry-After honoured, and
the random hold after an outage that keeps a whole fleet from sending at the same moment.

Real parts only: each kiosk has its own SQLite outbox, id and key; the real sync worker
talks HTTP to the reference platform running as its own process (bench/fleet.py runs the
kiosks' passes; bench/bench_fleet.py is the 2,000-kiosk version).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from bench.fleet import (
    OUTAGE_URL,
    Policy,
    arrivals,
    build_fleet,
    retry_after_breaches,
    run_fleet,
)
from kiosk.applying.applications import OutboxStorage
from kiosk.config import load_config
from kiosk.platform.client import PlatformClient
from kiosk.platform.signing import load_or_create_key_file, read_key_file
from kiosk.platform.sync import COMEBACK_SPREAD_S, OUTBOX_ONLY, SyncWorker, make_worker
from tests.kiosk_files import application_document, write_config
from tests.platform_server import PlatformServer
from tests.test_receipts import submit

RETRY_AFTER_S = 3
FAULTS = {"seed": 3, "paths": ["/api/v1/applications$"], "methods": ["POST"],
          "reset_rate": 0.15, "rate_limit_rate": 0.15, "retry_after_s": RETRY_AFTER_S,
          "phase": {"reset": "after", "rate_limit": "before"}}


def test_fifty_kiosks_after_an_outage_deliver_each_application_once(tmp_path: Path):
    fleet = build_fleet(tmp_path / "kiosks", 50, (1, 3))
    (tmp_path / "platform").mkdir()
    with PlatformServer(tmp_path / "platform",
                        kiosks={kiosk.kiosk_id: kiosk.key_file for kiosk in fleet}) as server:
        server.set_faults(FAULTS)
        # intervals shorter than the kiosk's defaults, so that the test runs in seconds;
        # Retry-After (3 s) is longer than the sync interval: only paused_until holds it
        policy = Policy("real, fast", aligned=True, comeback_spread_s=4.0,
                        sync_interval_s=1.0, offline_interval_s=1.5)
        run = run_fleet(fleet, server.base_url, policy, shards=8, time_limit_s=45)
        stored = server.receipt_numbers()
        stats = server.stats()
    assert run.drained_s is not None, f"{run.acknowledged} of {run.applications} acknowledged"
    assert arrivals(stored, fleet) == (0, 0, 0)  # duplicates, lost, unknown
    assert stats["duplicate_receipts"] == 0
    injected = stats["faults_injected"]
    assert injected["reset"] > 0 and injected["rate_limit"] > 0  # both were exercised
    assert run.acknowledged == run.applications  # acknowledged or replayed, once each
    answered_429 = [sent for sent in run.journal if sent.status == 429]
    assert answered_429 and all(sent.retry_after == RETRY_AFTER_S for sent in answered_429)
    assert retry_after_breaches(run.journal) == []
    # the hold after the outage spreads the first POSTs over the spread, not one instant
    first_post = {}
    for sent in sorted(run.journal, key=lambda sent: sent.started):
        if sent.path == "/applications":
            first_post.setdefault(sent.kiosk, sent.started - run.t0)
    assert max(first_post.values()) - min(first_post.values()) > 2.0


def _worker(tmp_path: Path, server: PlatformServer, kiosk_id: str, key_file: Path,
            spread: float) -> SyncWorker:
    config = load_config(write_config(tmp_path, server.base_url, kiosk_id), environ={})
    client = PlatformClient(server.base_url, kiosk_id, read_key_file(key_file), 5.0)
    return SyncWorker(OutboxStorage(config, durable=False), client, schedule=OUTBOX_ONLY,
                      rng=random.Random(5), comeback_spread_s=spread)


def test_back_online_after_an_outage_waits_a_random_hold_then_sends(tmp_path: Path):
    fleet = build_fleet(tmp_path / "kiosks", 2, (2, 2))
    (tmp_path / "platform").mkdir()
    with PlatformServer(tmp_path / "platform",
                        kiosks={kiosk.kiosk_id: kiosk.key_file for kiosk in fleet}) as server:
        held = _worker(fleet[0].folder, server, fleet[0].kiosk_id, fleet[0].key_file, 30.0)
        fresh = _worker(fleet[1].folder, server, fleet[1].kiosk_id, fleet[1].key_file, 30.0)
        try:
            held.client.base_url = OUTAGE_URL  # the outage, as this kiosk saw it
            assert not held.sync_once().online
            held.client.base_url = server.base_url
            report = held.sync_once()
            assert report.online and report.acknowledged == 0 and report.pending == 2
            assert report.stopped is not None and "hold" in report.stopped
            assert held.paused_until == held._held_until  # the sync thread sleeps till then
            assert 0 < held._held_until - time.monotonic() <= 30.0
            assert held.sync_once().acknowledged == 0  # a pass within the hold sends nothing
            held._held_until = held.paused_until = 0.0  # the hold has passed
            assert held.sync_once().acknowledged == 2
            # a worker that saw no outage (start-up, `kiosk sync --once`) sends at once
            assert fresh.sync_once().acknowledged == 2
            assert server.stats()["applications"] == 4
        finally:
            for worker in (held, fresh):
                worker.client.close()
                worker.storage.close()


def test_an_outage_seen_with_nothing_waiting_holds_nothing_back(tmp_path: Path):
    """Only a backlog needs spreading: a kiosk that saw the platform away while its queue
    was empty (it started before the platform answered) sends the next application at
    once, so the citizen's receipt carries the official number."""
    fleet = build_fleet(tmp_path / "kiosks", 1, (0, 0))
    (tmp_path / "platform").mkdir()
    with PlatformServer(tmp_path / "platform",
                        kiosks={kiosk.kiosk_id: kiosk.key_file for kiosk in fleet}) as server:
        worker = _worker(fleet[0].folder, server, fleet[0].kiosk_id, fleet[0].key_file, 30.0)
        try:
            worker.client.base_url = OUTAGE_URL
            assert not worker.sync_once().online
            worker.client.base_url = server.base_url
            submit(worker.storage, application_document(7))  # a citizen, once it is back
            report = worker.sync_once()
            assert report.online and report.acknowledged == 1 and report.stopped is None
        finally:
            worker.client.close()
            worker.storage.close()


def test_the_kiosk_apps_worker_holds_after_an_outage(tmp_path: Path):
    config = load_config(write_config(tmp_path), environ={})
    load_or_create_key_file(tmp_path / "platform.key")
    worker = make_worker(config)
    try:
        assert worker.comeback_spread_s == COMEBACK_SPREAD_S > 0
    finally:
        worker.client.close()
        worker.storage.close()
