"""A fleet of kiosks after a platform outage: many real sync workers, one platform process.

Why a simulation at all: a back-off policy is only proven by the load a whole fleet puts on
the platform when it comes back, and by every application arriving once.  Each simulated
kiosk here is a real one minus the screen: its own outbox (an SQLite file and master key in
its own folder), its own kiosk id and signing key known to the platform, and the real
:class:`kiosk.platform.sync.SyncWorker` (its Backoff with equal jitter, Retry-After and
``paused_until``) talking real HTTP to the reference platform on 127.0.0.1.

What is simulated is only *when* each kiosk runs a pass: instead of 2,000 threads, a pool
of shard threads each owns some kiosks (an SQLite connection belongs to the thread that
opened it) and runs them from a heap of due times.  The next due time is the rule of
:class:`kiosk.platform.sync_thread.SyncThread`: the sync interval after an online pass,
the offline (health) interval otherwise, never before the worker's ``paused_until``.

The naive policy (fixed 1 s retries, no jitter, Retry-After ignored) exists only here, as
the contrast; the product has no such switch.
"""

from __future__ import annotations

import heapq
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kiosk.platform.client import PlatformClient, PlatformError
from kiosk.platform.sync import COMEBACK_SPREAD_S, OUTBOX_ONLY, Backoff, SyncReport, SyncWorker

ITEM_CODE = "511Z07001006-511602000000-000-11511301008778183N-1-00"
SYNC_INTERVAL_S = 10.0
"""``[platform] sync_interval`` default: the pause after a pass that found the platform."""
OFFLINE_INTERVAL_S = 15.0
"""``[platform] health_interval`` default: the pause after a pass that did not."""
NAIVE_RETRY_S = 1.0
OUTAGE_URL = "http://127.0.0.1:9/api/v1"
"""Where each kiosk's pass before t=0 goes: nothing listens, as during the outage."""


def kiosk_id(index: int) -> str:
    """The id of simulated kiosk ``index`` (letters, digits, hyphens: a receipt number's)."""
    return f"511602-FLEET-{index:04d}"


# ------------------------------------------------------------------------------ the fleet


@dataclass(frozen=True)
class KioskSeed:
    """One kiosk of the template fleet: its folder (outbox, key) and its queued receipts."""

    index: int
    folder: Path
    receipts: tuple[str, ...]

    @property
    def kiosk_id(self) -> str:
        return kiosk_id(self.index)

    @property
    def key_file(self) -> Path:
        return self.folder / "platform.key"


def build_fleet(folder: Path, kiosks: int, apps: tuple[int, int], seed: int = 1
                ) -> list[KioskSeed]:
    """``kiosks`` outboxes under ``folder``, each with ``apps`` (min, max) sealed applications
    made while the platform was down (never attempted), and a key file each."""
    from kiosk.applying.applications import ApplicationService, NewApplication, OutboxStorage
    from kiosk.config import load_config
    from kiosk.platform.signing import load_or_create_key_file
    from offline_cache.database import open_database
    from tests.kiosk_files import citizen, write_config

    rng = random.Random(seed)
    fleet = []
    person = 0
    empty = folder / "empty.db"  # migrated once, copied: a kiosk's first start, but faster
    open_database(empty).close()
    for index in range(kiosks):
        home = folder / f"k{index:04d}"
        config = load_config(write_config(home, kiosk_id=kiosk_id(index)), environ={})
        load_or_create_key_file(home / "platform.key")
        config.storage.database.parent.mkdir(parents=True, mode=0o700)
        shutil.copyfile(empty, config.storage.database)
        storage = OutboxStorage(config, durable=False)
        service = ApplicationService(storage)
        receipts = []
        for _ in range(rng.randint(*apps)):
            applicant = citizen(person)
            person += 1
            receipts.append(service.submit(NewApplication(
                item_code=ITEM_CODE, applicant=applicant, form={"reason": "断网期间提交"},
                delivery={"method": "pickup"})))
        storage.close()
        fleet.append(KioskSeed(index, home, tuple(receipts)))
    return fleet


def copy_fleet(fleet: list[KioskSeed], folder: Path) -> list[KioskSeed]:
    """A fresh copy of the template fleet (one scenario's kiosks start from the same queue)."""
    copies = []
    for kiosk in fleet:
        target = folder / kiosk.folder.name
        shutil.copytree(kiosk.folder, target)
        copies.append(KioskSeed(kiosk.index, target, kiosk.receipts))
    return copies


# ------------------------------------------------------------------------- what was seen


@dataclass(frozen=True)
class Sent:
    """One request as the platform saw it: when, from whom, for what, and its answer."""

    started: float
    ended: float
    kiosk: int
    path: str
    status: int
    """HTTP status; 0 when no answer came (reset, timeout, cut-off body)."""
    retry_after: float | None = None
    key: str | None = None
    """The Idempotency-Key (receipt number) of an application POST."""


