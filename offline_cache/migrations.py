"""Forward-only schema migrations of the kiosk database.

A kiosk in the field is upgraded by replacing its software, never by a technician running
SQL, so the schema must upgrade itself when the database is opened.  Each migration runs in
its own transaction together with the row recording it in ``schema_version``: a power cut
half-way leaves the file at the previous version, and the next start simply retries.

To add a migration, append ``Migration(next_version, "what it does", sql_script)`` to
:data:`MIGRATIONS`; nothing else changes.  Never edit or reorder a migration that has
shipped: kiosks in the field already recorded it as applied.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from offline_cache.errors import MigrationError, SchemaTooNewError
from offline_cache.reasons import clear_reason


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``script`` takes a database at ``version - 1`` to ``version``."""

    version: int
    description: str
    script: str


_CATALOGUE_TABLES = """
-- The matters of the government catalogue, with the pinyin keys computed at import time
-- so that the touchscreen never runs pypinyin over 1,000+ names while a citizen waits.
CREATE TABLE matters (
    item_code      TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    department     TEXT NOT NULL,
    group_name     TEXT,
    task_type      INTEGER NOT NULL,
    task_type_name TEXT NOT NULL,
    area_code      TEXT NOT NULL DEFAULT '',
    dept_code      TEXT NOT NULL DEFAULT '',
    name_pinyin    TEXT NOT NULL DEFAULT '',
    name_initials  TEXT NOT NULL DEFAULT '',
    dept_pinyin    TEXT NOT NULL DEFAULT '',
    dept_initials  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX matters_by_department ON matters (department, name, item_code);
CREATE INDEX matters_by_task_type ON matters (task_type, department, name, item_code);

-- Provenance of the catalogue currently loaded: source line, import time, version, sha256.
CREATE TABLE catalog_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Task type codes of the catalogue file with their published names.
CREATE TABLE task_types (
    code INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);
"""

_OUTBOX_TABLES = """
-- Citizens' applications waiting for (or done with) the platform. Personal data is only in
-- ``payload``, sealed (offline_cache.sealing); the other columns say where the record is.
CREATE TABLE applications (
    local_id          TEXT PRIMARY KEY NOT NULL,
    receipt_no        TEXT UNIQUE,
    state             TEXT NOT NULL,
    item_code         TEXT NOT NULL,
    payload           BLOB NOT NULL,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   REAL,
    last_error        TEXT,
    quarantine_reason TEXT,
    application_no    TEXT
);
CREATE INDEX applications_due ON applications (state, next_attempt_at, created_at);

-- Last receipt sequence issued per day (receipt numbers are made on the kiosk).
CREATE TABLE receipt_sequences (
    day  TEXT PRIMARY KEY NOT NULL,
    last INTEGER NOT NULL
);
"""

_ATTACHMENT_TABLE = """
-- Document photos of an application, by the SHA-256 of their content (files on disk, sealed).
-- The name a citizen sees is sealed inside the application's payload, not stored here.
CREATE TABLE application_attachments (
    local_id     TEXT NOT NULL REFERENCES applications (local_id) ON DELETE CASCADE,
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    PRIMARY KEY (local_id, sha256)
);
CREATE INDEX application_attachments_sha ON application_attachments (sha256);
"""

_SYNC_TABLES = """
-- When the platform acknowledged an application (retention counts from here) and the last
-- progress status it reported (received, accepted, in_review, ... completed).
ALTER TABLE applications ADD COLUMN acknowledged_at REAL;
ALTER TABLE applications ADD COLUMN platform_status TEXT;
ALTER TABLE applications ADD COLUMN status_checked_at REAL;

-- Platform documents cached for offline use: guides, forms, scenarios, policies (no personal
-- data). ``kind`` + ``key`` name one document, e.g. ('guide', '11511602...').
CREATE TABLE platform_documents (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    version    INTEGER,
    body       TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (kind, key)
);

-- Small facts the sync worker keeps between runs: last catalogue version pulled, last
-- successful sync, last heartbeat answer.
CREATE TABLE sync_meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
"""

_SEALING_VERSION = """
-- Which associated data a row's payload was sealed with (offline_cache.outbox, "AAD
-- versions"): 1 binds the local id only (every row written before this migration); 2 binds
-- the local id, receipt number and item code, so that editing those columns is detected.
ALTER TABLE applications ADD COLUMN aad_version INTEGER NOT NULL DEFAULT 1;
"""

