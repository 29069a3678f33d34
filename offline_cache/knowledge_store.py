"""The kiosk's offline copy of the platform's FAQ, life-event scenarios and policies.

None of it is personal data, so it is kept as the JSON the platform sent, already checked
by the caller (the kiosk's client). The FAQ arrives as deltas (``GET /faq?since=N``), so its
entries have a table of their own and the version pulled last is stored with them, in the
same transaction: a crash half-way re-pulls the same delta. Scenarios and policies arrive
whole and are kept in ``platform_documents`` as ('scenarios', '') and ('policies', ''),
where the catalogue sync has always put them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from offline_cache.database import transaction
from offline_cache.documents import DocumentCache

LISTS = ("scenarios", "policies")


class KnowledgeStore:
    """The FAQ tables and the two cached lists of an open kiosk database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- FAQ -----------------------------------------------------------------------------

    def faq_version(self) -> int | None:
        """The FAQ version pulled last, or None when the FAQ was never pulled."""
        row = self.conn.execute(
            "SELECT value FROM knowledge_meta WHERE name = 'faq_version'").fetchone()
        return int(row[0]) if row is not None and str(row[0]).isdigit() else None

    def replace_faq(self, version: int, entries: list[dict[str, Any]], source: str) -> None:
        """Store a whole FAQ (the first pull), dropping every entry held before."""
        with transaction(self.conn):
            self.conn.execute("DELETE FROM faq_entries")
            self._upsert(entries, start=0)
            self._set_meta(version, source)

    def apply_faq_delta(self, version: int, entries: list[dict[str, Any]],
                        removed: list[str], source: str) -> None:
        """Apply a delta: changed entries keep their place, new ones go last, removed ids
        go away, and the version moves on, all in one transaction."""
        with transaction(self.conn):
            if removed:
                self.conn.executemany("DELETE FROM faq_entries WHERE id = ?",
                                      [(ident,) for ident in removed])
            start = self.conn.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM faq_entries").fetchone()[0]
            self._upsert(entries, start=int(start))
            self._set_meta(version, source)

    def faq_entries(self) -> list[dict[str, Any]]:
        """Every cached entry, in the platform's order."""
        return [json.loads(body) for (body,) in self.conn.execute(
            "SELECT body FROM faq_entries ORDER BY position, id")]

    def faq_meta(self) -> dict[str, str]:
        """faq_version, source and fetched_at of the last pull (empty: never pulled)."""
        return dict(self.conn.execute("SELECT name, value FROM knowledge_meta"))

    def _upsert(self, entries: list[dict[str, Any]], start: int) -> None:
        for offset, entry in enumerate(entries):
            body = json.dumps(entry, ensure_ascii=False)
            updated = self.conn.execute("UPDATE faq_entries SET body = ? WHERE id = ?",
                                        (body, entry["id"])).rowcount
            if not updated:
                self.conn.execute(
                    "INSERT INTO faq_entries (id, position, body) VALUES (?, ?, ?)",
                    (entry["id"], start + offset, body))

    def _set_meta(self, version: int, source: str) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO knowledge_meta (name, value) VALUES (?, ?)",
            [("faq_version", str(version)), ("faq_source", source),
             ("faq_fetched_at", f"{time.time():.0f}")])

    # -- scenarios and policies ----------------------------------------------------------

    def put_list(self, kind: str, body: list[dict[str, Any]]) -> None:
        """Store the whole scenarios or policies list."""
        if kind not in LISTS:
            raise ValueError(f"not a knowledge list: {kind!r}")
        DocumentCache(self.conn).put(kind, "", body)

    def get_list(self, kind: str) -> list[dict[str, Any]] | None:
        """The cached scenarios or policies list, or None when never fetched."""
        if kind not in LISTS:
            raise ValueError(f"not a knowledge list: {kind!r}")
        body = DocumentCache(self.conn).get(kind)
        return body if isinstance(body, list) else None
