"""``kiosk config``: show, check and create the INI configuration.

For the technician at the kiosk: ``init`` writes a commented file to start from, ``check``
validates an edited file before the kiosk is restarted with it, ``show`` prints what the
kiosk will actually use (defaults filled in, paths resolved).
"""

from __future__ import annotations

import argparse
import os
import sys

from kiosk.config import (
    ENV_VAR,
    ConfigError,
    choose_config_path,
    config_to_ini,
    load_config,
    write_default_config,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``config`` and its actions ``show``, ``check`` and ``init``."""
    parser = subparsers.add_parser(
        "config",
        help="show, check or create the INI configuration file",
        description=(
            "Work with the kiosk's INI configuration. The file is chosen by --config, "
            f"else ${ENV_VAR}, else built-in defaults apply. See docs/configuration.md."
        ),
    )
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)

    show = actions.add_parser(
        "show",
        help="print the effective configuration as INI (defaults filled in, paths resolved)",
        description=(
            "Print the configuration the kiosk would run with, as INI. The platform key "
            "file is shown by path only; its contents are never printed."
        ),
    )
    show.set_defaults(func=_show)

    check = actions.add_parser(
        "check",
        help="validate a configuration file: prints 'ok: FILE' or the problem (exit 2)",
        description=(
            "Validate FILE (default: --config, else $KIOSK_CONFIG). Prints 'ok: FILE' and "
            "exits 0, or prints the first problem with file, line, section and key and exits 2."
        ),
    )
    check.add_argument("file", nargs="?", metavar="FILE", help="configuration file to check")
    check.set_defaults(func=_check)

    init = actions.add_parser(
        "init",
        help="write a commented configuration file with every key at its default",
        description=(
            "Write a complete, commented INI file with every key at its default, as a "
            "starting point. An existing file is kept unless --force is given."
        ),
    )
    init.add_argument("path", metavar="PATH", help="file to create")
    init.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    init.set_defaults(func=_init)


def _show(args: argparse.Namespace) -> int:
    """ConfigError propagates to ``kiosk.cli.main``, which prints it and exits 2."""
    config = load_config(getattr(args, "config", None))
    sys.stdout.write(config_to_ini(config))
    return 0


def _check(args: argparse.Namespace) -> int:
    """Linter-style output: the message alone, so editors can jump to FILE:LINE."""
    path = args.file if args.file is not None else getattr(args, "config", None)
    name = choose_config_path(path, os.environ)
    try:
        load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"ok: {name if name is not None else 'built-in defaults (no file given)'}")
    return 0


def _init(args: argparse.Namespace) -> int:
    try:
        write_default_config(args.path, force=args.force)
    except FileExistsError:
        print(f"kiosk: {args.path} exists; use --force to overwrite it", file=sys.stderr)
        return 1
    except OSError as error:
        reason = error.strerror or "I/O error"
        print(f"kiosk: cannot write {args.path}: {reason}", file=sys.stderr)
        return 1
    print(f"wrote {args.path}; after editing, run: kiosk --config {args.path} config check")
    return 0
