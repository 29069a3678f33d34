"""Subcommands of the ``kiosk`` console command, one module each.

Every module here exposes ``register(subparsers)`` which adds its parser and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
Later issues add modules (devices, sync, queue, platform) by listing them in ``COMMANDS``.
"""

COMMANDS: tuple[str, ...] = ("run", "screenshot", "catalog", "diagnose")
