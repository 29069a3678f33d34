"""Crash torture: a kiosk process enqueuing and syncing is SIGKILLed at random, 200 times.

After every kill: the database passes ``PRAGMA integrity_check`` and every application
whose receipt the child had reported (i.e. would have printed) is still in the outbox,
sealed or further. At the end a clean pass drains the queue, and the platform holds every
receipt number exactly once, and nothing else. The platform drops a tenth of its answers
to POST /applications after committing, so kills land between a commit on the platform
and the kiosk learning of it too.
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import time
from pathlib import Path

import pytest

from kiosk.applications import OutboxStorage
from kiosk.config import load_config
from kiosk.sync import Backoff, SyncWorker, make_client
from offline_cache.outbox import State
from tests import crash_child
from tests.kiosk_files import KIOSK_ID, write_config
from tests.platform_server import PlatformServer

KILLS = 200
SURVIVING = {State.SEALED, State.UPLOADING, State.RETRY_LATER, State.ACKNOWLEDGED,
             State.STATUS_SYNCED}


@pytest.fixture(scope="module")
def forkserver():
    """Children forked from a server that already imported the kiosk (fast, clean starts)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.crash_child"])
    return context


def integrity(database: Path) -> str:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_sigkill_at_random_points_loses_nothing_and_duplicates_nothing(tmp_path, forkserver):
    key_file = tmp_path / "platform.key"
    (tmp_path / "platform").mkdir()
    with PlatformServer(tmp_path / "platform", kiosks={KIOSK_ID: key_file}) as server:
        server.set_faults({"seed": 5, "reset_rate": 0.1, "phase": "after", "methods": ["POST"],
                           "paths": ["/api/v1/applications"]})
        config_path = write_config(tmp_path / "kiosk", url=server.base_url)
        (tmp_path / "kiosk" / "platform.key").write_bytes(key_file.read_bytes())
        config = load_config(config_path, environ={})
        log = tmp_path / "receipts.log"
        rng = random.Random(20261123)
        for kill in range(KILLS):
            child = forkserver.Process(target=crash_child.run,
                                       args=(str(config_path), str(log), kill * 1000))
            child.start()
            time.sleep(rng.uniform(0.005, 0.25))
            child.kill()  # SIGKILL
            child.join(10)
            assert child.exitcode == -9, f"kill {kill}: the child ended by itself"
            if config.storage.database.exists():
                assert integrity(config.storage.database) == "ok", f"after kill {kill}"
        reported = crash_child.logged_receipts(log)
        assert len(reported) > KILLS / 2, "the kills came too early to test anything"

        server.set_faults({})
        storage = OutboxStorage(config)
        worker = SyncWorker(storage, make_client(config), backoff=Backoff(0.001, 0.01))
        try:
            outbox = storage.outbox
            for receipt_no in reported:
                assert outbox.find(receipt_no).state in SURVIVING, receipt_no
            worker.recover()
            for _ in range(20):
                if worker.sync_once(progress=False).pending == 0:
                    break
            assert outbox.backlog()[0] == 0
            sealed = {r.receipt_no for r in outbox.listing(limit=1_000_000)}
            assert set(reported) <= sealed
            counts = outbox.counts()
            assert set(counts) <= {"acknowledged", "draft"}, counts
            on_platform = server.receipt_numbers()
            assert len(on_platform) == len(set(on_platform))
            assert set(on_platform) == sealed - {None}
            assert server.stats()["duplicate_receipts"] == 0
            print(f"{KILLS} kills, {len(reported)} receipts reported, {len(sealed)} sealed, "
                  f"{server.stats()['application_posts']} posts for {len(on_platform)}")
        finally:
            worker.client.close()
            storage.close()
