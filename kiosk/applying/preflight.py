"""Pre-flight checks run before the kiosk accepts a new application from a citizen.

A kiosk that has been cut off from the platform for days, whose disk is nearly full, whose
clock is wrong or whose keys are gone must stop taking applications *before* a citizen has
spent ten minutes on a form: better a plain "please go to the counter" on the first screen
than a receipt for an application that can never be delivered (design lessons §10, after
MOSIP's "freeze registration" gates).

Everything the checks need is passed in (paths, an object that counts the outbox, the
``[outbox]`` limits, a clock, a disk-usage function), so they run without a window, a
network or a full disk, and each check is also a plain function that tests can call alone.

Each :class:`Check` carries two texts for two audiences:

* ``detail``: English, for the technician's log and screen, with the figures that explain
  it (``free disk 120 MB < 200 MB on /var/lib/gov-kiosk``). Never personal data, never key
  material: only counts, ages, sizes and paths from the configuration.
* ``citizen_message_id``: a short stable id (``preflight.disk``) that the screens translate
  into a polite message; the citizen never sees figures or paths.
"""

from __future__ import annotations

import shutil
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple, Protocol

from kiosk.config import KioskConfig, OutboxSection
from kiosk.platform.signing import MAX_SKEW_S
from offline_cache.outbox import State

__all__ = [
    "BUILD_FLOOR",
    "CITIZEN_MESSAGE_IDS",
    "MAX_SKEW_S",
    "Check",
    "DiskUsage",
    "KeyFile",
    "OutboxGauge",
    "Preflight",
    "PreflightRefused",
    "PreflightReport",
    "Severity",
    "check_backlog",
    "check_clock",
    "check_disk",
    "check_key_file",
    "check_quarantine",
]

BUILD_FLOOR = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
"""No correct kiosk clock reads earlier than this (this software did not exist yet).

A PC whose RTC battery died boots in 1970 or 2000; its receipts would carry a wrong date
and every signed platform request would be refused, so applications stop until it is set.
"""

MB = 1 << 20
"""One MB as ``df -m`` counts it (MiB); ``[outbox] min_free_mb`` uses the same unit."""

DAY = 86_400.0

CITIZEN_MESSAGE_IDS: tuple[str, ...] = (
    "preflight.disk",
    "preflight.clock",
    "preflight.backlog",
    "preflight.keys",
    "preflight.quarantine",
)
"""Every ``citizen_message_id`` a check can carry, for the screens' translation table.

``preflight.quarantine`` only ever appears on a warning, which does not refuse the citizen;
it is listed so that a technician screen can translate it too.
"""


class Severity(StrEnum):
    """What a failed check means: the citizen is refused, or only a technician is told."""

    REFUSE = "refuse"
    WARN = "warn"


@dataclass(frozen=True, slots=True)
class Check:
    """One check's result. ``severity`` says what ``ok = False`` would mean (or means)."""

    name: str
    ok: bool
    severity: Severity
    detail: str
    citizen_message_id: str

    @property
    def refuses(self) -> bool:
        """True when this result alone stops new applications."""
        return not self.ok and self.severity is Severity.REFUSE


@dataclass(frozen=True, slots=True)
class PreflightReport:
    """Every check of one run, in a fixed order; ``accepting`` is false if any refuses."""

    checks: tuple[Check, ...]
    checked_at: float
    accepting: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "accepting", not any(check.refuses for check in self.checks))

    @property
    def refusals(self) -> tuple[Check, ...]:
        """The failed checks that refuse new applications."""
        return tuple(check for check in self.checks if check.refuses)

    @property
    def warnings(self) -> tuple[Check, ...]:
        """The failed checks a technician should see but that do not refuse anybody."""
        return tuple(c for c in self.checks if not c.ok and c.severity is Severity.WARN)

    @property
    def citizen_message_id(self) -> str | None:
        """The message for the citizen: the first refusal's id, ``None`` when accepting."""
        refusals = self.refusals
        return refusals[0].citizen_message_id if refusals else None


class PreflightRefused(Exception):
    """The kiosk must not accept an application now; ``report`` says why.

    ``str()`` is the technician's one-line summary (the refusals' details); the screens
    show ``citizen_message_id`` translated instead.
    """

    def __init__(self, report: PreflightReport) -> None:
        self.report = report
        self.citizen_message_id = report.citizen_message_id
        super().__init__("; ".join(f"{c.name}: {c.detail}" for c in report.refusals))


class DiskUsage(NamedTuple):
    """The shape of :func:`shutil.disk_usage`'s answer (bytes)."""

    total: int
    used: int
    free: int


