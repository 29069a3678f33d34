"""Out of service: the technician's switch, and the automatic one when the kiosk is down.

While out of service, citizens see "out of service, please use another terminal or the
counter" instead of the attract screen, and a touch starts no visit (the hidden technician
gesture still opens the PIN screen). Two switches, kept in SQLite so a restart keeps them:

- *manual*: a technician's, on the diagnostics screen; it stays until switched off.
- *automatic*: on while a part every journey needs is down, off as soon as it is back.

Which parts: exactly those whose failure makes ``kiosk diagnose`` say ``down``
(:data:`BLOCKING_CHECKS`): storage unwritable or full, no catalogue, the Chinese fonts or a
language catalogue missing, the keys refused, the outbox refusing applications. That is
the one definition of "citizens cannot be served here" the command line, the fleet's
metrics and the screen share; a kiosk that monitoring calls down while its screen invites
citizens in would send them to a dead end. Devices are deliberately NOT among them: every
touchscreen journey has an alternative for each (the reader: a typed ID number; the camera:
staff take the materials; the printer: the receipt as a QR code on screen), which is why
diagnose itself never calls a device down. The devices are also not opened here: the
running kiosk's hub holds them, and a second opener would fight it for the port.

A part must be seen down on :data:`CONFIRM_ROUNDS` checks in a row before the kiosk goes
out of service (a database busy for one moment must not turn citizens away), and one good
check lifts it: being wrongly out of service costs citizens, being wrongly in service
costs one refused application that already says where to go.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from offline_cache.service_store import ServiceRow, ServiceStore, opened

if TYPE_CHECKING:
    from kiosk.config import KioskConfig
    from kiosk.operations.diagnosis import Finding

__all__ = [
    "BLOCKING_CHECKS",
    "CHECK_EVERY_S",
    "CONFIRM_ROUNDS",
    "OutOfService",
    "ServiceMonitor",
    "ServiceState",
    "blocking_findings",
]

log = logging.getLogger(__name__)

BLOCKING_CHECKS = ("storage", "catalogue", "fonts", "languages", "keys", "outbox")
"""kiosk.operations.diagnosis checks whose ``down`` takes the kiosk out of service; the
others (config: loaded already; platform and devices: at worst degraded) never are down."""

CHECK_EVERY_S = 30.0
"""Seconds between two automatic checks: a kiosk down is out of service within a minute."""

CONFIRM_ROUNDS = 2
"""Checks in a row a part must be down before the kiosk goes out of service."""


@dataclass(frozen=True)
class OutOfService:
    """Whether citizens are turned away now, and why."""

    manual: bool = False
    manual_by: str = ""
    automatic: bool = False
    reason: str = ""
    """The findings that are down (comma separated names), when automatic."""

    @property
    def active(self) -> bool:
        """Either switch is on."""
        return self.manual or self.automatic

    @classmethod
    def of(cls, row: ServiceRow) -> OutOfService:
        return cls(row.manual, row.manual_by, row.automatic, row.auto_reason)


def blocking_findings(config: KioskConfig) -> list[Finding]:
    """The :data:`BLOCKING_CHECKS` findings that are down now (empty: in service).

    The checks are diagnose's own functions, so the screen and ``kiosk diagnose`` cannot
    disagree; a check that crashes counts as down, as it does there.
    """
    from kiosk.operations.diagnosis import CHECKS, Status, _failed

    down = []
    for name, check, on_failure in CHECKS:
        if name not in BLOCKING_CHECKS:
            continue
        try:
            finding = check(config)
        except Exception as error:
            finding = _failed(config, name, on_failure,
                              f"check failed: {type(error).__name__}")
        if finding.status is Status.DOWN:
            down.append(finding)
    return down


class ServiceState:
    """Both switches in the kiosk database at ``database``; opened per call (the UI thread,
    the monitor thread and the metrics exporter each ask)."""

    def __init__(self, database: Path, clock: Callable[[], float] = time.time) -> None:
        self.database = Path(database)
        self.clock = clock

    def _store(self) -> AbstractContextManager[ServiceStore]:
        return opened(self.database)

    def now(self) -> OutOfService:
        """Both switches as stored."""
        with self._store() as store:
            return OutOfService.of(store.service())

    def switch(self, on: bool, who: str) -> OutOfService:
        """The technician's switch, audited; the state after it."""
        from kiosk.operations.technician import TechnicianAccess

        with self._store() as store:
            store.set_manual(on, who, self.clock())
            state = OutOfService.of(store.service())
        TechnicianAccess(self.database, self.clock).record(
            who, "out_of_service", "switched on" if on else "switched off")
        log.warning("out of service switched %s by a technician", "on" if on else "off")
        return state

    def set_automatic(self, on: bool, reason: str = "") -> OutOfService:
        """The automatic switch (the monitor's); logged when it changes."""
        with self._store() as store:
            before = store.service()
            if before.automatic != on or (on and before.auto_reason != reason):
                store.set_automatic(on, reason, self.clock())
                if on:
                    log.error("out of service automatically: %s down", reason)
                else:
                    log.warning("back in service: nothing every journey needs is down")
            return OutOfService.of(store.service())


class ServiceMonitor:
    """Runs :func:`blocking_findings` every ``interval`` seconds on a thread of its own and
    sets the automatic switch (see the module docstring for the rule).

    ``on_change(state)`` is called on the monitor's thread after every round whose state
    differs from the last one reported (and after the first): the screens hand it to the UI
    thread with Clock. ``checks`` replaces :func:`blocking_findings` (tests).
    """

    def __init__(self, config: KioskConfig, on_change: Callable[[OutOfService], None], *,
                 interval: float = CHECK_EVERY_S, confirm: int = CONFIRM_ROUNDS,
                 checks: Callable[[KioskConfig], list[Finding]] | None = None) -> None:
        self.config = config
        self.state = ServiceState(config.storage.database)
        self.on_change = on_change
        self.interval = interval
        self.confirm = confirm
        self.checks = checks or blocking_findings
        self.streak = 0
        self._last: OutOfService | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Check now and then every ``interval`` seconds."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="service-monitor",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """End the thread (waits for a check under way, a second at most)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def check_now(self) -> None:
        """Run the next round at once (a technician switched, a test changed something)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.round()
            except Exception as error:  # the monitor must outlive a database that hiccups
                log.error("service monitor: %s", type(error).__name__)
            self._wake.wait(self.interval)
            self._wake.clear()

    def round(self) -> OutOfService:
        """One check: set or lift the automatic switch; report a change."""
        down = self.checks(self.config)
        self.streak = self.streak + 1 if down else 0
        if self.streak >= self.confirm:
            state = self.state.set_automatic(True, ", ".join(f.name for f in down))
        elif not down:
            state = self.state.set_automatic(False)
        else:
            state = self.state.now()
        if state != self._last:
            self._last = state
            self.on_change(state)
        return state
