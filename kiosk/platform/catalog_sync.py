"""What the sync worker keeps fresh besides the outbox: catalogue, documents, FAQ, scenarios,
policies, heartbeat.

Each task is small and safe to interrupt: the catalogue delta is applied in one transaction
and its version stored with it, so a crash re-pulls the same delta; documents are fetched a
batch per pass, so a first start with 1,135 guides to fetch never holds up applications.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kiosk import __version__
from kiosk.models import Matter
from kiosk.platform.client import Failure, PlatformClient, PlatformError
from offline_cache.catalog_store import CatalogStore
from offline_cache.documents import DocumentCache
from offline_cache.knowledge_store import KnowledgeStore

_MATTER_TEXT = ("item_code", "name", "department", "task_type_name")


def parse_catalog_answer(data: dict[str, Any]) -> tuple[int, list[dict[str, Any]], list[str]]:
    """Validate ``GET /catalog``: (version, matters, removed codes). Raises PlatformError.

    A matter with a wrong field is refused as a whole answer rather than stored half-right:
    the next pass asks again, and the technician sees why.
    """
    version = data.get("version")
    matters = data.get("matters")
    removed = data.get("removed", [])
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise _bad("version is not a non-negative integer")
    if not isinstance(matters, list) or not isinstance(removed, list):
        raise _bad("matters and removed must be lists")
    if not all(isinstance(code, str) and code for code in removed):
        raise _bad("removed must list item codes")
    for index, matter in enumerate(matters):
        if not isinstance(matter, dict):
            raise _bad(f"matters[{index}] is not an object")
        for name in _MATTER_TEXT:
            if not isinstance(matter.get(name), str) or not matter[name]:
                raise _bad(f"matters[{index}].{name} missing or not text")
        task_type = matter.get("task_type")
        if not isinstance(task_type, int) or isinstance(task_type, bool):
            raise _bad(f"matters[{index}].task_type is not an integer")
        group = matter.get("group")
        if group is not None and not isinstance(group, str):
            raise _bad(f"matters[{index}].group is not text")
    return version, matters, removed


def _bad(why: str) -> PlatformError:
    return PlatformError(Failure.TRANSIENT, f"unexpected answer to GET /catalog: {why}")


def _matter(record: dict[str, Any]) -> Matter:
    return Matter(item_code=record["item_code"], name=record["name"],
                  department=record["department"], task_type=record["task_type"],
                  task_type_name=record["task_type_name"], group=record.get("group"))


@dataclass
class CatalogPull:
    """Result of one catalogue pull."""

    platform_version: int
    changed: int
    removed: int


def pull_catalog(client: PlatformClient, conn: sqlite3.Connection) -> CatalogPull:
    """Fetch the catalogue delta since the version stored last time, and apply it."""
    from kiosk.finding.catalog import catalog_records

    store = CatalogStore(conn)
    known = store.meta().get("platform_version")
    since = int(known) if known and known.isdigit() else None
    version, matters, removed = parse_catalog_answer(client.catalog(since))
    records = catalog_records([_matter(record) for record in matters])
    meta = {"platform_version": version, "source": "platform " + client.base_url,
            "imported_at": datetime.now(UTC).isoformat(timespec="seconds")}
    documents = DocumentCache(conn)
    if since is None:
        task_types = {m["task_type"]: m["task_type_name"] for m in matters}
        store.replace_catalog(records, task_types, meta)
    else:
        store.apply_delta(records, removed, meta)
    documents.put_many("matter", [(m["item_code"], m, m.get("version")) for m in matters])
    if removed:
        documents.delete("matter", removed)
        documents.delete("guide", removed)
    return CatalogPull(version, len(matters), len(removed))


def refresh_documents(client: PlatformClient, conn: sqlite3.Connection, batch: int = 40) -> int:
    """Fetch up to ``batch`` guides and forms missing or older than their matter's version.

    The FAQ, scenarios and policies are refreshed by the caller's schedule with
    :func:`refresh_lists`. Returns the number of documents stored.
    """
    cache = DocumentCache(conn)
    # four queries, no JSON decoded in Python: this runs on every pass, mostly to find
    # that everything is cached already
    matters = cache.versions("matter")
    form_ids = cache.field("matter", "form_id")
    guides = cache.versions("guide")
    forms = cache.versions("form")
    wanted: list[tuple[str, str, str, int | None]] = []
    for code, version in sorted(matters.items()):
        if guides.get(code, -1) != version:
            wanted.append(("guide", code, f"/matters/{code}/guide", version))
        form_id = form_ids.get(code)
        if isinstance(form_id, str) and form_id and form_id not in forms:
            forms[form_id] = None
            wanted.append(("form", form_id, f"/forms/{form_id}", None))
    stored = 0
    for kind, key, path, version in wanted[:batch]:
        try:
            body = client.document(path)
        except PlatformError as error:
            if error.failure is Failure.RECORD:  # 404: the platform has none; ask later
                continue
            raise
        if not isinstance(body, dict):
            continue
        cache.put(kind, key, body, version if version is not None else body.get("version"))
        stored += 1
    return stored


@dataclass
class FaqPull:
    """Result of one FAQ pull."""

    platform_version: int
    changed: int
    removed: int
    full: bool


def pull_faq(client: PlatformClient, conn: sqlite3.Connection) -> FaqPull:
    """Fetch the FAQ: all of it the first time, then only what changed since the version
    stored last (``GET /faq?since=N``), applied with that version in one transaction."""
    store = KnowledgeStore(conn)
    since = store.faq_version()
    answer = client.faq(since)
    source = "platform " + client.base_url
    if since is None:
        store.replace_faq(answer.version, answer.entries, source)
    else:
        store.apply_faq_delta(answer.version, answer.entries, answer.removed, source)
    return FaqPull(answer.version, len(answer.entries), len(answer.removed), since is None)


def refresh_lists(client: PlatformClient, conn: sqlite3.Connection) -> int:
    """Pull the FAQ delta, then fetch the life-event scenarios and the policies (one
    request each; they come whole). Every answer is checked by the client first, so a
    malformed one (TRANSIENT) leaves the cached copy as it was. Returns the number of
    FAQ entries changed or removed plus the lists stored.

    A platform that answers 404 to ``GET /faq`` (one from before the FAQ was added to the
    contract, 2026-11-27) keeps the cached or shipped FAQ; the lists still come."""
    try:
        pulled = pull_faq(client, conn)
        changed = pulled.changed + pulled.removed
    except PlatformError as error:
        if error.failure is not Failure.RECORD:
            raise
        changed = 0
    store = KnowledgeStore(conn)
    store.put_list("scenarios", client.scenarios())
    store.put_list("policies", client.policies())
    return changed + 2


def heartbeat(client: PlatformClient, conn: sqlite3.Connection, pending: int,
              oldest_age_s: float | None,
              device_states: Callable[[], dict[str, str]]) -> dict[str, Any]:
    """POST the kiosk's health: device states, queue depth, catalogue version."""
    known = CatalogStore(conn).meta().get("platform_version", "0")
    return client.heartbeat({
        "app_version": __version__,
        "devices": device_states(),
        "queue": {"pending": pending, "oldest_age_s": round(oldest_age_s or 0)},
        "catalog_version": int(known) if known.isdigit() else 0,
    })
