"""Prometheus metrics of one kiosk, so that a province sees its fleet on the tools it runs.

Why it is built this way:

- *State is read at scrape time* from the objects that own it: the device hub, the kiosk
  database, the connectivity probe and the sync thread's last report. No copy is kept that
  could go stale or disagree with what ``kiosk diagnose`` says.
- *Events are tallied as plain numbers* (receipts, sync errors, visits, screen latency)
  where they happen: a lock and an addition, with no import of prometheus_client (about
  90 ms) on the touchscreen's start-up path. The collector turns the tally into metric
  families when Prometheus asks.
- *No personal data in labels*: every label value is a fixed word (device, state, outcome,
  error class, reason, screen name) and anything else becomes ``other``. Nothing a citizen
  typed or a card held can reach the exposition, whatever a caller passes.
- *Loopback only*: prometheus_client's own WSGI server listens on 127.0.0.1 and nowhere
  else. It has no authentication and no TLS, so a collector on the kiosk itself (Prometheus
  in agent mode, Grafana Alloy) scrapes it and forwards over the province's own channel
  (docs/monitoring.md).

The metric names and their meaning are listed in docs/monitoring.md; the alert rules and
the dashboard in deploy/ use only names this module exports (tests/test_deploy_monitoring.py).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from drivers.model import paper_level

if TYPE_CHECKING:  # prometheus_client is imported when the exporter starts, not at start-up
    from prometheus_client.metrics_core import Metric

    from drivers.model import DeviceStatus
    from kiosk.services import KioskServices

__all__ = [
    "DEVICE_STATES",
    "LATENCY_BUCKETS",
    "LOOPBACK",
    "PAPER_LEVELS",
    "RECEIPT_OUTCOMES",
    "SYNC_ERROR_CLASSES",
    "TALLY",
    "VISIT_ENDINGS",
    "Exporter",
    "KioskCollector",
    "Sources",
    "Tally",
    "count_receipt",
    "count_sync_error",
    "screen_shown",
    "serve",
    "shutdown",
    "visit_ended",
    "visit_started",
]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
"""The only address the exporter listens on."""

DEVICES = ("idcard", "printer", "camera")
DEVICE_STATES = ("starting", "online", "offline", "powerOff", "noDevice", "hardwareError",
                 "userError", "deviceBusy", "standby")
"""drivers.model.DeviceState values, and the hub's ``standby`` for a closed camera."""
UP_STATES = frozenset({"online", "deviceBusy", "standby", "starting"})
"""States in which a device can serve the next citizen (``kiosk_device_up`` = 1)."""
PAPER_LEVELS = ("ok", "low", "out", "unknown")
RECEIPT_OUTCOMES = ("printed", "paper_out", "cover_open", "offline", "failed")
"""``printed`` and kiosk.devices.hub.PRINT_PROBLEMS."""
SYNC_ERROR_CLASSES = ("transient", "rate_limited", "auth", "clock", "missing_attachment",
                      "record", "config", "local")
"""kiosk.platform.client.Failure values, and ``local`` for a record the kiosk itself could
not read or send (a missing attachment file, a broken seal, an unexpected exception)."""
VISIT_ENDINGS = ("finished", "timeout")
OUTBOX_STATES = ("draft", "sealed", "uploading", "retry_later", "acknowledged",
                 "status_synced", "quarantined", "purgeable")
"""offline_cache.outbox.State values (not imported: that module loads cryptography)."""
UNSENT_STATES = ("sealed", "uploading", "retry_later")
"""offline_cache.outbox.UNSENT: applications the platform has not acknowledged yet."""
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)
"""Seconds from a screen switch being asked to its first frame. 0.1 s feels instant on a
touchscreen, 0.3 s is noticed, above 1 s an elderly citizen taps again."""

_WORD = re.compile(r"[a-z][a-z_]{0,31}")
_MAX_VALUES = 64  # distinct values per label before new ones are folded into "other"


