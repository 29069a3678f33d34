"""``kiosk technician``: who may open the diagnostics screen, and what they did there.

``set-pin NAME`` asks for the PIN twice without echo (getpass); ``--pin-stdin`` reads it
from one line of standard input instead, for provisioning scripts, and ``--if-none`` sets
it only on a kiosk where no technician has a PIN yet (``make demo`` uses both, so a demo PIN
never replaces a real one). A PIN is never an argument: it would stay in the shell history
and in ``ps`` output. ``list`` shows names and when their PIN was set, ``audit`` the latest
entries and actions, ``remove`` forgets a technician, ``export [--to DIR]`` writes the
diagnostic bundle (kiosk.operations.export).

Exit codes, as in the other commands: 0 done, 1 the kiosk could not do it (no such
technician, the database cannot be opened), 2 the input is wrong (a trivial PIN, two
different PINs, a bad name).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime
from pathlib import Path

from kiosk.config import KioskConfig, load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``technician`` with ``set-pin``, ``list``, ``audit``, ``remove`` and ``export``."""
    parser = subparsers.add_parser(
        "technician", help="technicians' PINs for the diagnostics screen, and their audit",
        description="Technicians open the diagnostics screen (a 3 s press on the attract "
                    "screen's top-left corner, or Ctrl+Alt+D) with their own PIN. The kiosk "
                    "keeps only a salted scrypt hash of it; five wrong tries lock the keypad.")
    actions = parser.add_subparsers(dest="technician_action", metavar="ACTION", required=True)
    set_pin = actions.add_parser(
        "set-pin", help="set or change a technician's PIN (6 to 8 digits)",
        description="Set or change NAME's PIN: 6 to 8 digits, not a trivial one (000000, "
                    "123456, 121212...). Asked twice without echo, or read from stdin.")
    set_pin.add_argument("name", metavar="NAME", help="the technician, e.g. wang.li")
    set_pin.add_argument("--pin-stdin", action="store_true",
                         help="read the PIN from one line of standard input (for scripts)")
    set_pin.add_argument("--if-none", action="store_true",
                         help="do nothing when any technician already has a PIN")
    set_pin.set_defaults(func=cmd_set_pin)
    listing = actions.add_parser("list", help="technicians with a PIN, and when it was set")
    listing.set_defaults(func=cmd_list)
    audit = actions.add_parser(
        "audit", help="the latest PIN entries and technician actions",
        description="When, who, what, detail; newest first. Holds no PIN and no citizen data.")
    audit.add_argument("--limit", type=int, default=50, metavar="N",
                       help="rows to show (default 50)")
    audit.set_defaults(func=cmd_audit)
    remove = actions.add_parser("remove", help="forget a technician's PIN")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(func=cmd_remove)
    export = actions.add_parser(
        "export", help="write a diagnostic bundle (.zip) for the support desk",
        description="Config without secrets, redacted logs, device states, the diagnose "
                    "report, queue counts, the technician audit and versions, in one zip. "
                    "No key material and no citizen data.")
    export.add_argument("--to", type=Path, default=None, metavar="DIR",
                        help="folder to write into (default: data_dir/exports)")
    export.set_defaults(func=cmd_export)


def _access(config: KioskConfig):
    from kiosk.operations.technician import TechnicianAccess

    return TechnicianAccess(config.storage.database)


def _fail(command: str, error: BaseException) -> int:
    print(f"kiosk technician {command}: {error}", file=sys.stderr)
    return 1


def _read_pin(from_stdin: bool) -> str | None:
    """The PIN typed twice (None when the two differ), or one line of stdin."""
    if from_stdin:
        return sys.stdin.readline().strip()
    first = getpass.getpass("New PIN (6 to 8 digits): ")
    second = getpass.getpass("The same PIN again: ")
    return first if first == second else None


def cmd_set_pin(args: argparse.Namespace) -> int:
    """Set NAME's PIN from the terminal or stdin."""
    from kiosk.operations.technician import NameRefused, PinRefused, check_name
    from offline_cache.errors import CacheError

    config = load_config(args.config)
    try:
        check_name(args.name)
    except NameRefused as error:
        print(f"kiosk technician set-pin: {error}", file=sys.stderr)
        return 2
    access = _access(config)
    try:
        if args.if_none and access.has_pins():
            print("a technician already has a PIN: nothing changed")
            return 0
        pin = _read_pin(args.pin_stdin)
        if pin is None:
            print("kiosk technician set-pin: the two PINs differ; nothing changed",
                  file=sys.stderr)
            return 2
        access.set_pin(args.name, pin)
    except PinRefused as error:
        print(f"kiosk technician set-pin: {error}; nothing changed", file=sys.stderr)
        return 2
    except (CacheError, OSError) as error:
        return _fail("set-pin", error)
    print(f"PIN set for {args.name}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print each technician with the time the PIN was set."""
    from offline_cache.errors import CacheError

    try:
        technicians = _access(load_config(args.config)).technicians()
    except (CacheError, OSError) as error:
        return _fail("list", error)
    if not technicians:
        print("no technician has a PIN; set one with: kiosk technician set-pin NAME")
    for who, set_at in technicians:
        print(f"{who}  PIN set {_when(set_at)}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the latest audit rows, newest first."""
    from offline_cache.errors import CacheError

    try:
        rows = _access(load_config(args.config)).audit(max(0, args.limit))
    except (CacheError, OSError) as error:
        return _fail("audit", error)
    for row in rows:
        print(f"{_when(row.at)}  {row.who:<12} {row.what:<18} {row.detail}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Forget NAME's PIN."""
    from kiosk.operations.technician import NameRefused
    from offline_cache.errors import CacheError

    try:
        removed = _access(load_config(args.config)).remove(args.name)
    except NameRefused as error:
        print(f"kiosk technician remove: {error}", file=sys.stderr)
        return 2
    except (CacheError, OSError) as error:
        return _fail("remove", error)
    if not removed:
        print(f"kiosk technician remove: no technician {args.name}", file=sys.stderr)
        return 1
    print(f"{args.name} removed")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the diagnostic bundle and say where; audited as done by ``cli``."""
    from kiosk.operations.export import EXPORT_DIR, build_bundle
    from offline_cache.errors import CacheError

    config = load_config(args.config)
    target = args.to or config.storage.data_dir / EXPORT_DIR
    try:
        path = build_bundle(config, target)
        _access(config).record("cli", "export", "bundle written")
    except (CacheError, OSError) as error:
        return _fail("export", error)
    print(f"diagnostic bundle written: {path}")
    return 0


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
