"""``kiosk sync``: send the queued applications to the platform now, or keep syncing."""

from __future__ import annotations

import argparse
import json
import sys
import time

from kiosk.config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sync``."""
    parser = subparsers.add_parser(
        "sync", help="send queued applications to the platform (one pass or continuously)",
        description="Check the platform's /health, then send due applications oldest first "
                    "(attachments, then the application). With --once, one pass and exit: "
                    "0 when the pass ran, 1 when offline or stopped early.")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--json", action="store_true", help="print the pass report as JSON")
    parser.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    """Run one pass (``--once``) or passes every sync_interval seconds until interrupted."""
    from kiosk.platform.signing import KeyFileError, read_key_file
    from kiosk.platform.sync import make_worker
    from kiosk.platform.sync_thread import SyncThread

    config = load_config(args.config)
    try:
        read_key_file(config.platform.key_file)  # say so now, not on the sync thread
    except KeyFileError as error:
        print(f"kiosk sync: {error}", file=sys.stderr)
        return 2
    if not args.once:
        thread = SyncThread(lambda: make_worker(config), config.platform.sync_interval)
        thread.listeners.append(lambda event: print(_event_line(event), flush=True))
        thread.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            thread.stop()
        return 0
    worker = make_worker(config)
    try:
        worker.recover()
        report = worker.sync_once()
    finally:
        worker.client.close()
        worker.storage.close()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        state = "online" if report.online else "offline"
        print(f"{state}: acknowledged {report.acknowledged}, already received "
              f"{report.replayed}, deferred {report.deferred}, quarantined "
              f"{report.quarantined}, attachments {report.attachments_uploaded}, "
              f"unsent {report.pending}")
        if report.stopped:
            print(f"stopped: {report.stopped}")
        for alert in report.alerts:
            print(f"ALERT: {alert}")
    return 0 if report.online and report.stopped is None else 1


def _event_line(event: object) -> str:
    fields = {k: v for k, v in vars(event).items() if v is not None}
    return " ".join(f"{k}={v}" for k, v in fields.items())