_CLEAR_REASONS = """
-- Reasons are shown in clear (kiosk queue status, support tickets): pass the ones stored by
-- older software through the same filter the outbox now applies (offline_cache.reasons).
UPDATE applications SET last_error = clear_reason(last_error),
                        quarantine_reason = clear_reason(quarantine_reason)
 WHERE last_error IS NOT NULL OR quarantine_reason IS NOT NULL;
"""

_FAQ_TABLES = """
-- The platform's FAQ for offline use (GET /faq, pulled as deltas): one row per entry, the
-- entry as the JSON the platform sent (no personal data), in the platform's order.
-- Scenarios and policies come whole and stay in platform_documents.
CREATE TABLE faq_entries (
    id       TEXT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL,
    body     TEXT NOT NULL
);

-- The FAQ version pulled last (the next pull asks since it), where it came from and when.
CREATE TABLE knowledge_meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
"""

_USAGE_TABLE = """
-- How often each matter was chosen at this kiosk, so that browsing shows the most-used
-- matters first. Counts per matter only: no time, no visit, nothing about who chose it.
CREATE TABLE matter_usage (
    item_code    TEXT PRIMARY KEY NOT NULL,
    guide_opens  INTEGER NOT NULL DEFAULT 0,
    apply_starts INTEGER NOT NULL DEFAULT 0
);
"""

_EVALUATION_TABLE = """
-- Citizens' ratings of a finished service (好差评), queued like applications and sent once.
-- ``eval_id`` is made when the rating is queued and is the Idempotency-Key of every send.
-- The score, tags, comment and receipt number are only in ``payload``, sealed with the
-- master key (offline_cache.evaluations): a comment may hold personal words, and a score
-- next to a receipt number says who gave it. The other columns say where the record is.
CREATE TABLE evaluations (
    eval_id           TEXT PRIMARY KEY NOT NULL,
    state             TEXT NOT NULL,
    item_code         TEXT NOT NULL,
    payload           BLOB NOT NULL,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   REAL,
    last_error        TEXT,
    quarantine_reason TEXT,
    evaluation_no     TEXT,
    sent_at           REAL
);
CREATE INDEX evaluations_due ON evaluations (state, next_attempt_at, created_at);
"""

_TECHNICIAN_TABLES = """
-- Technicians who may open the diagnostics screen: a salted scrypt hash of each one's PIN
-- with the cost it was made with (never the PIN), see kiosk.operations.technician.
CREATE TABLE technicians (
    who      TEXT PRIMARY KEY NOT NULL,
    salt     BLOB NOT NULL,
    pin_hash BLOB NOT NULL,
    scrypt_n INTEGER NOT NULL,
    scrypt_r INTEGER NOT NULL,
    scrypt_p INTEGER NOT NULL,
    set_at   REAL NOT NULL
);

-- The PIN pad's wrong tries and lockout, kept here so that a restart does not clear them.
CREATE TABLE technician_guard (
    name         TEXT PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    lockouts     INTEGER NOT NULL DEFAULT 0,
    locked_until REAL
);

-- Every PIN entry and technician action: when, who, what, a short detail; no citizen data.
CREATE TABLE technician_audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     REAL NOT NULL,
    who    TEXT NOT NULL,
    what   TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
"""

_SERVICE_TABLES = """
-- Receipt paper used since the last refill: one row per printer ("printer"), counted as
-- slips are printed, reset when a technician says the roll was replaced.
CREATE TABLE paper_roll (
    printer     TEXT PRIMARY KEY NOT NULL,
    slips       INTEGER NOT NULL DEFAULT 0,
    refilled_at REAL
);

-- Out of service: the technician's switch and the automatic one, each with since when and
-- why (a fixed word or a finding's name, never citizen data); one row ("kiosk").
CREATE TABLE service_state (
    name          TEXT PRIMARY KEY NOT NULL,
    manual        INTEGER NOT NULL DEFAULT 0,
    manual_by     TEXT NOT NULL DEFAULT '',
    manual_since  REAL,
    automatic     INTEGER NOT NULL DEFAULT 0,
    auto_reason   TEXT NOT NULL DEFAULT '',
    auto_since    REAL
);
"""

