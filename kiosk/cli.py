"""The ``kiosk`` console command: one entry point for citizens' kiosk and technicians."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from kiosk import __version__
from kiosk.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description=(
            "Self-service government kiosk. Runs the touchscreen app, renders screens, "
            "manages the offline catalogue, and gives technicians their tools."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="INI configuration file (default: $KIOSK_CONFIG, else built-in defaults)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from kiosk.config import ConfigError

    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        print(f"kiosk: configuration error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the output went into a pipe that closed early (`| head`): not a failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:
        if not is_key_refusal(error):
            raise
        # a key file refused (open to others, not ours, missing while records need it):
        # one line that names the file and the fix, wherever in a command it was opened
        print(f"kiosk: {error}", file=sys.stderr)
        return 1


KEY_ERRORS = frozenset({("kiosk.platform.signing", "KeyFileError"),
                        ("offline_cache.sealing", "KeyFileError")})
"""The key refusals of the platform signing key and of the master key (and subclasses)."""


def is_key_refusal(error: BaseException) -> bool:
    """True for a refused key file; by class name, so the CLI does not import cryptography."""
    return any((kind.__module__, kind.__name__) in KEY_ERRORS for kind in type(error).__mro__)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