def _word(value: object, known: tuple[str, ...] = ()) -> str:
    """``value`` if it is a known word or looks like one (lowercase letters and ``_``, no
    digits, so no ID or phone number can pass); otherwise ``other``."""
    text = str(value)
    if text in known or _WORD.fullmatch(text):
        return text
    return "other"


# ----------------------------------------------------------------------------- the tally


class Tally:
    """Event counts of this process: what happened, not what is (that is read live).

    Thread-safe; every method is cheap enough for the UI thread and the device threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.receipts: dict[str, int] = dict.fromkeys(RECEIPT_OUTCOMES, 0)
        self.sync_errors: dict[str, int] = dict.fromkeys(SYNC_ERROR_CLASSES, 0)
        self.visits_started = 0
        self.visits_ended: dict[str, int] = dict.fromkeys(VISIT_ENDINGS, 0)
        self.latency: dict[str, list[float]] = {}
        """screen -> counts per bucket of LATENCY_BUCKETS and +Inf (not cumulative), sum."""

    def _add(self, table: dict[str, int], key: str) -> None:
        with self._lock:
            if key not in table and len(table) >= _MAX_VALUES:
                key = "other"
            table[key] = table.get(key, 0) + 1

    def count_receipt(self, problem: str | None) -> None:
        """A receipt was printed (``problem`` None) or stopped by ``problem``."""
        self._add(self.receipts, "printed" if problem is None
                  else _word(problem, RECEIPT_OUTCOMES))

    def count_sync_error(self, failure: str) -> None:
        """A request to the platform failed with this class, or a record could not be sent."""
        self._add(self.sync_errors, _word(failure, SYNC_ERROR_CLASSES))

    def visit_started(self) -> None:
        """The attract screen was touched."""
        with self._lock:
            self.visits_started += 1

    def visit_ended(self, reason: str) -> None:
        """The visit was wiped: ``finished`` or ``timeout``."""
        self._add(self.visits_ended, reason if reason in VISIT_ENDINGS else "other")

    def screen_shown(self, screen: str, seconds: float) -> None:
        """Screen ``screen`` drew its first frame ``seconds`` after it was asked for."""
        name = _word(screen)
        index = next((i for i, bound in enumerate(LATENCY_BUCKETS) if seconds <= bound),
                     len(LATENCY_BUCKETS))
        with self._lock:
            if name not in self.latency and len(self.latency) >= _MAX_VALUES:
                name = "other"
            row = self.latency.setdefault(name, [0.0] * (len(LATENCY_BUCKETS) + 2))
            row[index] += 1
            row[-1] += max(0.0, seconds)

    def snapshot(self) -> Tally:
        """A consistent copy for one scrape."""
        copy = Tally()
        with self._lock:
            copy.receipts = dict(self.receipts)
            copy.sync_errors = dict(self.sync_errors)
            copy.visits_started = self.visits_started
            copy.visits_ended = dict(self.visits_ended)
            copy.latency = {name: list(row) for name, row in self.latency.items()}
        return copy


TALLY = Tally()
"""The process's tally; the functions below and the exporter use it."""


def count_receipt(problem: str | None) -> None:
    """The device hub reports each receipt's outcome (None = printed)."""
    TALLY.count_receipt(problem)


def count_sync_error(failure: str) -> None:
    """The sync worker reports each failed send by class (kiosk.platform.client.Failure)."""
    TALLY.count_sync_error(failure)


def visit_started() -> None:
    """The app reports a visit beginning."""
    TALLY.visit_started()


def visit_ended(reason: str) -> None:
    """The app reports a visit ending: ``finished`` or ``timeout``."""
    TALLY.visit_ended(reason)


def screen_shown(screen: str, seconds: float) -> None:
    """The app reports a screen's first frame and how long after the switch was asked."""
    TALLY.screen_shown(screen, seconds)


