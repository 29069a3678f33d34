"""``kiosk queue``: the technician's view of the outbox, bulk enqueue, and retry.

``status`` never decrypts anything: it shows receipt numbers, states, attempts and reasons,
which carry no personal data, so its output may be pasted into a support ticket.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kiosk.config import KioskConfig, load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``queue`` with ``status``, ``add`` and ``retry``."""
    parser = subparsers.add_parser(
        "queue",
        help="inspect the offline queue of applications, enqueue from JSON, retry",
        description="The kiosk's outbox of citizens' applications waiting for the platform.",
    )
    actions = parser.add_subparsers(dest="queue_action", metavar="ACTION", required=True)
    status = actions.add_parser(
        "status", help="counts per state, the backlog and the records needing attention",
        description="Show the outbox: counts per state, the oldest unsent application, "
                    "quarantined records with their reasons and the latest records.")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument("--limit", type=int, default=20, metavar="N",
                        help="latest records to list (default 20)")
    status.set_defaults(func=cmd_status)
    add = actions.add_parser(
        "add", help="enqueue and seal an application described in a JSON file",
        description="Enqueue and seal an application: FILE.json is the platform's POST "
                    "/applications body without receipt_no, kiosk_id and created_at; its "
                    'attachments list {"name", "path", "content_type"} of local files. '
                    "Prints the receipt number.")
    add.add_argument("file", type=Path, metavar="FILE.json")
    add.set_defaults(func=cmd_add)
    retry = actions.add_parser(
        "retry", help="send a quarantined or deferred application again",
        description="Release a quarantined application (after fixing its cause) or make a "
                    "deferred one due now; the next sync pass sends it.")
    retry.add_argument("receipt_no", metavar="RECEIPT_NO")
    retry.set_defaults(func=cmd_retry)


def _storage(config: KioskConfig, durable: bool = False) -> Any:
    from kiosk.applying.applications import OutboxStorage

    return OutboxStorage(config, durable=durable)


def queue_status(config: KioskConfig, limit: int = 20) -> dict[str, Any]:
    """The outbox summary as plain data (no personal data: nothing is decrypted)."""
    from offline_cache.outbox import State

    storage = _storage(config)
    try:
        outbox = storage.outbox
        pending, oldest = outbox.backlog()
        records = outbox.listing(limit=limit, latest=True) if limit else []
        quarantined = outbox.listing((State.QUARANTINED,), limit=1000)
        counts = outbox.counts()
        return {
            "counts": {state.value: counts.get(state.value, 0) for state in State},
            "pending": pending,
            "oldest_pending_age_s": None if oldest is None else round(time.time() - oldest),
            "quarantined": [{"receipt_no": r.receipt_no, "reason": r.quarantine_reason,
                             "attempts": r.attempts} for r in quarantined],
            "records": [_record(r) for r in records],
        }
    finally:
        storage.close()


def _record(record: Any) -> dict[str, Any]:
    return {
        "receipt_no": record.receipt_no, "state": record.state.value,
        "item_code": record.item_code, "attempts": record.attempts,
        "last_error": record.last_error, "application_no": record.application_no,
        "platform_status": record.platform_status,
    }


def cmd_status(args: argparse.Namespace) -> int:
    """Print the outbox summary."""
    summary = queue_status(load_config(args.config), max(0, args.limit))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    counts = ", ".join(f"{name} {count}" for name, count in summary["counts"].items() if count)
    print(f"applications: {counts or 'none'}")
    age = summary["oldest_pending_age_s"]
    print(f"unsent: {summary['pending']}" + (f" (oldest {age} s)" if age is not None else ""))
    for item in summary["quarantined"]:
        print(f"QUARANTINED {item['receipt_no']}: {item['reason']}")
    for item in summary["records"]:
        extra = item["application_no"] or item["last_error"] or ""
        print(f"{item['receipt_no'] or '(draft)'}  {item['state']:<13} {extra}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """Enqueue one application from JSON; prints its receipt number."""
    from kiosk.applying.applications import ApplicationError, ApplicationService, read_application_file

    config = load_config(args.config)
    try:
        application = read_application_file(args.file)
    except ApplicationError as error:
        print(f"kiosk queue add: {error}", file=sys.stderr)
        return 2
    storage = _storage(config, durable=True)
    try:
        print(ApplicationService(storage).submit(application))
    finally:
        storage.close()
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    """Release or hurry one record."""
    from kiosk.applying.receipt_numbers import ReceiptNumberError, parse_receipt_number
    from offline_cache.outbox import InvalidTransition

    try:
        receipt_no = str(parse_receipt_number(args.receipt_no))
    except ReceiptNumberError as error:
        print(f"kiosk queue retry: {error}", file=sys.stderr)
        return 2
    storage = _storage(load_config(args.config))
    try:
        record = storage.outbox.find(receipt_no)
        before = storage.outbox.retry_now(record.local_id)
    except KeyError:
        print(f"kiosk queue retry: no application {receipt_no} on this kiosk", file=sys.stderr)
        return 1
    except InvalidTransition as error:
        print(f"kiosk queue retry: {receipt_no}: {str(error).split(': ')[-1]}; only quarantined"
              " or deferred applications can be retried", file=sys.stderr)
        return 1
    finally:
        storage.close()
    print(f"{receipt_no}: {before} -> due now; the next sync pass sends it")
    return 0
