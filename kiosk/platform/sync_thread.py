"""The sync thread: runs the sync worker's passes in the background of the kiosk app.

Kept apart from :mod:`kiosk.platform.sync` so that starting the touchscreen does not import the
worker's dependencies (requests, cryptography): the worker is built inside the thread.
Listeners are called on that thread; screens hand events to the UI with Kivy's Clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncEvent:
    """Something the screens may show: ``kind`` is online, queue, acknowledged or alert."""

    kind: str
    online: bool | None = None
    pending: int | None = None
    receipt_no: str | None = None
    application_no: str | None = None
    message: str | None = None


Listener = Callable[[SyncEvent], None]


class SyncReport(Protocol):
    """What the thread reads of a pass's report (:class:`kiosk.platform.sync.SyncReport`)."""

    online: bool
    clock_skew_s: float | None


class SyncWorker(Protocol):
    """What the thread needs of the worker (:class:`kiosk.platform.sync.SyncWorker`).

    A protocol rather than an import: the worker module imports this one for its events, and
    the thread must not import the worker's dependencies (requests, cryptography) at start-up.
    """

    client: Any
    storage: Any
    paused_until: float
    listeners: list[Listener]
    wake: Callable[[], None]

    def recover(self) -> Any: ...

    def sync_once(self) -> SyncReport: ...


class SyncThread:
    """Runs :class:`SyncWorker` passes on a daemon thread until stopped.

    The worker's database connection is opened inside the thread (SQLite connections belong
    to their thread). ``wake()`` starts a pass at once, e.g. right after a submission.
    """

    def __init__(self, make_worker: Callable[[], SyncWorker], interval_s: float,
                 offline_interval_s: float | None = None) -> None:
        self.make_worker = make_worker
        self.interval_s = interval_s
        self.offline_interval_s = offline_interval_s or interval_s
        self.listeners: list[Listener] = []
        self.last_report: SyncReport | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; a second call does nothing."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run a pass now instead of waiting for the interval."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop after the current request and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        worker = self._first_worker()
        if worker is None:
            return
        try:
            worker.recover()
            while not self._stop.is_set():
                try:
                    report = worker.sync_once()
                    self.last_report = report
                    wait = self.interval_s if report.online else self.offline_interval_s
                except Exception:
                    log.exception("sync pass failed")
                    wait = self.offline_interval_s
                pause = worker.paused_until - time.monotonic()
                self._wake.wait(max(wait, pause))
                self._wake.clear()
        finally:
            worker.client.close()
            worker.storage.close()

    def _first_worker(self) -> SyncWorker | None:
        """Build the worker, retrying while it cannot be (no key file provisioned yet)."""
        while not self._stop.is_set():
            try:
                worker = self.make_worker()
            except Exception as error:  # KeyFileError, CacheError: say why, try again later
                message = f"sync is off: {error}"
                log.error(message)
                for listener in list(self.listeners):
                    listener(SyncEvent("alert", message=message))
                self._wake.wait(self.offline_interval_s)
                self._wake.clear()
                continue
            worker.listeners = self.listeners
            worker.wake = self.wake  # request_heartbeat() starts a pass at once
            return worker
        return None