# ---------------------------------------------------------------------- the live state


class DeviceView(Protocol):
    """What the collector reads of :class:`kiosk.devices.hub.DeviceHub`."""

    def states(self) -> dict[str, str]: ...

    def statuses(self) -> dict[str, DeviceStatus]: ...


def _unknown() -> None:
    return None


@dataclass
class Sources:
    """Where the live state is read at scrape time; any part may be missing (None)."""

    kiosk_id: str
    database: Path | None = None
    devices: DeviceView | None = None
    online: Callable[[], bool | None] = _unknown
    clock_skew: Callable[[], float | None] = _unknown
    clock: Callable[[], float] = time.time
    """Wall clock, the one the outbox stamps ``created_at`` with."""

    @classmethod
    def of(cls, services: KioskServices) -> Sources:
        """The running kiosk's sources."""
        sync = services.sync

        def skew() -> float | None:
            report = sync.last_report
            return None if report is None else report.clock_skew_s

        return cls(kiosk_id=services.config.kiosk.id, database=services.config.storage.database,
                   devices=services.devices, online=lambda: services.connectivity.online,
                   clock_skew=skew)


def read_outbox(database: Path) -> tuple[dict[str, int], float | None]:
    """(applications per state, created_at of the oldest unsent) from ``database``.

    A connection of its own, read-only, per scrape: SQLite connections belong to the thread
    that opened them, and the exporter answers on its own threads. Under WAL a reader never
    waits for the kiosk's writer. A database not made yet holds no applications.
    """
    counts = dict.fromkeys(OUTBOX_STATES, 0)
    if not database.exists():
        return counts, None
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    try:
        for state, count in conn.execute(
                "SELECT state, COUNT(*) FROM applications GROUP BY state"):
            key = _word(state, OUTBOX_STATES)
            counts[key] = counts.get(key, 0) + int(count)
        marks = ", ".join("?" for _ in UNSENT_STATES)
        (oldest,) = conn.execute(
            f"SELECT MIN(created_at) FROM applications WHERE state IN ({marks})",
            UNSENT_STATES).fetchone()
    finally:
        conn.close()
    return counts, oldest


