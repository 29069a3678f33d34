"""Subcommands of the ``kiosk`` console command, one module each.

Every module listed here exposes ``register(subparsers)`` which adds its parser and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
Commands that need a window (``run``, ``screenshot``) live in ``screens.commands`` so that
the core never imports widgets; the registry names modules only as strings.
Later issues add modules (devices, sync, queue, platform) by listing them here.
"""

COMMANDS: tuple[str, ...] = (
    "screens.commands",
    "kiosk.commands.catalog",
    "kiosk.commands.config",
    "kiosk.commands.diagnose",
    "kiosk.commands.devices",
    "kiosk.commands.queue",
    "kiosk.commands.sync",
    "kiosk.commands.platform",
    "kiosk.commands.technician",
)
