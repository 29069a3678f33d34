"""One checked state change of a queued record (applications, ratings).

Both queues move a row only from a state that allows the target (their ``ALLOWED`` tables),
in one UPDATE guarded by the source states, so that two workers or a crash replay can never
move a record twice; a refused move says what state the row is really in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any


def checked_move(conn: sqlite3.Connection, *, table: str, key_column: str, key: str,
                 target: str, allowed: Mapping[Any, Any], now: float,
                 error: type[Exception], what: str, attempts_increment: bool = False,
                 fields: Mapping[str, Any] | None = None) -> None:
    """Move row ``key`` of ``table`` to ``target`` (inside the caller's transaction), setting
    ``fields`` too; raise ``error`` when the row is not in a state that may move there.
    ``table``, ``key_column`` and the field names are the caller's constants, never input."""
    sources = [state for state, targets in allowed.items() if target in targets]
    assignments = ["state = ?", "updated_at = ?"]
    values: list[Any] = [target, now]
    for name, value in (fields or {}).items():
        assignments.append(f"{name} = ?")
        values.append(value)
    if attempts_increment:
        assignments.append("attempts = attempts + 1")
    marks = ", ".join("?" for _ in sources)
    cursor = conn.execute(
        f"UPDATE {table} SET {', '.join(assignments)} WHERE {key_column} = ? "
        f"AND state IN ({marks})", (*values, key, *sources))
    if cursor.rowcount != 1:
        current = conn.execute(f"SELECT state FROM {table} WHERE {key_column} = ?",
                               (key,)).fetchone()
        where = f"it is {current[0]}" if current else f"no such {what}"
        raise error(f"cannot move {key} to {target}: {where}")
