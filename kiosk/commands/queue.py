"""``kiosk queue``: the technician's view of the outbox, enqueue, retry and reprint.

``status`` never decrypts anything: it shows receipt numbers, states, attempts and reasons,
which carry no personal data (the outbox stores reasons through
:func:`offline_cache.reasons.clear_reason`, and status passes them through it once more), so
its output may be pasted into a support ticket. ``reprint`` unseals one record to print its
receipt again, and prints nothing of it on the terminal.

Only ``add`` may create the master key, and only on a kiosk with nothing sealed yet:
``status`` and ``retry`` never open the key, ``reprint`` only reads it, and a missing key
while sealed records exist is refused with the number of records and "restore it from
backup" (:mod:`offline_cache.keys`).

Exit codes, as in the other commands: 0 done, 1 the kiosk could not do it (unknown number,
refused by the pre-flight gates, full disk, printer not ready), 2 the input is wrong.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from kiosk.config import KioskConfig, load_config
from kiosk.operations.outbox_actions import read_master_key
from kiosk.operations.outbox_summary import queue_status


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``queue`` with ``status``, ``add``, ``retry`` and ``reprint``."""
    parser = subparsers.add_parser(
        "queue",
        help="inspect the offline queue of applications, enqueue from JSON, retry, reprint",
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
                    "The pre-flight gates of the touchscreen's Apply tile run first (disk, "
                    "clock, backlog, keys). Prints the receipt number.")
    add.add_argument("file", type=Path, metavar="FILE.json")
    add.set_defaults(func=cmd_add)
    retry = actions.add_parser(
        "retry", help="send a quarantined or deferred application again",
        description="Release a quarantined application (after fixing its cause) or make a "
                    "deferred one due now; the next sync pass sends it.")
    retry.add_argument("receipt_no", metavar="RECEIPT_NO")
    retry.set_defaults(func=cmd_retry)
    reprint = actions.add_parser(
        "reprint", help="print the receipt of an application again",
        description="Print the receipt of an application of this kiosk again on the "
                    "configured printer ([devices] printer), with the platform's application "
                    "number once it is known. Nothing of the application is shown here.")
    reprint.add_argument("receipt_no", metavar="RECEIPT_NO")
    reprint.add_argument("--printer", metavar="URL",
                         help="printer URL (default: the configured printer), e.g. "
                              "tcp://10.1.2.3:9100")
    reprint.set_defaults(func=cmd_reprint)


def _storage(config: KioskConfig, durable: bool = False, key: str = "none") -> Any:
    """The outbox for one command; ``key``: "none" (no key opened), "read" or "create"."""
    from kiosk.applying.applications import OutboxStorage
    from kiosk.operations.outbox_actions import OutboxView  # opens no key, makes no numbers

    if key == "none":
        return OutboxView(config, b"")
    master_key = read_master_key(config, create=key == "create")
    if key == "create":
        return OutboxStorage(config, durable=durable)  # the key file exists by now
    return OutboxView(config, master_key or b"")


def cmd_status(args: argparse.Namespace) -> int:
    """Print the outbox summary."""
    config = load_config(args.config)
    storage = _open_storage("kiosk queue status", config)
    if storage is None:
        return 1
    summary = queue_status(config, max(0, args.limit), storage)
    alarm = _key_alarm(config)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 1 if alarm else 0
    counts = ", ".join(f"{name} {count}" for name, count in summary["counts"].items() if count)
    print(f"applications: {counts or 'none'}")
    age = summary["oldest_pending_age_s"]
    print(f"unsent: {summary['pending']}" + (f" (oldest {age} s)" if age is not None else ""))
    for item in summary["quarantined"]:
        print(f"QUARANTINED {item['receipt_no']}: {item['reason']}")
    ratings = summary["evaluations"]
    rated = ", ".join(f"{name} {count}" for name, count in ratings["counts"].items() if count)
    print(f"evaluations: {rated or 'none'}")
    for item in ratings["quarantined"]:
        print(f"QUARANTINED evaluation {item['id']}: {item['reason']}")
    for item in summary["records"]:
        extra = item["application_no"] or item["last_error"] or ""
        print(f"{item['receipt_no'] or '(draft)'}  {item['state']:<13} {extra}")
    return 1 if alarm else 0


def _key_alarm(config: KioskConfig) -> str | None:
    """Say (on stderr) when the master key is missing or unusable; makes no key."""
    from offline_cache.sealing import KeyFileError

    try:
        read_master_key(config, create=False)
    except KeyFileError as error:
        print(f"kiosk queue status: ALARM: {error}", file=sys.stderr)
        return str(error)
    return None


