"""The evaluation queue: citizens' ratings (好差评) waiting for the platform, sent once.

    queued -> uploading -> sent
                |  ^
                v  |
            retry_later        uploading -> quarantined -> queued (technician)

A rating is a small cousin of an application in the outbox (offline_cache.outbox): it is
made on the kiosk, possibly offline, and must reach the platform exactly once. So it gets
the same rules: its id (the Idempotency-Key of every send) is made here when it is queued,
it moves to ``uploading`` in a committed transaction before any byte goes out, and a crash
in between leaves it ``uploading`` for :meth:`EvaluationQueue.recover_interrupted` to send
again under the same key.

Everything the citizen said (score, ticked indicators, free text) and the receipt number it
is about are sealed with the master key, bound to the row's id and item code: a comment may
name a person, and a score beside a receipt number says who gave it. The clear columns
(state, attempts, reasons) carry nothing personal, so ``kiosk queue status`` may show them.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from offline_cache.database import transaction
from offline_cache.reasons import clear_reason
from offline_cache.sealing import SealError, seal, unseal
from offline_cache.transitions import checked_move


class EvalState(StrEnum):
    """Where a rating is on its way to the platform."""

    QUEUED = "queued"
    UPLOADING = "uploading"
    RETRY_LATER = "retry_later"
    SENT = "sent"
    QUARANTINED = "quarantined"


ALLOWED: dict[EvalState, frozenset[EvalState]] = {
    EvalState.QUEUED: frozenset({EvalState.UPLOADING}),
    EvalState.UPLOADING: frozenset({EvalState.SENT, EvalState.RETRY_LATER,
                                    EvalState.QUARANTINED}),
    EvalState.RETRY_LATER: frozenset({EvalState.UPLOADING}),
    EvalState.QUARANTINED: frozenset({EvalState.QUEUED}),
    EvalState.SENT: frozenset(),
}
"""Which state may follow which; anything else raises :class:`EvalTransitionError`."""

UNSENT: tuple[EvalState, ...] = (EvalState.QUEUED, EvalState.UPLOADING, EvalState.RETRY_LATER)


class EvalTransitionError(Exception):
    """The rating is not in a state the requested move may start from."""


class EvaluationSealBroken(SealError):
    """A rating's sealed payload does not open with its own id, item code and this key.

    Never sent: the sync worker quarantines it with this class's name as the reason.
    """


@dataclass(frozen=True)
class QueuedEvaluation:
    """A row of the queue without its sealed payload (nothing personal)."""

    eval_id: str
    state: EvalState
    item_code: str
    created_at: float
    attempts: int
    next_attempt_at: float | None
    last_error: str | None
    quarantine_reason: str | None
    evaluation_no: str | None
    sent_at: float | None


_COLUMNS = ("eval_id, state, item_code, created_at, attempts, next_attempt_at, last_error, "
            "quarantine_reason, evaluation_no, sent_at")


def new_eval_id() -> str:
    """A key no other rating of any kiosk will have (the platform dedups on it)."""
    return "ev-" + uuid.uuid4().hex


class EvaluationQueue:
    """Ratings in the kiosk database; ``master_key`` seals what the citizen said."""

    def __init__(self, conn: sqlite3.Connection, master_key: bytes,
                 clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.master_key = master_key
        self.clock = clock

    # -- writing ------------------------------------------------------------------------
    def enqueue(self, item_code: str, body: dict[str, Any]) -> str:
        """Queue one rating (``body``: the platform's body, sealed whole); returns its id.

        One transaction: either the rating is queued with its id or nothing is.
        """
        eval_id = new_eval_id()
        now = self.clock()
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO evaluations (eval_id, state, item_code, payload, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (eval_id, EvalState.QUEUED, item_code, self._seal(eval_id, item_code, body),
                 now, now))
        return eval_id

    def start_upload(self, eval_id: str) -> None:
        """The sync worker takes the rating; committed before any network I/O."""
        with transaction(self.conn):
            self._move(eval_id, EvalState.UPLOADING)

    def mark_sent(self, eval_id: str, evaluation_no: str | None, note: str | None = None) -> None:
        """The platform has it (``evaluation_no`` None when it held the key already)."""
        with transaction(self.conn):
            self._move(eval_id, EvalState.SENT, evaluation_no=evaluation_no,
                       next_attempt_at=None, sent_at=self.clock(),
                       last_error=clear_reason(note))

    def retry_later(self, eval_id: str, error: str, delay: float) -> None:
        """A transient failure: due again after ``delay`` seconds."""
        with transaction(self.conn):
            self._move(eval_id, EvalState.RETRY_LATER, last_error=clear_reason(error),
                       next_attempt_at=self.clock() + delay, attempts_increment=True)

    def quarantine(self, eval_id: str, reason: str) -> None:
        """A permanent failure a technician must look at; the rest of the queue goes on."""
        with transaction(self.conn):
            self._move(eval_id, EvalState.QUARANTINED, quarantine_reason=clear_reason(reason),
                       attempts_increment=True)

    def release(self, eval_id: str) -> None:
        """The technician fixed the cause: queue the quarantined rating again."""
        with transaction(self.conn):
            self._move(eval_id, EvalState.QUEUED, quarantine_reason=None, next_attempt_at=None)

    def recover_interrupted(self) -> int:
        """At start-up (holding the sync lock): ratings left ``uploading`` are due again.

        The send may have reached the platform; resending is safe because it carries the
        same id as Idempotency-Key and the platform answers a repeat with the first answer.
        """
        now = self.clock()
        with transaction(self.conn):
            cursor = self.conn.execute(
                "UPDATE evaluations SET state = ?, next_attempt_at = ?, updated_at = ?,"
                " last_error = 'interrupted while uploading' WHERE state = ?",
                (EvalState.RETRY_LATER, now, now, EvalState.UPLOADING))
        return cursor.rowcount

    def purge_sent(self, older_than: float) -> int:
        """Forget ratings the platform has held since before ``older_than`` (retention)."""
        with transaction(self.conn):
            cursor = self.conn.execute(
                "DELETE FROM evaluations WHERE state = ? AND sent_at < ?",
                (EvalState.SENT, older_than))
        return cursor.rowcount

    # -- reading ------------------------------------------------------------------------
    def get(self, eval_id: str) -> QueuedEvaluation:
        """One rating (without its payload); KeyError when there is none."""
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM evaluations WHERE eval_id = ?",
                                (eval_id,)).fetchone()
        if row is None:
            raise KeyError(eval_id)
        return _row(row)

    def body(self, eval_id: str) -> dict[str, Any]:
        """The unsealed body to send (never log it); :class:`EvaluationSealBroken` when it
        does not open with the row's own id and item code or with this kiosk's key."""
        row = self.conn.execute("SELECT payload, item_code FROM evaluations WHERE eval_id = ?",
                                (eval_id,)).fetchone()
        if row is None:
            raise KeyError(eval_id)
        blob, item_code = row
        try:
            data = json.loads(unseal(self.master_key, blob, _aad(eval_id, item_code)))
        except (SealError, ValueError):
            raise EvaluationSealBroken(
                f"evaluation {eval_id}: its sealed payload does not open with its id and "
                "item code (edited or moved) or with this kiosk's master key") from None
        if not isinstance(data, dict):
            raise EvaluationSealBroken(f"evaluation {eval_id}: the payload is not an object")
        return data

    def due(self, limit: int = 100) -> list[QueuedEvaluation]:
        """Ratings to send now, oldest first: queued, or retry_later whose time has come."""
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM evaluations WHERE state = ? OR (state = ? AND"
            " next_attempt_at <= ?) ORDER BY created_at, eval_id LIMIT ?",
            (EvalState.QUEUED, EvalState.RETRY_LATER, self.clock(), limit)).fetchall()
        return [_row(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Number of ratings per state (``kiosk queue status``)."""
        rows = self.conn.execute("SELECT state, COUNT(*) FROM evaluations GROUP BY state")
        return {state: count for state, count in rows}

    def listing(self, states: tuple[EvalState, ...], limit: int = 100
                ) -> list[QueuedEvaluation]:
        """Ratings in ``states``, oldest first."""
        marks = ", ".join("?" for _ in states)
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM evaluations WHERE state IN ({marks})"
            " ORDER BY created_at, eval_id LIMIT ?", (*states, limit)).fetchall()
        return [_row(row) for row in rows]

    def backlog(self) -> int:
        """How many ratings the platform has not acknowledged yet."""
        marks = ", ".join("?" for _ in UNSENT)
        return int(self.conn.execute(
            f"SELECT COUNT(*) FROM evaluations WHERE state IN ({marks})", UNSENT).fetchone()[0])

    # -- internals ----------------------------------------------------------------------
    def _seal(self, eval_id: str, item_code: str, body: dict[str, Any]) -> bytes:
        plaintext = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
        return seal(self.master_key, plaintext, _aad(eval_id, item_code))

    def _move(self, eval_id: str, target: EvalState, *, attempts_increment: bool = False,
              **fields: Any) -> None:
        """Inside the caller's transaction: one checked state change."""
        checked_move(self.conn, table="evaluations", key_column="eval_id", key=eval_id,
                     target=target, allowed=ALLOWED, now=self.clock(),
                     error=EvalTransitionError, what="evaluation",
                     attempts_increment=attempts_increment, fields=fields)


def _aad(eval_id: str, item_code: str) -> bytes:
    """What a rating's sealed payload is bound to: its id and item code (JSON-encoded so
    neither can run into the other). Editing either column makes :meth:`body` refuse."""
    return b"evaluation/v1|" + json.dumps([eval_id, item_code], ensure_ascii=False).encode()


def _row(row: tuple[Any, ...]) -> QueuedEvaluation:
    return QueuedEvaluation(row[0], EvalState(row[1]), *row[2:])
