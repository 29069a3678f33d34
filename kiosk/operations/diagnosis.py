"""The kiosk's health report: one model for ``kiosk diagnose``, the technician's screen and
the fleet's metrics.

Every finding says what was looked at, how bad it is and what a person must do about it.
The three levels answer the question a hall manager and a monitoring script both ask,
"can citizens be served here now?":

* ``ok``: yes, nothing to do.
* ``degraded``: yes, but through a fallback, or soon not at all; a person should act. The
  kiosk keeps serving because every part classed here has an alternative the journeys
  already offer: platform offline -> applications queue in the outbox; ID card reader
  down -> the citizen types the ID number; camera down -> staff take the materials;
  printer down or out of paper -> the receipt is shown as a QR code on screen. Low paper is
  here too: nothing is lost yet, but a script that only heard "ok" would let it run out.
* ``down``: no: what every journey needs is missing. Storage unwritable or full (nothing
  can be saved), no catalogue (nothing to search or apply for), fonts or languages missing
  (the screens cannot be read), keys refused or the outbox refusing applications.

Exit codes follow the levels (0, 1, 2), so a cron job or a Prometheus exporter maps them
without parsing words. Nothing here changes the kiosk: a missing data folder or catalogue
is reported, not created; devices are checked at the UnifiedPOS internal level (no card is
read, no paper moves); no personal data is read, so none can reach the report.

Slow checks (devices, the platform probe) run on threads against one deadline, so the whole
report stays under two seconds with emulated devices even when the platform is unreachable.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from kiosk.config import KioskConfig

__all__ = [
    "CHECK_DEADLINE_S",
    "PROBE_TIMEOUT_S",
    "DeviceInfo",
    "DiagnosisReport",
    "Finding",
    "Status",
    "check_catalogue",
    "check_fonts",
    "check_keys",
    "check_languages",
    "check_outbox",
    "check_platform",
    "check_storage",
    "diagnose",
]

PROBE_TIMEOUT_S = 1.0
"""Longest wait for the platform's ``/health``: an unreachable platform (a dropped packet
rather than a refused connection) must not hold the report past its two-second budget; a
platform slower than this is, for a citizen at the screen, as good as offline."""

CHECK_DEADLINE_S = 1.5
"""Every check must answer within this, counted from the start of the run; one that does
not (a device that hangs, a stalled disk) is reported as such instead of blocking."""


class Status(StrEnum):
    """How bad a finding is; the order of :data:`EXIT_CODES` is the order of severity."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"

    @property
    def exit_code(self) -> int:
        """0, 1 or 2, for scripts and monitoring."""
        return EXIT_CODES[self]


EXIT_CODES: Mapping[Status, int] = {Status.OK: 0, Status.DEGRADED: 1, Status.DOWN: 2}


