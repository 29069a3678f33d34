"""The one sender: drains the outbox to the platform exactly once, oldest first.

Rules (lessons of ODK Collect, CommCare and MOSIP; see docs/sync.md):

- *Online* means the platform's ``/health`` answers. Nothing is sent otherwise.
- *Mark before send*: a record is moved to ``uploading`` and committed before any byte goes
  out; it becomes ``acknowledged`` only after a 2xx whose body checks out. A crash in
  between leaves it ``uploading``; start-up recovery sends it again and the platform's
  idempotency (receipt number = Idempotency-Key, same body = same answer) makes that safe.
- *Attachments first*: each file is PUT by its SHA-256 (idempotent), then the application.
- *Classify, do not just retry*: a transport fault, a 5xx or a 429 defers the record and
  ends the pass (the next record would fail the same way); 401 defers it and alerts a
  technician; 400/404/409/413/422 quarantine that record and the pass goes on. A 3xx is a
  refused redirect (a wrong URL): the record is deferred, kept, and a technician alerted.
- *No platform words*: a failure is stored and logged as ``platform STATUS CODE field=NAME``
  (:func:`kiosk.platform.client.error_detail`), never with the platform's message, which
  may quote the applicant's data back.
- *Evaluations (好差评) after applications*: the same pass sends due ratings from
  offline_cache.evaluations, each with its own id as Idempotency-Key, with the same
  mark-before-send, backoff and classification; a 409 means the platform holds that key
  already (counted as sent, never twice); other 4xx quarantine the rating.
- *Single flight*: a file lock guards the pass, so the kiosk's worker thread and a
  technician's ``kiosk sync --once`` never send at the same time.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from functools import partial
from pathlib import Path
from typing import Any

from kiosk.applying.applications import OutboxStorage, StartupRecovery, application_body
from kiosk.config import KioskConfig
from kiosk.operations import metrics
from kiosk.platform.client import Failure, PlatformClient, PlatformError, canonical_json
from kiosk.platform.evaluations import is_already_held, post_evaluation
from kiosk.platform.signing import read_key_file
from kiosk.platform.sync_thread import Listener, SyncEvent
from offline_cache.attachments import AttachmentMissing
from offline_cache.evaluations import (
    EvalTransitionError,
    EvaluationQueue,
    EvaluationSealBroken,
    QueuedEvaluation,
)
from offline_cache.outbox import Application, InvalidTransition

log = logging.getLogger(__name__)

MAX_CLOCK_SKEW_S = 300
COMEBACK_SPREAD_S = 60.0
"""The kiosk app's worker waits a random 0..60 s before sending after an outage it saw: the
fleet's backlog then reaches the platform over a minute, not at once (docs/sync.md)."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter, capped (per record, from its attempt count).

    "Equal jitter": half the exponential delay is fixed, half random, so a fleet of kiosks
    coming back after an outage spreads out but none retries at once.
    """

    base_s: float = 5.0
    cap_s: float = 900.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait before attempt number ``attempts + 1``."""
        ceiling = min(self.cap_s, self.base_s * 2 ** min(attempts, 30))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Schedule:
    """How often the worker refreshes what is not the outbox (seconds)."""

    heartbeat_s: float = 60.0
    catalog_s: float = 900.0
    lists_s: float = 3600.0
    documents_s: float = 0.0
    """Guides and forms come a batch per pass until all are cached."""
    retention_s: float = 6 * 3600.0
    """Purge of applications acknowledged more than ``[outbox] retention_days`` ago."""


NEVER = float("inf")
OUTBOX_ONLY = Schedule(heartbeat_s=NEVER, catalog_s=NEVER, lists_s=NEVER, documents_s=NEVER,
                       retention_s=NEVER)
"""A worker that only sends applications (tests, benchmarks, crash torture)."""


def _nothing() -> None:
    """The default ``SyncWorker.wake``: a worker run pass by pass has no thread to wake."""


def _summary(result: object) -> str:
    if isinstance(result, dict):
        return "ok"
    if is_dataclass(result) and not isinstance(result, type):
        return ", ".join(f"{k} {v}" for k, v in asdict(result).items())
    return str(result)


