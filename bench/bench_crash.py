"""Crash torture at length: a kiosk process enqueuing and syncing, SIGKILLed 1,000 times.

The same invariants as tests/test_crash_torture.py (200 kills there): after each kill
``PRAGMA integrity_check`` is ok; every receipt the process had reported is still in the
outbox; after a final drain the platform holds each sealed receipt exactly once. The
figure is a count of failures (must be 0) and the kills survived per second.

Run: ``python -m bench.bench_crash``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.common import BenchResult

KILLS = 1_000


def run() -> list[BenchResult]:
    """One long torture run."""
    from tests.crash_child import TortureFailure, torture

    kills = int(os.environ.get("BENCH_KILLS", KILLS))
    with tempfile.TemporaryDirectory() as folder:
        try:
            result = torture(Path(folder), kills, seed=7)
        except TortureFailure as failure:
            return [BenchResult("crash torture invariant failures", 1, "failures", goal=0,
                                detail=str(failure))]
    detail = (f"{result.kills:,} SIGKILLs in {result.seconds:.0f} s; {result.reported:,} "
              f"receipts reported, {result.sealed:,} sealed, platform holds "
              f"{result.on_platform:,} once each ({result.posts:,} POSTs)")
    return [BenchResult("crash torture invariant failures", 0, "failures", goal=0,
                        detail=detail)]
