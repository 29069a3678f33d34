"""Outbox figures: durable encrypted enqueue, draining to the loopback platform, memory.

Enqueue is what the citizen waits for after pressing submit: two 300 KB document photos
sealed (AES-GCM) and written atomically (temporary file, fsync, rename, fsync of the folder),
then one SQLite transaction with ``synchronous=FULL`` that drafts, links and seals the
application and makes its receipt number. Draining sends 10,000 queued applications (one
small attachment each) through the real sync worker to the reference platform running as
its own process on 127.0.0.1, with signatures, idempotency keys and acknowledgements
checked; the kiosk process's RSS is read from /proc before and after.

Run: ``python -m bench.bench_outbox``.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, percentile
from kiosk.applying.applications import NewApplication
from tests.kiosk_files import write_config

ENQUEUES = 300
PHOTO_BYTES = 300 * 1024
DRAIN = 10_000
ITEM_CODE = "511Z07001006-511602000000-000-11511301008778183N-1-00"
KIOSK_ID = "511602-BENCH-01"


def new_application(index: int, photos: list[bytes]) -> NewApplication:
    """A synthetic application of invented citizen ``index`` with ``photos``."""
    from kiosk.applying.applications import NewAttachment

    return NewApplication(
        item_code=ITEM_CODE,
        applicant={"name": f"测试者{index}", "id_number": f"11010119900307{index:04d}",
                   "phone": f"139{index:08d}"},
        form={"reason": "基准测试"},
        delivery={"method": "pickup"},
        attachments=tuple(NewAttachment(f"材料{n}", photo, "image/jpeg")
                          for n, photo in enumerate(photos)),
    )


def rss_mib() -> float:
    """Resident memory of this process (VmRSS), MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def enqueue_latency(folder: Path) -> list[BenchResult]:
    """Submit ENQUEUES applications with two fresh 300 KB photos each, durably."""
    from kiosk.applying.applications import ApplicationService, OutboxStorage
    from kiosk.config import load_config

    config = load_config(write_config(folder, kiosk_id=KIOSK_ID), environ={})
    storage = OutboxStorage(config, durable=True)
    service = ApplicationService(storage)
    rng = random.Random(7)
    seconds = []
    try:
        for index in range(ENQUEUES):
            photos = [rng.randbytes(PHOTO_BYTES) for _ in range(2)]
            started = time.perf_counter()
            service.submit(new_application(index, photos))
            seconds.append(time.perf_counter() - started)
    finally:
        storage.close()
    ms = [s * 1000 for s in seconds]
    detail = f"{ENQUEUES} submissions, 2 x 300 KB photos each, fsync'd; on {_filesystem(folder)}"
    return [
        BenchResult("durable encrypted enqueue p50", percentile(ms, 50), "ms", detail=detail),
        BenchResult("durable encrypted enqueue p95", percentile(ms, 95), "ms", goal=20,
                    detail=detail),
        BenchResult("durable encrypted enqueue max", max(ms), "ms"),
    ]


def _filesystem(folder: Path) -> str:
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            best = ("", "?")
            for line in mounts:
                _device, mount, kind, *_rest = line.split()
                if str(folder).startswith(mount) and len(mount) >= len(best[0]):
                    best = (mount, kind)
            return f"{best[1]} ({best[0]})"
    except OSError:
        return "?"


def drain_throughput(folder: Path, count: int = DRAIN) -> list[BenchResult]:
    """Queue ``count`` applications offline, then drain them to a platform process."""
    import gc

    from kiosk.applying.applications import ApplicationService, OutboxStorage
    from kiosk.config import load_config
    from kiosk.platform.sync import OUTBOX_ONLY, Backoff, SyncWorker, make_client
    from tests.platform_server import PlatformServer

    (folder / "platform").mkdir()
    key_file = folder / "platform.key"
    with PlatformServer(folder / "platform", kiosks={KIOSK_ID: key_file}) as server:
        config = load_config(write_config(folder, server.base_url, KIOSK_ID), environ={})
        storage = OutboxStorage(config, durable=False)
        service = ApplicationService(storage)
        for index in range(count):
            photo = b"\xff\xd8\xff\xe0" + index.to_bytes(4, "big") * 512  # 2 KB
            service.submit(new_application(index, [photo]))
        worker = SyncWorker(storage, make_client(config), backoff=Backoff(0.01, 0.1),
                            schedule=OUTBOX_ONLY)
        gc.collect()
        rss_before = rss_mib()
        started = time.perf_counter()
        passes = 0
        while storage.outbox.backlog()[0] and passes < 1000:
            worker.sync_once(progress=False)
            passes += 1
        seconds = time.perf_counter() - started
        gc.collect()
        rss_after = rss_mib()
        stats = server.stats()
        acknowledged = storage.outbox.counts().get("acknowledged", 0)
        worker.client.close()
        storage.close()
    detail = (f"{acknowledged:,} of {count:,} acknowledged in {seconds:.1f} s, {passes} passes;"
              f" platform holds {stats['applications']:,}, duplicates "
              f"{stats['duplicate_receipts']}; one 2 KB photo each (PUT + POST)")
    return [
        BenchResult("drain to loopback platform", acknowledged / seconds, "applications/s",
                    goal=100, higher_is_better=True, detail=detail),
        BenchResult("kiosk RSS before drain", rss_before, "MiB"),
        BenchResult("kiosk RSS after drain", rss_after, "MiB",
                    detail=f"change {rss_after - rss_before:+.1f} MiB over {count:,} sends"),
    ]


def drain_in_fresh_process(count: int) -> list[BenchResult]:
    """Run :func:`drain_throughput` in a new interpreter, so its RSS is a kiosk's alone.

    ``make bench`` runs every benchmark in one process; the search benchmark's 100,000
    generated matters would otherwise be counted as the sync worker's memory.
    """
    import json
    import subprocess
    import sys

    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_outbox", "--drain", str(count)],
        check=True, capture_output=True, text=True).stdout
    rows = json.loads(output.strip().splitlines()[-1])
    return [BenchResult(**row) for row in rows]


def run() -> list[BenchResult]:
    """All outbox figures."""
    base = Path(os.environ.get("BENCH_TMP", tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(dir=base) as folder:
        results = enqueue_latency(Path(folder))
    return results + drain_in_fresh_process(int(os.environ.get("BENCH_DRAIN", DRAIN)))


if __name__ == "__main__":
    import json
    import sys
    from dataclasses import asdict

    if sys.argv[1:2] == ["--drain"]:
        with tempfile.TemporaryDirectory() as folder:
            drained = drain_throughput(Path(folder), int(sys.argv[2]))
        print(json.dumps([asdict(result) for result in drained]))
    else:
        for result in run():
            print(f"{result.name}: {result.value:.3f} {result.unit} {result.detail}")