class CountingClient(PlatformClient):
    """The real client, noting each request it sends (the platform's view of the fleet)."""

    def __init__(self, *args: Any, kiosk: int, journal: list[Sent], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kiosk = kiosk
        self.journal = journal

    def request(self, method: str, path: str, **kwargs: Any) -> Any:  # type: ignore[override]
        started = time.monotonic()
        key = (kwargs.get("headers") or {}).get("Idempotency-Key")
        status, retry_after = 0, None
        try:
            response = super().request(method, path, **kwargs)
            status = response.status_code
            return response
        except PlatformError as error:
            status, retry_after = error.status or 0, error.retry_after
            raise
        finally:  # list.append is atomic: shards share one journal
            self.journal.append(Sent(started, time.monotonic(), self.kiosk, path, status,
                                     retry_after, key))


class FixedDelay(Backoff):
    """Naive contrast: every retry after the same fixed delay, no jitter."""

    def delay(self, attempts: int, rng: random.Random) -> float:
        return NAIVE_RETRY_S


class NaiveWorker(SyncWorker):
    """Naive contrast: the real worker, deaf to Retry-After."""

    def _defer(self, error: PlatformError, attempts: int, report: SyncReport,
               retry_later: Callable[[float], None]) -> None:
        super()._defer(replace(error, retry_after=None), attempts, report, retry_later)


@dataclass(frozen=True)
class Policy:
    """How the fleet retries, and whether the kiosks come back in step.

    ``aligned``: every kiosk's first pass is at t=0 (a regional power cut restarts them
    together); otherwise each is at its own phase of the offline poll interval, as kiosks
    that were polling /health through the outage are.
    """

    name: str
    naive: bool = False
    aligned: bool = False
    comeback_spread_s: float = COMEBACK_SPREAD_S
    """The product's hold after an outage (0: none; the naive policy never holds)."""
    sync_interval_s: float = SYNC_INTERVAL_S
    offline_interval_s: float = OFFLINE_INTERVAL_S


# ------------------------------------------------------------------------------ running


@dataclass
class FleetRun:
    """What one scenario measured."""

    policy: Policy
    kiosks: int
    applications: int
    journal: list[Sent] = field(default_factory=list)
    drained_s: float | None = None
    """Seconds from t=0 until every application was acknowledged (None: not within time)."""
    acknowledged: int = 0
    passes: int = 0
    late_s: list[float] = field(default_factory=list)
    """How late each pass started against its due time (the simulator's own lag)."""
    t0: float = 0.0


class _Shard:
    """Kiosks owned by one thread: their workers are opened, run and closed there."""

    def __init__(self, run: FleetRun, kiosks: list[KioskSeed], base_url: str,
                 counted: Callable[[int], None], stop: threading.Event, seed: int) -> None:
        self.run = run
        self.kiosks = kiosks
        self.base_url = base_url
        self.counted = counted
        self.stop = stop
        self.rng = random.Random(seed)
        self.error: BaseException | None = None

    def worker(self, kiosk: KioskSeed) -> SyncWorker:
        from kiosk.applying.applications import OutboxStorage
        from kiosk.config import load_config
        from kiosk.platform.signing import read_key_file
        from tests.kiosk_files import write_config

        config = load_config(write_config(kiosk.folder, self.base_url, kiosk.kiosk_id),
                             environ={})
        client = CountingClient(self.base_url, kiosk.kiosk_id, read_key_file(kiosk.key_file),
                                config.platform.timeout, kiosk=kiosk.index,
                                journal=self.run.journal)
        storage = OutboxStorage(config, durable=False)
        rng = random.Random(f"{kiosk.index}")
        if self.run.policy.naive:
            return NaiveWorker(storage, client, backoff=FixedDelay(), schedule=OUTBOX_ONLY,
                               rng=rng)
        return SyncWorker(storage, client, schedule=OUTBOX_ONLY, rng=rng,
                          comeback_spread_s=self.run.policy.comeback_spread_s)

    @staticmethod
    def outage_pass(worker: SyncWorker) -> None:
        """One pass while the platform is down, as every kiosk made during the outage."""
        url, worker.client.base_url = worker.client.base_url, OUTAGE_URL
        try:
            report = worker.sync_once()
            assert not report.online, "the outage URL answered"
        finally:
            worker.client.base_url = url

    def __call__(self, ready: threading.Barrier) -> None:
        workers: dict[int, SyncWorker] = {}
        try:
            for kiosk in self.kiosks:
                workers[kiosk.index] = self.worker(kiosk)
                workers[kiosk.index].recover()
                self.outage_pass(workers[kiosk.index])
            ready.wait()
            self._loop(workers)
        except BaseException as error:  # reported by the caller, never lost in a thread
            self.error = error
            self.stop.set()
        finally:
            for worker in workers.values():
                worker.client.close()
                worker.storage.close()

    def _loop(self, workers: dict[int, SyncWorker]) -> None:
        policy, t0 = self.run.policy, self.run.t0
        phase = policy.offline_interval_s
        due = [(t0 if policy.aligned else t0 + self.rng.uniform(0, phase), index)
               for index in workers]
        heapq.heapify(due)
        while due and not self.stop.is_set():
            when, index = due[0]
            wait = when - time.monotonic()
            if wait > 0:
                self.stop.wait(min(wait, 0.25))
                continue
            heapq.heappop(due)
            self.run.late_s.append(-wait)
            worker = workers[index]
            report = worker.sync_once()
            self.run.passes += 1
            if report.acknowledged or report.replayed:
                self.counted(report.acknowledged + report.replayed)
            heapq.heappush(due, (self.next_pass(worker, report), index))

    def next_pass(self, worker: SyncWorker, report: SyncReport) -> float:
        """When this kiosk runs again: SyncThread's rule, or the naive fixed second."""
        now, policy = time.monotonic(), self.run.policy
        if policy.naive:
            return now + (NAIVE_RETRY_S if report.pending else policy.sync_interval_s)
        wait = policy.sync_interval_s if report.online else policy.offline_interval_s
        return now + max(wait, worker.paused_until - now)


def run_fleet(fleet: list[KioskSeed], base_url: str, policy: Policy, *, shards: int = 16,
              time_limit_s: float = 120.0, seed: int = 3) -> FleetRun:
    """Bring the platform "back" (t=0) to ``fleet`` and run until all is acknowledged."""
    total = sum(len(kiosk.receipts) for kiosk in fleet)
    run = FleetRun(policy, len(fleet), total)
    stop = threading.Event()
    lock = threading.Lock()
    done = threading.Event()

    def counted(count: int) -> None:
        with lock:
            run.acknowledged += count
            if run.acknowledged >= total and run.drained_s is None:
                run.drained_s = time.monotonic() - run.t0
                done.set()

    parts = [fleet[number::shards] for number in range(shards)]
    workers = [_Shard(run, part, base_url, counted, stop, seed * 1000 + number)
               for number, part in enumerate(parts) if part]
    ready = threading.Barrier(len(workers) + 1, action=lambda: setattr(
        run, "t0", time.monotonic() + 0.2))
    threads = [threading.Thread(target=shard, args=(ready,), daemon=True) for shard in workers]
    for thread in threads:
        thread.start()
    ready.wait()
    done.wait(time_limit_s + 0.2)
    stop.set()
    for thread in threads:
        thread.join(30)
    for shard in workers:
        if shard.error is not None:
            raise shard.error
    run.journal[:] = [sent for sent in run.journal if sent.started >= run.t0]  # not the outage
    return run


# ----------------------------------------------------------------------------- figures


def per_second(run: FleetRun, until_s: float | None = None,
               only: Callable[[Sent], bool] = lambda sent: True) -> list[int]:
    """Requests started in each second after t=0 (up to ``until_s``, else the last one)."""
    times = [sent.started - run.t0 for sent in run.journal if only(sent)]
    end = until_s if until_s is not None else max(times, default=0.0)
    buckets = [0] * (int(end) + 1)
    for moment in times:
        if 0 <= moment <= end:
            buckets[int(moment)] += 1
    return buckets


def retry_after_breaches(journal: list[Sent]) -> list[tuple[int, float]]:
    """(kiosk, seconds early) for every request a kiosk sent before the time a 429's
    Retry-After gave it (counted from when the 429 arrived)."""
    by_kiosk: dict[int, list[Sent]] = {}
    for sent in sorted(journal, key=lambda sent: sent.started):
        by_kiosk.setdefault(sent.kiosk, []).append(sent)
    breaches = []
    for kiosk, sends in by_kiosk.items():
        for number, sent in enumerate(sends):
            if sent.status != 429 or not sent.retry_after:
                continue
            allowed = sent.ended + sent.retry_after
            for later in sends[number + 1:]:
                if later.started < allowed:
                    breaches.append((kiosk, allowed - later.started))
    return breaches


def arrivals(receipts_on_platform: list[str], fleet: list[KioskSeed],
             journal: list[Sent] | None = None) -> tuple[int, int, int]:
    """(duplicates, lost, strangers): receipts stored twice, lost, and stored but never queued.

    Lost is queued but never stored; given the ``journal`` of a run cut short, only what a
    kiosk saw acknowledged (2xx) counts, the rest is still on its way, not lost.
    """
    queued = {receipt for kiosk in fleet for receipt in kiosk.receipts}
    if journal is not None:
        queued = {sent.key for sent in journal if sent.key and 200 <= sent.status < 300}
    stored = set(receipts_on_platform)
    every = {receipt for kiosk in fleet for receipt in kiosk.receipts}
    return (len(receipts_on_platform) - len(stored), len(queued - stored),
            len(stored - every))