def cmd_add(args: argparse.Namespace) -> int:
    """Enqueue one application from JSON, behind the Apply tile's gates; prints its number."""
    from kiosk.applying.applications import (
        ApplicationError,
        ApplicationService,
        StorageFull,
        read_application_file,
    )
    from kiosk.applying.preflight import Preflight, PreflightRefused

    config = load_config(args.config)
    try:
        application = read_application_file(args.file)
    except ApplicationError as error:
        print(f"kiosk queue add: {error}", file=sys.stderr)
        return 2
    storage = _open_storage("kiosk queue add", config, durable=True, key="create")
    if storage is None:
        return 1
    try:
        preflight = Preflight.from_config(config, storage.outbox)

        def gates() -> None:
            # the CLI has no recent /health answer: the clock is checked against its floor
            preflight.require_accepting(None)

        receipt_no = ApplicationService(storage, preflight=gates).submit(application)
    except PreflightRefused as refused:
        print(f"kiosk queue add: not accepting applications now: {refused}", file=sys.stderr)
        return 1
    except StorageFull as error:
        print(f"kiosk queue add: {error}", file=sys.stderr)
        return 1
    except ApplicationError as error:
        print(f"kiosk queue add: {error}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as error:
        print(f"kiosk queue add: the application was not saved: {_reason(error, config)}",
              file=sys.stderr)
        return 1
    finally:
        storage.close()
    print(receipt_no)
    return 0


def _open_storage(command: str, config: KioskConfig, durable: bool = False,
                  key: str = "none") -> Any | None:
    """The outbox, or None after one plain line saying why it cannot be opened."""
    from offline_cache.errors import CacheError
    from offline_cache.sealing import KeyFileError

    try:
        return _storage(config, durable=durable, key=key)
    except (CacheError, KeyFileError, OSError) as error:
        print(f"{command}: cannot open the outbox: {_reason(error, config)}", file=sys.stderr)
        return None


def _reason(error: BaseException, config: KioskConfig | None = None) -> str:
    """One line for a technician; a full disk is named as such.

    Opening the database on a full disk fails as SQLite's "disk I/O error" (its shared
    memory file cannot grow), so with ``config`` the data folder's free space is looked at.
    """
    from kiosk.applying.applications import is_storage_full

    if isinstance(error, OSError) and error.strerror:
        detail = error.strerror + (f": {error.filename}" if error.filename else "")
    else:
        detail = str(error) or type(error).__name__
    if is_storage_full(error) or "disk is full" in detail or _no_space_left(config):
        return f"the disk is full ({detail}); free space and try again"
    return detail


def _no_space_left(config: KioskConfig | None) -> bool:
    """True when the file system of the data folder has (almost) no byte free."""
    import shutil

    if config is None:
        return False
    for folder in (config.storage.data_dir, *config.storage.data_dir.parents):
        try:
            return shutil.disk_usage(folder).free < 64 * 1024
        except OSError:
            continue
    return False


def cmd_retry(args: argparse.Namespace) -> int:
    """Release or hurry one record."""
    from kiosk.applying.receipt_numbers import ReceiptNumberError, parse_receipt_number
    from kiosk.operations.outbox_actions import retry_receipt
    from offline_cache.outbox import InvalidTransition

    try:
        receipt_no = str(parse_receipt_number(args.receipt_no))
    except ReceiptNumberError as error:
        print(f"kiosk queue retry: {error}", file=sys.stderr)
        return 2
    storage = _open_storage("kiosk queue retry", load_config(args.config))
    if storage is None:
        return 1
    try:
        before = retry_receipt(storage.outbox, receipt_no)
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


def cmd_reprint(args: argparse.Namespace) -> int:
    """Print a receipt again: unseal the record, lay it out, print, say what happened."""
    from drivers.device_url import DeviceURLError, parse_device_url
    from drivers.printer.connect import open_printer
    from drivers.printer.driver import PORT_ERRORS, PrinterError
    from kiosk.applying.receipt_numbers import ReceiptNumberError, parse_receipt_number
    from kiosk.applying.submission import ReceiptNotFound
    from kiosk.finding.catalog import CatalogService
    from kiosk.operations.outbox_actions import load_receipt
    from offline_cache.errors import CacheError
    from offline_cache.sealing import SealError

    command = "kiosk queue reprint"
    try:
        receipt_no = str(parse_receipt_number(args.receipt_no))
    except ReceiptNumberError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 2
    config = load_config(args.config)
    try:
        url = parse_device_url(args.printer) if args.printer else config.devices.printer
    except DeviceURLError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 2
    storage = _open_storage(command, config, key="read")
    if storage is None:
        return 1
    catalog = CatalogService(config.storage.database)
    try:
        facts, receipt = load_receipt(storage, receipt_no, catalog)
    except ReceiptNotFound as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1
    except SealError:
        print(f"{command}: {receipt_no}: the record cannot be unsealed with this kiosk's "
              "master key (was the key file replaced?)", file=sys.stderr)
        return 1
    except (CacheError, sqlite3.Error) as error:
        print(f"{command}: cannot read the outbox: {_reason(error, config)}", file=sys.stderr)
        return 1
    finally:
        catalog.close()
        storage.close()
    try:
        driver, cleanup, emulator = open_printer(url)
    except (DeviceURLError, *PORT_ERRORS) as error:
        print(f"{command}: cannot open the printer {url}: {error}", file=sys.stderr)
        return 1
    try:
        driver.print_receipt(receipt)
    except PrinterError as error:
        action = error.action.value if error.action else "none"
        print(f"{command}: the receipt of {receipt_no} was not printed: {error} "
              f"({error.reason}; action {action})", file=sys.stderr)
        return 1
    finally:
        cleanup()
    where = f"{url} (an emulator: no paper came out)" if emulator is not None else str(url)
    number = facts.application_no or "not yet known"
    print(f"{receipt_no}: receipt printed on {where}; application number {number}")
    return 0
