"""Technicians' PIN hashes, the PIN pad's lockout and the audit of what technicians did.

Three tables of the kiosk database (migration 10). Nothing here knows what a PIN is or
how it is hashed (kiosk.operations.technician decides that); this module only keeps rows.
The lockout lives in the database, not in memory, so pulling the plug after four wrong
tries does not give a fifth, sixth... try for free.

The audit table is append-only from the kiosk's side: rows are added, read and never
changed. Its columns are meant for a technician's name, an action name and a short detail;
the caller must never pass citizen data (the core words every detail itself).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from offline_cache.database import transaction

GUARD = "pin_entry"
"""The one row of ``technician_guard``: the PIN pad is one door, whoever stands at it."""


@dataclass(frozen=True)
class StoredPin:
    """One technician's PIN as stored: salt, hash and the scrypt cost it was made with."""

    who: str
    salt: bytes
    pin_hash: bytes
    n: int
    r: int
    p: int
    set_at: float

    def __repr__(self) -> str:
        """Never the salt or the hash: a repr lands in logs and tracebacks."""
        return f"StoredPin(who={self.who!r}, n={self.n}, r={self.r}, p={self.p})"


@dataclass(frozen=True)
class Guard:
    """Wrong tries since the last good one, lockouts in a row, and until when it is locked."""

    failures: int = 0
    lockouts: int = 0
    locked_until: float | None = None


@dataclass(frozen=True)
class AuditRow:
    """One line of the technician audit."""

    id: int
    at: float
    who: str
    what: str
    detail: str


class TechnicianStore:
    """The technician tables of an open kiosk database (autocommit connection)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- PINs ------------------------------------------------------------------------------
    def save_pin(self, pin: StoredPin) -> None:
        """Set (or replace) ``pin.who``'s PIN hash."""
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO technicians (who, salt, pin_hash, scrypt_n, scrypt_r, scrypt_p,"
                " set_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(who) DO UPDATE SET "
                "salt = excluded.salt, pin_hash = excluded.pin_hash, "
                "scrypt_n = excluded.scrypt_n, scrypt_r = excluded.scrypt_r, "
                "scrypt_p = excluded.scrypt_p, set_at = excluded.set_at",
                (pin.who, pin.salt, pin.pin_hash, pin.n, pin.r, pin.p, pin.set_at))

    def pins(self) -> list[StoredPin]:
        """Every technician's stored PIN, by name."""
        rows = self.conn.execute(
            "SELECT who, salt, pin_hash, scrypt_n, scrypt_r, scrypt_p, set_at "
            "FROM technicians ORDER BY who")
        return [StoredPin(str(who), bytes(salt), bytes(digest), int(n), int(r), int(p),
                          float(at)) for who, salt, digest, n, r, p, at in rows]

    def remove(self, who: str) -> bool:
        """Forget ``who``'s PIN; False when there was none."""
        with transaction(self.conn):
            cursor = self.conn.execute("DELETE FROM technicians WHERE who = ?", (who,))
        return cursor.rowcount > 0

    def count(self) -> int:
        """How many technicians have a PIN."""
        return int(self.conn.execute("SELECT COUNT(*) FROM technicians").fetchone()[0])

    # -- the lockout -------------------------------------------------------------------------
    def guard(self) -> Guard:
        """The PIN pad's current tries and lockout."""
        row = self.conn.execute(
            "SELECT failures, lockouts, locked_until FROM technician_guard WHERE name = ?",
            (GUARD,)).fetchone()
        if row is None:
            return Guard()
        return Guard(int(row[0]), int(row[1]), None if row[2] is None else float(row[2]))

    def save_guard(self, guard: Guard) -> None:
        """Replace the PIN pad's tries and lockout."""
        with transaction(self.conn):
            self._put_guard(guard)

    def _put_guard(self, guard: Guard) -> None:
        self.conn.execute(
            "INSERT INTO technician_guard (name, failures, lockouts, locked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET failures = "
            "excluded.failures, lockouts = excluded.lockouts, "
            "locked_until = excluded.locked_until",
            (GUARD, guard.failures, guard.lockouts, guard.locked_until))

    # -- the audit ---------------------------------------------------------------------------
    def audit(self, at: float, who: str, what: str, detail: str = "") -> None:
        """Append one audit row."""
        with transaction(self.conn):
            self._put_audit(at, who, what, detail)

    def guard_and_audit(self, guard: Guard, at: float, who: str, what: str,
                        detail: str = "") -> None:
        """A PIN entry's new lockout state and its audit row, in one transaction: a power
        cut between the two must not leave a wrong try counted but not audited."""
        with transaction(self.conn):
            self._put_guard(guard)
            self._put_audit(at, who, what, detail)

    def _put_audit(self, at: float, who: str, what: str, detail: str) -> None:
        self.conn.execute(
            "INSERT INTO technician_audit (at, who, what, detail) VALUES (?, ?, ?, ?)",
            (at, who, what, detail))

    def audit_rows(self, limit: int = 50) -> list[AuditRow]:
        """The latest ``limit`` audit rows, newest first."""
        rows = self.conn.execute(
            "SELECT id, at, who, what, detail FROM technician_audit "
            "ORDER BY id DESC LIMIT ?", (max(0, int(limit)),))
        return [AuditRow(int(i), float(at), str(who), str(what), str(detail))
                for i, at, who, what, detail in rows]
