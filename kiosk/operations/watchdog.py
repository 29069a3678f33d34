"""systemd's readiness and watchdog notifications (sd_notify), with the standard library.

Under ``Type=notify`` with ``WatchdogSec=`` (deploy/systemd/kiosk.service) systemd passes
``NOTIFY_SOCKET`` (a unix datagram socket) and ``WATCHDOG_USEC``. The kiosk says
``READY=1`` once the first frame is on the screen, so "started" means a citizen sees
something, and ``WATCHDOG=1`` from a callback of the UI's own clock: a UI thread stuck in a
loop or a dead lock stops pinging, and systemd restarts the kiosk even though the process
is still alive. A thread pinging on its own would keep a frozen screen "healthy".

No Kivy here: the caller hands in the clock's ``schedule_interval``. No python-systemd
either: the protocol is one datagram, and the library would add a C extension to build on
every kiosk image.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["Notifier", "start_watchdog", "watchdog_interval"]


def _address(value: str) -> str | None:
    """The socket address of ``$NOTIFY_SOCKET``: a path, or ``@name`` in the abstract
    namespace (Linux); anything else (vsock:, relative paths) is not ours to guess."""
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    return None


class Notifier:
    """Sends sd_notify states; does nothing (and costs nothing) outside systemd."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        raw = environ.get("NOTIFY_SOCKET", "")
        self.address = _address(raw) if raw else None
        if raw and self.address is None:
            log.warning("NOTIFY_SOCKET is not a unix socket path; systemd will not be told")
        self._failed = False

    @property
    def enabled(self) -> bool:
        """True when started by systemd with a notification socket."""
        return self.address is not None

    def send(self, state: str) -> bool:
        """Send one notification (``READY=1``, ``WATCHDOG=1``...); False if not delivered.

        Errors are logged once, not raised: a missed ping is systemd's to judge, and the
        kiosk must not stop serving a citizen because the service manager went away.
        """
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(state.encode("utf-8"), self.address)
        except OSError as error:
            if not self._failed:
                log.warning("cannot notify systemd (%s)", type(error).__name__)
                self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status: str = "") -> bool:
        """Tell systemd the kiosk is up (the first frame is drawn)."""
        return self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def ping(self) -> bool:
        """Keep the watchdog from firing."""
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        """Tell systemd the kiosk is shutting down on purpose."""
        return self.send("STOPPING=1")


def watchdog_interval(environ: Mapping[str, str] = os.environ, pid: int | None = None) -> float:
    """Seconds between pings: half of ``$WATCHDOG_USEC`` as sd_watchdog_enabled(3) advises;
    0 when there is no watchdog or it is meant for another process (``$WATCHDOG_PID``)."""
    text = environ.get("WATCHDOG_USEC", "")
    if not text.isdigit() or int(text) == 0:
        return 0.0
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return 0.0
    return int(text) / 2_000_000


def start_watchdog(schedule_interval: Callable[[Callable[[float], Any], float], Any],
                   notifier: Notifier, environ: Mapping[str, str] = os.environ) -> float:
    """Ping every :func:`watchdog_interval` seconds from ``schedule_interval`` (Kivy's
    ``Clock.schedule_interval``: the callback runs on the UI thread between frames).
    Returns the interval, 0 when no watchdog is asked for."""
    interval = watchdog_interval(environ)
    if interval and notifier.enabled:
        schedule_interval(lambda _dt: notifier.ping(), interval)
        log.info("systemd watchdog: pinging every %.1f s", interval)
        return interval
    return 0.0
