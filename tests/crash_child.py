"""The process the crash-torture test kills: it enqueues and syncs in a loop, for ever.

It runs forked from a multiprocessing fork server that has imported everything already, so
each of the hundreds of children starts in milliseconds, and it is stopped only by SIGKILL:
no ``finally``, no atexit, no clean-up, like a power cut of the process (the kernel keeps
what was written). Each receipt number is appended to ``receipts.log`` after ``submit``
returns, i.e. after the moment the real kiosk would print it.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.applying.applications import (
    ApplicationService,
    NewApplication,
    NewAttachment,
    OutboxStorage,
)
from kiosk.config import load_config
from kiosk.platform.sync import OUTBOX_ONLY, Backoff, SyncWorker, make_client
from offline_cache.outbox import State


def run(config_path: str, log_path: str, first_index: int) -> None:
    """Enqueue one application, run one sync pass, repeat until killed."""
    config = load_config(config_path, environ={})
    storage = OutboxStorage(config, durable=True)
    worker = SyncWorker(storage, make_client(config), backoff=Backoff(0.001, 0.01),
                        schedule=OUTBOX_ONLY)
    worker.recover()
    service = ApplicationService(storage)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    index = first_index
    while True:
        receipt_no = service.submit(application(index))
        os.write(log, f"{receipt_no}\n".encode())
        index += 1
        worker.sync_once(progress=False)


def application(index: int) -> NewApplication:
    """A small application of invented citizen ``index`` with one distinct photo."""
    photo = b"\xff\xd8\xff\xe0" + index.to_bytes(4, "big") * 256
    return NewApplication(
        item_code="511Z07001006-511602000000-000-11511301008778183N-1-00",
        applicant={"name": f"测试者{index:05d}", "id_number": f"1101011990{index:08d}"[:17] + "X",
                   "phone": f"139{index:08d}"},
        form={"reason": "crash torture"},
        attachments=(NewAttachment("材料", photo, "image/jpeg"),),
    )


def logged_receipts(path: Path) -> list[str]:
    """Receipt numbers the children reported (a line cut by the kill is dropped)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="ascii")
    lines = text.split("\n")
    return [line for line in lines[:-1] if line]


SURVIVING = {State.SEALED, State.UPLOADING, State.RETRY_LATER, State.ACKNOWLEDGED,
             State.STATUS_SYNCED}


class TortureFailure(AssertionError):
    """An invariant broke: the message says which and after which kill."""


@dataclass
class TortureResult:
    """What a torture run did and found (all invariants held if it returns at all)."""

    kills: int
    reported: int
    sealed: int
    on_platform: int
    posts: int
    seconds: float


def integrity(database: Path) -> str:
    """``PRAGMA integrity_check`` of a database file, opened read-only."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def torture(folder: Path, kills: int, seed: int = 20261123,
            max_delay_s: float = 0.25) -> TortureResult:
    """Kill ``kills`` children at random points, check after each, drain, check the platform.

    Used by tests/test_crash_torture.py (200 kills) and bench/bench_crash.py (more).
    """
    from tests.kiosk_files import KIOSK_ID, write_config
    from tests.platform_server import PlatformServer, install_key

    context: Any = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.crash_child"])
    key_file = folder / "platform.key"
    (folder / "platform").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with PlatformServer(folder / "platform", kiosks={KIOSK_ID: key_file}) as server:
        # a tenth of the answers to POST /applications are lost after the platform committed
        server.set_faults({"seed": seed, "reset_rate": 0.1, "phase": "after",
                           "methods": ["POST"], "paths": ["/api/v1/applications"]})
        config_path = write_config(folder / "kiosk", url=server.base_url)
        install_key(key_file, folder / "kiosk" / "platform.key")
        config = load_config(config_path, environ={})
        log = folder / "receipts.log"
        rng = random.Random(seed)
        # kills must land in all of a child's life, not only its start-up: on a loaded
        # machine a child takes longer to reach its first receipt, so the window follows it
        # (measured twice: the first child also waits for the fork server to start)
        first_receipt_s(context, config_path, folder, 0)
        max_delay_s = max(max_delay_s, 3 * first_receipt_s(context, config_path, folder, 1))
        for kill in range(kills):
            child = context.Process(target=run, args=(str(config_path), str(log), kill * 1000))
            child.start()
            time.sleep(rng.uniform(0.005, max_delay_s))
            child.kill()
            child.join(10)
            if child.exitcode != -9:
                raise TortureFailure(f"kill {kill}: the child ended by itself ({child.exitcode})")
            if config.storage.database.exists():
                verdict = integrity(config.storage.database)
                if verdict != "ok":
                    raise TortureFailure(f"after kill {kill}: integrity_check says {verdict}")
        reported = logged_receipts(log)
        server.set_faults({})
        return _final_check(config, server, kills, reported, started)


def first_receipt_s(context: Any, config_path: Path, folder: Path, attempt: int) -> float:
    """Seconds a child takes from start to its first reported receipt on this machine now
    (its receipts stay in the outbox and are checked like any other)."""
    log = folder / f"calibration-{attempt}.log"
    child = context.Process(target=run, args=(str(config_path), str(log),
                                              10_000_000 * (attempt + 1)))
    started = time.perf_counter()
    child.start()
    try:
        while not logged_receipts(log):
            if not child.is_alive() or time.perf_counter() - started > 60:
                raise TortureFailure(f"the calibration child reported nothing "
                                     f"(exit code {child.exitcode})")
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        child.kill()
        child.join(10)


def _final_check(config: Any, server: Any, kills: int, reported: list[str],
                 started: float) -> TortureResult:
    storage = OutboxStorage(config)
    worker = SyncWorker(storage, make_client(config), backoff=Backoff(0.001, 0.01))
    try:
        outbox = storage.outbox
        for receipt_no in reported:
            try:
                state = outbox.find(receipt_no).state
            except KeyError:
                raise TortureFailure(f"{receipt_no} was printed but is gone") from None
            if state not in SURVIVING:
                raise TortureFailure(f"{receipt_no} is {state}")
        worker.recover()
        for _ in range(50):
            if worker.sync_once(progress=False).pending == 0:
                break
        if outbox.backlog()[0]:
            raise TortureFailure(f"{outbox.backlog()[0]} applications never went out")
        sealed = {r.receipt_no for r in outbox.listing(limit=10_000_000)} - {None}
        on_platform = server.receipt_numbers()
        if len(on_platform) != len(set(on_platform)) or server.stats()["duplicate_receipts"]:
            raise TortureFailure("the platform holds a receipt number twice")
        if set(on_platform) != sealed:
            raise TortureFailure(f"kiosk sealed {len(sealed)}, platform holds "
                                 f"{len(set(on_platform))}: they differ")
        if not set(reported) <= sealed:
            raise TortureFailure("a reported receipt is not sealed")
        return TortureResult(kills, len(reported), len(sealed), len(on_platform),
                             int(server.stats()["application_posts"]),
                             time.perf_counter() - started)
    finally:
        worker.client.close()
        storage.close()
