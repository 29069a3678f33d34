"""Platform documents cached for offline use: guides, forms, scenarios, policies.

They hold no personal data, so they are stored as the JSON text the platform sent (already
validated by the caller). ``kind`` + ``key`` name a document: ('guide', item_code),
('form', form_id), ('matter', item_code) for the catalogue fields the matters table does
not keep (keywords, online, form_id), ('scenarios', '') and ('policies', '').
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from offline_cache.database import transaction


class DocumentCache:
    """The ``platform_documents`` table of an open kiosk database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def put(self, kind: str, key: str, body: Any, version: int | None = None) -> None:
        """Store (or replace) one document."""
        self.put_many(kind, [(key, body, version)])

    def put_many(self, kind: str, documents: list[tuple[str, Any, int | None]]) -> None:
        """Store several documents of one kind in one transaction."""
        now = time.time()
        with transaction(self.conn):
            self.conn.executemany(
                "INSERT OR REPLACE INTO platform_documents (kind, key, version, body,"
                " fetched_at) VALUES (?, ?, ?, ?, ?)",
                [(kind, key, version, json.dumps(body, ensure_ascii=False), now)
                 for key, body, version in documents])

    def get(self, kind: str, key: str = "") -> Any | None:
        """The cached document, or None when it was never fetched."""
        row = self.conn.execute(
            "SELECT body FROM platform_documents WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def versions(self, kind: str) -> dict[str, int | None]:
        """Key -> cached version of every document of ``kind``."""
        return dict(self.conn.execute(
            "SELECT key, version FROM platform_documents WHERE kind = ?", (kind,)))

    def field(self, kind: str, name: str) -> dict[str, Any]:
        """Key -> the top-level field ``name`` of every document of ``kind`` (SQLite JSON)."""
        return dict(self.conn.execute(
            "SELECT key, json_extract(body, '$.' || ?) FROM platform_documents WHERE kind = ?",
            (name, kind)))

    def fetched_at(self, kind: str, key: str = "") -> float | None:
        """When a document was last stored (None: never)."""
        row = self.conn.execute(
            "SELECT fetched_at FROM platform_documents WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return None if row is None else float(row[0])

    def delete(self, kind: str, keys: list[str]) -> None:
        """Forget documents (a matter removed from the catalogue)."""
        with transaction(self.conn):
            self.conn.executemany("DELETE FROM platform_documents WHERE kind = ? AND key = ?",
                                  [(kind, key) for key in keys])
