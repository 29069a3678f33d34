"""The reference platform's SQLite database: everything that must survive a restart.

One connection, used only from the server's event loop thread (every handler is ``async``
and never awaits inside a transaction), so transactions never interleave; the UNIQUE
constraints are the second line of defence that makes "exactly once" hold even if that
ever changes.  WAL with ``synchronous=NORMAL``: a demo server trades the last few commits
on power loss for an fsync-free commit path (hundreds of signed requests per second).

Personal data: the applicant's ID number is kept only as a keyed SHA-256 (HMAC with a
random per-database secret), enough to answer "my applications" look-ups; applicant and
form fields are not stored at all, only the hash of the whole request body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS nonces (
    kiosk_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_at REAL NOT NULL,
    PRIMARY KEY (kiosk_id, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen_at);
CREATE TABLE IF NOT EXISTS matters (
    item_code TEXT PRIMARY KEY, position INTEGER NOT NULL, record TEXT NOT NULL,
    version INTEGER NOT NULL, removed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS attachments (
    sha256 TEXT PRIMARY KEY, content_type TEXT NOT NULL, size INTEGER NOT NULL,
    data BLOB NOT NULL, stored_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS applications (
    application_no TEXT PRIMARY KEY,
    receipt_no TEXT NOT NULL UNIQUE,
    kiosk_id TEXT NOT NULL,
    item_code TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    answer TEXT NOT NULL,
    received_at REAL NOT NULL,
    id_hash TEXT,
    delivery TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS applications_person ON applications (id_hash);
CREATE TABLE IF NOT EXISTS idempotent (
    kind TEXT NOT NULL, kiosk_id TEXT NOT NULL, key TEXT NOT NULL,
    body_hash TEXT NOT NULL, answer TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (kind, kiosk_id, key)
);
CREATE TABLE IF NOT EXISTS bookings (
    slot_id TEXT NOT NULL, appointment_no TEXT PRIMARY KEY, at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS bookings_slot ON bookings (slot_id);
CREATE TABLE IF NOT EXISTS heartbeats (
    kiosk_id TEXT PRIMARY KEY, body TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS faq (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, record TEXT NOT NULL,
    version INTEGER NOT NULL, removed INTEGER NOT NULL DEFAULT 0
);
"""