class _HasFree(Protocol):
    @property
    def free(self) -> int: ...


DiskUsageFunction = Callable[[Path], _HasFree]
"""``shutil.disk_usage`` or a test's stand-in (a full disk cannot be made safely in a test)."""


class OutboxGauge(Protocol):
    """What the checks read from the outbox; :class:`offline_cache.outbox.Outbox` has both.

    Taking these two methods instead of a database connection keeps the SQL in the outbox,
    where the states are defined, and lets a check run against a stand-in.
    """

    def counts(self) -> Mapping[str, int]:
        """Number of applications per state name."""
        ...

    def backlog(self) -> tuple[int, float | None]:
        """(number of unsent applications, ``created_at`` of the oldest, or ``None``)."""
        ...


# ------------------------------------------------------------------------------ the checks


def check_disk(
    data_dir: Path, min_free_mb: int, disk_usage: DiskUsageFunction = shutil.disk_usage
) -> Check:
    """Refuse when the file system holding ``data_dir`` has less than ``min_free_mb`` free.

    A full disk half-way through sealing an application or writing a photo fails in the
    middle of a citizen's session; refusing at the start fails politely instead. When
    ``data_dir`` does not exist yet, the nearest existing parent is measured, since that is
    where it will be created.
    """
    where = _existing_ancestor(Path(data_dir))
    try:
        free = int(disk_usage(where).free)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return _disk(False, f"cannot measure free disk on {where}: {reason}")
    free_mb = free // MB
    if free < min_free_mb * MB:
        return _disk(False, f"free disk {free_mb} MB < {min_free_mb} MB on {where}")
    return _disk(True, f"free disk {free_mb} MB >= {min_free_mb} MB on {where}")


def _disk(ok: bool, detail: str) -> Check:
    return Check("disk", ok, Severity.REFUSE, detail, "preflight.disk")


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


def check_clock(
    now: float,
    skew_s: float | None = None,
    *,
    floor: float = BUILD_FLOOR,
    max_skew: float = MAX_SKEW_S,
) -> Check:
    """Refuse when the kiosk clock is before ``floor`` or more than ``max_skew`` s off.

    The skew limit is the platform's own signature window (``MAX_SKEW_S``, 300 s): beyond
    it every signed upload is rejected, and the receipt printed now would show a time the
    platform disagrees with. ``skew_s`` is the kiosk clock minus the platform's, measured
    when the ``/health`` answer arrived (``kiosk.platform.client.Health.skew_s``), so an
    answer minutes old does not count the wait as skew. ``None`` (offline, or no time in
    the answer): only the floor can be checked.
    """
    if now < floor:
        return _clock(
            False, f"kiosk clock {_iso(now)} is before the build date {_iso(floor)}; set the time"
        )
    if skew_s is None:
        return _clock(True, f"kiosk clock {_iso(now)}; platform time unknown (offline)")
    direction = "ahead of" if skew_s >= 0 else "behind"
    detail = f"kiosk clock {abs(skew_s):.0f} s {direction} the platform"
    if abs(skew_s) > max_skew:
        return _clock(False, f"{detail} (limit {max_skew:.0f} s); set the time or enable NTP")
    return _clock(True, f"{detail} (limit {max_skew:.0f} s)")


def _clock(ok: bool, detail: str) -> Check:
    return Check("clock", ok, Severity.REFUSE, detail, "preflight.clock")


