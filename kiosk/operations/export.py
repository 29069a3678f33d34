"""The diagnostic bundle: what a support desk needs from a kiosk, in one zip file.

A technician who cannot fix a kiosk on site takes this away (on a USB stick) or sends it:
the configuration, the redacted log, the device states, the ``kiosk diagnose`` report,
the queue counts, the technician audit, the paper and out-of-service state, and the
versions of the software underneath.

What is NOT in it, by construction rather than by scrubbing afterwards:

- no key material: key files are named by path, never opened; the configuration itself
  holds no secret (the loader refuses user names and passwords in URLs), and URLs are cut
  to scheme, host and path here all the same;
- no citizen data: the log is redacted as it is written (and every line goes through
  :func:`kiosk.operations.logs.redact` once more on the way in), the queue is counts and
  cleared reasons (nothing sealed is opened), the audit holds names and fixed words.

tests/test_export.py builds a bundle after a real application by the test citizens and
scans every file for their ID numbers, names and addresses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import os
import platform
import sys
import time
import zipfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kiosk.config import KioskConfig

__all__ = ["EXPORT_DIR", "USB_ROOTS", "build_bundle", "default_target", "safe_config",
           "usb_targets", "versions"]

EXPORT_DIR = "exports"
"""Bundles go to ``data_dir/exports`` when no USB stick is mounted."""

USB_ROOTS = ("/media/*", "/media/*/*", "/run/media/*/*")
"""Where desktop automounters (udisks2) mount a USB stick: ``/media/USER/LABEL``,
``/run/media/USER/LABEL``, or ``/media/LABEL`` (usbmount)."""

_URL_KEYS = ("url", "proxy", "guide_link")


def _clean_url(value: str) -> str:
    """Scheme, host, port and path only: no user, password, query or fragment."""
    if "://" not in value:
        return value
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def safe_config(config: KioskConfig) -> dict[str, dict[str, Any]]:
    """The effective configuration as JSON types: paths (key files included) as text,
    URLs without credentials or queries, nothing read from any file it names."""
    result: dict[str, dict[str, Any]] = {}
    for section in (f.name for f in dataclasses.fields(config) if f.name != "source"):
        values = {}
        for item in dataclasses.fields(getattr(config, section)):
            value = getattr(getattr(config, section), item.name)
            if isinstance(value, bool | int | float) or value is None:
                values[item.name] = value
                continue
            text = str(value)
            if item.name in _URL_KEYS:  # device URLs keep their query (baudrate, codec)
                text = _clean_url(text)
            values[item.name] = text
        result[section] = values
    result["_source"] = {"file": str(config.source) if config.source else "built-in defaults"}
    return result


def versions() -> dict[str, str]:
    """The kiosk, Python, Kivy (from its metadata: no import, no window) and the OS."""
    from kiosk import __version__

    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} ({os_name})"
    except OSError:
        pass
    return {"kiosk": __version__, "python": sys.version.split()[0],
            "kivy": installed("Kivy"), "requests": installed("requests"),
            "cryptography": installed("cryptography"), "os": os_name}


def usb_targets(roots: Iterable[str] = USB_ROOTS) -> list[Path]:
    """Mounted, writable folders where a USB stick would be, most recent mount first."""
    found: dict[Path, float] = {}
    for pattern in roots:
        for name in glob.glob(pattern):
            path = Path(name)
            if path.is_dir() and os.path.ismount(path) and os.access(path, os.W_OK):
                found[path] = path.stat().st_mtime
    return sorted(found, key=lambda p: found[p], reverse=True)


def default_target(config: KioskConfig, roots: Iterable[str] = USB_ROOTS) -> Path:
    """A USB stick when one is mounted and writable, else ``data_dir/exports``."""
    sticks = usb_targets(roots)
    return sticks[0] if sticks else config.storage.data_dir / EXPORT_DIR


def _report_without_devices(config: KioskConfig) -> dict[str, Any]:
    """``kiosk diagnose``'s report minus the device checks: a running kiosk's hub holds the
    devices, and a second opener would fight it for the port (its rows come instead)."""
    from kiosk.operations.diagnosis import CHECKS, DiagnosisReport, _failed

    started = time.perf_counter()
    findings = []
    for name, check, on_failure in CHECKS:
        if name in ("idcard", "printer", "camera"):
            continue
        try:
            findings.append(check(config))
        except Exception as error:
            findings.append(_failed(config, name, on_failure,
                                    f"check failed: {type(error).__name__}"))
    return DiagnosisReport(tuple(findings), config.kiosk.id, time.time(),
                           time.perf_counter() - started).to_dict()


def _log_files(config: KioskConfig) -> list[Path]:
    from kiosk.operations.logs import LOG_DIR

    folder = config.storage.data_dir / LOG_DIR
    return sorted(path for path in folder.glob("*.log*") if path.is_file())


def _redacted_log(path: Path) -> bytes:
    from kiosk.operations.logs import redact

    text = path.read_text(encoding="utf-8", errors="replace")
    return "".join(redact(line) for line in text.splitlines(keepends=True)).encode("utf-8")


def _safe(call: Any) -> Any:
    """A part that cannot be read is reported in the bundle, not a reason to make none."""
    try:
        return call()
    except Exception as error:
        return {"error": f"{type(error).__name__}"}


def build_bundle(config: KioskConfig, target: Path, *,
                 devices: list[Mapping[str, Any]] | None = None,
                 extra: Mapping[str, Any] | None = None,
                 now: float | None = None) -> Path:
    """Write ``KIOSKID-YYYYMMDD-HHMMSS.zip`` into ``target`` (made if needed)
    and return its path.

    ``devices``: the running hub's rows (the screen's); without them (the command line)
    the full ``kiosk diagnose`` runs, devices included. ``extra``: more JSON parts by
    file name (the screen's last network check).
    """
    from kiosk.operations.diagnosis import diagnose
    from kiosk.operations.outbox_summary import queue_status
    from kiosk.operations.paper import PaperCounter
    from kiosk.operations.service_state import ServiceState
    from kiosk.operations.technician import TechnicianAccess

    now = time.time() if now is None else now
    database = config.storage.database
    if devices is None:
        report = _safe(lambda: diagnose(config).to_dict())
        device_part: Any = [f for f in report.get("findings", [])
                            if f.get("device")] if "findings" in report else report
    else:
        report = _safe(lambda: _report_without_devices(config))
        device_part = list(devices)
    parts: dict[str, Any] = {
        "config.json": safe_config(config),
        "versions.json": versions(),
        "diagnosis.json": report,
        "devices.json": device_part,
        "queue.json": _safe(lambda: queue_status(config, limit=0)),
        "paper.json": _safe(lambda: dataclasses.asdict(
            PaperCounter(database, config.devices.paper_roll_slips).state())),
        "service.json": _safe(lambda: dataclasses.asdict(ServiceState(database).now())),
        "audit.json": _safe(lambda: [dataclasses.asdict(row) for row in
                                     TechnicianAccess(database).audit(limit=1000)]),
    }
    parts.update(extra or {})
    stamp = datetime.fromtimestamp(now).strftime("%Y%m%d-%H%M%S")
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{config.kiosk.id}-{stamp}.zip"  # short: the screen shows it whole
    partial = path.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("README.txt", _readme(config, now))
        for name, value in parts.items():
            bundle.writestr(name, json.dumps(value, ensure_ascii=False, indent=2,
                                             default=str))
        for log in _log_files(config):
            try:
                bundle.writestr(f"logs/{log.name}", _redacted_log(log))
            except OSError as error:
                bundle.writestr(f"logs/{log.name}.unreadable", type(error).__name__)
    with contextlib.suppress(OSError):  # private like the log; a FAT stick has no modes
        os.chmod(partial, 0o600)
    os.replace(partial, path)  # a stick pulled mid-write leaves no half bundle named .zip
    return path


def _readme(config: KioskConfig, now: float) -> str:
    when = datetime.fromtimestamp(now).isoformat(timespec="seconds")
    return (f"Diagnostic bundle of kiosk {config.kiosk.id}, made {when}.\n\n"
            "config.json     the effective configuration (no key material, no passwords)\n"
            "versions.json   kiosk, Python, Kivy and OS versions\n"
            "diagnosis.json  the 'kiosk diagnose' report\n"
            "devices.json    reader, printer and camera states\n"
            "queue.json      applications and ratings per state (counts, cleared reasons)\n"
            "paper.json      slips printed since the last refill\n"
            "service.json    the out-of-service switches\n"
            "audit.json      the technician audit (PIN entries and actions)\n"
            "logs/           the kiosk's JSON log, personal data redacted\n")
