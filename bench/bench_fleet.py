"""Fleet after a platform outage: 2,000 kiosks' real sync workers against one platform process.

First the platform's capacity is measured: kiosks with deep queues drain at once through the
real worker, no faults, and the POST /applications rate and p95 latency are read.  Then a
fleet of kiosks, each with its own SQLite outbox, kiosk id and key, holding 1 to 3
applications sealed during the outage, sees the platform come back at t=0 while its fault
switches drop 5 % of the answers after the application was stored and answer 5 % with 429
``Retry-After: 5``.  Every kiosk saw the outage (one pass against a dead port) and all come
back at t=0, the worst case (a regional power cut).  Two scenarios: the real policy (random
hold of 0..60 s after an outage, back-off with equal jitter, Retry-After honoured) and a
naive one (fixed 1 s retries, no hold, no jitter, Retry-After ignored) as the contrast.
Figures: request rate per second seen by the platform (peak, p95) against the capacity,
429s, answers lost, drain time, arrivals counted in the platform's database (duplicates and
lost must be 0), requests early against a Retry-After.  See bench/fleet.py for how 2,000
kiosks run on a few threads.

Run: ``python -m bench.run bench.bench_fleet`` (``BENCH_FLEET_KIOSKS=200`` for a quick run).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, percentile
from bench.fleet import (
    FleetRun,
    KioskSeed,
    Policy,
    arrivals,
    build_fleet,
    copy_fleet,
    per_second,
    retry_after_breaches,
    run_fleet,
)

KIOSKS = 2000
APPS = (1, 3)
SHARDS = 16
"""Threads running the fleet; also the concurrency at which capacity is measured."""
CAPACITY_QUEUE = 60
"""Applications queued on each kiosk of the capacity run."""
TIME_LIMIT_S = 120.0
FAULTS = {"seed": 11, "paths": ["/api/v1/applications$"], "methods": ["POST"],
          "reset_rate": 0.05, "rate_limit_rate": 0.05, "retry_after_s": 5,
          "phase": {"reset": "after", "rate_limit": "before"}}
SCENARIOS = (Policy("real policy, all kiosks back at once", aligned=True),
             Policy("naive 1 s retries, all back at once", naive=True, aligned=True,
                    comeback_spread_s=0))


def _posts(run: FleetRun) -> list:
    return [sent for sent in run.journal if sent.path == "/applications"]


def capacity(folder: Path, kiosks: int = SHARDS) -> tuple[float, float, str]:
    """(POSTs per second, p95 POST latency in ms, detail) of ``kiosks`` concurrent drains."""
    from tests.platform_server import PlatformServer

    fleet = build_fleet(folder / "kiosks", kiosks, (CAPACITY_QUEUE, CAPACITY_QUEUE), seed=2)
    (folder / "platform").mkdir()
    with PlatformServer(folder / "platform",
                        kiosks={kiosk.kiosk_id: kiosk.key_file for kiosk in fleet}) as server:
        run = run_fleet(fleet, server.base_url,
                        Policy("capacity", aligned=True, comeback_spread_s=0),
                        shards=kiosks, time_limit_s=TIME_LIMIT_S)
        stored = server.stats()["applications"]
    posts = [sent for sent in _posts(run) if 200 <= sent.status < 300]
    span = max(sent.ended for sent in posts) - min(sent.started for sent in posts)
    latency = [(sent.ended - sent.started) * 1000 for sent in posts]
    rate = len(posts) / span
    detail = (f"{kiosks} kiosks draining {CAPACITY_QUEUE} applications each at once, no faults:"
              f" {len(posts):,} POSTs in {span:.1f} s, platform holds {stored:,}; client and"
              " platform share the machine")
    return rate, percentile(latency, 95), detail


def scenario(template: list[KioskSeed], folder: Path, policy: Policy,
             capacity_rps: float) -> list[BenchResult]:
    """Run one policy on a fresh copy of the fleet; its figures."""
    from tests.platform_server import PlatformServer

    fleet = copy_fleet(template, folder / "kiosks")
    (folder / "platform").mkdir()
    with PlatformServer(folder / "platform",
                        kiosks={kiosk.kiosk_id: kiosk.key_file for kiosk in fleet}) as server:
        server.set_faults(FAULTS)
        run = run_fleet(fleet, server.base_url, policy, shards=SHARDS,
                        time_limit_s=TIME_LIMIT_S)
        stored = server.receipt_numbers()
        stats = server.stats()
    shutil.rmtree(folder, ignore_errors=True)
    duplicates, lost, strangers = arrivals(stored, fleet, run.journal)
    window = run.drained_s if run.drained_s is not None else TIME_LIMIT_S
    rates = per_second(run, window)
    post_rates = per_second(run, window, lambda sent: sent.path == "/applications")
    posts = _posts(run)
    status = [sent.status for sent in run.journal]
    latency = [(sent.ended - sent.started) * 1000 for sent in posts]
    lag = percentile(run.late_s, 95) * 1000
    breaches = retry_after_breaches(run.journal)
    name = policy.name
    drained = (f"{run.acknowledged:,} of {run.applications:,} acknowledged"
               if run.drained_s is None else f"all {run.applications:,} acknowledged")
    where = (f"{run.kiosks:,} kiosks, {run.applications:,} applications; {len(run.journal):,}"
             f" requests ({len(posts):,} POST, {len(posts) / run.applications:.2f} per"
             f" application, {len(run.journal) - len(posts):,} health), {run.passes:,}"
             " passes")
    capacity_note = f"measured capacity {capacity_rps:.0f} POST/s"
    return [
        BenchResult(f"{name}: drain time", window, "s",
                    detail=f"{drained}; {where}"),
        BenchResult(f"{name}: POST/s peak", float(max(post_rates)), "POST/s",
                    detail=f"all requests, /health polls included: peak {max(rates)}/s;"
                    f" {capacity_note}"),
        BenchResult(f"{name}: POST/s p95", percentile([float(r) for r in post_rates], 95),
                    "POST/s", goal=None if policy.naive else round(capacity_rps),
                    detail=f"over the seconds of the drain; all requests p95"
                    f" {percentile([float(r) for r in rates], 95):.0f}/s; {capacity_note}"),
        BenchResult(f"{name}: POST p95 latency", percentile(latency, 95), "ms",
                    detail=f"p50 {percentile(latency, 50):.0f} ms"),
        BenchResult(f"{name}: 429 / 5xx / no answer", float(status.count(429)), "429s",
                    detail=f"5xx {sum(1 for s in status if s >= 500)}, no answer"
                    f" {status.count(0)} (faults injected {stats['faults_injected']})"),
        BenchResult(f"{name}: duplicates + lost", float(duplicates + lost + strangers),
                    "applications", goal=0,
                    detail=f"platform holds {len(set(stored)):,} of {run.applications:,} once"
                    f" (duplicates {duplicates}, lost {lost}, unknown {strangers}); "
                    f"{stats['application_posts']:,} POSTs stored or replayed"),
        BenchResult(f"{name}: simulator p95 lag", lag, "ms",
                    detail="how late kiosks' passes started against their due time: the"
                    " machine's limit, not the policy's; large means the rates above are"
                    " capped by the simulator"),
        BenchResult(f"{name}: requests before Retry-After", float(len(breaches)), "requests",
                    goal=None if policy.naive else 0,
                    detail=f"after {status.count(429)} answers 429 Retry-After"
                    f" {FAULTS['retry_after_s']} s"),
    ]


def run() -> list[BenchResult]:
    """Capacity, then each scenario on a copy of one fleet."""
    logging.getLogger("kiosk.platform").setLevel(logging.ERROR)
    kiosks = int(os.environ.get("BENCH_FLEET_KIOSKS", KIOSKS))
    base = Path(os.environ.get("BENCH_TMP", tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(dir=base) as temporary:
        folder = Path(temporary)
        rate, p95_ms, detail = capacity(folder / "capacity")
        results = [
            BenchResult(f"platform capacity, {SHARDS} concurrent kiosks", rate, "POST/s",
                        detail=detail),
            BenchResult("platform capacity: POST p95 latency", p95_ms, "ms"),
        ]
        started = time.perf_counter()
        template = build_fleet(folder / "template", kiosks, APPS)
        built = time.perf_counter() - started
        for number, policy in enumerate(SCENARIOS):
            figures = scenario(template, folder / f"scenario{number}", policy, rate)
            results += figures
            if number == 0:
                results[-len(figures)] = BenchResult(
                    figures[0].name, figures[0].value, figures[0].unit,
                    detail=f"{figures[0].detail}; fleet built in {built:.0f} s")
    return results


if __name__ == "__main__":
    for result in run():
        print(f"{result.name}: {result.value:.1f} {result.unit} {result.detail}")