def _iso(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{timestamp:.0f} (not a valid date)"


def check_backlog(
    pending: int, oldest_created_at: float | None, now: float, limits: OutboxSection
) -> tuple[Check, Check]:
    """Two refusals: too many unsent applications, and the oldest unsent one too old.

    Both mean the kiosk is not getting applications to the platform; taking more only
    grows the pile of citizens' data on one machine and the number of people waiting for
    an answer that is not coming.
    """
    full = pending >= limits.max_pending
    relation = ">=" if full else "<"
    size = _backlog(
        "backlog", not full, f"{pending} unsent applications {relation} {limits.max_pending}"
    )
    if oldest_created_at is None:
        return size, _backlog("backlog_age", True, "no unsent application")
    days = max(0.0, now - oldest_created_at) / DAY
    limit = limits.max_pending_age_days
    stale = days > limit
    relation = ">" if stale else "<="
    detail = f"oldest unsent is {days:.1f} days old {relation} {limit} days"
    return size, _backlog("backlog_age", not stale, detail)


def _backlog(name: str, ok: bool, detail: str) -> Check:
    return Check(name, ok, Severity.REFUSE, detail, "preflight.backlog")


def check_quarantine(quarantined: int) -> Check:
    """Warn (never refuse) when applications wait in quarantine for a technician.

    A quarantined application failed for a reason of its own (the platform refused its
    data); the next citizen's application is not affected, so refusing them would help
    nobody. The technician must still hear of it, since those citizens are waiting.
    """
    if quarantined:
        detail = f"{quarantined} quarantined applications need a technician"
    else:
        detail = "no quarantined application"
    return Check("quarantine", not quarantined, Severity.WARN, detail, "preflight.quarantine")


@dataclass(frozen=True, slots=True)
class KeyFile:
    """A key file that must be usable; ``name`` is the check's name (``master_key``).

    Both keys' loaders refuse a file that group or others may read (sealing would fail,
    signing would fail), so such a file refuses applications here too, before a citizen
    has filled a form the kiosk cannot seal or send.
    """

    name: str
    path: Path


def check_key_file(key: KeyFile) -> Check:
    """Refuse when a key file is missing, not a file, empty or unreadable; check its mode.

    Only metadata is looked at and the file is opened without reading it, so no part of a
    key can reach a message or a log.
    """
    path = Path(key.path)
    problem = _unusable(path)
    if problem is None:
        problem = _readable_by_others(path)
    detail = f"{key.name} file {path}: {problem or 'present'}"
    return Check(key.name, problem is None, Severity.REFUSE, detail, "preflight.keys")


def _unusable(path: Path) -> str | None:
    """Why the key file cannot be used at all, or ``None``."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"cannot inspect ({error.strerror or type(error).__name__})"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size == 0:
        return "empty"
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        return f"not readable ({error.strerror or type(error).__name__})"
    return None


def _readable_by_others(path: Path) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"mode {mode:04o} lets others read it; chmod 600"
    return None


# ------------------------------------------------------------------------------- the runner


class Preflight:
    """All checks with their inputs fixed; :meth:`run` once per new application.

    Built once by the application service (usually with :meth:`from_config`); ``run`` is
    cheap (a stat per key file, one ``statvfs``, two small queries) so it can run each time
    a citizen starts an application rather than on a timer that could be stale.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        outbox: OutboxGauge,
        limits: OutboxSection,
        key_files: Sequence[KeyFile],
        clock: Callable[[], float] = time.time,
        disk_usage: DiskUsageFunction = shutil.disk_usage,
    ) -> None:
        """``key_files`` are checked in order, one check each."""
        self.data_dir = Path(data_dir)
        self.outbox = outbox
        self.limits = limits
        self.key_files = tuple(key_files)
        self.clock = clock
        self.disk_usage = disk_usage

    @classmethod
    def from_config(
        cls,
        config: KioskConfig,
        outbox: OutboxGauge,
        *,
        clock: Callable[[], float] = time.time,
        disk_usage: DiskUsageFunction = shutil.disk_usage,
    ) -> Preflight:
        """The checks of a configured kiosk: its data directory, limits and both keys."""
        return cls(
            data_dir=config.storage.data_dir,
            outbox=outbox,
            limits=config.outbox,
            key_files=(
                KeyFile("master_key", config.storage.master_key_file),
                KeyFile("platform_key", config.platform.key_file),
            ),
            clock=clock,
            disk_usage=disk_usage,
        )

    def run(self, skew_s: float | None = None) -> PreflightReport:
        """Every check, in a fixed order; ``skew_s`` from the last ``/health`` answer.

        Never raises for a failing check: an outbox that cannot be read becomes a refusal
        with the reason, because a pre-flight that crashes takes the screen down with it.
        """
        now = self.clock()
        checks = [
            check_disk(self.data_dir, self.limits.min_free_mb, self.disk_usage),
            check_clock(now, skew_s),
            *self._outbox_checks(now),
            *(check_key_file(key) for key in self.key_files),
        ]
        return PreflightReport(tuple(checks), now)

    def require_accepting(self, skew_s: float | None = None) -> PreflightReport:
        """:meth:`run`, raising :class:`PreflightRefused` when the report refuses.

        The shape ``ApplicationService(preflight=...)`` expects: a callable that raises.
        """
        report = self.run(skew_s)
        if not report.accepting:
            raise PreflightRefused(report)
        return report

    def _outbox_checks(self, now: float) -> list[Check]:
        try:
            pending, oldest = self.outbox.backlog()
            quarantined = int(self.outbox.counts().get(State.QUARANTINED, 0))
        except Exception as error:  # any failure must refuse, not crash
            detail = f"cannot read the outbox: {type(error).__name__}: {error}"
            return [Check("backlog", False, Severity.REFUSE, detail, "preflight.backlog")]
        return [*check_backlog(pending, oldest, now, self.limits), check_quarantine(quarantined)]