@dataclass(frozen=True)
class DeviceInfo:
    """What a technician needs of one device beyond the finding's words.

    ``state`` is the XFS4IoT device state (``online``, ``noDevice``...), ``supplies`` maps a
    consumable to ``ok``/``low``/``out``/``unknown`` (the printer's paper), ``last_error`` is
    the device's own words when it is not online.
    """

    url: str
    state: str
    media: str = "unknown"
    supplies: Mapping[str, str] = field(default_factory=dict)
    last_error: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"url": self.url, "state": self.state, "media": self.media,
                "supplies": dict(self.supplies), "last_error": self.last_error,
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class Finding:
    """One line of the report: ``action`` is empty when nothing needs doing."""

    name: str
    status: Status
    detail: str
    action: str = ""
    device: DeviceInfo | None = None

    @property
    def ok(self) -> bool:
        """True when nothing needs doing."""
        return self.status is Status.OK

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; ``device`` only for the three devices."""
        data: dict[str, Any] = {"name": self.name, "status": self.status.value,
                                "ok": self.ok, "detail": self.detail, "action": self.action}
        if self.device is not None:
            data["device"] = self.device.to_dict()
        return data


@dataclass(frozen=True)
class DiagnosisReport:
    """Every finding of one run; the worst of them is the kiosk's status."""

    findings: tuple[Finding, ...]
    kiosk_id: str
    checked_at: float
    seconds: float

    @property
    def status(self) -> Status:
        """The worst finding's status (``ok`` for an empty report)."""
        return max((f.status for f in self.findings), key=EXIT_CODES.__getitem__,
                   default=Status.OK)

    @property
    def exit_code(self) -> int:
        """0 ok, 1 degraded, 2 down."""
        return self.status.exit_code

    def finding(self, name: str) -> Finding:
        """The finding called ``name`` (KeyError when there is none)."""
        for finding in self.findings:
            if finding.name == name:
                return finding
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON types: overall status, exit code, then every finding."""
        return {
            "status": self.status.value,
            "exit_code": self.exit_code,
            "kiosk_id": self.kiosk_id,
            "checked_at": datetime.fromtimestamp(self.checked_at, UTC).isoformat(
                timespec="seconds"),
            "seconds": round(self.seconds, 3),
            "findings": [finding.to_dict() for finding in self.findings],
        }


# ------------------------------------------------------------------------ kiosk checks


def check_config(config: KioskConfig) -> Finding:
    """Loading the configuration was the check: a faulty file never gets this far."""
    return Finding("config", Status.OK, str(config.source or "built-in defaults"))


def _write_probe(folder: os.PathLike[str] | str) -> str | None:
    """Create and remove a small file in ``folder``; the error's words, or None.

    ``os.access`` alone is not the truth: it looks at permission bits and read-only mounts,
    but not at an immutable folder (``chattr +i``), a security module's policy, a quota or
    a full inode table, any of which makes the kiosk's first real write fail.
    """
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".diagnose-"):
            pass
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def check_storage(config: KioskConfig) -> Finding:
    """The data folder exists, takes writes, and has room.

    Down when it cannot hold a new application: missing, unwritable, or with less free
    space than ``[outbox] min_free_mb`` (the same floor at which pre-flight refuses
    applications). Degraded below twice that floor, so that someone frees space before
    citizens are turned away.
    """
    data_dir = config.storage.data_dir
    floor = config.outbox.min_free_mb
    if not data_dir.is_dir():
        return Finding("storage", Status.DOWN, f"{data_dir} does not exist",
                       "run 'kiosk catalog import' (it creates the data folder) or fix "
                       "[storage] data_dir")
    problem = None if os.access(data_dir, os.W_OK) else "not writable by this user"
    problem = problem or _write_probe(data_dir)
    if problem:
        return Finding("storage", Status.DOWN, f"{data_dir}: {problem}",
                       f"give the kiosk user write access to {data_dir} (or remount it "
                       "read-write)")
    usage = os.statvfs(data_dir)
    free_mb = usage.f_bavail * usage.f_frsize / 2**20
    detail = f"{data_dir}: {free_mb:,.0f} MB free"
    if free_mb < floor:
        return Finding("storage", Status.DOWN, f"{detail}, below the {floor} MB floor",
                       "free disk space (old exports, logs); applications are refused "
                       "until then")
    if free_mb < 2 * floor:
        return Finding("storage", Status.DEGRADED, f"{detail}, close to the {floor} MB floor",
                       "free disk space soon")
    return Finding("storage", Status.OK, detail)


def check_catalogue(config: KioskConfig) -> Finding:
    """The cached catalogue opens and holds matters: without it there is nothing to find
    or apply for, so a missing or empty one is down."""
    from kiosk.finding.catalog import CatalogService

    action = "run 'kiosk catalog import'"
    if not config.storage.database.exists():
        return Finding("catalogue", Status.DOWN, "no database yet", action)
    try:
        with CatalogService(config.storage.database) as catalog:
            count = catalog.count()
            meta = catalog.meta()
    except Exception as error:  # a damaged database must be a finding, not a traceback
        return Finding("catalogue", Status.DOWN,
                       f"cannot read the catalogue: {type(error).__name__}: {error}",
                       "make the data folder writable (see storage), else " + action
                       + " or restore the data folder from backup")
    detail = f"{count} matters, imported {meta.get('imported_at', 'never')}"
    if count == 0:
        return Finding("catalogue", Status.DOWN, detail, action)
    return Finding("catalogue", Status.OK, detail)


def check_fonts(_config: KioskConfig) -> Finding:
    """The Simplified Chinese face: without it every label is empty boxes, so down."""
    from kiosk.fonts import FontMissingError, ensure_sc_fonts

    try:
        fonts = ensure_sc_fonts()
    except FontMissingError as error:
        return Finding("fonts", Status.DOWN, str(error),
                       "install the Debian package fonts-noto-cjk")
    return Finding("fonts", Status.OK, str(fonts.regular))


def check_languages(_config: KioskConfig) -> Finding:
    """Every language's compiled catalogue; a missing one leaves its citizens with message
    ids instead of words, so down."""
    from kiosk.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

    missing = [code for code in LANGUAGES
               if not (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo").exists()]
    if missing:
        return Finding("languages", Status.DOWN, f"not compiled: {', '.join(missing)}",
                       "run 'make locales'")
    return Finding("languages", Status.OK, ", ".join(LANGUAGES))


def check_platform(config: KioskConfig) -> Finding:
    """The platform's ``/health`` within :data:`PROBE_TIMEOUT_S`.

    Offline is degraded, not down: applications queue in the outbox and are sent when the
    platform is back; only live look-ups (progress, appointments) wait.
    """
    from kiosk.platform.connectivity import probe_health
    from kiosk.platform.transport import new_session

    started = time.monotonic()
    timeout = min(config.platform.timeout, PROBE_TIMEOUT_S)
    # the kiosk's own transport rules (CA file, proxy, no redirects), or "online" here
    # could be a different answer from the one sync gets
    with new_session(config.platform.ca_file, config.platform.proxy) as session:
        online = probe_health(session, config.platform.url, timeout=timeout)
    elapsed = (time.monotonic() - started) * 1000
    if online:
        return Finding("platform", Status.OK, f"{config.platform.url}: online, {elapsed:.0f} ms")
    return Finding("platform", Status.DEGRADED,
                   f"{config.platform.url}: offline, no healthy answer after "
                   f"{elapsed:.0f} ms (timeout {timeout:g} s); applications queue until "
                   "it is back",
                   "check the network cable, then [platform] url (and ca_file, proxy "
                   "when set)")


def check_keys(config: KioskConfig) -> Finding:
    """Both key files as the kiosk will open them: a refusal here is a refusal there.

    The platform signing key is refused (no sync) when group or others may read or change
    it or it is not ours; the master key likewise, and a missing master key is an alarm
    while sealed records need it. Down, because pre-flight refuses applications on the same
    grounds. Nothing is created and no key is printed.
    """
    from kiosk.platform.signing import KeyFileError as SigningKeyError
    from kiosk.platform.signing import read_key_file
    from offline_cache.keys import master_key_for
    from offline_cache.sealing import KeyFileError as MasterKeyError

    problems, notes = [], []
    try:
        read_key_file(config.platform.key_file)
        notes.append(f"platform key {config.platform.key_file}: private")
    except SigningKeyError as error:
        problems.append(str(error))
    storage = config.storage
    try:
        key = master_key_for(storage.master_key_file, storage.database,
                             storage.attachments_dir, create=False)
        state = "private" if key else "not made yet (made with the first application)"
        notes.append(f"master key {storage.master_key_file}: {state}")
    except MasterKeyError as error:
        problems.append(str(error))
    if problems:
        return Finding("keys", Status.DOWN, "; ".join([*problems, *notes]),
                       "do what the key message says (chmod 600, restore from backup)")
    return Finding("keys", Status.OK, "; ".join(notes))


def check_outbox(config: KioskConfig) -> Finding:
    """The pre-flight gates a new application must pass, and the queue behind them.

    Reads counts only (nothing is decrypted, no key is made): the same checks the touchscreen
    runs before it accepts an application, so a refusal here is what citizens see; that is
    down. A warning (quarantined records) is degraded: citizens are served, a technician
    must look at the records.
    """
    from kiosk.applying.preflight import Preflight
    from offline_cache.database import open_database
    from offline_cache.outbox import Outbox

    if not config.storage.database.exists():
        return Finding("outbox", Status.OK, "no applications yet")
    try:
        conn = open_database(config.storage.database)
    except Exception as error:  # unreadable: no application can be queued either
        return Finding("outbox", Status.DOWN,
                       f"REFUSING applications: cannot open the outbox: "
                       f"{type(error).__name__}: {error}",
                       "make the data folder writable (see storage)")
    try:
        outbox = Outbox(conn, b"", lambda day, sequence: "")
        report = Preflight.from_config(config, outbox).run()
        pending, _oldest = outbox.backlog()
        quarantined = outbox.counts().get("quarantined", 0)
    finally:
        conn.close()
    checks = [check for check in report.checks
              if not (check.name == "master_key" and _master_key_not_made_yet(config))]
    problems = [check.detail for check in checks if not check.ok]
    summary = f"{pending} unsent, {quarantined} quarantined"
    if any(check.refuses for check in checks):
        return Finding("outbox", Status.DOWN,
                       "REFUSING applications: " + "; ".join(problems),
                       "clear the reasons listed; 'kiosk queue status' shows the queue")
    if problems:
        return Finding("outbox", Status.DEGRADED,
                       "; ".join([f"accepting applications, {summary}", *problems]),
                       "'kiosk queue status' lists the records and their reasons")
    return Finding("outbox", Status.OK, f"accepting applications, {summary}")


def _master_key_not_made_yet(config: KioskConfig) -> bool:
    """No master key file and nothing sealed that needs one: the running kiosk makes it
    with the first application (check_keys says "not made yet"), so its absence refuses
    nothing. A new kiosk is not down before its first citizen."""
    from offline_cache.keys import master_key_for

    storage = config.storage
    if storage.master_key_file.exists():
        return False
    try:
        return master_key_for(storage.master_key_file, storage.database,
                              storage.attachments_dir, create=False) is None
    except Exception:  # missing with sealed records: that is the alarm check_keys raises
        return False


# --------------------------------------------------------------------------- devices

def _device_finding(name: str, url: Any, state: str, detail: str, seconds: float,
                    action: str, *, media: str = "unknown",
                    supplies: Mapping[str, str] | None = None,
                    status: Status | None = None) -> Finding:
    """A device finding: online is ok, anything else degraded (every device has a
    fallback, see the module's docstring)."""
    online = state == "online"
    if status is None:
        status = Status.OK if online else Status.DEGRADED
    info = DeviceInfo(str(url), state, media, dict(supplies or {}),
                      "" if online else detail, seconds)
    return Finding(name, status, detail, action, info)


def _not_online_action(device: str, url: Any, state: str, detail: str = "") -> str:
    """What a technician does for a reader or camera that is not online, by its state."""
    scheme = getattr(url, "scheme", "")
    cable = {"idcard": "the reader's", "camera": "the camera's"}[device]
    if "permission denied" in detail.lower():
        return "add the kiosk user to the group that owns the device (dialout, video)"
    if state in ("noDevice", "offline", "powerOff"):
        if device == "idcard" and scheme not in ("serial", "emulator"):
            return "set [devices] idcard to a serial:// port or emulator://idcard"
        if scheme == "file":
            return f"check that {url.target} exists and can be read"
        where = f" (is {url.target} there?)" if scheme in ("serial", "v4l2") else ""
        return f"replug {cable} USB cable{where}; then 'kiosk devices status'"
    if state == "userError":
        return "remove the card left on the reader" if device == "idcard" else \
            "uncover or clean the camera lens"
    if state == "deviceBusy":
        return "wait a moment and run 'kiosk diagnose' again"
    if device == "camera":
        return "uncover or clean the lens; if the image stays flat, replace the camera"
    return "power-cycle the reader (unplug, wait 5 s, replug); replace it if that fails"


def check_idcard(config: KioskConfig) -> Finding:
    """Reader self-test (SAM status) at the internal level: no card is read.

    Down -> degraded: the citizen types the ID number instead.
    """
    return _checked_device(config, "idcard", "citizens type their ID number meanwhile")


def check_camera(config: KioskConfig) -> Finding:
    """One frame, checked for a flat image (covered lens).

    Down -> degraded: staff take the materials at the counter.
    """
    return _checked_device(config, "camera", "staff take the materials meanwhile")


def _checked_device(config: KioskConfig, name: str, meanwhile: str) -> Finding:
    """``name`` checked by :func:`kiosk.devices.health.check_device` (internal level); when
    it is not online, the detail says what citizens do meanwhile."""
    from drivers.model import HealthLevel
    from kiosk.devices.health import check_device

    report = check_device(config, name, HealthLevel.INTERNAL)
    action = "" if report.ok else _not_online_action(name, getattr(config.devices, name),
                                                     report.state, report.detail)
    detail = report.detail if report.ok else f"{report.detail} ({meanwhile})"
    return _device_finding(name, report.url, report.state, detail, report.seconds, action)


_PRINTER_ACTIONS = {
    "paper_low": "refill paper soon",
    "paper_out": "refill paper",
    "cover_open": "close the printer cover until it latches",
    "cutter": "clear the paper path and power-cycle the printer",
    "unrecoverable": "call maintenance for the printer",
    "error": "power-cycle the printer",
    "recovering": "wait a minute (the printer recovers by itself)",
    "bad_reply": "check the printer's baud rate in [devices] printer",
    "no_reply": "check the printer's power and cable",
    "offline": "check the printer's power and cable",
    "no_device": "replug the printer's USB cable and check its power",
}


def check_printer(config: KioskConfig) -> Finding:
    """The printer's status bytes: state, paper and the action that clears a fault.

    Not through ``kiosk.devices.health.check_printer`` because that gives words only, and the
    report needs the paper level itself. Paper low is degraded (see the module docstring);
    out of paper, cover open or no printer is degraded too: the receipt is shown as a QR
    code on screen.
    """
    from drivers.device_url import DeviceURLError
    from drivers.model import paper_level
    from drivers.printer.connect import open_printer
    from drivers.printer.driver import PrinterError

    url = config.devices.printer
    started = time.perf_counter()
    try:
        driver, cleanup, _emulator = open_printer(url)
    except (OSError, DeviceURLError) as error:  # serial.SerialException is an OSError
        return _device_finding("printer", url, "noDevice",
                               f"{error} (receipts shown as a QR code meanwhile)",
                               time.perf_counter() - started, _PRINTER_ACTIONS["no_device"],
                               supplies={"paper": "unknown"})
    try:
        report = driver.status()
    except PrinterError as error:
        report = error.report
    finally:
        cleanup()
    seconds = time.perf_counter() - started
    status = report.status
    paper_state = status.supplies.get("paper")
    paper = paper_level(paper_state)
    detail = f"{status.detail}, paper {paper}"
    action = _PRINTER_ACTIONS.get(report.reason, "" if report.ready else
                                  "power-cycle the printer")
    finding_status = None
    if report.ready and paper == "low":
        finding_status = Status.DEGRADED
    elif not report.ready:
        detail += " (receipts shown as a QR code meanwhile)"
    return _device_finding("printer", url, status.state.value, detail, seconds, action,
                           media=status.media.value, supplies={"paper": paper},
                           status=finding_status)


# ------------------------------------------------------------------------------ the run

Check = Callable[[KioskConfig], Finding]

CHECKS: tuple[tuple[str, Check, Status], ...] = (
    ("config", check_config, Status.DOWN),
    ("storage", check_storage, Status.DOWN),
    ("catalogue", check_catalogue, Status.DOWN),
    ("fonts", check_fonts, Status.DOWN),
    ("languages", check_languages, Status.DOWN),
    ("platform", check_platform, Status.DEGRADED),
    ("keys", check_keys, Status.DOWN),
    ("outbox", check_outbox, Status.DOWN),
    ("idcard", check_idcard, Status.DEGRADED),
    ("printer", check_printer, Status.DEGRADED),
    ("camera", check_camera, Status.DEGRADED),
)
"""(name, check, status when it fails to answer or crashes), in report order.

A check that cannot finish says nothing good about its part: for a part every journey
needs that is down; for a device or the platform it is what "not answering" means anyway.
"""


def _failed(config: KioskConfig, name: str, status: Status, detail: str) -> Finding:
    """The finding of a check that crashed or did not answer in time."""
    device = None
    if name in ("idcard", "printer", "camera"):
        device = DeviceInfo(str(getattr(config.devices, name)), "offline", last_error=detail)
    return Finding(name, status, detail, "run 'kiosk diagnose' again; if this repeats, "
                   "restart the kiosk and look at its log", device)


def diagnose(config: KioskConfig, *, deadline_s: float = CHECK_DEADLINE_S) -> DiagnosisReport:
    """Run every check at once on its own thread and gather the findings in a fixed order.

    Threads, not processes: the checks wait on ports, sockets and disks, not on the CPU.
    They are daemon threads, so a device that hangs past ``deadline_s`` is reported as not
    answering and cannot keep the command (or the screen that asked) waiting.
    """
    started = time.perf_counter()
    checked_at = time.time()
    results: dict[str, Finding] = {}

    def run(name: str, check: Check, on_failure: Status) -> None:
        try:
            results[name] = check(config)
        except Exception as error:  # one broken check must not hide the others
            results[name] = _failed(config, name, on_failure,
                                    f"check failed: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=run, args=spec, name=f"diagnose-{spec[0]}",
                                daemon=True) for spec in CHECKS]
    for thread in threads:
        thread.start()
    end = started + deadline_s
    for thread in threads:
        thread.join(max(0.0, end - time.perf_counter()))
    findings = tuple(
        results.get(name) or _failed(config, name, on_failure,
                                     f"no answer within {deadline_s:g} s")
        for name, _check, on_failure in CHECKS
    )
    return DiagnosisReport(findings, config.kiosk.id, checked_at,
                           time.perf_counter() - started)