class KioskCollector:
    """A prometheus_client collector: every scrape reads the sources and the tally anew."""

    def __init__(self, sources: Sources, tally: Tally = TALLY) -> None:
        self.sources = sources
        self.tally = tally
        self._outbox_warned = False

    def collect(self) -> Iterator[Metric]:
        """The metric families, in the order docs/monitoring.md lists them."""
        from prometheus_client.core import InfoMetricFamily

        from kiosk import __version__

        info = InfoMetricFamily("kiosk_build", "Software version and kiosk id of this kiosk.",
                                labels=["version", "kiosk_id"])
        info.add_metric([__version__, self.sources.kiosk_id], {})
        yield info
        yield from self._devices()
        yield from self._outbox()
        yield from self._service()
        yield from self._platform()
        yield from self._events(self.tally.snapshot())

    def _devices(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        devices = self.sources.devices
        if devices is None:
            return
        states = devices.states()
        statuses = devices.statuses()
        state = GaugeMetricFamily(
            "kiosk_device_state", "1 for the state each device is in now, 0 for the others.",
            labels=["device", "state"])
        up = GaugeMetricFamily(
            "kiosk_device_up", "1 if the device can serve the next citizen, else 0.",
            labels=["device"])
        for name in DEVICES:
            current = _word(states.get(name, "unknown"), DEVICE_STATES)
            for value in (*DEVICE_STATES, *(() if current in DEVICE_STATES else (current,))):
                state.add_metric([name, value], 1.0 if value == current else 0.0)
            up.add_metric([name], 1.0 if current in UP_STATES else 0.0)
        yield state
        yield up
        printer = statuses.get("printer")
        supply = printer.supplies.get("paper") if printer is not None else None
        level = paper_level(supply)
        paper = GaugeMetricFamily(
            "kiosk_printer_paper", "1 for the receipt paper's level now (ok, low, out, unknown).",
            labels=["level"])
        for value in PAPER_LEVELS:
            paper.add_metric([value], 1.0 if value == level else 0.0)
        yield paper

    def _outbox(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        database = self.sources.database
        if database is None:
            return
        readable = GaugeMetricFamily("kiosk_outbox_readable",
                                     "1 if the outbox could be read for this scrape, else 0.")
        try:
            counts, oldest = read_outbox(database)
        except sqlite3.Error as error:
            if not self._outbox_warned:  # once, not on every scrape
                log.warning("metrics: the outbox cannot be read: %s", type(error).__name__)
                self._outbox_warned = True
            readable.add_metric([], 0.0)
            yield readable
            return
        self._outbox_warned = False
        readable.add_metric([], 1.0)
        yield readable
        per_state = GaugeMetricFamily(
            "kiosk_outbox_applications", "Applications in the outbox, by state.",
            labels=["state"])
        for state, count in counts.items():
            per_state.add_metric([state], float(count))
        yield per_state
        yield GaugeMetricFamily(
            "kiosk_outbox_unsent", "Applications not yet acknowledged by the platform.",
            value=float(sum(counts[state] for state in UNSENT_STATES)))
        age = 0.0 if oldest is None else max(0.0, self.sources.clock() - float(oldest))
        yield GaugeMetricFamily(
            "kiosk_outbox_oldest_unsent_age_seconds",
            "Age of the oldest application not yet acknowledged (0 when none waits).",
            value=age)

    def _service(self) -> Iterator[Metric]:
        """Paper used since the last refill and the out-of-service switch, read from the
        kiosk database like the outbox (kiosk.operations.paper, service_state)."""
        from prometheus_client.core import GaugeMetricFamily

        database = self.sources.database
        if database is None or not database.exists():
            return
        try:
            conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True,
                                   timeout=1.0)
            try:
                paper = conn.execute("SELECT slips FROM paper_roll").fetchone()
                service = conn.execute(
                    "SELECT manual, automatic FROM service_state").fetchone()
            finally:
                conn.close()
        except sqlite3.Error:  # an older schema, a busy file: the outbox gauge says so
            return
        yield GaugeMetricFamily(
            "kiosk_paper_slips_since_refill",
            "Slips printed since a technician last marked the paper refilled.",
            value=float(paper[0]) if paper else 0.0)
        yield GaugeMetricFamily(
            "kiosk_out_of_service",
            "1 while citizens are shown the out-of-service screen (switch or automatic).",
            value=1.0 if service and (service[0] or service[1]) else 0.0)

    def _platform(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        online = self.sources.online()
        if online is not None:  # not known before the first health probe has answered
            yield GaugeMetricFamily("kiosk_platform_online",
                                    "1 if the platform's /health answers, else 0.",
                                    value=1.0 if online else 0.0)
        skew = self.sources.clock_skew()
        if skew is not None:
            yield GaugeMetricFamily(
                "kiosk_platform_clock_skew_seconds",
                "Kiosk clock minus the platform's, from the last sync pass (seconds).",
                value=float(skew))

    def _events(self, tally: Tally) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        receipts = CounterMetricFamily("kiosk_receipts", "Receipts by outcome: printed, or "
                                       "the problem that stopped them.", labels=["outcome"])
        for outcome, count in tally.receipts.items():
            receipts.add_metric([outcome], float(count))
        yield receipts
        errors = CounterMetricFamily("kiosk_sync_errors", "Failed sends to the platform, by "
                                     "class.", labels=["class"])
        for kind, count in tally.sync_errors.items():
            errors.add_metric([kind], float(count))
        yield errors
        yield CounterMetricFamily("kiosk_visits_started", "Visits begun at the attract screen.",
                                  value=float(tally.visits_started))
        ended = CounterMetricFamily("kiosk_visits_ended", "Visits ended, by reason (finished, "
                                    "timeout).", labels=["reason"])
        for reason, count in tally.visits_ended.items():
            ended.add_metric([reason], float(count))
        yield ended
        latency = HistogramMetricFamily(
            "kiosk_screen_latency_seconds",
            "Seconds from a screen switch being asked to the screen's first frame.",
            labels=["screen"])
        for screen, row in sorted(tally.latency.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), row[:-1], strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric([screen], buckets, row[-1])
        yield latency


# ----------------------------------------------------------------------------- serving


class Exporter:
    """The metrics page on ``http://127.0.0.1:PORT/metrics`` (prometheus_client's server).

    ``port`` 0 takes a free port (tests); the configuration's 0 means "off" and is handled by
    :func:`serve` before an exporter is made.
    """

    def __init__(self, sources: Sources, port: int, *, tally: Tally = TALLY,
                 process_metrics: bool = True) -> None:
        self.sources = sources
        self.requested_port = port
        self.tally = tally
        self.process_metrics = process_metrics
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._starter: threading.Thread | None = None
        self._stopped = False

    @property
    def port(self) -> int | None:
        """The port listened on, None while not listening."""
        server = self._server
        return None if server is None else int(server.server_address[1])

    @property
    def url(self) -> str:
        """The metrics page's address."""
        return f"http://{LOOPBACK}:{self.port}/metrics"

    def registry(self) -> Any:
        """A registry of its own (never prometheus_client's global one): the kiosk's
        collector and, unless turned off, the process's memory, CPU and open files."""
        from prometheus_client import CollectorRegistry, ProcessCollector

        registry = CollectorRegistry(auto_describe=False)
        registry.register(KioskCollector(self.sources, self.tally))  # type: ignore[arg-type]
        if self.process_metrics:
            ProcessCollector(registry=registry)
        return registry

    def start(self) -> int:
        """Listen now; returns the port. Raises OSError when the port is taken."""
        from prometheus_client import start_http_server

        server, thread = start_http_server(self.requested_port, addr=LOOPBACK,
                                           registry=self.registry())
        with self._lock:
            if self._stopped:  # stop() came while the server was being made
                server.shutdown()
                server.server_close()
                raise OSError("the metrics exporter was stopped while starting")
            self._server, self._thread = server, thread
        return self.port or 0

    def start_in_background(self) -> None:
        """Start on a thread of its own, so the touchscreen never waits for the import and
        the bind; a port in use is logged, the kiosk runs on without metrics."""
        self._starter = threading.Thread(target=self._start_logged, name="metrics-start",
                                         daemon=True)
        self._starter.start()

    def _start_logged(self) -> None:
        try:
            port = self.start()
        except OSError as error:
            if not self._stopped:
                log.warning("metrics: cannot listen on %s:%d (%s); set [metrics] port to a free"
                          " port, or 0 for none", LOOPBACK, self.requested_port,
                          error.strerror or error)
            return
        log.info("metrics on http://%s:%d/metrics", LOOPBACK, port)

    def stop(self) -> None:
        """Stop listening and wait for the server thread (a second call does nothing)."""
        with self._lock:
            self._stopped = True
        if self._starter is not None:
            self._starter.join(timeout=5)
        with self._lock:
            server, self._server = self._server, None
            thread, self._thread = self._thread, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)


def serve(services: KioskServices) -> Exporter | None:
    """Start the exporter of the running kiosk in the background; None when
    ``[metrics] port`` is 0."""
    port = services.config.metrics.port
    if port == 0:
        return None
    exporter = Exporter(Sources.of(services), port)
    exporter.start_in_background()
    return exporter


def shutdown(exporter: Exporter | None) -> None:
    """Stop what :func:`serve` started (None: nothing was)."""
    if exporter is not None:
        exporter.stop()
