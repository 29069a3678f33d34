"""What a technician does to one application in the outbox: send it again, reprint its receipt.

``kiosk queue retry`` / ``kiosk queue reprint`` and the diagnostics screen's Retry and
Reprint buttons share this core, so the two ways in cannot drift apart (one refusing what
the other allows). Nothing here prints or shows anything of the citizen: retry touches no
sealed data at all, and reprint hands the receipt (already masked, :mod:`receipts`) to
whatever printer the caller owns: the CLI opens the configured port, the running app prints
through its DeviceHub, which holds that port open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kiosk.config import KioskConfig

if TYPE_CHECKING:
    from drivers.printer.layout import Receipt
    from kiosk.applying.receipts import ReceiptFacts
    from offline_cache.outbox import Outbox, State

REPRINT_OUTCOMES = ("printed", "not_found", "sealed", "unreadable")
"""What a reprint may end in besides a printer problem (the hub's ``PRINT_PROBLEMS``)."""


class NotRetryable(Exception):
    """Nothing to retry: no such application here, or it is no longer held back or deferred
    (a sync pass sent it meanwhile)."""


class OutboxView:
    """The outbox opened without making a key: for looking, re-queueing and reprinting.

    Counts, states and reasons need no key (``master_key`` b""); a reprint passes the key
    it read. Nothing here seals, so no receipt number is ever made through it.
    """

    def __init__(self, config: KioskConfig, master_key: bytes = b"") -> None:
        from offline_cache.database import open_database
        from offline_cache.outbox import Outbox

        self.config = config
        self.conn = open_database(config.storage.database)
        self.outbox = Outbox(self.conn, master_key, _no_numbers)

    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()


def _no_numbers(_day: Any, _sequence: int) -> str:
    raise RuntimeError("a read-only view of the outbox makes no receipt numbers")


def read_master_key(config: KioskConfig, create: bool = False) -> bytes | None:
    """The master key, never replacing one that sealed records need (offline_cache.keys)."""
    from offline_cache.keys import master_key_for

    storage = config.storage
    return master_key_for(storage.master_key_file, storage.database, storage.attachments_dir,
                          create=create)


def retry_receipt(outbox: Outbox, receipt_no: str) -> State:
    """Release a quarantined application or make a deferred one due now; returns the state
    it was in. ``KeyError``: no such receipt here; ``InvalidTransition``: any other state."""
    return outbox.retry_now(outbox.find(receipt_no).local_id)


def retry(config: KioskConfig, receipt_no: str) -> State:
    """:func:`retry_receipt` on this kiosk's outbox (no key opened); :class:`NotRetryable`
    when there is nothing to retry (callers need not know the outbox's exceptions)."""
    from offline_cache.outbox import InvalidTransition

    view = OutboxView(config)
    try:
        return retry_receipt(view.outbox, receipt_no)
    except (KeyError, InvalidTransition) as error:
        raise NotRetryable(receipt_no) from error
    finally:
        view.close()


def load_receipt(storage: Any, receipt_no: str, catalog: Any) -> tuple[ReceiptFacts, Receipt]:
    """Unseal ``receipt_no`` from ``storage`` and lay its receipt out (the same layout as
    the first print: ID number masked). Raises ReceiptNotFound, SealError, CacheError."""
    from kiosk.applying.receipts import facts_from_outbox, receipt_for

    facts = facts_from_outbox(storage, receipt_no, catalog)
    return facts, receipt_for(facts)


@dataclass(frozen=True)
class Reprint:
    """What became of one reprint: ``outcome`` is one of :data:`REPRINT_OUTCOMES` or the
    printer's problem (paper_out, cover_open, offline, failed)."""

    receipt_no: str
    outcome: str
    paper_low: bool = False

    @property
    def printed(self) -> bool:
        return self.outcome == "printed"


def reprint(config: KioskConfig, receipt_no: str,
            print_receipt: Callable[[Receipt], Any]) -> Reprint:
    """Unseal, lay out and print ``receipt_no`` with ``print_receipt`` (a PrintOutcome back,
    e.g. ``DeviceHub.print_receipt``). Blocks for seconds: call it from a worker thread;
    it opens its own database connection there and never raises for the expected cases."""
    from kiosk.applying.submission import ReceiptNotFound
    from kiosk.finding.catalog import CatalogService
    from offline_cache.errors import CacheError
    from offline_cache.sealing import KeyFileError, SealError

    try:
        view = OutboxView(config, read_master_key(config) or b"")
    except (KeyFileError, CacheError, sqlite3.Error, OSError):
        return Reprint(receipt_no, "unreadable")
    catalog = None
    try:
        catalog = CatalogService(config.storage.database)
        _facts, receipt = load_receipt(view, receipt_no, catalog)
    except ReceiptNotFound:
        return Reprint(receipt_no, "not_found")
    except SealError:
        return Reprint(receipt_no, "sealed")
    except (CacheError, sqlite3.Error, OSError):
        return Reprint(receipt_no, "unreadable")
    finally:
        if catalog is not None:
            catalog.close()
        view.close()
    outcome = print_receipt(receipt)
    if outcome.printed:
        return Reprint(receipt_no, "printed", bool(outcome.paper_low))
    return Reprint(receipt_no, outcome.problem or "failed")


def audit_reference(receipt_no: str) -> str:
    """A receipt number as the technician audit keeps it: the audit drops every word with
    five digits in a row (kiosk.operations.technician), which a receipt number has, so it
    is written as day and sequence ("2026-11-27 #12"), unique on this kiosk."""
    from kiosk.applying.receipt_numbers import ReceiptNumberError, parse_receipt_number

    try:
        number = parse_receipt_number(receipt_no)
    except ReceiptNumberError:
        return "receipt ?"
    return f"receipt {number.day.isoformat()} #{number.sequence}"
