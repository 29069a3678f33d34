"""The last lines of the kiosk's JSON log, for the diagnostics screen and the bundle.

The log is redacted as it is written (kiosk.operations.logs: one filter on every handler),
so what is read back here is already without ID or phone numbers; nothing is redacted
twice. Only the end of the file is read (:data:`TAIL_BYTES`), so a log at its size bound
costs the screen no more than a small one. A line that is not JSON (a torn last line after
a power cut) is skipped, not shown raw.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FILTERS", "LogLine", "recent_lines"]

TAIL_BYTES = 256 * 1024
"""Bytes read from the end of the file: some hundreds of lines, enough for 50 errors."""

FILTERS: dict[str, frozenset[str]] = {
    "errors": frozenset({"ERROR", "CRITICAL"}),
    "warnings": frozenset({"WARNING", "ERROR", "CRITICAL"}),
    "all": frozenset(),
}
"""The screen's level buttons -> the levels they show (empty: every level)."""


@dataclass(frozen=True)
class LogLine:
    """One record as the screen shows it."""

    time: str
    level: str
    logger: str
    message: str


def recent_lines(path: Path, limit: int = 50, level: str = "all") -> list[LogLine]:
    """The last ``limit`` records of the log at ``path`` at the ``level`` filter (see
    :data:`FILTERS`), oldest first; empty when there is no log yet."""
    wanted = FILTERS[level]
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    lines = data.split(b"\n")
    if len(data) >= TAIL_BYTES:
        lines = lines[1:]  # the first one is cut
    records: list[LogLine] = []
    for raw in reversed(lines):
        if len(records) >= limit:
            break
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        record_level = str(entry.get("level", ""))
        if wanted and record_level not in wanted:
            continue
        records.append(LogLine(str(entry.get("time", "")), record_level,
                               str(entry.get("logger", "")), str(entry.get("message", ""))))
    records.reverse()
    return records
