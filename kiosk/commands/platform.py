"""``kiosk platform serve``: run the reference provincial platform (demo and test server).

The kiosk talks to an outside platform; for development, demos and the sync tests the
project ships a reference server that keeps the platform API v1 to the letter (see
docs/platform.md).  It listens on loopback unless ``--public`` is given: its content is
sample data and its fault switches are meant for tests, not for citizens.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kiosk.config import choose_config_path, load_config
from kiosk.platform.signing import KeyFileError, load_or_create_key_file, read_key_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``platform`` and its ``serve`` action."""
    parser = subparsers.add_parser(
        "platform",
        help="run the reference provincial platform (for demos and tests)",
        description=(
            "The reference implementation of the platform API v1: applications, attachments, "
            "catalogue, sample guides and forms, with fault switches for testing sync."
        ),
    )
    actions = parser.add_subparsers(dest="platform_action", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve the platform API until interrupted",
        description=(
            "Serve the platform API on HOST:PORT and print 'platform listening on "
            "http://HOST:PORT/api/v1' when ready. With the global --config the configured "
            "kiosk is registered too (its key file is created, mode 0600, if missing)."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; others need --public)")
    serve.add_argument("--port", type=_port, default=8470,
                       help="TCP port, 0 for any free port (default 8470)")
    serve.add_argument("--db", type=Path, required=True, metavar="FILE",
                       help="the server's SQLite database (created if missing)")
    serve.add_argument("--kiosk", action="append", default=[], metavar="ID=KEYFILE",
                       help="accept kiosk ID signing with the key in KEYFILE (repeatable)")
    serve.add_argument("--faults", metavar="JSON",
                       help="initial fault switches as JSON (see docs/platform.md)")
    serve.add_argument("--progress-step", type=_seconds, default=60.0, metavar="SECONDS",
                       help="seconds between an application's status changes (default 60)")
    serve.add_argument("--public", action="store_true",
                       help="allow a non-loopback --host (this is a demo server)")
    serve.set_defaults(func=_serve)


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0..65535")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 86400")
    return value


def _kiosks(args: argparse.Namespace) -> dict[str, bytes]:
    """Kiosk id -> key from ``--kiosk`` and, with a configuration, the configured kiosk."""
    kiosks: dict[str, bytes] = {}
    for entry in args.kiosk:
        kiosk_id, sep, key_file = entry.partition("=")
        if not sep or not kiosk_id or not key_file:
            raise KeyFileError(f"--kiosk {entry!r}: expected ID=KEYFILE")
        kiosks[kiosk_id] = read_key_file(Path(key_file))
    if choose_config_path(args.config) is not None:
        config = load_config(args.config)
        kiosks[config.kiosk.id] = load_or_create_key_file(config.platform.key_file)
    return kiosks


def _serve(args: argparse.Namespace) -> int:
    from kiosk.config import is_loopback
    from reference_platform.faults import FaultConfigError, parse_faults
    from reference_platform.server import serve

    if not is_loopback(args.host) and not args.public:
        print(f"kiosk platform: refusing to listen on {args.host} (not loopback); "
              "add --public if you really mean it", file=sys.stderr)
        return 2
    try:
        kiosks = _kiosks(args)
        faults: Any = parse_faults(json.loads(args.faults)) if args.faults else None
    except KeyFileError as error:
        print(f"kiosk platform: {error}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, FaultConfigError) as error:
        print(f"kiosk platform: --faults: {error}", file=sys.stderr)
        return 2
    try:
        serve(args.db, kiosks, host=args.host, port=args.port, faults=faults,
              progress_step=args.progress_step)
    except OSError as error:
        print(f"kiosk platform: cannot listen on {args.host}:{args.port}: {error.strerror}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