@dataclass
class SyncReport:
    """What one pass did; ``kiosk sync --once --json`` prints it."""

    online: bool = False
    acknowledged: int = 0
    replayed: int = 0
    deferred: int = 0
    quarantined: int = 0
    attachments_uploaded: int = 0
    progress_checked: int = 0
    stopped: str | None = None
    alerts: list[str] = field(default_factory=list)
    clock_skew_s: float | None = None
    pending: int = 0
    evaluations_sent: int = 0
    evaluations_pending: int = 0
    housekeeping: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


class _StopPass(Exception):
    """Ends the pass: what failed will fail for the next record too."""


class SyncWorker:
    """Sends due outbox records; ``sync_once`` is one pass, ``start`` runs them in a thread."""

    def __init__(self, storage: OutboxStorage, client: PlatformClient, *,
                 backoff: Backoff = Backoff(), batch: int = 50,
                 lock_path: Path | None = None, rng: random.Random | None = None,
                 progress_interval_s: float = 300.0,
                 schedule: Schedule | None = None,
                 device_states: Callable[[], dict[str, str]] = dict,
                 listeners: list[Listener] | None = None,
                 comeback_spread_s: float = 0.0) -> None:
        self.storage = storage
        self.outbox = storage.outbox
        self.client = client
        self.backoff = backoff
        self.batch = batch
        self.lock_path = lock_path or storage.config.storage.data_dir / "sync.lock"
        self.rng = rng or random.Random()
        self.progress_interval_s = progress_interval_s
        self.listeners: list[Listener] = listeners if listeners is not None else []
        self.paused_until = 0.0
        self.comeback_spread_s = comeback_spread_s
        self._offline_seen = False
        self._held_until = 0.0
        self.schedule = schedule or Schedule()
        self.device_states = device_states
        self.wake: Callable[[], None] = _nothing
        """Starts a pass now; the sync thread sets it to its own ``wake``."""
        self.heartbeat_listeners: list[Callable[[PlatformClient, dict[str, Any]], None]] = []
        """Told each heartbeat answer (e.g. its ``config_version``: a new site profile)."""
        self._last_run: dict[str, float] = {}
        self._heartbeat_requested = threading.Event()
        self.evaluations = EvaluationQueue(storage.conn, storage.master_key, self.outbox.clock)

    def request_heartbeat(self) -> None:
        """Send the heartbeat in the next pass, and start that pass now.

        A device state the hall must see at once (a citizen calling staff) cannot wait for
        the heartbeat's schedule. Safe from any thread: only an event is set here; the sync
        thread forgets the heartbeat's last run itself, so a pass already running cannot
        overwrite the request. A request made while offline is kept until the platform
        answers; a schedule that never sends heartbeats (``OUTBOX_ONLY``) still never does.
        """
        self._heartbeat_requested.set()
        self.wake()

    def recover(self) -> StartupRecovery | None:
        """Start-up reconciliation, under the sync lock (None when another sender runs).

        Holding the lock proves no upload is in flight, so every record found in
        ``uploading`` really was interrupted.
        """
        with SingleFlightLock(self.lock_path) as acquired:
            if not acquired:
                return None
            found = self.storage.recover()
            resumed = self.evaluations.recover_interrupted()
        if resumed:
            log.warning("start-up recovery: %d evaluations resumed", resumed)
        if found.resumed_uploads or found.quarantined_missing_files:
            log.warning("start-up recovery: %s", found)
        return found

    # -- one pass -----------------------------------------------------------------------
    def sync_once(self, *, progress: bool = True) -> SyncReport:
        """Check the platform, then send what is due; returns what happened."""
        report = SyncReport()
        with SingleFlightLock(self.lock_path) as acquired:
            if not acquired:
                report.stopped = "another sender is running (sync.lock)"
                return report
            health = self.client.health()
            report.online = health.ok
            report.clock_skew_s = health.skew_s
            self._correct_clock(health.skew_s)
            self._emit(SyncEvent("online", online=health.ok))
            if not health.ok:
                report.stopped = "offline: the platform's /health does not answer"
                # only a backlog needs spreading: a kiosk that had nothing waiting (one
                # just started before the platform answered) sends a citizen's next
                # application at once, with the official number on the receipt
                if self._has_backlog():
                    self._offline_seen = True
            elif not self._held_after_outage(report):
                if health.skew_s is not None and abs(health.skew_s) > MAX_CLOCK_SKEW_S:
                    report.alerts.append(
                        f"kiosk clock is {health.skew_s:+.0f} s off the platform's: fix the time"
                        " (NTP); requests are signed with the platform's time meanwhile")
                self._drain(report)
                if progress and report.stopped is None:
                    self._refresh_progress(report)
                if report.stopped is None:
                    self._housekeeping(report)
            self._purge(report)
        report.pending = self.outbox.backlog()[0]
        report.evaluations_pending = self.evaluations.backlog()
        self._emit(SyncEvent("queue", pending=report.pending))
        for alert in report.alerts:
            self._emit(SyncEvent("alert", message=alert))
        return report

    def _has_backlog(self) -> bool:
        """Whether applications or ratings wait to be sent (cheap: counts only)."""
        return bool(self.outbox.backlog()[0] or self.evaluations.backlog())

    def _held_after_outage(self, report: SyncReport) -> bool:
        """Whether this pass waits: the platform is back after an outage this worker saw.

        Every kiosk sees the platform come back within one health interval, each with the
        whole queue of the outage; sending at once puts the fleet's backlog on the platform
        in seconds (the fleet simulation, docs/sync.md). So the first pass online after an
        offline one draws a hold in [0, comeback_spread_s) and sends when it has passed;
        the sync thread sleeps until ``paused_until``. A fresh worker (``kiosk sync
        --once``) saw no outage and sends at once, and so does one that had nothing
        waiting while the platform was away.
        """
        now = time.monotonic()
        if self._offline_seen:
            self._offline_seen = False
            if self.comeback_spread_s > 0:
                self._held_until = now + self.rng.uniform(0, self.comeback_spread_s)
                self.paused_until = max(self.paused_until, self._held_until)
        if now < self._held_until:
            report.stopped = "back online: sending after a random hold (spreads the fleet)"
            return True
        return False

    def _correct_clock(self, skew_s: float | None) -> None:
        """Sign with the platform's time when the kiosk clock is clearly off.

        A wrong kiosk clock must not strand the queue: the platform refuses timestamps more
        than 300 s off, so signatures use the platform's time (from /health) until the
        technician fixes the clock. Small differences (< 30 s) are left alone.
        """
        if skew_s is None:
            return
        self.client.clock_correction_s = -skew_s if abs(skew_s) > 30 else 0.0

    def _drain(self, report: SyncReport) -> None:
        uploaded: set[str] = set()
        try:
            while due := self.outbox.due(limit=self.batch):
                for record in due:
                    self._send(record, report, uploaded)
            while due_ratings := self.evaluations.due(limit=self.batch):
                for rating in due_ratings:
                    self._send_evaluation(rating, report)
        except _StopPass:
            return

    def _send_evaluation(self, rating: QueuedEvaluation, report: SyncReport) -> None:
        """One rating, as :meth:`_send` does an application: marked, sent, classified."""
        queue = self.evaluations
        try:
            queue.start_upload(rating.eval_id)  # committed before any network I/O
        except EvalTransitionError:
            return
        try:
            answer = post_evaluation(self.client, rating.eval_id, queue.body(rating.eval_id))
        except EvaluationSealBroken:
            metrics.count_sync_error("local")
            self._quarantine_evaluation(rating, "EvaluationSealBroken", report)
            return
        except PlatformError as failure:
            if is_already_held(failure):
                queue.mark_sent(rating.eval_id, None, f"{failure.detail}: held already")
                report.evaluations_sent += 1
                return
            log.warning("sending evaluation %s failed: %s (%s)", rating.eval_id, failure,
                        failure.failure)
            metrics.count_sync_error(failure.failure.value)
            if failure.failure in (Failure.RECORD, Failure.MISSING_ATTACHMENT):
                self._quarantine_evaluation(rating, failure.detail, report)
                return
            self._defer(failure, rating.attempts, report,
                        partial(queue.retry_later, rating.eval_id, failure.detail))
        except Exception as error:  # a rating we cannot even read: never block the queue
            log.exception("evaluation %s cannot be sent", rating.eval_id)
            metrics.count_sync_error("local")
            self._quarantine_evaluation(
                rating, f"local-processing-error: {type(error).__name__}", report)
            return
        else:
            queue.mark_sent(rating.eval_id, answer.evaluation_no)
            report.evaluations_sent += 1
            log.info("evaluation %s received as %s%s", rating.eval_id, answer.evaluation_no,
                     " (already received)" if answer.replayed else "")

    def _quarantine_evaluation(self, rating: QueuedEvaluation, reason: str,
                               report: SyncReport) -> None:
        self.evaluations.quarantine(rating.eval_id, reason)
        report.quarantined += 1
        report.alerts.append(f"evaluation {rating.eval_id} quarantined: {reason}")

    def _send(self, record: Application, report: SyncReport, uploaded: set[str]) -> None:
        try:
            self.outbox.start_upload(record.local_id)  # committed before any network I/O
        except InvalidTransition:
            return  # taken by someone else meanwhile (a technician released or purged it)
        try:
            payload = self.outbox.payload(record.local_id)
            assert record.receipt_no is not None  # every sealed record has one
            body = canonical_json(application_body(
                record.receipt_no, self.storage.config.kiosk.id, record.item_code, payload))
            for attachment in payload["attachments"]:
                self._upload(attachment, report, uploaded)
            try:
                answer = self.client.post_application(record.receipt_no, body)
            except PlatformError as error:
                if error.failure is not Failure.MISSING_ATTACHMENT:
                    raise
                uploaded.discard(str(error.field_name))
                self._upload_missing(payload, str(error.field_name), report, uploaded)
                answer = self.client.post_application(record.receipt_no, body)
        except AttachmentMissing:
            metrics.count_sync_error("local")
            # which file is said by the start-up reconciliation's log; a digest here could
            # be cut by the outbox's reason sanitizer (it drops runs of digits)
            self._quarantine(record, "file-not-found: an attachment is missing or damaged",
                             report)
            return
        except PlatformError as error:
            self._failed(record, error, report)
            return
        except Exception as error:  # a record we cannot even read: never block the queue
            log.exception("outbox record %s cannot be sent", record.local_id)
            metrics.count_sync_error("local")
            self._quarantine(record, f"local-processing-error: {type(error).__name__}", report)
            return
        self.outbox.acknowledge(record.local_id, answer.application_no)
        if answer.replayed:
            report.replayed += 1
        else:
            report.acknowledged += 1
        log.info("acknowledged %s as %s%s", record.receipt_no, answer.application_no,
                 " (already received)" if answer.replayed else "")
        self._emit(SyncEvent("acknowledged", receipt_no=record.receipt_no,
                             application_no=answer.application_no))

    def _upload(self, attachment: dict[str, Any], report: SyncReport, uploaded: set[str]) -> None:
        digest = attachment["sha256"]
        if digest in uploaded:
            return
        data = self.storage.store.get(digest)
        if self.client.put_attachment(digest, data, attachment["content_type"]):
            report.attachments_uploaded += 1
        uploaded.add(digest)

    def _upload_missing(self, payload: dict[str, Any], digest: str, report: SyncReport,
                        uploaded: set[str]) -> None:
        for attachment in payload["attachments"]:
            if attachment["sha256"] == digest:
                self._upload(attachment, report, uploaded)
                return
        raise PlatformError(Failure.RECORD, "the platform asks for a file this application"
                            " does not list", 422, "missing_attachment")

    def _failed(self, record: Application, error: PlatformError, report: SyncReport) -> None:
        log.warning("sending %s failed: %s (%s)", record.receipt_no, error, error.failure)
        metrics.count_sync_error(error.failure.value)
        if error.failure is Failure.RECORD or error.failure is Failure.MISSING_ATTACHMENT:
            self._quarantine(record, error.detail, report)
            return
        self._defer(error, record.attempts, report,
                    lambda delay: self.outbox.retry_later(record.local_id, error.detail, delay))

    def _defer(self, error: PlatformError, attempts: int, report: SyncReport,
               retry_later: Callable[[float], None]) -> None:
        """A failure the record is not to blame for: due again later, and the pass ends."""
        if error.failure is Failure.RATE_LIMITED and error.retry_after is not None:
            delay = error.retry_after  # the platform said when; no need to guess
        else:
            delay = max(self.backoff.delay(attempts, self.rng), error.retry_after or 0)
        if error.retry_after is not None:
            self.paused_until = time.monotonic() + error.retry_after
        retry_later(delay)
        report.deferred += 1
        report.stopped = error.failure.value
        if error.failure in (Failure.AUTH, Failure.CLOCK):
            report.alerts.append(
                f"the platform refused the kiosk's signature ({error.code or error.status}):"
                " check the key file and the clock")
        elif error.failure is Failure.CONFIG:
            report.alerts.append(f"{error.detail}: check [platform] url")
        raise _StopPass

    def _quarantine(self, record: Application, reason: str, report: SyncReport) -> None:
        self.outbox.quarantine(record.local_id, reason)
        report.quarantined += 1
        report.alerts.append(f"{record.receipt_no} quarantined: {reason}")

    def _refresh_progress(self, report: SyncReport) -> None:
        older_than = self.outbox.clock() - self.progress_interval_s
        for record in self.outbox.needing_progress(older_than):
            try:
                progress = self.client.progress(record.receipt_no or "")
            except PlatformError as error:
                if error.failure is not Failure.RECORD:
                    return
                continue
            self.outbox.record_status(record.local_id, progress.status)
            report.progress_checked += 1

    def _housekeeping(self, report: SyncReport) -> None:
        """Heartbeat, catalogue delta, cached documents: each on its own schedule."""
        from kiosk.platform import catalog_sync as platform_sync

        conn = self.storage.conn
        if self._heartbeat_requested.is_set():
            # cleared before the states are read: a request arriving later sends another
            self._heartbeat_requested.clear()
            self._last_run.pop("heartbeat", None)
        tasks: list[tuple[str, float, Callable[[], object]]] = [
            ("heartbeat", self.schedule.heartbeat_s, lambda: self._answered(platform_sync.heartbeat(
                self.client, conn, *self._backlog(), self.device_states))),
            ("catalog", self.schedule.catalog_s,
             lambda: platform_sync.pull_catalog(self.client, conn)),
            ("lists", self.schedule.lists_s,
             lambda: platform_sync.refresh_lists(self.client, conn)),
            ("documents", self.schedule.documents_s,
             lambda: platform_sync.refresh_documents(self.client, conn)),
        ]
        for name, every, task in tasks:
            if not self._due(name, every):
                continue
            try:
                result = task()
            except PlatformError as error:
                report.housekeeping[name] = f"failed: {error}"
                metrics.count_sync_error(error.failure.value)
                if error.failure is not Failure.RECORD:
                    return  # the platform is struggling: leave the rest to the next pass
                continue
            self._last_run[name] = time.monotonic()
            report.housekeeping[name] = _summary(result)

    def _answered(self, answer: dict[str, Any]) -> dict[str, Any]:
        """Hand the heartbeat's answer to its listeners; a broken one never stops a pass."""
        for listener in list(self.heartbeat_listeners):
            try:
                listener(self.client, answer)
            except Exception:
                log.exception("heartbeat listener failed")
        return answer

    def _purge(self, report: SyncReport) -> None:
        """Retention runs online or not: it only ever removes acknowledged applications
        and ratings the platform has held for the same number of days."""
        from offline_cache.retention import purge_expired

        if not self._due("retention", self.schedule.retention_s):
            return
        purged = purge_expired(self.storage.conn, self.storage.store,
                               self.storage.config.outbox.retention_days, self.outbox.clock)
        days = self.storage.config.outbox.retention_days
        ratings = self.evaluations.purge_sent(self.outbox.clock() - days * 86400.0)
        self._last_run["retention"] = time.monotonic()
        report.housekeeping["retention"] = (f"purged {purged.applications}, files {purged.files}"
                                            f", evaluations {ratings}")

    def _due(self, task: str, every: float) -> bool:
        """Whether ``task`` should run now: never for an infinite period, else once per one."""
        last = self._last_run.get(task)
        return every != NEVER and (last is None or time.monotonic() - last >= every)

    def _backlog(self) -> tuple[int, float | None]:
        pending, oldest = self.outbox.backlog()
        return pending, None if oldest is None else self.outbox.clock() - oldest

    # -- background thread ---------------------------------------------------------------
    def _emit(self, event: SyncEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the sender
                log.exception("sync listener failed")


class SingleFlightLock:
    """Non-blocking exclusive lock on a file: True inside when this process holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def make_client(config: KioskConfig) -> PlatformClient:
    """The platform client of ``config`` (reads the kiosk's key file)."""
    key = read_key_file(config.platform.key_file)
    return PlatformClient(config.platform.url, config.kiosk.id, key, config.platform.timeout,
                          ca_file=config.platform.ca_file, proxy=config.platform.proxy)


def make_worker(config: KioskConfig, storage: OutboxStorage | None = None) -> SyncWorker:
    """A worker over ``config``'s outbox and platform, for the calling thread."""
    client = make_client(config)
    return SyncWorker(storage or OutboxStorage(config, durable=False), client,
                      comeback_spread_s=COMEBACK_SPREAD_S)
