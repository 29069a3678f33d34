"""Retention: delete citizens' applications some days after the platform acknowledged them.

The kiosk is a public machine; it keeps an application only while it is useful here (the
citizen may come back to ask about progress, a technician may need to check a receipt).
Deletion follows design lessons §9: only after the platform confirmed it has the
application, plus a retention window, never on send alone. So only records in
``acknowledged`` or ``status_synced`` are candidates (and ``purgeable`` ones, which are
past that decision already); drafts, unsent, uploading and quarantined records are never
touched, whatever their age.

Order of work, chosen for crash safety:

1. Per batch, in one transaction: move the expired records to ``purgeable``, delete their
   ``application_attachments`` rows and the records themselves. A crash rolls the batch
   back whole; nothing is half-deleted.
2. After that commit, delete the attachment files no remaining row references. A crash
   between 1 and 2 leaves orphan files, which :meth:`AttachmentStore.reconcile` removes at
   the next start; the reverse order could leave rows pointing at deleted files.

Files are deleted while holding the database write lock (an empty ``BEGIN IMMEDIATE``
transaction), with the reference check inside it. Attachments are content-addressed, so a
new application may want the very same file; a writer that links a file and checks, inside
its own write transaction, that the file still exists can then never commit a row whose
file this pass has just removed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from offline_cache.attachments import DIGEST, AttachmentStore
from offline_cache.database import transaction
from offline_cache.outbox import State

__all__ = ["DAY", "EXPIRING", "PurgeReport", "expired_before", "purge_expired"]

DAY = 86_400.0

EXPIRING: tuple[State, ...] = (State.ACKNOWLEDGED, State.STATUS_SYNCED)
"""States whose records expire: the platform has them, so the kiosk's copy is a courtesy."""

DEFAULT_BATCH = 200
"""Records per transaction: small enough that the touchscreen's writer never waits long."""


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What one pass removed (counts only: no ids, receipt numbers or digests to log)."""

    applications: int
    attachment_rows: int
    files: int
    batches: int
    cutoff: float


def expired_before(now: float, retention_days: int) -> float:
    """The cutoff: records acknowledged before this time have served their retention."""
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, not {retention_days}")
    return now - retention_days * DAY


def purge_expired(
    conn: sqlite3.Connection,
    attachment_store: AttachmentStore,
    retention_days: int,
    clock: Callable[[], float] = time.time,
    *,
    batch_size: int = DEFAULT_BATCH,
) -> PurgeReport:
    """Delete records acknowledged more than ``retention_days`` ago, then their files.

    The acknowledgement time is ``acknowledged_at`` (schema version 4). A record from before
    that column has none and falls back to ``updated_at``, which is never earlier than the
    acknowledgement, so such a record is kept at least as long as its retention asks.
    Records already in ``purgeable`` are deleted whatever their age: that state is only
    entered from an acknowledged one and means exactly "delete me".

    ``conn`` must be in autocommit mode (as :func:`~offline_cache.database.open_database`
    returns it). Safe to run while the app and the sync worker use the same file.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = clock()
    cutoff = expired_before(now, retention_days)
    applications = attachment_rows = files = batches = 0
    while True:
        removed_ids, digests = _purge_batch(conn, cutoff, now, batch_size)
        if not removed_ids:
            break
        batches += 1
        applications += len(removed_ids)
        attachment_rows += len(digests)
        files += _delete_unreferenced_files(conn, attachment_store, set(digests))
    return PurgeReport(applications, attachment_rows, files, batches, cutoff)


def _purge_batch(
    conn: sqlite3.Connection, cutoff: float, now: float, batch_size: int
) -> tuple[list[str], list[str]]:
    """One transaction: expired records to ``purgeable``, then gone with their links.

    Returns the deleted local ids and the digest of every attachment row deleted (one per
    row, so the same photo on two records appears twice).
    """
    with transaction(conn):
        ids = _expired_ids(conn, cutoff, batch_size)
        if not ids:
            return [], []
        marks = ", ".join("?" for _ in ids)
        expiring = ", ".join("?" for _ in EXPIRING)
        conn.execute(
            f"UPDATE applications SET state = ?, updated_at = ?"
            f" WHERE local_id IN ({marks}) AND state IN ({expiring})",
            (State.PURGEABLE, now, *ids, *EXPIRING),
        )
        digests = [
            row[0]
            for row in conn.execute(
                f"SELECT sha256 FROM application_attachments WHERE local_id IN ({marks})", ids
            )
        ]
        conn.execute(f"DELETE FROM application_attachments WHERE local_id IN ({marks})", ids)
        deleted = conn.execute(
            f"DELETE FROM applications WHERE local_id IN ({marks}) AND state = ?",
            (*ids, State.PURGEABLE),
        ).rowcount
        if deleted != len(ids):  # pragma: no cover - the write lock makes this impossible
            raise RuntimeError(f"purge batch changed under us: {deleted} of {len(ids)} deleted")
    return ids, digests


def _expired_ids(conn: sqlite3.Connection, cutoff: float, batch_size: int) -> list[str]:
    """Up to ``batch_size`` records due for deletion, oldest acknowledgement first."""
    expiring = ", ".join("?" for _ in EXPIRING)
    rows = conn.execute(
        "SELECT local_id FROM applications"
        f" WHERE (state IN ({expiring}) AND COALESCE(acknowledged_at, updated_at) < ?)"
        " OR state = ?"
        " ORDER BY COALESCE(acknowledged_at, updated_at), local_id LIMIT ?",
        (*EXPIRING, cutoff, State.PURGEABLE, batch_size),
    )
    return [row[0] for row in rows]


def _delete_unreferenced_files(
    conn: sqlite3.Connection, store: AttachmentStore, digests: Iterable[str]
) -> int:
    """Delete the files of ``digests`` that no remaining row references; returns how many.

    Runs under the write lock so that no application can link one of these files between
    the reference check and the unlink (see the module docstring).
    """
    removed = 0
    with transaction(conn):
        for digest in sorted(set(digests)):
            still_used = conn.execute(
                "SELECT 1 FROM application_attachments WHERE sha256 = ? LIMIT 1", (digest,)
            ).fetchone()
            if still_used or not DIGEST.fullmatch(digest):
                continue  # needed by another record, or a damaged row naming no file
            path = store.path(digest)
            if path.exists():
                store.delete(digest)
                removed += 1
    return removed
