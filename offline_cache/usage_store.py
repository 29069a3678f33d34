"""How often each matter was chosen at this kiosk: the "most used first" of browsing.

A guide opened or an application started adds one to the matter's count. Nothing else is
kept: no time, no visit, no citizen, so the table tells nobody who came or when. A count
that fails to be written (a full disk, a locked database) is not worth a citizen's error
message; the caller logs it and goes on.
"""

from __future__ import annotations

import sqlite3

KINDS = {"guide": "guide_opens", "apply": "apply_starts"}
"""What was done with a matter -> the column that counts it."""

APPLY_WEIGHT = 3
"""An application started says more about need than a guide read: it counts three times."""


class UsageStore:
    """The ``matter_usage`` table of an open kiosk database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def record(self, item_code: str, kind: str) -> None:
        """Add one ``kind`` ('guide' or 'apply') to ``item_code``'s count."""
        column = KINDS[kind]  # a KeyError for an unknown kind: a programming error
        self.conn.execute(
            f"INSERT INTO matter_usage (item_code, {column}) VALUES (?, 1) "
            f"ON CONFLICT(item_code) DO UPDATE SET {column} = {column} + 1",
            (item_code,))

    def scores(self) -> dict[str, int]:
        """``item_code -> guide opens + APPLY_WEIGHT x applications started``."""
        return {code: int(opens) + APPLY_WEIGHT * int(starts) for code, opens, starts in
                self.conn.execute(
                    "SELECT item_code, guide_opens, apply_starts FROM matter_usage")}

    def counts(self, item_code: str) -> tuple[int, int]:
        """``(guide opens, applications started)`` of one matter."""
        row = self.conn.execute(
            "SELECT guide_opens, apply_starts FROM matter_usage WHERE item_code = ?",
            (item_code,)).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))
