"""Opening the kiosk's SQLite file with the settings every caller needs.

The touchscreen app, the sync worker and the ``kiosk`` command may hold the file at the
same time, so it runs in WAL mode (readers never block the writer) with a busy timeout
(a writer waits for another instead of failing at once).  ``synchronous=NORMAL`` is safe
under WAL: a power cut can lose the last commit but never corrupts the file.

Connections are returned in autocommit mode (``isolation_level=None``): writers group
their statements explicitly with :func:`transaction`, so there is no hidden transaction
opened by the ``sqlite3`` module that could hold the write lock by surprise.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from offline_cache.errors import CacheError, CorruptDatabaseError
from offline_cache.migrations import MIGRATIONS, Migration, apply_migrations, primary_error_code

#: How long a writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_MS = 5_000

_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def open_database(
    path: Path,
    *,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    migrations: tuple[Migration, ...] = MIGRATIONS,
    durable: bool = False,
) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path``, migrated to the latest schema.

    Creates the parent directory (0700; the database and its WAL files are 0600, see
    :func:`make_private`), turns on WAL, foreign keys and the busy timeout, then
    applies any pending migrations.  ``durable`` makes every commit reach the disk before it
    returns (``synchronous=FULL``): the connection that seals citizens' applications uses it,
    because a receipt is printed right after the commit and a power cut must not undo it.
    Every failure is a :class:`CacheError` naming the
    file: :class:`CorruptDatabaseError` for a file that is not SQLite,
    :class:`~offline_cache.errors.SchemaTooNewError` for a file from newer software.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise CacheError(
            f"{path}: cannot create directory {path.parent}: {error.strerror or error}"
        ) from None
    try:
        make_private(path)
    except OSError as error:
        raise CacheError(f"{path}: cannot open database: {error.strerror or error}") from None
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
    except sqlite3.Error as error:
        raise CacheError(f"{path}: cannot open database: {error}") from None
    try:
        _configure(conn, busy_timeout_ms, durable)
        apply_migrations(conn, path, migrations)
    except CacheError:
        conn.close()
        raise
    except sqlite3.Error as error:
        conn.close()
        raise database_error(path, error) from None
    except BaseException:
        conn.close()
        raise
    return conn


def make_private(path: Path) -> None:
    """Folder 0700, database and its ``-wal``/``-shm`` 0600: created so, tightened if not.

    The database is created here (empty, mode 0600) before SQLite opens it, because SQLite
    gives the ``-wal`` and ``-shm`` files it makes the mode of the database file; so the
    whole set is private from its first byte whatever the umask. An existing folder or
    file from older software (0755/0644) is tightened at open. A folder shared with others
    (sticky, like /tmp) or owned by someone else is left alone: it is not the kiosk's.
    """
    folder = path.parent
    info = folder.stat()
    if _ours(info) and not info.st_mode & stat.S_ISVTX and stat.S_IMODE(info.st_mode) & 0o077:
        folder.chmod(0o700)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        tighten_file(name)


def tighten_file(path: Path) -> None:
    """``chmod 600`` a file of ours that group or others may use (missing: nothing to do)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if _ours(info) and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(0o600)


def _ours(info: os.stat_result) -> bool:
    return not hasattr(os, "geteuid") or info.st_uid == os.geteuid()


def _configure(conn: sqlite3.Connection, busy_timeout_ms: int, durable: bool = False) -> None:
    """Apply the per-connection pragmas (the first statements, so they also probe the file).

    ``secure_delete``: a deleted row (a purged application's sealed payload, a reason) is
    overwritten with zeros instead of lingering in a free page or cell, whatever the
    compile-time default of the SQLite this Python was built with.
    """
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA secure_delete = ON")
    mode = _enable_wal(conn, busy_timeout_ms)
    # NORMAL is only crash-safe under WAL; keep FULL if the filesystem refused WAL.
    synchronous = "NORMAL" if mode.lower() == "wal" and not durable else "FULL"
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA foreign_keys = ON")


def _enable_wal(conn: sqlite3.Connection, busy_timeout_ms: int) -> str:
    """Switch to WAL and return the journal mode in force.

    Switching needs an exclusive lock and SQLite answers ``SQLITE_BUSY`` at once, without
    its busy handler, when another connection holds the file (two processes creating the
    database together).  So retry here, for as long as the busy timeout allows.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as error:
            busy = primary_error_code(error) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def database_error(path: Path, error: sqlite3.Error) -> CacheError:
    """Translate a ``sqlite3`` error on ``path`` into a :class:`CacheError` naming the file."""
    code = primary_error_code(error)
    if code in _CORRUPT_CODES or type(error) is sqlite3.DatabaseError:
        return CorruptDatabaseError(path, str(error))
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return CacheError(f"{path}: database is busy (another process holds it): {error}")
    return CacheError(f"{path}: {error}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block as one write transaction: committed on success, rolled back on error.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so a concurrent writer waits on the
    busy timeout here rather than failing later with a deadlock-style ``SQLITE_BUSY``.
    Under WAL the pages reach the disk at ``COMMIT``, so that is where a full disk fails
    (``SQLITE_FULL``); SQLite then keeps the transaction open, and it is rolled back here
    too, so the connection never stays holding the write lock and a half-made change.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
