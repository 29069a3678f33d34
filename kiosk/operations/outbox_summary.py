"""The outbox summed up as plain data for a technician: counts per state, the backlog, the
held-back applications and ratings with their reasons, the latest records.

Shared by ``kiosk queue status``, the diagnostics screen's outbox panel and the diagnostic
bundle, so all three say the same. Nothing is decrypted (the view opens no key), and every
reason passes :func:`offline_cache.reasons.clear_reason` once more, so the summary may be
pasted into a support ticket.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from kiosk.config import KioskConfig


def queue_status(config: KioskConfig, limit: int = 20, storage: Any = None) -> dict[str, Any]:
    """The outbox summary as plain data (no personal data: nothing is decrypted).

    ``storage`` (an open :class:`OutboxStorage`, closed here) or the configured one.
    """
    from offline_cache.outbox import State
    from offline_cache.reasons import clear_reason

    if storage is None:
        from kiosk.operations.outbox_actions import OutboxView

        storage = OutboxView(config, b"")
    try:
        ratings = _evaluations(storage.conn)
        outbox = storage.outbox
        pending, oldest = outbox.backlog()
        records = outbox.listing(limit=limit, latest=True) if limit else []
        quarantined = outbox.listing((State.QUARANTINED,), limit=1000)
        counts = outbox.counts()
        return {
            "counts": {state.value: counts.get(state.value, 0) for state in State},
            "pending": pending,
            "oldest_pending_age_s": None if oldest is None else round(time.time() - oldest),
            "quarantined": [{"receipt_no": r.receipt_no,
                             "reason": clear_reason(r.quarantine_reason),
                             "attempts": r.attempts} for r in quarantined],
            "records": [_record(r) for r in records],
            "evaluations": ratings,
        }
    finally:
        storage.close()


def _evaluations(conn: sqlite3.Connection) -> dict[str, Any]:
    """Ratings (好差评) per state and the quarantined ones: ids and reasons, never what the
    citizen said (that is sealed, and nothing here opens it)."""
    from offline_cache.evaluations import EvalState, EvaluationQueue
    from offline_cache.reasons import clear_reason

    queue = EvaluationQueue(conn, b"")
    counts = queue.counts()
    return {
        "counts": {state.value: counts.get(state.value, 0) for state in EvalState},
        "pending": queue.backlog(),
        "quarantined": [{"id": r.eval_id, "reason": clear_reason(r.quarantine_reason),
                         "attempts": r.attempts}
                        for r in queue.listing((EvalState.QUARANTINED,), limit=1000)],
    }


def _record(record: Any) -> dict[str, Any]:
    """One row for the listing: numbers, state and reasons only, reasons cleared again."""
    from offline_cache.reasons import clear_reason

    return {
        "receipt_no": record.receipt_no, "state": record.state.value,
        "item_code": record.item_code, "attempts": record.attempts,
        "last_error": clear_reason(record.last_error),
        "application_no": record.application_no, "created_at": record.created_at,
        "platform_status": clear_reason(record.platform_status),
    }
