"""``kiosk diagnose``: one command a technician runs first when a kiosk misbehaves.

Each check says what it looked at and what to do; nothing here changes the kiosk except
that a missing data folder or catalogue is reported, not created.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from kiosk.config import KioskConfig, load_config


@dataclass(frozen=True)
class Check:
    """Outcome of one check: ``ok`` False means the kiosk cannot serve citizens as is."""

    name: str
    ok: bool
    detail: str


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``diagnose``."""
    parser = subparsers.add_parser(
        "diagnose",
        help="check configuration, storage, catalogue, fonts, languages and the platform",
        description=(
            "Run the kiosk's self-checks and print one line per check; exit 1 when any "
            "check fails. Device tests come with the device drivers (kiosk devices)."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(func=cmd_diagnose)


def check_storage(config: KioskConfig) -> Check:
    """The data folder exists and is writable (the catalogue and, later, the outbox)."""
    data_dir = config.storage.data_dir
    if not data_dir.exists():
        return Check("storage", False, f"{data_dir} does not exist yet (created on first run)")
    if not os.access(data_dir, os.W_OK):
        return Check("storage", False, f"{data_dir} is not writable by this user")
    usage = os.statvfs(data_dir)
    free_mib = usage.f_bavail * usage.f_frsize / 2**20
    return Check("storage", free_mib > 200, f"{data_dir}: {free_mib:,.0f} MiB free")


def check_catalogue(config: KioskConfig) -> Check:
    """The cached catalogue opens and holds matters."""
    from kiosk.finding.catalog import CatalogService

    if not config.storage.database.exists():
        return Check("catalogue", False, "no database yet: run 'kiosk catalog import'")
    with CatalogService(config.storage.database) as catalog:
        count = catalog.count()
        meta = catalog.meta()
    detail = f"{count} matters, imported {meta.get('imported_at', 'never')}"
    return Check("catalogue", count > 0, detail)


def check_fonts(_config: KioskConfig) -> Check:
    """The Simplified Chinese face is installed (ID-card names need the full set)."""
    from kiosk.fonts import FontMissingError, ensure_sc_fonts

    try:
        fonts = ensure_sc_fonts()
    except FontMissingError as error:
        return Check("fonts", False, str(error))
    return Check("fonts", True, str(fonts.regular))


def check_languages(_config: KioskConfig) -> Check:
    """Every language has its compiled catalogue."""
    from kiosk.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

    missing = [
        code for code in LANGUAGES
        if not (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo").exists()
    ]
    if missing:
        return Check("languages", False, f"not compiled: {', '.join(missing)} (make locales)")
    return Check("languages", True, ", ".join(LANGUAGES))


def check_platform(config: KioskConfig) -> Check:
    """The platform's health endpoint answers (offline is allowed, but worth knowing)."""
    from kiosk.platform.connectivity import probe_health
    from kiosk.platform.transport import new_session

    started = time.monotonic()
    # the kiosk's own transport rules (CA file, proxy, no redirects), or "online" here
    # could be a different answer from the one sync gets
    with new_session(config.platform.ca_file, config.platform.proxy) as session:
        online = probe_health(session, config.platform.url, timeout=min(config.platform.timeout, 5))
    elapsed = (time.monotonic() - started) * 1000
    state = "online" if online else "offline (applications will queue)"
    return Check("platform", online, f"{config.platform.url}: {state}, {elapsed:.0f} ms")


def check_outbox(config: KioskConfig) -> Check:
    """The pre-flight gates a new application must pass, and the queue behind them.

    Reads counts only (nothing is decrypted, no key is made): the same checks the touchscreen
    runs before it accepts an application, so a refusal here is what citizens see.
    """
    from kiosk.applying.preflight import Preflight
    from offline_cache.database import open_database
    from offline_cache.outbox import Outbox

    if not config.storage.database.exists():
        return Check("outbox", True, "no applications yet")
    conn = open_database(config.storage.database)
    try:
        outbox = Outbox(conn, b"", lambda day, sequence: "")
        report = Preflight.from_config(config, outbox).run()
        pending, _oldest = outbox.backlog()
        quarantined = outbox.counts().get("quarantined", 0)
    finally:
        conn.close()
    problems = [check.detail for check in report.checks if not check.ok]
    summary = f"{pending} unsent, {quarantined} quarantined (kiosk queue status)"
    if not report.accepting:
        return Check("outbox", False, "REFUSING applications: " + "; ".join(problems))
    return Check("outbox", True, "; ".join([f"accepting applications, {summary}", *problems]))


def check_keys(config: KioskConfig) -> Check:
    """Both key files as the kiosk will open them: a refusal here is a refusal there.

    The platform signing key is refused (no sync) when group or others may read or change
    it or it is not ours; the master key likewise, and a missing master key is an alarm
    while sealed records need it. Nothing is created and no key is printed.
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
    return Check("keys", not problems, "; ".join([*problems, *notes]))


CHECKS: tuple[Callable[[KioskConfig], Check], ...] = (
    check_storage,
    check_catalogue,
    check_fonts,
    check_languages,
    check_platform,
    check_keys,
    check_outbox,
)


def cmd_diagnose(args: argparse.Namespace) -> int:
    """Run every check; the configuration itself is checked by loading it."""
    config = load_config(args.config)
    results = [Check("config", True, str(config.source or "built-in defaults"))]
    results += [check(config) for check in CHECKS]
    if args.json:
        print(json.dumps([asdict(result) for result in results], ensure_ascii=False, indent=2))
    else:
        for result in results:
            print(f"{'ok  ' if result.ok else 'FAIL'}  {result.name:<10} {result.detail}")
    return 0 if all(result.ok for result in results) else 1
