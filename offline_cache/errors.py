"""Errors of the offline cache.

Every failure to open or upgrade the kiosk's SQLite file is raised as a :class:`CacheError`
whose message names the file, so the app and the ``kiosk`` command can show one clear line
to a technician instead of a raw ``sqlite3`` traceback.
"""

from __future__ import annotations

from pathlib import Path


class CacheError(Exception):
    """The kiosk database cannot be used (base class of every cache failure)."""


class CorruptDatabaseError(CacheError):
    """The file exists but is not a readable SQLite database (garbage, truncated, damaged)."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            f"{path}: not a usable SQLite database ({detail}); move the file aside and "
            "restart to rebuild the cache"
        )


class SchemaTooNewError(CacheError):
    """The database was written by newer software than this one (a downgrade happened).

    We refuse to touch it rather than guess: older code writing to newer tables could
    silently lose queued submissions.
    """

    def __init__(self, path: Path, database_version: int, code_version: int) -> None:
        self.path = path
        self.database_version = database_version
        self.code_version = code_version
        super().__init__(
            f"{path}: database schema version {database_version} is newer than this "
            f"software supports (version {code_version}); install the newer kiosk software "
            "or move the file aside"
        )


class MigrationError(CacheError):
    """A migration script failed; its transaction was rolled back, the file is unchanged."""

    def __init__(self, path: Path, version: int, description: str, detail: str) -> None:
        self.path = path
        self.version = version
        super().__init__(
            f"{path}: migration {version} ({description}) failed: {detail}; "
            "the database was left at the previous version"
        )
