"""Rows of the kiosk's own service state: receipt paper used, and out of service.

Two tables of the kiosk database (migration 11). They live in SQLite, beside the outbox,
for the same reason the PIN lockout does: a kiosk restarted (or its plug pulled) must still
know that its roll is 230 slips in, and that a technician switched it out of service.

Nothing here decides anything (kiosk.operations.paper and kiosk.operations.service_state
do); this module only keeps rows. The values are counts, times, technician names and fixed
words: never citizen data.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from offline_cache.database import open_database, transaction

PRINTER = "printer"
"""The one row of ``paper_roll``: the kiosk has one receipt printer."""

KIOSK = "kiosk"
"""The one row of ``service_state``."""


@dataclass(frozen=True)
class PaperRow:
    """Slips printed since the roll was last refilled, and when that was (None: never)."""

    slips: int = 0
    refilled_at: float | None = None


@dataclass(frozen=True)
class ServiceRow:
    """The out-of-service switches: the technician's and the automatic one."""

    manual: bool = False
    manual_by: str = ""
    manual_since: float | None = None
    automatic: bool = False
    auto_reason: str = ""
    auto_since: float | None = None


class ServiceStore:
    """The paper and service tables of an open kiosk database (autocommit connection)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- paper ---------------------------------------------------------------------------
    def paper(self) -> PaperRow:
        """The roll's count now."""
        row = self.conn.execute("SELECT slips, refilled_at FROM paper_roll WHERE printer = ?",
                                (PRINTER,)).fetchone()
        if row is None:
            return PaperRow()
        return PaperRow(int(row[0]), None if row[1] is None else float(row[1]))

    def add_slips(self, count: int = 1) -> int:
        """Count ``count`` more slips printed; returns the new total (one statement, so two
        printing threads never lose a count)."""
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO paper_roll (printer, slips) VALUES (?, ?) "
                "ON CONFLICT(printer) DO UPDATE SET slips = slips + excluded.slips",
                (PRINTER, int(count)))
            (slips,) = self.conn.execute("SELECT slips FROM paper_roll WHERE printer = ?",
                                         (PRINTER,)).fetchone()
        return int(slips)

    def refilled(self, at: float) -> None:
        """A new roll: the count starts again from 0."""
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO paper_roll (printer, slips, refilled_at) VALUES (?, 0, ?) "
                "ON CONFLICT(printer) DO UPDATE SET slips = 0, refilled_at = excluded.refilled_at",
                (PRINTER, at))

    # -- out of service ------------------------------------------------------------------
    def service(self) -> ServiceRow:
        """Both switches now."""
        row = self.conn.execute(
            "SELECT manual, manual_by, manual_since, automatic, auto_reason, auto_since "
            "FROM service_state WHERE name = ?", (KIOSK,)).fetchone()
        if row is None:
            return ServiceRow()
        return ServiceRow(bool(row[0]), str(row[1]), None if row[2] is None else float(row[2]),
                          bool(row[3]), str(row[4]), None if row[5] is None else float(row[5]))

    def set_manual(self, on: bool, who: str, at: float) -> None:
        """The technician's switch."""
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO service_state (name, manual, manual_by, manual_since) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET manual = excluded.manual,"
                " manual_by = excluded.manual_by, manual_since = excluded.manual_since",
                (KIOSK, int(on), who if on else "", at if on else None))

    def set_automatic(self, on: bool, reason: str, at: float) -> None:
        """The automatic switch; ``reason`` names what is down (a finding's name)."""
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO service_state (name, automatic, auto_reason, auto_since) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "automatic = excluded.automatic, auto_reason = excluded.auto_reason, "
                "auto_since = excluded.auto_since",
                (KIOSK, int(on), reason if on else "", at if on else None))


@contextmanager
def opened(database: Path) -> Iterator[ServiceStore]:
    """A :class:`ServiceStore` on its own short connection, closed after use: the UI thread,
    the monitor's thread and the metrics exporter each open one when they need it."""
    conn = open_database(database)
    try:
        yield ServiceStore(conn)
    finally:
        conn.close()
