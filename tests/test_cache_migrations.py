"""Opening the kiosk database: pragmas, forward migrations and clear errors for bad files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from offline_cache.database import open_database, transaction
from offline_cache.errors import (
    CacheError,
    CorruptDatabaseError,
    MigrationError,
    SchemaTooNewError,
)
from offline_cache.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    applied_migrations,
    apply_migrations,
    check_migrations,
    current_version,
    split_statements,
)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_fresh_database_gets_every_version(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "kiosk.db"
    conn = open_database(path)
    try:
        assert path.exists()
        versions = [version for version, _, _ in applied_migrations(conn)]
        assert versions == [m.version for m in MIGRATIONS]
        assert current_version(conn) == LATEST_VERSION
        assert {"schema_version", "matters", "catalog_meta", "task_types"} <= _tables(conn)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(matters)")}
        assert columns == {
            "item_code", "name", "department", "group_name", "task_type", "task_type_name",
            "area_code", "dept_code", "name_pinyin", "name_initials", "dept_pinyin",
            "dept_initials",
        }
        for _, description, applied_at in applied_migrations(conn):
            assert description
            assert applied_at.endswith("+00:00")
    finally:
        conn.close()


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    open_database(path).close()
    conn = open_database(path)
    try:
        before = applied_migrations(conn)
        assert apply_migrations(conn, path) == []
        assert applied_migrations(conn) == before
        count = conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0]
        assert count == len(MIGRATIONS)
    finally:
        conn.close()


def test_a_new_migration_is_applied_once_on_top(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    open_database(path).close()
    outbox = Migration(
        LATEST_VERSION + 1,
        "outbox table (test)",
        "CREATE TABLE outbox_test (id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT ';');",
    )
    upgraded = (*MIGRATIONS, outbox)
    conn = open_database(path, migrations=upgraded)
    try:
        assert current_version(conn) == outbox.version
        assert "outbox_test" in _tables(conn)
        assert apply_migrations(conn, path, upgraded) == []
    finally:
        conn.close()
    # The code without the new migration now meets a database from its future.
    with pytest.raises(SchemaTooNewError):
        open_database(path)


def test_failed_migration_is_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    open_database(path).close()
    broken = Migration(
        LATEST_VERSION + 1,
        "half-broken (test)",
        "CREATE TABLE first_half (x); INSERT INTO no_such_table VALUES (1);",
    )
    with pytest.raises(MigrationError) as caught:
        open_database(path, migrations=(*MIGRATIONS, broken))
    message = str(caught.value)
    assert str(path) in message and "half-broken" in message and "no_such_table" in message
    conn = open_database(path)
    try:
        assert current_version(conn) == LATEST_VERSION
        assert "first_half" not in _tables(conn)
    finally:
        conn.close()


def test_database_from_the_future_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    open_database(path).close()
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO schema_version VALUES (99, 'from the future', 'tomorrow')")
    raw.commit()
    raw.close()
    with pytest.raises(SchemaTooNewError) as caught:
        open_database(path)
    error = caught.value
    assert isinstance(error, CacheError)
    assert (error.database_version, error.code_version) == (99, LATEST_VERSION)
    message = str(error)
    assert str(path) in message and "99" in message and f"version {LATEST_VERSION}" in message


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a database, it is a text file\n" * 50,
        b"SQLite format 3\x00" + b"\xff" * 4000,
        bytes(range(256)) * 40,
    ],
    ids=["text", "bad-header", "binary"],
)
def test_garbage_file_is_a_clear_error_and_left_alone(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "kiosk.db"
    path.write_bytes(content)
    with pytest.raises(CorruptDatabaseError) as caught:
        open_database(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, CacheError)
    assert path.read_bytes() == content


def test_unopenable_path_is_a_cache_error(tmp_path: Path) -> None:
    with pytest.raises(CacheError) as caught:
        open_database(tmp_path)  # a directory
    assert str(tmp_path) in str(caught.value)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CacheError) as caught:
        open_database(blocker / "kiosk.db")  # parent is a file
    assert "cannot create directory" in str(caught.value)


def test_connection_settings(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "kiosk.db", busy_timeout_ms=1234)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
        assert conn.isolation_level is None
        assert not conn.in_transaction
    finally:
        conn.close()


def test_transaction_commits_or_rolls_back(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "kiosk.db")
    try:
        with transaction(conn):
            conn.execute("INSERT INTO task_types VALUES (1, 'kept')")
        with pytest.raises(RuntimeError), transaction(conn):
            conn.execute("INSERT INTO task_types VALUES (2, 'dropped')")
            raise RuntimeError("boom")
        assert not conn.in_transaction
        assert conn.execute("SELECT code FROM task_types").fetchall() == [(1,)]
    finally:
        conn.close()


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def opener() -> None:
        try:
            barrier.wait()
            open_database(path).close()
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    conn = open_database(path)
    try:
        assert [v for v, _, _ in applied_migrations(conn)] == [m.version for m in MIGRATIONS]
    finally:
        conn.close()


def test_split_statements_respects_quotes_and_triggers() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x TEXT DEFAULT 'x;y');
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET x = 'z;' WHERE rowid = new.rowid;
    END;
    INSERT INTO a VALUES (';'); -- trailing comment
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with pytest.raises(ValueError, match="unterminated"):
        split_statements("CREATE TABLE a (x); CREATE TABLE b (y)")


def test_migration_versions_must_be_consecutive() -> None:
    check_migrations(MIGRATIONS)
    with pytest.raises(ValueError, match="1, 2, 3"):
        check_migrations((*MIGRATIONS, Migration(LATEST_VERSION + 2, "gap", "SELECT 1;")))
