"""The master key's custody: a key is made only where nothing sealed can need an old one.

A master key file that disappears (a restore that forgot it, a technician's ``rm``) must
raise an alarm, not be replaced: a new key opens none of the records sealed with the old
one, so every queued application would end quarantined as unreadable. Whether anything
needs the key is a question about the database and the attachment folder, so it is
answered here, beside them, and :func:`offline_cache.sealing.open_master_key` decides.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from offline_cache.database import open_database
from offline_cache.sealing import open_master_key

#: Outbox states whose sealed payload is still on its way (the platform has not got it).
_NOT_YET_ACKNOWLEDGED = ("draft", "sealed", "uploading", "retry_later", "quarantined")
#: The same for queued ratings (offline_cache.evaluations): everything but "sent".
_RATINGS_NOT_SENT = ("queued", "uploading", "retry_later", "quarantined")


def sealed_records(conn: sqlite3.Connection | None, attachments_dir: Path) -> int:
    """How many sealed records need the master key: unacknowledged applications, unsent
    ratings (their comment is sealed) and sealed attachment files.

    Acknowledged rows are not counted: the platform has them, and losing the key only
    loses the kiosk's courtesy copy (a receipt reprint), which retention deletes anyway.
    ``conn`` None: no database (only the attachment folder is looked at).
    """
    rows = _count(conn, "applications", _NOT_YET_ACKNOWLEDGED) + \
        _count(conn, "evaluations", _RATINGS_NOT_SENT)
    folder = Path(attachments_dir)
    files = sum(1 for _ in folder.glob("*.sealed")) if folder.is_dir() else 0
    return rows + files


def _count(conn: sqlite3.Connection | None, table: str, states: tuple[str, ...]) -> int:
    """Rows of ``table`` in ``states`` (0 when there is no database or no such table yet)."""
    if conn is None or not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone():
        return 0
    marks = ", ".join("?" for _ in states)
    return int(conn.execute(f"SELECT COUNT(*) FROM {table} WHERE state IN ({marks})",
                            states).fetchone()[0])


def master_key_for(key_path: Path, database: Path, attachments_dir: Path, *,
                   create: bool) -> bytes | None:
    """The master key, checked against what the database and attachment folder hold.

    ``create`` is for a caller about to seal (the touchscreen's submit, ``kiosk queue
    add``); read-only callers pass False and get ``None`` when there is no key and nothing
    sealed. A missing key with sealed records raises
    :class:`~offline_cache.sealing.MasterKeyMissing` (how many records, restore from
    backup). The database is opened only when the key file is missing.
    """
    if Path(key_path).exists():
        return open_master_key(key_path, sealed_records=0, create=False)
    conn = open_database(database) if Path(database).exists() else None
    try:
        count = sealed_records(conn, attachments_dir)
    finally:
        if conn is not None:
            conn.close()
    return open_master_key(key_path, sealed_records=count, create=create)
