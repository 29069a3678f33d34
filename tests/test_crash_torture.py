"""Crash torture: a kiosk process enqueuing and syncing is SIGKILLed at random, 200 times.

After every kill the database passes ``PRAGMA integrity_check``; at the end every receipt
the child reported (would have printed) is still sealed or further, a clean pass drains the
queue, and the platform holds every sealed receipt number exactly once and nothing else.
The platform loses a tenth of its answers to POST /applications after committing, so
kills also land between the platform's commit and the kiosk learning of it.
The invariants live in tests/crash_child.py, shared with bench/bench_crash.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.crash_child import torture

KILLS = 200


def test_sigkill_at_random_points_loses_nothing_and_duplicates_nothing(tmp_path: Path):
    result = torture(tmp_path, KILLS)
    assert result.kills == KILLS
    assert result.reported > KILLS / 2, "the kills came too early to test anything"
    assert result.on_platform == result.sealed >= result.reported
    assert result.posts > result.on_platform  # lost answers were resent, deduplicated