def canonical_hash(document: Any) -> str:
    """SHA-256 of a JSON document written canonically (sorted keys, no whitespace).

    Two bodies that differ only in key order or spacing are the same request for
    idempotency; any other difference is a conflict.
    """
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Store:
    """The server's tables behind small, intention-named methods."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(SCHEMA)
        self._secret = bytes.fromhex(self._meta_or_create("person_secret", secrets.token_hex(32)))

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        with self._lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on error."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # -- meta and counters --------------------------------------------------------------

    def _meta_or_create(self, key: str, default: str) -> str:
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, default))
            return conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def meta(self, key: str, default: str | None = None) -> str | None:
        """A stored setting, or ``default``."""
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @staticmethod
    def next_counter(conn: sqlite3.Connection, name: str) -> int:
        """The next value of a named counter (inside the caller's transaction)."""
        conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1",
            (name,),
        )
        return int(conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])

    def person_hash(self, id_number: str) -> str:
        """Keyed SHA-256 of an ID number: look-ups work, the plaintext is never stored."""
        normal = id_number.strip().upper().encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, normal, hashlib.sha256).hexdigest()

    # -- nonces ---------------------------------------------------------------------------

    def remember_nonce(self, kiosk_id: str, nonce: str, now: float, ttl: float) -> bool:
        """Record a nonce; False when it was already seen within ``ttl`` seconds (a replay)."""
        with self.transaction() as conn:
            if self.next_counter(conn, "nonce_prune") % 500 == 0:
                conn.execute("DELETE FROM nonces WHERE seen_at < ?", (now - ttl,))
            row = conn.execute(
                "SELECT seen_at FROM nonces WHERE kiosk_id = ? AND nonce = ?", (kiosk_id, nonce)
            ).fetchone()
            if row is not None and row[0] >= now - ttl:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO nonces (kiosk_id, nonce, seen_at) VALUES (?, ?, ?)",
                (kiosk_id, nonce, now),
            )
            return True

    # -- catalogue ------------------------------------------------------------------------

    def catalog_seeded(self) -> bool:
        """Whether the catalogue table has been filled once (it is never re-seeded)."""
        with self._lock:
            return self.conn.execute("SELECT 1 FROM matters LIMIT 1").fetchone() is not None

    def seed_catalog(self, records: list[dict[str, Any]]) -> None:
        """Fill the catalogue at version 1 (first start only)."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO matters (item_code, position, record, version) "
                "VALUES (?, ?, ?, 1)",
                [
                    (record["item_code"], position, json.dumps(record, ensure_ascii=False))
                    for position, record in enumerate(records)
                ],
            )

    def catalog_version(self) -> int:
        """The catalogue's version: the highest version of any change."""
        with self._lock:
            row = self.conn.execute("SELECT MAX(version) FROM matters").fetchone()
        return int(row[0] or 0)

    def catalog_since(self, since: int) -> tuple[list[tuple[dict[str, Any], int]], list[str]]:
        """Matters changed after ``since`` (record, version) and codes removed after it."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT record, version, removed FROM matters WHERE version > ? "
                "ORDER BY position",
                (since,),
            ).fetchall()
        live = [(json.loads(record), version) for record, version, removed in rows if not removed]
        gone = [json.loads(record)["item_code"] for record, _, removed in rows if removed]
        return live, gone

    def matter(self, item_code: str) -> tuple[dict[str, Any], int] | None:
        """A live matter's record and version, or None."""
        with self._lock:
            row = self.conn.execute(
                "SELECT record, version FROM matters WHERE item_code = ? AND removed = 0",
                (item_code,),
            ).fetchone()
        return None if row is None else (json.loads(row[0]), int(row[1]))

    def change_matter(self, item_code: str, changes: dict[str, Any] | None,
                      remove: bool = False) -> int | None:
        """Bump (optionally edit) or remove a matter; the new catalogue version, or None."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT record FROM matters WHERE item_code = ?", (item_code,)
            ).fetchone()
            if row is None:
                return None
            record = json.loads(row[0]) | (changes or {})
            record["item_code"] = item_code
            version = int(conn.execute("SELECT MAX(version) FROM matters").fetchone()[0]) + 1
            conn.execute(
                "UPDATE matters SET record = ?, version = ?, removed = ? WHERE item_code = ?",
                (json.dumps(record, ensure_ascii=False), version, int(remove), item_code),
            )
            return version

    # -- FAQ ----------------------------------------------------------------------------
    # Versioned like the catalogue (GET /faq?since=N), so that a kiosk pulls only changes.

    def faq_seeded(self) -> bool:
        """Whether the FAQ table has been filled once (it is never re-seeded)."""
        with self._lock:
            return self.conn.execute("SELECT 1 FROM faq LIMIT 1").fetchone() is not None

    def seed_faq(self, entries: list[dict[str, Any]], version: int) -> None:
        """Fill the FAQ at ``version`` (first start only)."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO faq (id, position, record, version) VALUES (?, ?, ?, ?)",
                [(entry["id"], position, json.dumps(entry, ensure_ascii=False), version)
                 for position, entry in enumerate(entries)])

    def faq_version(self) -> int:
        """The FAQ's version: the highest version of any change."""
        with self._lock:
            row = self.conn.execute("SELECT MAX(version) FROM faq").fetchone()
        return int(row[0] or 0)

    def faq_since(self, since: int) -> tuple[list[dict[str, Any]], list[str]]:
        """Entries changed after ``since`` and the ids removed after it."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT id, record, removed FROM faq WHERE version > ? ORDER BY position",
                (since,)).fetchall()
        return ([json.loads(record) for _, record, removed in rows if not removed],
                [ident for ident, _, removed in rows if removed])

    def change_faq(self, entry_id: str, changes: dict[str, Any] | None,
                   remove: bool = False) -> int | None:
        """Bump (optionally edit), add (when ``changes`` make a whole entry) or remove an
        entry; the new FAQ version, or None for an unknown id that cannot be added."""
        with self.transaction() as conn:
            row = conn.execute("SELECT record FROM faq WHERE id = ?", (entry_id,)).fetchone()
            version = int(conn.execute("SELECT MAX(version) FROM faq").fetchone()[0] or 0) + 1
            if row is None:
                if remove or not {"questions", "answer", "item_codes"} <= set(changes or {}):
                    return None
                position = int(conn.execute(
                    "SELECT COALESCE(MAX(position), -1) + 1 FROM faq").fetchone()[0])
                record = {"id": entry_id, **(changes or {})}
                conn.execute("INSERT INTO faq (id, position, record, version) "
                             "VALUES (?, ?, ?, ?)",
                             (entry_id, position, json.dumps(record, ensure_ascii=False),
                              version))
                return version
            record = json.loads(row[0]) | (changes or {})
            record["id"] = entry_id
            conn.execute("UPDATE faq SET record = ?, version = ?, removed = ? WHERE id = ?",
                         (json.dumps(record, ensure_ascii=False), version, int(remove),
                          entry_id))
            return version

    # -- attachments ----------------------------------------------------------------------

    def put_attachment(self, sha256: str, content_type: str, data: bytes) -> bool:
        """Store an attachment; True when it is new (201), False when already held (200)."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO attachments (sha256, content_type, size, data, stored_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (sha256, content_type, len(data), data, time.time()),
            )
            return cursor.rowcount == 1

    def attachment_sizes(self, digests: list[str]) -> dict[str, int]:
        """Sizes of the stored attachments among ``digests``."""
        if not digests:
            return {}
        marks = ",".join("?" * len(digests))
        with self._lock:
            rows = self.conn.execute(
                f"SELECT sha256, size FROM attachments WHERE sha256 IN ({marks})", digests
            ).fetchall()
        return {digest: int(size) for digest, size in rows}

    # -- applications ---------------------------------------------------------------------

    def application(self, number: str) -> dict[str, Any] | None:
        """A stored application by receipt or application number."""
        with self._lock:
            row = self.conn.execute(
                "SELECT application_no, receipt_no, kiosk_id, item_code, body_hash, answer, "
                "received_at, delivery FROM applications "
                "WHERE receipt_no = ? OR application_no = ?",
                (number, number),
            ).fetchone()
        return None if row is None else _application_row(row)

    def applications_of(self, id_hash: str) -> list[dict[str, Any]]:
        """Every application whose applicant has this keyed ID hash, oldest first."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT application_no, receipt_no, kiosk_id, item_code, body_hash, answer, "
                "received_at, delivery FROM applications WHERE id_hash = ? "
                "ORDER BY received_at",
                (id_hash,),
            ).fetchall()
        return [_application_row(row) for row in rows]

    def receipt_numbers(self) -> list[str]:
        """All stored receipt numbers in arrival order (for sync tests)."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT receipt_no FROM applications ORDER BY received_at, rowid"
            ).fetchall()
        return [row[0] for row in rows]

    def counts(self) -> dict[str, int]:
        """Row counts for ``/admin/stats``, with the duplicate check that must stay 0."""
        with self._lock:
            one = self.conn.execute
            return {
                "applications": one("SELECT COUNT(*) FROM applications").fetchone()[0],
                "attachments": one("SELECT COUNT(*) FROM attachments").fetchone()[0],
                "duplicate_receipts": one(
                    "SELECT COUNT(*) FROM (SELECT receipt_no FROM applications "
                    "GROUP BY receipt_no HAVING COUNT(*) > 1)"
                ).fetchone()[0],
                "appointments": one("SELECT COUNT(*) FROM bookings").fetchone()[0],
                "evaluations": one(
                    "SELECT COUNT(*) FROM idempotent WHERE kind = 'evaluation'"
                ).fetchone()[0],
                "heartbeats": one("SELECT COUNT(*) FROM heartbeats").fetchone()[0],
            }

    def reset(self) -> None:
        """Forget applications, attachments, bookings and tickets.  Not the catalogue, and
        not the nonces: a reset must not let the requests of the last ten minutes be
        replayed."""
        with self.transaction() as conn:
            for table in ("applications", "attachments", "idempotent", "bookings",
                          "heartbeats", "counters"):
                conn.execute(f"DELETE FROM {table}")

    # -- site profiles --------------------------------------------------------------------

    def site_profile(self, kiosk_id: str) -> dict[str, Any] | None:
        """The profile kept for ``kiosk_id``, or None."""
        text = self.meta(f"site_profile:{kiosk_id}")
        return None if text is None else json.loads(text)

    def set_site_profile(self, kiosk_id: str, profile: dict[str, Any] | None) -> int:
        """Keep (or with None drop) a kiosk's profile and bump ``config_version``, which the
        heartbeat answer carries, in one transaction; returns the new config version. The
        stored profile's ``version`` is that config version."""
        with self.transaction() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'config_version'").fetchone()
            version = int(row[0]) + 1 if row else 2
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('config_version', ?)",
                         (str(version),))
            key = f"site_profile:{kiosk_id}"
            if profile is None:
                conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                stored = dict(profile, version=version)
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             (key, json.dumps(stored, ensure_ascii=False)))
        return version

    # -- heartbeats -----------------------------------------------------------------------

    def heartbeat(self, kiosk_id: str, body: dict[str, Any], now: float) -> None:
        """Keep the latest heartbeat of a kiosk."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO heartbeats (kiosk_id, body, at) VALUES (?, ?, ?)",
                (kiosk_id, json.dumps(body, ensure_ascii=False), now),
            )

    def bookings(self, slot_ids: list[str]) -> dict[str, int]:
        """Bookings per slot among ``slot_ids``."""
        if not slot_ids:
            return {}
        marks = ",".join("?" * len(slot_ids))
        with self._lock:
            rows = self.conn.execute(
                f"SELECT slot_id, COUNT(*) FROM bookings WHERE slot_id IN ({marks}) "
                "GROUP BY slot_id",
                slot_ids,
            ).fetchall()
        return {slot: int(count) for slot, count in rows}


def _application_row(row: tuple[Any, ...]) -> dict[str, Any]:
    names = ("application_no", "receipt_no", "kiosk_id", "item_code", "body_hash", "answer",
             "received_at", "delivery")
    record = dict(zip(names, row, strict=True))
    record["answer"] = json.loads(record["answer"])
    record["delivery"] = json.loads(record["delivery"])
    return record
