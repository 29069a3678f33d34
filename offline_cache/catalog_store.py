"""The catalogue of matters as stored on the kiosk.

The kiosk must list and search matters with the network down, so the whole catalogue lives
in SQLite together with the pinyin keys computed at import time.  An import replaces the
catalogue in one transaction: readers (the touchscreen) see either the old catalogue or the
new one, never a mix, and an import that fails half-way leaves the old one intact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline_cache.database import database_error, transaction
from offline_cache.errors import CacheError
from offline_cache.records import Matter, PinyinKeys


@dataclass(frozen=True, slots=True)
class CatalogRecord:
    """One matter to store, with the pinyin keys of its name and of its department."""

    matter: Matter
    name_keys: PinyinKeys
    dept_keys: PinyinKeys


_MATTER_COLUMNS = (
    "item_code, name, department, group_name, task_type, task_type_name, area_code, dept_code"
)
_LIST_ORDER = "ORDER BY department, name, item_code"


class CatalogStore:
    """Reads and replaces the catalogue tables of an open kiosk database.

    ``conn`` comes from :func:`offline_cache.database.open_database` (autocommit mode,
    migrated).  The store holds no state of its own, so several stores may share a file.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # -- writing ---------------------------------------------------------------------

    def replace_catalog(
        self,
        records: Iterable[CatalogRecord],
        task_types: Mapping[int, str],
        meta: Mapping[str, object],
    ) -> int:
        """Replace matters, task types and metadata with the given ones, atomically.

        ``meta`` is stored as text (source, imported_at, sha256...).  The store adds
        ``version``: one more than the previous catalogue's, so a long-running process can
        notice that another one (the ``kiosk catalog import`` command) changed the
        catalogue.  Returns that version.  Any failure, including an exception raised by
        the ``records`` iterable, rolls everything back.
        """
        try:
            with transaction(self._conn) as conn:
                version = self._version() + 1
                conn.execute("DELETE FROM matters")
                conn.execute("DELETE FROM task_types")
                conn.execute("DELETE FROM catalog_meta")
                conn.executemany(
                    f"INSERT INTO matters ({_MATTER_COLUMNS}, name_pinyin, name_initials, "
                    "dept_pinyin, dept_initials) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (_record_row(record) for record in records),
                )
                conn.executemany(
                    "INSERT INTO task_types (code, name) VALUES (?, ?)",
                    sorted((int(code), str(name)) for code, name in task_types.items()),
                )
                stored_meta = {str(key): str(value) for key, value in meta.items()}
                stored_meta["version"] = str(version)
                conn.executemany(
                    "INSERT INTO catalog_meta (key, value) VALUES (?, ?)",
                    sorted(stored_meta.items()),
                )
        except sqlite3.Error as error:
            raise self._error(error) from None
        return version

    def apply_delta(
        self,
        records: Iterable[CatalogRecord],
        removed: Iterable[str],
        meta: Mapping[str, object],
    ) -> int:
        """Upsert changed matters and delete removed ones in one transaction.

        For the platform's ``GET /catalog?since=N``; ``meta`` entries are merged into the
        stored metadata (e.g. ``platform_version``). The local version goes up by one, as
        for :meth:`replace_catalog`, so open screens notice. Returns that version.
        """
        try:
            with transaction(self._conn) as conn:
                version = self._version() + 1
                conn.executemany(
                    f"INSERT OR REPLACE INTO matters ({_MATTER_COLUMNS}, name_pinyin, "
                    "name_initials, dept_pinyin, dept_initials) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (_record_row(record) for record in records),
                )
                conn.executemany("DELETE FROM matters WHERE item_code = ?",
                                 ((code,) for code in removed))
                stored_meta = {str(key): str(value) for key, value in meta.items()}
                stored_meta["version"] = str(version)
                conn.executemany(
                    "INSERT OR REPLACE INTO catalog_meta (key, value) VALUES (?, ?)",
                    sorted(stored_meta.items()),
                )
        except sqlite3.Error as error:
            raise self._error(error) from None
        return version

    # -- reading ---------------------------------------------------------------------

    def count(self) -> int:
        """Number of matters in the catalogue (0 before the first import)."""
        return int(self._query("SELECT COUNT(*) FROM matters")[0][0])

    def version(self) -> int:
        """Version of the catalogue loaded (0 before the first import); cheap to poll."""
        try:
            return self._version()
        except sqlite3.Error as error:
            raise self._error(error) from None

    def meta(self) -> dict[str, str]:
        """Provenance of the loaded catalogue: source, imported_at, version, sha256..."""
        return dict(self._query("SELECT key, value FROM catalog_meta ORDER BY key"))

    def matters(self) -> list[Matter]:
        """Every matter, by department, then name, then item code."""
        rows = self._query(f"SELECT {_MATTER_COLUMNS} FROM matters {_LIST_ORDER}")
        return [_matter(row) for row in rows]

    def matter(self, item_code: str) -> Matter | None:
        """The matter with this item code, or None."""
        rows = self._query(
            f"SELECT {_MATTER_COLUMNS} FROM matters WHERE item_code = ?", (item_code,)
        )
        return _matter(rows[0]) if rows else None

    def matters_by_department(self, department: str) -> list[Matter]:
        """The matters of one department, by name then item code."""
        rows = self._query(
            f"SELECT {_MATTER_COLUMNS} FROM matters WHERE department = ? {_LIST_ORDER}",
            (department,),
        )
        return [_matter(row) for row in rows]

    def matters_by_task_type(self, code: int) -> list[Matter]:
        """The matters of one task type, by department, then name, then item code."""
        rows = self._query(
            f"SELECT {_MATTER_COLUMNS} FROM matters WHERE task_type = ? {_LIST_ORDER}",
            (int(code),),
        )
        return [_matter(row) for row in rows]

    def keys(self) -> dict[str, PinyinKeys]:
        """Pinyin keys of every matter's name, by item code (what the search index needs)."""
        rows = self._query("SELECT item_code, name_pinyin, name_initials FROM matters")
        return {code: PinyinKeys(full=full, initials=initials) for code, full, initials in rows}

    def department_keys(self) -> dict[str, PinyinKeys]:
        """Pinyin keys of every department name, by department name."""
        rows = self._query(
            "SELECT department, MIN(dept_pinyin), MIN(dept_initials) FROM matters "
            "GROUP BY department"
        )
        return {name: PinyinKeys(full=full, initials=initials) for name, full, initials in rows}

    def departments(self) -> list[tuple[str, int]]:
        """``(department, number of matters)``, largest first, then by name."""
        rows = self._query(
            "SELECT department, COUNT(*) AS n FROM matters GROUP BY department "
            "ORDER BY n DESC, department"
        )
        return [(str(name), int(count)) for name, count in rows]

    def task_types(self) -> list[tuple[int, str, int]]:
        """``(code, name, number of matters)`` of every task type that has matters.

        Largest first, then by code.  The name is the one published in the file's
        ``task_types`` table, else the matters' own ``task_type_name``.  Types without
        matters are left out: a menu button leading to an empty list helps nobody.
        """
        rows = self._query(
            "SELECT m.task_type, COALESCE(t.name, MIN(m.task_type_name)), COUNT(*) AS n "
            "FROM matters AS m LEFT JOIN task_types AS t ON t.code = m.task_type "
            "GROUP BY m.task_type ORDER BY n DESC, m.task_type"
        )
        return [(int(code), str(name), int(count)) for code, name, count in rows]

    def declared_task_types(self) -> dict[int, str]:
        """The file's task type table as imported, including types without matters."""
        return {
            int(code): str(name)
            for code, name in self._query("SELECT code, name FROM task_types ORDER BY code")
        }

    # -- helpers ---------------------------------------------------------------------

    def _version(self) -> int:
        row = self._conn.execute(
            "SELECT value FROM catalog_meta WHERE key = 'version'"
        ).fetchone()
        try:
            return int(row[0]) if row else 0
        except ValueError:
            return 0

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise self._error(error) from None

    def _error(self, error: sqlite3.Error) -> CacheError:
        """A :class:`CacheError` naming the database file, for a failed statement."""
        try:
            row = self._conn.execute("PRAGMA database_list").fetchone()
            path = Path(row[2]) if row and row[2] else Path(":memory:")
        except sqlite3.Error:
            path = Path("<kiosk database>")
        return database_error(path, error)


def _record_row(record: CatalogRecord) -> tuple[Any, ...]:
    matter = record.matter
    return (
        matter.item_code,
        matter.name,
        matter.department,
        matter.group,
        int(matter.task_type),
        matter.task_type_name,
        matter.area_code,
        matter.dept_code,
        record.name_keys.full,
        record.name_keys.initials,
        record.dept_keys.full,
        record.dept_keys.initials,
    )


def _matter(row: tuple[Any, ...]) -> Matter:
    code, name, department, group, task_type, task_type_name, area_code, dept_code = row
    return Matter(
        item_code=code,
        name=name,
        department=department,
        group=group,
        task_type=int(task_type),
        task_type_name=task_type_name,
        area_code=area_code,
        dept_code=dept_code,
    )
