"""Is the provincial platform reachable? Drives the online / offline badge.

Online means the platform's ``GET /health`` answers ``{"status": "ok"}`` (the contract's
unauthenticated endpoint). The probe runs on its own daemon thread so that a hanging network
never freezes the touch screen; listeners are called from that thread and must hand the
result to the UI themselves (screens do it with Kivy's Clock).

The probe follows the same transport rules as the sync client (:mod:`kiosk.platform.transport`):
the same ``ca_file`` and ``proxy``, nothing from the environment, no redirects. Otherwise the
badge could say "online" through a CA bundle or a proxy the sender does not use, and a captive
portal's 302 to its login page could count as an answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.platform.transport import new_session

if TYPE_CHECKING:  # requests costs ~0.1 s to import; the probe thread imports it
    import requests

log = logging.getLogger(__name__)

Listener = Callable[[bool], None]


def probe_health(session: requests.Session, base_url: str, timeout: float) -> bool:
    """True when ``base_url``/health answers 200 with status ok within ``timeout``.

    A redirect is "not online" (a captive portal), never followed. Whatever ``session`` is
    given, the environment's proxies and CA bundle are not used: its ``trust_env`` is turned
    off here (make it with :func:`kiosk.platform.transport.new_session` for ``ca_file`` and
    ``proxy``).
    """
    import requests

    session.trust_env = False
    try:
        response = session.get(f"{base_url.rstrip('/')}/health", timeout=timeout,
                               allow_redirects=False)
        return response.status_code == 200 and response.json().get("status") == "ok"
    except (requests.RequestException, ValueError, AttributeError):
        return False


class ConnectivityMonitor:
    """Polls the platform's health every ``interval`` seconds on a background thread."""

    def __init__(self, base_url: str, interval: float, timeout: float, *,
                 ca_file: Path | None = None, proxy: str = "") -> None:
        self.base_url = base_url
        self.interval = interval
        self.timeout = timeout
        self.ca_file = ca_file
        self.proxy = proxy
        self.online: bool | None = None  # None until the first probe has answered
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http: requests.Session | None = None

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(online)`` from the probe thread whenever the state changes."""
        self._listeners.append(listener)

    def check_now(self) -> bool:
        """Probe once, update the state and tell listeners when it changed."""
        if self._http is None:
            self._http = new_session(self.ca_file, self.proxy)
        online = probe_health(self._http, self.base_url, self.timeout)
        if online != self.online:
            log.info("platform %s", "online" if online else "offline")
            self.online = online
            for listener in list(self._listeners):
                listener(online)
        return online

    @property
    def started(self) -> bool:
        """The polling thread runs (False in tests that keep the kiosk off the network)."""
        return self._thread is not None

    def start(self) -> None:
        """Start polling; calling it twice does nothing."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="connectivity", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait briefly for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check_now()
            self._stop.wait(self.interval)