#: Every migration, in order; versions start at 1 and increase by one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "catalogue tables: matters, catalog_meta, task_types", _CATALOGUE_TABLES),
    Migration(2, "outbox: applications and receipt sequences", _OUTBOX_TABLES),
    Migration(3, "outbox: attachments of applications", _ATTACHMENT_TABLE),
    Migration(4, "sync: acknowledgement time, platform status, cached documents",
              _SYNC_TABLES),
    Migration(5, "outbox: version of the sealed payload's associated data", _SEALING_VERSION),
    Migration(6, "outbox: personal data removed from stored reasons", _CLEAR_REASONS),
    Migration(7, "knowledge: FAQ entries pulled from the platform", _FAQ_TABLES),
    Migration(8, "browsing: how often each matter was chosen here", _USAGE_TABLE),
    Migration(9, "evaluations: citizens' ratings of a service, queued and sealed",
              _EVALUATION_TABLE),
    Migration(10, "technicians: PIN hashes, PIN lockout and audit of their actions",
              _TECHNICIAN_TABLES),
    Migration(11, "service: paper used since the last refill, out-of-service state",
              _SERVICE_TABLES),
)

#: The schema version this software writes.
LATEST_VERSION: int = MIGRATIONS[-1].version

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY NOT NULL,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
)
"""

_COMMENT_LINE = re.compile(r"^\s*--.*$", re.MULTILINE)


def split_statements(script: str) -> list[str]:
    """Split an SQL script into single statements.

    ``Connection.executescript`` would COMMIT the migration's open transaction before
    running, so statements are executed one by one instead; ``sqlite3.complete_statement``
    decides where each ends (it understands quotes and trigger bodies).
    """
    statements: list[str] = []
    start = 0
    for index, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : index + 1]):
            statement = script[start : index + 1].strip()
            if _COMMENT_LINE.sub("", statement).strip() not in ("", ";"):
                statements.append(statement)
            start = index + 1
    rest = _COMMENT_LINE.sub("", script[start:]).strip()
    if rest:
        raise ValueError(f"unterminated SQL statement: {rest[:60]!r}")
    return statements


def check_migrations(migrations: tuple[Migration, ...]) -> None:
    """Refuse a migration list whose versions are not 1, 2, 3... (a programming error)."""
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise ValueError(
                f"migration versions must be 1, 2, 3...: found {migration.version} "
                f"at position {expected}"
            )
        split_statements(migration.script)


def current_version(conn: sqlite3.Connection) -> int:
    """The highest applied schema version, 0 for a new database."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def applied_migrations(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """Rows of ``schema_version`` as ``(version, description, applied_at)``, oldest first."""
    if current_version(conn) == 0:
        return []
    rows = conn.execute(
        "SELECT version, description, applied_at FROM schema_version ORDER BY version"
    )
    return [(int(version), str(text), str(when)) for version, text, when in rows]


def apply_migrations(
    conn: sqlite3.Connection,
    path: Path,
    migrations: tuple[Migration, ...] = MIGRATIONS,
) -> list[int]:
    """Bring the database at ``path`` up to the last of ``migrations``.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so this function owns
    the transactions.  Returns the versions applied now (empty when already current).
    Two processes opening a new database at once are safe: ``BEGIN IMMEDIATE`` serialises
    them and the version is re-read inside the transaction, so nothing is applied twice.

    Raises :class:`SchemaTooNewError` when the file is newer than ``migrations`` and
    :class:`MigrationError` when a script fails (that migration is rolled back).
    """
    check_migrations(migrations)
    # SQL functions the migration scripts may call (Python code the schema steps need)
    conn.create_function("clear_reason", 1, clear_reason, deterministic=True)
    latest = migrations[-1].version if migrations else 0
    conn.execute(_VERSION_TABLE)
    found = current_version(conn)
    if found > latest:
        raise SchemaTooNewError(path, found, latest)
    applied: list[int] = []
    for migration in migrations:
        if migration.version <= found:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = current_version(conn)
            if found > latest:
                raise SchemaTooNewError(path, found, latest)
            if migration.version <= found:
                conn.execute("COMMIT")
                continue
            _run_script(conn, path, migration)
            conn.execute(
                "INSERT INTO schema_version (version, description, applied_at) "
                "VALUES (?, ?, ?)",
                (
                    migration.version,
                    migration.description,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        found = migration.version
        applied.append(migration.version)
    return applied


def _run_script(conn: sqlite3.Connection, path: Path, migration: Migration) -> None:
    """Execute one migration's statements inside the caller's transaction."""
    for statement in split_statements(migration.script):
        try:
            conn.execute(statement)
        except sqlite3.Error as error:
            if primary_error_code(error) in _FILE_LEVEL_ERRORS:
                raise  # the file itself is bad or busy: open_database reports that
            raise MigrationError(
                path, migration.version, migration.description, str(error)
            ) from error


def primary_error_code(error: sqlite3.Error) -> int:
    """SQLite's primary result code of ``error`` (``sqlite_errorcode`` is the extended one)."""
    return int(getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF


_FILE_LEVEL_ERRORS = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
    }
)
