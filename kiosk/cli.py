"""The ``kiosk`` console command: one entry point for citizens' kiosk and technicians."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk import __version__
from kiosk.commands import COMMANDS

if TYPE_CHECKING:
    from kiosk.operations.logs import LogSetup


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description=(
            "Self-service government kiosk. Runs the touchscreen app, renders screens, "
            "manages the offline catalogue, and gives technicians their tools."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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


EX_SOFTWARE = 70
"""Exit code of a command that failed unexpectedly (sysexits.h EX_SOFTWARE)."""
EX_INTERRUPTED = 130
"""Exit code after Ctrl-C, as a shell reports a command ended by SIGINT (128 + 2)."""

EPILOG = f"""\
exit codes: 0 done; 1 the kiosk could not do it; 2 wrong input or configuration;
  {EX_SOFTWARE} an unexpected error (one line on stderr names the log file that holds the
  full record); {EX_INTERRUPTED} interrupted (Ctrl-C). Some commands add their own (see
  their --help).
log: every command appends JSON lines to DATA_DIR/logs/kiosk.log (see [logging] in
  docs/configuration.md), personal data masked."""


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the process exit code.

    No command ends in a Python traceback: its message may quote a citizen's data, and a
    technician needs the log's place, not the stack, on the screen.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    from kiosk.config import ConfigError

    logs = _start_logging(args)
    log = logging.getLogger("kiosk.cli")
    log.info("kiosk %s %s started", command_name(args), __version__)
    try:
        code = int(args.func(args) or 0)
        log.info("kiosk %s ended with exit code %d", command_name(args), code)
        return code
    except ConfigError as error:
        print(f"kiosk: configuration error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the output went into a pipe that closed early (`| head`): not a failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        log.info("kiosk %s interrupted", command_name(args))
        return EX_INTERRUPTED
    except Exception as error:
        if not is_key_refusal(error):
            return _unexpected(args, error, logs)
        # a key file refused (open to others, not ours, missing while records need it):
        # one line that names the file and the fix, wherever in a command it was opened
        print(f"kiosk: {error}", file=sys.stderr)
        return 1
    finally:
        if logs is not None:
            logs.close()


def command_name(args: argparse.Namespace) -> str:
    """``queue status``: the command and its action, as typed, for messages and the log."""
    words = [str(args.command)]
    action = getattr(args, f"{args.command}_action", None) or getattr(args, "action", None)
    if isinstance(action, str):
        words.append(action)
    return " ".join(words)


def _start_logging(args: argparse.Namespace) -> LogSetup | None:
    """The log of this command; None when the configuration cannot be loaded (the command
    itself then reports the configuration error, as it always did)."""
    from kiosk.config import ConfigError, load_config
    from kiosk.operations.logs import setup_logging

    try:
        config = load_config(args.config)
    except ConfigError:
        return None
    if args.command == "platform" and getattr(args, "db", None):
        # the reference platform is another system: its log goes beside its database
        return setup_logging(config, console=True, name="platform",
                             home=Path(args.db).resolve().parent)
    return setup_logging(config, console=True)


def _unexpected(args: argparse.Namespace, error: Exception, logs: LogSetup | None) -> int:
    """Log the whole record, print one line: what failed and where the record is.

    The exception's message is left out of the line (it may quote a citizen); its type is
    enough to tell a full disk from a damaged database.
    """
    name = command_name(args)
    kind = type(error).__name__ if type(error).__module__ == "builtins" else \
        f"{type(error).__module__}.{type(error).__qualname__}"
    logging.getLogger("kiosk.cli").critical("kiosk %s failed unexpectedly", name, exc_info=error,
                                            extra={"file_only": True})
    if logs is not None and logs.path is not None:
        where = f"the full record is in {logs.path}"
    elif logs is not None:
        where = f"no log file: {logs.problem}"
    else:
        where = "no log file: the configuration could not be loaded"
    print(f"kiosk {name}: failed unexpectedly ({kind}); {where}", file=sys.stderr)
    return EX_SOFTWARE


KEY_ERRORS = frozenset({("kiosk.platform.signing", "KeyFileError"),
                        ("offline_cache.sealing", "KeyFileError")})
"""The key refusals of the platform signing key and of the master key (and subclasses)."""


def is_key_refusal(error: BaseException) -> bool:
    """True for a refused key file; by class name, so the CLI does not import cryptography."""
    return any((kind.__module__, kind.__name__) in KEY_ERRORS for kind in type(error).__mro__)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
