"""After the submit button: finding a sealed application again, waiting for its official number.

The receipt number is made on the kiosk, so the receipt can print at once; the platform's
application number (办件编号) arrives only when the sync thread has delivered the
application. The done screen waits a few seconds for it, so that an online kiosk prints
both numbers, and prints without it when the network is slow or down: the receipt number
alone is enough to follow the application, the platform answers progress queries by either.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from offline_cache.outbox import Application, State

if TYPE_CHECKING:  # the storage opens SQLite; this module only reads through it
    from kiosk.applying.applications import OutboxStorage

__all__ = ["NO_NUMBER_COMING", "ReceiptNotFound", "find_record", "wait_for_official_number"]

NO_NUMBER_COMING: frozenset[State] = frozenset({State.QUARANTINED})
"""States in which no application number will come without a technician: stop waiting."""


class ReceiptNotFound(LookupError):
    """This kiosk has no application with that receipt number (never made here, or purged
    after its retention period)."""

    def __init__(self, receipt_no: str) -> None:
        self.receipt_no = receipt_no
        super().__init__(f"no application {receipt_no} on this kiosk (unknown receipt number,"
                         " or deleted after its retention period)")

    def __str__(self) -> str:  # LookupError's str() would show the repr of the arguments
        return str(self.args[0])


def find_record(storage: OutboxStorage, receipt_no: str) -> Application:
    """The outbox row of ``receipt_no`` (no payload), or :class:`ReceiptNotFound`."""
    try:
        return storage.outbox.find(receipt_no)
    except KeyError:
        raise ReceiptNotFound(receipt_no) from None


def wait_for_official_number(storage: OutboxStorage, receipt_no: str, timeout_s: float,
                             poll_s: float = 0.2, *,
                             sleep: Callable[[float], None] = time.sleep) -> str | None:
    """The platform's application number of ``receipt_no``, once the outbox has it.

    Reads the outbox (the sync thread writes it through its own connection; WAL shows each
    commit to this reader) every ``poll_s`` seconds until the record carries an application
    number, and returns None when ``timeout_s`` has passed or the record is quarantined (no
    number will come without a technician). The outbox is read at least once, so a timeout
    of 0 simply asks. Raises :class:`ReceiptNotFound` for a number this kiosk does not have.
    """
    deadline = time.monotonic() + max(0.0, timeout_s)
    while True:
        record = find_record(storage, receipt_no)
        if record.application_no:
            return record.application_no
        if record.state in NO_NUMBER_COMING:
            return None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        sleep(min(max(poll_s, 0.01), remaining))
