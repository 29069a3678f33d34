"""The outbox: one explicit state machine per citizen's application.

    draft -> sealed -> uploading -> acknowledged -> status_synced -> purgeable
                         |  ^
                         v  |
                     retry_later          uploading -> quarantined -> sealed (technician)

Every transition is one SQL transaction that checks the state it starts from, so two
workers (or a worker and a technician) can never move a record twice. The receipt number is
made when the application is sealed, so the receipt prints while the network is down. The
applicant, form and delivery details are sealed with the kiosk's key before they touch the
database; the other columns carry no personal data.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from offline_cache.database import transaction
from offline_cache.reasons import clear_reason
from offline_cache.sealing import SealError, seal, unseal
from offline_cache.transitions import checked_move


class State(StrEnum):
    """Where an application is on its way to the platform."""

    DRAFT = "draft"
    SEALED = "sealed"
    UPLOADING = "uploading"
    RETRY_LATER = "retry_later"
    ACKNOWLEDGED = "acknowledged"
    STATUS_SYNCED = "status_synced"
    QUARANTINED = "quarantined"
    PURGEABLE = "purgeable"


ALLOWED: dict[State, frozenset[State]] = {
    State.DRAFT: frozenset({State.SEALED}),
    State.SEALED: frozenset({State.UPLOADING}),
    State.UPLOADING: frozenset({State.ACKNOWLEDGED, State.RETRY_LATER, State.QUARANTINED}),
    State.RETRY_LATER: frozenset({State.UPLOADING}),
    State.ACKNOWLEDGED: frozenset({State.STATUS_SYNCED, State.PURGEABLE}),
    State.STATUS_SYNCED: frozenset({State.PURGEABLE}),
    State.QUARANTINED: frozenset({State.SEALED}),
    State.PURGEABLE: frozenset(),
}
"""Which state may follow which; anything else is a bug and raises InvalidTransition."""


class InvalidTransition(Exception):
    """The record is not in a state the requested move may start from."""


class PayloadSealBroken(SealError):
    """A record's sealed payload does not open with its own columns and this kiosk's key.

    Its receipt number or item code was edited, its payload was copied from another row,
    the blob is damaged, or the master key was replaced. Such a record must never be sent:
    the sync worker quarantines it with this class's name as the reason.
    """


@dataclass(frozen=True)
class Application:
    """A row of the outbox without its sealed payload."""

    local_id: str
    receipt_no: str | None
    state: State
    item_code: str
    created_at: float
    attempts: int
    next_attempt_at: float | None
    last_error: str | None
    quarantine_reason: str | None
    application_no: str | None
    acknowledged_at: float | None = None
    platform_status: str | None = None


_COLUMNS = ("local_id, receipt_no, state, item_code, created_at, attempts, next_attempt_at, "
            "last_error, quarantine_reason, application_no, acknowledged_at, platform_status")

UNSENT: tuple[State, ...] = (State.SEALED, State.UPLOADING, State.RETRY_LATER)
"""States of an application the platform has not acknowledged yet (the backlog)."""


class Outbox:
    """Applications in the kiosk database; ``master_key`` seals their personal data."""

    def __init__(self, conn: sqlite3.Connection, master_key: bytes,
                 make_number: Callable[[date, int], str],
                 clock: Callable[[], float] = time.time) -> None:
        """``make_number(day, sequence)`` formats receipt numbers (the core's rule)."""
        self.conn = conn
        self.master_key = master_key
        self.make_number = make_number
        self.clock = clock

    # -- writing ------------------------------------------------------------------------
    def create_draft(self, item_code: str, payload: dict[str, Any]) -> str:
        """A new draft holding ``payload`` sealed; returns its local id."""
        with transaction(self.conn):
            return self._insert_draft(item_code, payload)

    def enqueue(self, item_code: str, payload: dict[str, Any],
                attachments: list[tuple[str, str, int]], day: date | None = None
                ) -> tuple[str, str]:
        """Draft, attach and seal in one transaction; returns (local_id, receipt_no).

        For a submission whose files are already durable (AttachmentStore.put): one commit
        instead of four, so either the whole application is in the queue or none of it.
        ``attachments`` holds (sha256, content_type, size) per file.
        """
        with transaction(self.conn):
            local_id = self._insert_draft(item_code, payload)
            self.conn.executemany(
                "INSERT OR IGNORE INTO application_attachments (local_id, sha256, content_type,"
                " size) VALUES (?, ?, ?, ?)",
                [(local_id, digest, kind, size) for digest, kind, size in attachments])
            receipt_no = self._number_and_seal(local_id, day)
        return local_id, receipt_no

    def add_attachment(self, local_id: str, digest: str, content_type: str, size: int) -> None:
        """Link a stored file (AttachmentStore.put, already durable) to a draft."""
        with transaction(self.conn):
            state = self.conn.execute(
                "SELECT state FROM applications WHERE local_id = ?", (local_id,)).fetchone()
            if state is None or state[0] != State.DRAFT:
                where = f"it is {state[0]}" if state else "no such application"
                raise InvalidTransition(f"cannot attach to {local_id}: {where}")
            self.conn.execute(
                "INSERT OR IGNORE INTO application_attachments (local_id, sha256, content_type,"
                " size) VALUES (?, ?, ?, ?)", (local_id, digest, content_type, size))

    def attachments(self, local_id: str) -> list[tuple[str, str, int]]:
        """(sha256, content_type, size) of an application's files."""
        return list(self.conn.execute(
            "SELECT sha256, content_type, size FROM application_attachments WHERE local_id = ?"
            " ORDER BY sha256", (local_id,)))

    def referenced_attachments(self) -> set[str]:
        """Every digest some application still needs (for AttachmentStore.reconcile)."""
        return {row[0] for row in self.conn.execute(
            "SELECT DISTINCT sha256 FROM application_attachments")}

    def seal_application(self, local_id: str, day: date | None = None) -> str:
        """Freeze the draft and give it its receipt number (made here, offline).

        The day's sequence is taken in the same transaction as the state change, so a crash
        can never leave a sealed application without a number or a number used twice.
        """
        with transaction(self.conn):
            return self._number_and_seal(local_id, day)

    def _number_and_seal(self, local_id: str, day: date | None) -> str:
        """Inside the caller's transaction: take the day's next sequence and seal."""
        day = day or date.fromtimestamp(self.clock())
        row = self.conn.execute(
            "SELECT last FROM receipt_sequences WHERE day = ?", (day.isoformat(),)
        ).fetchone()
        sequence = (row[0] if row else 0) + 1
        self.conn.execute(
            "INSERT INTO receipt_sequences (day, last) VALUES (?, ?) "
            "ON CONFLICT(day) DO UPDATE SET last = excluded.last",
            (day.isoformat(), sequence),
        )
        receipt_no = self.make_number(day, sequence)
        # the payload was sealed as a draft, without a number: seal it again bound to it
        try:
            payload = self._unseal(local_id)
        except KeyError:
            payload = {}  # no such row: _move says so
        self._move(local_id, State.SEALED, receipt_no=receipt_no)
        item_code = self.conn.execute(
            "SELECT item_code FROM applications WHERE local_id = ?", (local_id,)).fetchone()[0]
        self.conn.execute(
            "UPDATE applications SET payload = ?, aad_version = ? WHERE local_id = ?",
            (self._seal(local_id, payload, receipt_no, item_code), AAD_VERSION, local_id))
        return receipt_no

    def start_upload(self, local_id: str) -> None:
        """The sync worker takes the record (from sealed or retry_later)."""
        with transaction(self.conn):
            self._move(local_id, State.UPLOADING)

    def acknowledge(self, local_id: str, application_no: str) -> None:
        """The platform has the application; keep its official number."""
        with transaction(self.conn):
            self._move(local_id, State.ACKNOWLEDGED, application_no=application_no,
                       last_error=None, next_attempt_at=None, acknowledged_at=self.clock())

    def retry_later(self, local_id: str, error: str, delay: float) -> None:
        """A transient failure: try again after ``delay`` seconds (``error`` kept cleared)."""
        with transaction(self.conn):
            self._move(local_id, State.RETRY_LATER, last_error=clear_reason(error),
                       next_attempt_at=self.clock() + delay, attempts_increment=True)

    def quarantine(self, local_id: str, reason: str) -> None:
        """A permanent failure a technician must look at; the rest of the queue goes on.

        ``reason`` is shown in clear, so it passes :func:`~offline_cache.reasons.clear_reason`.
        """
        with transaction(self.conn):
            self._move(local_id, State.QUARANTINED, quarantine_reason=clear_reason(reason),
                       attempts_increment=True)

    def quarantine_waiting_on(self, digest: str, reason: str) -> int:
        """Quarantine every sealed or deferred record that lists the file ``digest``.

        For start-up recovery when a file is gone: such a record can never be sent, and a
        technician must see it rather than the queue retrying it for ever. Records the
        platform already has keep their state. Returns how many were quarantined.
        """
        with transaction(self.conn):
            cursor = self.conn.execute(
                "UPDATE applications SET state = ?, quarantine_reason = ?, updated_at = ?"
                " WHERE state IN (?, ?) AND local_id IN (SELECT local_id FROM"
                " application_attachments WHERE sha256 = ?)",
                (State.QUARANTINED, clear_reason(reason), self.clock(), State.SEALED,
                 State.RETRY_LATER,
                 digest))
        return cursor.rowcount

    def release(self, local_id: str) -> None:
        """The technician fixed the cause: send the quarantined record again."""
        with transaction(self.conn):
            self._move(local_id, State.SEALED, quarantine_reason=None, next_attempt_at=None)

    def retry_now(self, local_id: str) -> State:
        """A technician's "send it again": quarantined -> sealed, retry_later due now.

        Returns the state the record was in. Any other state raises InvalidTransition.
        """
        with transaction(self.conn):
            current = self.get(local_id).state
            if current is State.QUARANTINED:
                self._move(local_id, State.SEALED, quarantine_reason=None, next_attempt_at=None)
            elif current is State.RETRY_LATER:
                self.conn.execute(
                    "UPDATE applications SET next_attempt_at = ?, updated_at = ?"
                    " WHERE local_id = ?", (self.clock(), self.clock(), local_id))
            else:
                raise InvalidTransition(f"cannot retry {local_id}: it is {current}")
        return current

    def mark_status_synced(self, local_id: str) -> None:
        """The progress of an acknowledged application has been fetched."""
        with transaction(self.conn):
            self._move(local_id, State.STATUS_SYNCED)

    def record_status(self, local_id: str, status: str) -> None:
        """Keep the platform's progress status; the first one moves acknowledged on."""
        with transaction(self.conn):
            now = self.clock()
            self.conn.execute(
                "UPDATE applications SET platform_status = ?, status_checked_at = ?,"
                " updated_at = ? WHERE local_id = ? AND state IN (?, ?)",
                (status, now, now, local_id, State.ACKNOWLEDGED, State.STATUS_SYNCED))
            self.conn.execute(
                "UPDATE applications SET state = ? WHERE local_id = ? AND state = ?",
                (State.STATUS_SYNCED, local_id, State.ACKNOWLEDGED))

    def recover_interrupted(self) -> int:
        """At start-up: records left in ``uploading`` by a crash go back to retry_later.

        The upload may or may not have reached the platform; resending it is safe because
        the platform keys idempotency on the receipt number.
        """
        with transaction(self.conn):
            cursor = self.conn.execute(
                "UPDATE applications SET state = ?, next_attempt_at = ?, updated_at = ?,"
                " last_error = 'interrupted while uploading' WHERE state = ?",
                (State.RETRY_LATER, self.clock(), self.clock(), State.UPLOADING),
            )
        return cursor.rowcount

    # -- reading ------------------------------------------------------------------------
    def get(self, local_id: str) -> Application:
        """One record (without its payload)."""
        return self._one("local_id", local_id)

    def payload(self, local_id: str) -> dict[str, Any]:
        """The unsealed personal data of one record (for upload only; never log it).

        :class:`PayloadSealBroken` when it does not open with the row's own local id,
        receipt number and item code (see :func:`_aad`).
        """
        return self._unseal(local_id)

    def _unseal(self, local_id: str) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT payload, aad_version, receipt_no, item_code FROM applications"
            " WHERE local_id = ?", (local_id,)).fetchone()
        if row is None:
            raise KeyError(local_id)
        blob, version, receipt_no, item_code = row
        try:
            aad = _aad(local_id, receipt_no, item_code, version)
            return json.loads(unseal(self.master_key, blob, aad))
        except (SealError, ValueError):
            raise PayloadSealBroken(
                f"application {local_id}: its sealed payload does not open with its receipt "
                "number and item code (edited or moved) or with this kiosk's master key"
            ) from None

    def due(self, limit: int = 100) -> list[Application]:
        """Records to send now, oldest first: sealed, or retry_later whose time has come."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM applications WHERE state = ? OR (state = ? AND "
            "next_attempt_at <= ?) ORDER BY created_at, local_id LIMIT ?",
            (State.SEALED, State.RETRY_LATER, self.clock(), limit),
        ).fetchall()
        return [_application(row) for row in rows]

    def find(self, receipt_no: str) -> Application:
        """The record of a receipt number (KeyError when this kiosk has none)."""
        return self._one("receipt_no", receipt_no)

    def _one(self, column: str, value: str) -> Application:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM applications WHERE {column} = ?", (value,)
        ).fetchone()
        if row is None:
            raise KeyError(value)
        return _application(row)

    def listing(self, states: tuple[State, ...] | None = None, limit: int = 50,
                *, latest: bool = False) -> list[Application]:
        """Records in ``states`` (all when None), oldest first, for the queue screen.

        ``latest`` takes the ``limit`` newest records instead of the oldest (still listed
        oldest first).
        """
        chosen = tuple(states or State)
        marks = ", ".join("?" for _ in chosen)
        order = "DESC" if latest else "ASC"
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM applications WHERE state IN ({marks})"
            f" ORDER BY created_at {order}, local_id {order} LIMIT ?",
            (*chosen, limit)).fetchall()
        records = [_application(row) for row in rows]
        return records[::-1] if latest else records

    def backlog(self) -> tuple[int, float | None]:
        """(number of unsent applications, created_at of the oldest) for gates and heartbeat."""
        marks = ", ".join("?" for _ in UNSENT)
        count, oldest = self.conn.execute(
            f"SELECT COUNT(*), MIN(created_at) FROM applications WHERE state IN ({marks})",
            UNSENT).fetchone()
        return int(count), oldest

    def needing_progress(self, older_than: float, limit: int = 20) -> list[Application]:
        """Acknowledged records whose progress was not checked since ``older_than``.

        Final statuses (completed, rejected) are not asked again.
        """
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM applications WHERE state IN (?, ?) AND"
            " (platform_status IS NULL OR platform_status NOT IN ('completed', 'rejected'))"
            " AND COALESCE(status_checked_at, 0) < ? ORDER BY status_checked_at, created_at"
            " LIMIT ?", (State.ACKNOWLEDGED, State.STATUS_SYNCED, older_than, limit)).fetchall()
        return [_application(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Number of records per state (for the queue screen and the heartbeat)."""
        rows = self.conn.execute("SELECT state, COUNT(*) FROM applications GROUP BY state")
        return {state: count for state, count in rows}

    # -- internals ----------------------------------------------------------------------
    def _insert_draft(self, item_code: str, payload: dict[str, Any]) -> str:
        """Inside the caller's transaction: a new draft row; returns its local id."""
        local_id = uuid.uuid4().hex
        now = self.clock()
        self.conn.execute(
            "INSERT INTO applications (local_id, state, item_code, payload, aad_version,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (local_id, State.DRAFT, item_code, self._seal(local_id, payload, None, item_code),
             AAD_VERSION, now, now),
        )
        return local_id

    def _seal(self, local_id: str, payload: dict[str, Any], receipt_no: str | None,
              item_code: str) -> bytes:
        plaintext = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        return seal(self.master_key, plaintext, _aad(local_id, receipt_no, item_code))

    def _move(self, local_id: str, target: State, *, attempts_increment: bool = False,
              **fields: Any) -> None:
        checked_move(self.conn, table="applications", key_column="local_id", key=local_id,
                     target=target, allowed=ALLOWED, now=self.clock(), error=InvalidTransition,
                     what="application", attempts_increment=attempts_increment, fields=fields)


AAD_VERSION = 2
"""The associated-data version new rows are sealed with (column ``aad_version``)."""


def _aad(local_id: str, receipt_no: str | None, item_code: str,
         version: int = AAD_VERSION) -> bytes:
    """What a row's sealed payload is bound to, by the row's ``aad_version``.

    - 1 (rows sealed before schema version 5; the column's default): the local id only.
      Such rows still open; their receipt number and item code are not covered.
    - 2: the local id, receipt number (empty for a draft, sealed again when the number is
      given) and item code, JSON-encoded so no value can run into the next. Editing
      ``receipt_no`` or ``item_code`` with sqlite3, or copying a payload to another row,
      makes :meth:`Outbox.payload` raise :class:`PayloadSealBroken`. Setting a v2 row's
      ``aad_version`` back to 1 does not help: it was not sealed with the v1 data.
    """
    if version == 1:
        return f"application|{local_id}".encode()
    if version == 2:
        bound = json.dumps([local_id, receipt_no or "", item_code], ensure_ascii=False)
        return b"application/v2|" + bound.encode()
    raise SealError(f"unknown associated-data version {version}")


def _application(row: tuple[Any, ...]) -> Application:
    return Application(row[0], row[1], State(row[2]), *row[3:])
