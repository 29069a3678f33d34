"""The catalogue of matters: importing a catalogue file and serving it to screens and CLI.

Catalogue files come from outside (the platform's export, a technician's USB stick), so
:func:`load_catalog_file` checks every record and reports problems as one readable
:class:`CatalogFileError` naming the file, the record and the field; a bad file must never
reach the database nor end in a traceback on a kiosk.  Pinyin keys are computed here, once
per import, and stored, so the touchscreen's search never waits for pypinyin.

:class:`CatalogService` is the one object the app and the ``kiosk catalog`` command use;
both search through it, so the command line ranks exactly as the screen does.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from kiosk.models import Matter, PinyinKeys
from offline_cache.catalog_store import CatalogRecord, CatalogStore
from offline_cache.database import open_database

if TYPE_CHECKING:
    import sqlite3

    from kiosk.finding.guides import Guide
    from kiosk.finding.search import SearchHit, SearchIndex

#: The catalogue shipped with the software, imported on first run so the kiosk is usable.
SAMPLE_CATALOG: Path = Path(__file__).resolve().parent.parent / "data" / "matters_guangan.json"

#: At most this many problems are spelled out in a :class:`CatalogFileError` message.
MAX_REPORTED_PROBLEMS = 10

# SQLite stores 64-bit signed integers; anything larger would fail at insert time.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_CODE_KEY = re.compile(r"-?[0-9]+")


class CatalogFileError(Exception):
    """A catalogue file cannot be imported; ``problems`` lists what is wrong, in order."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        shown = [f"{path}: {problem}" for problem in self.problems[:MAX_REPORTED_PROBLEMS]]
        hidden = len(self.problems) - len(shown)
        if hidden > 0:
            shown.append(f"{path}: ... and {hidden} more problem{'s' if hidden > 1 else ''}")
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class CatalogFile:
    """A validated catalogue file: provenance line, matters and the task type table."""

    source: str
    matters: list[Matter]
    task_types: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportReport:
    """What an import did and how long each stage took (seconds)."""

    file: Path
    source: str
    matters: int
    departments: int
    task_types: int
    previous: int
    version: int
    sha256: str
    parse_seconds: float
    keys_seconds: float
    store_seconds: float

    @property
    def seconds(self) -> float:
        """Total time of the import."""
        return self.parse_seconds + self.keys_seconds + self.store_seconds

    def summary(self) -> str:
        """One line for a technician's terminal or the log."""
        return (
            f"imported {self.matters} matters ({self.departments} departments, "
            f"{self.task_types} task types) from {self.file} in {self.seconds:.2f} s "
            f"(replaced {self.previous}; catalogue version {self.version})"
        )


# -- reading and validating a catalogue file ------------------------------------------


def load_catalog_file(path: Path | str) -> CatalogFile:
    """Read and validate a catalogue file; raises :class:`CatalogFileError` if unusable."""
    return _read_catalog(Path(path))[0]


def _read_catalog(path: Path) -> tuple[CatalogFile, bytes]:
    """The validated catalogue and the raw bytes it came from (for the file's sha256)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CatalogFileError(path, [f"cannot read: {error.strerror or error}"]) from None
    return parse_catalog(data, path), data


def parse_catalog(data: bytes, path: Path | str) -> CatalogFile:
    """Validate the bytes of a catalogue file; ``path`` is only used in messages."""
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0  # Notepad adds one
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = bom + error.start
        raise CatalogFileError(
            path, [f"not UTF-8 text (byte 0x{data[offset]:02x} at offset {offset})"]
        ) from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise CatalogFileError(
            path, [f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"]
        ) from None
    except RecursionError:
        raise CatalogFileError(path, ["not valid JSON: nested too deeply"]) from None
    except ValueError as error:  # e.g. an integer with more digits than Python allows
        raise CatalogFileError(path, [f"not valid JSON: {error}"]) from None
    return _validate_document(document, path)


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python accepts them unless told otherwise."""
    raise ValueError(f"{name} is not a JSON value")


def _validate_document(document: Any, path: Path | str) -> CatalogFile:
    if not isinstance(document, dict):
        raise CatalogFileError(path, [f"expected a JSON object, got {json_kind(document)}"])
    problems: list[str] = []
    source = document.get("source", "")
    if not isinstance(source, str):
        problems.append(f"source: expected a string, got {json_kind(source)}")
        source = ""
    elif not _encodable(source):
        problems.append("source: invalid Unicode (lone surrogate)")
    task_types = _validate_task_types(document.get("task_types", {}), problems)
    records = document.get("matters")
    if "matters" not in document:
        problems.append("matters: missing")
    elif not isinstance(records, list):
        problems.append(f"matters: expected a list, got {json_kind(records)}")
    elif not records:
        problems.append("matters: empty (a catalogue needs at least one matter)")
    matters = _validate_matters(records, problems) if isinstance(records, list) else []
    if problems:
        raise CatalogFileError(path, problems)
    return CatalogFile(source=source, matters=matters, task_types=task_types)


def _validate_task_types(table: Any, problems: list[str]) -> dict[int, str]:
    if not isinstance(table, dict):
        problems.append(f"task_types: expected an object, got {json_kind(table)}")
        return {}
    result: dict[int, str] = {}
    for key, name in table.items():
        shown = key if len(key) <= 24 else key[:20] + "..."
        where = f"task_types[{json.dumps(shown, ensure_ascii=False)}]"
        # Length first: int() refuses strings of more than 4,300 digits with ValueError.
        if (
            len(key) > 20
            or not _CODE_KEY.fullmatch(key)
            or not _INT_MIN <= int(key) <= _INT_MAX
        ):
            problems.append(f"{where}: key is not an integer task type code")
            continue
        code = int(key)
        if code in result:
            problems.append(f"{where}: duplicate task type code {code}")
        elif not isinstance(name, str):
            problems.append(f"{where}: expected a string, got {json_kind(name)}")
        elif not name.strip():
            problems.append(f"{where}: empty")
        elif not _encodable(name):
            problems.append(f"{where}: invalid Unicode (lone surrogate)")
        else:
            result[code] = name
    return result


# Fields of one record: name -> (required, kind).  Kinds: "text" a non-blank string,
# "code" any string (may be empty), "text?" a string or null, "int" a 64-bit integer.
# Other keys of a record are ignored, so a newer export with extra fields still imports.
_FIELDS: dict[str, tuple[bool, str]] = {
    "item_code": (True, "text"),
    "name": (True, "text"),
    "department": (True, "text"),
    "task_type": (True, "int"),
    "task_type_name": (True, "text"),
    "group": (False, "text?"),
    "area_code": (False, "code"),
    "dept_code": (False, "code"),
}


def _validate_matters(records: list[Any], problems: list[str]) -> list[Matter]:
    matters: list[Matter] = []
    first_seen: dict[str, int] = {}
    for index, record in enumerate(records):
        where = f"matters[{index}]"
        if not isinstance(record, dict):
            problems.append(f"{where}: expected an object, got {json_kind(record)}")
            continue
        values: dict[str, Any] = {}
        ok = True
        for name, (required, kind) in _FIELDS.items():
            if name not in record:
                if required:
                    problems.append(f"{where}.{name}: missing")
                    ok = False
                continue
            problem = _check_field(record[name], kind)
            if problem:
                problems.append(f"{where}.{name}: {problem}")
                ok = False
            else:
                values[name] = record[name]
        if not ok:
            continue
        code = values["item_code"]
        if code in first_seen:
            problems.append(
                f"{where}.item_code: duplicate item code {code!r} "
                f"(first at matters[{first_seen[code]}])"
            )
            continue
        first_seen[code] = index
        matters.append(Matter(**values))
    return matters


def _check_field(value: Any, kind: str) -> str | None:
    """What is wrong with one field value, or None when it is fine."""
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer, got {json_kind(value)}"
        if not _INT_MIN <= value <= _INT_MAX:
            return "integer out of range"
        return None
    if value is None and kind == "text?":
        return None
    if not isinstance(value, str):
        expected = "a string or null" if kind == "text?" else "a string"
        return f"expected {expected}, got {json_kind(value)}"
    if not _encodable(value):
        return "invalid Unicode (lone surrogate)"
    if kind == "text" and not value.strip():
        return "empty" if value == "" else "blank"
    return None


def _encodable(text: str) -> bool:
    """JSON escapes can produce lone surrogates, which SQLite (UTF-8) cannot store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# -- importing into the database ------------------------------------------------------


def import_catalog(db_path: Path | str, file_path: Path | str) -> ImportReport:
    """Validate ``file_path`` and replace the catalogue of the database at ``db_path``.

    Raises :class:`CatalogFileError` for a bad file (the database is not touched) and
    :class:`offline_cache.errors.CacheError` for an unusable database.
    """
    file_path = Path(file_path)
    started = time.perf_counter()
    loaded = _read_catalog(file_path)  # a bad file never creates nor opens the database
    conn = open_database(Path(db_path))
    try:
        return _store_catalog(conn, file_path, loaded, started)
    finally:
        conn.close()


def _import_into(conn: sqlite3.Connection, file_path: Path) -> ImportReport:
    """Validate ``file_path`` and replace the catalogue over an open connection."""
    started = time.perf_counter()
    return _store_catalog(conn, file_path, _read_catalog(file_path), started)


def _store_catalog(
    conn: sqlite3.Connection,
    file_path: Path,
    loaded: tuple[CatalogFile, bytes],
    started: float,
) -> ImportReport:
    """Compute the pinyin keys of a validated catalogue and store it; times each stage."""
    catalog, data = loaded
    sha256 = hashlib.sha256(data).hexdigest()
    parsed = time.perf_counter()
    records = catalog_records(catalog.matters)
    keyed = time.perf_counter()
    store = CatalogStore(conn)
    previous = store.count()
    meta = {
        "source": catalog.source,
        "file": str(file_path.resolve()),
        "sha256": sha256,
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "matters": len(records),
    }
    version = store.replace_catalog(records, catalog.task_types, meta)
    stored = time.perf_counter()
    return ImportReport(
        file=file_path,
        source=catalog.source,
        matters=len(records),
        departments=len({matter.department for matter in catalog.matters}),
        task_types=len({matter.task_type for matter in catalog.matters}),
        previous=previous,
        version=version,
        sha256=sha256,
        parse_seconds=parsed - started,
        keys_seconds=keyed - parsed,
        store_seconds=stored - keyed,
    )


def catalog_records(matters: list[Matter]) -> list[CatalogRecord]:
    """The matters with their pinyin keys (each department's keys computed once)."""
    # imported here: pypinyin's tables cost about 0.25 s, which the kiosk's start-up
    # (reading an already imported catalogue) should not pay
    from kiosk.finding.pinyin_keys import pinyin_keys

    department_keys: dict[str, PinyinKeys] = {}
    records = []
    for matter in matters:
        dept_keys = department_keys.get(matter.department)
        if dept_keys is None:
            dept_keys = department_keys[matter.department] = pinyin_keys(matter.department)
        records.append(CatalogRecord(matter, pinyin_keys(matter.name), dept_keys))
    return records


# -- the service used by the app and the command line --------------------------------


class CatalogService:
    """The catalogue of one kiosk database, for screens and the ``kiosk`` command.

    The database is opened on first use.  The search index is built lazily from the stored
    matters and keys, and rebuilt whenever the catalogue version changes, whether the
    import went through this object or another process.  Use it from one thread.
    """

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(db_path)
        self._conn: sqlite3.Connection | None = None
        self._index: SearchIndex | None = None
        self._index_version: tuple[int, int] = (-1, -1)
        self._offer: Callable[[Matter], bool] | None = None
        self._offer_generation = 0
        self._offered: tuple[tuple[int, int], list[Matter]] | None = None

    # -- what this site offers --

    def set_offer(self, offer: Callable[[Matter], bool] | None) -> None:
        """Show only the matters ``offer`` accepts (a site profile's rule; None: all).

        Every list, count and search below follows it, so screens need no filter of their
        own; :meth:`matter` still finds any code (an old application's matter, a bundle's),
        and :meth:`offered` says whether it is done here. Safe from any thread: the lists
        are rebuilt lazily by the thread that owns the connection.
        """
        self._offer = offer
        self._offer_generation += 1

    def offered(self, item_code: str) -> bool:
        """Whether the matter with this code is offered at this kiosk (False if unknown)."""
        matter = self.store.matter(item_code)
        return matter is not None and (self._offer is None or self._offer(matter))

    def view_version(self) -> tuple[int, int]:
        """Changes when the catalogue or the offer changes (for caches built over lists)."""
        return (self.store.version(), self._offer_generation)

    def _offered_matters(self) -> list[Matter] | None:
        """The offered matters (catalogue order), or None when everything is offered."""
        offer = self._offer
        if offer is None:
            return None
        version = self.view_version()
        if self._offered is None or self._offered[0] != version:
            self._offered = (version, [m for m in self.store.matters() if offer(m)])
        return self._offered[1]

    # -- lifecycle --

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_database(self.db_path)
        return self._conn

    @property
    def store(self) -> CatalogStore:
        """The store over this service's connection (opening the database if needed)."""
        return CatalogStore(self._connection())

    def close(self) -> None:
        """Close the database connection; the next call opens it again."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._index = None
        self._index_version = (-1, -1)
        self._offered = None

    def __enter__(self) -> CatalogService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- importing --

    def ensure_loaded(self, default_file: Path | str = SAMPLE_CATALOG) -> ImportReport | None:
        """Import ``default_file`` if the catalogue is empty, so a new kiosk shows matters.

        Returns the report of that import, or None when a catalogue was already there.
        """
        if self.store.count() > 0:
            return None
        return self.import_file(default_file)

    def import_file(self, path: Path | str) -> ImportReport:
        """Replace the catalogue with the file's; the search index follows."""
        report = _import_into(self._connection(), Path(path))
        self._index = None
        return report

    # -- reading --

    def count(self) -> int:
        """Number of matters offered here (all loaded when no site profile narrows them)."""
        offered = self._offered_matters()
        return self.store.count() if offered is None else len(offered)

    def meta(self) -> dict[str, str]:
        """Provenance of the loaded catalogue (source, imported_at, version, sha256...)."""
        return self.store.meta()

    def matters(self) -> list[Matter]:
        """Every matter offered here, by department, then name, then item code."""
        offered = self._offered_matters()
        return self.store.matters() if offered is None else list(offered)

    def matter(self, item_code: str) -> Matter | None:
        """The matter with this item code, or None."""
        return self.store.matter(item_code)

    def departments(self) -> list[tuple[str, int]]:
        """``(department, number of matters)``, largest first, then by name."""
        offered = self._offered_matters()
        if offered is None:
            return self.store.departments()
        counts = Counter(m.department for m in offered)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def task_types(self) -> list[tuple[int, str, int]]:
        """``(code, name, number of matters)``, largest first, then by code."""
        offered = self._offered_matters()
        if offered is None:
            return self.store.task_types()
        counts = Counter(m.task_type for m in offered)
        kept = [(code, name, counts[code]) for code, name, _all in self.store.task_types()
                if counts[code]]
        return sorted(kept, key=lambda item: (-item[2], item[0]))

    def by_department(self, department: str) -> list[Matter]:
        """The matters of one department offered here, by name."""
        return self._only_offered(self.store.matters_by_department(department))

    def by_task_type(self, code: int) -> list[Matter]:
        """The matters of one task type offered here, by department then name."""
        return self._only_offered(self.store.matters_by_task_type(code))

    def _only_offered(self, matters: list[Matter]) -> list[Matter]:
        offer = self._offer
        return matters if offer is None else [m for m in matters if offer(m)]

    def guide(self, item_code: str) -> Guide | None:
        """The office guide cached from the platform, or None until it has been received."""
        from kiosk.finding.guides import parse_guide
        from offline_cache.documents import DocumentCache

        return parse_guide(DocumentCache(self._connection()).get("guide", item_code))

    def form_document(self, item_code: str) -> tuple[str | None, object | None]:
        """The matter's form id (None: it has no form, its record has not arrived, or it is
        not offered at this kiosk) and the cached FORM document (None until received).

        A matter this site does not offer cannot be applied for here, whichever screen led
        to it: every Apply button and "apply for all" asks this first."""
        from offline_cache.documents import DocumentCache

        if self._offer is not None and not self.offered(item_code):
            return None, None
        cache = DocumentCache(self._connection())
        record = cache.get("matter", item_code)
        form_id = record.get("form_id") if isinstance(record, dict) else None
        if not isinstance(form_id, str) or not form_id:
            return None, None
        return form_id, cache.get("form", form_id)

    def store_document(self, kind: str, key: str, body: object, version: int | None) -> None:
        """Cache one platform document (a guide, a form) as the sync worker would."""
        from offline_cache.documents import DocumentCache

        DocumentCache(self._connection()).put(kind, key, body, version)

    def record_use(self, item_code: str, kind: str) -> None:
        """Count one use of a matter at this kiosk: 'guide' opened or 'apply' started."""
        from offline_cache.usage_store import UsageStore

        UsageStore(self._connection()).record(item_code, kind)

    def usage_scores(self) -> dict[str, int]:
        """How much each matter was used here (:mod:`offline_cache.usage_store`)."""
        from offline_cache.usage_store import UsageStore

        return UsageStore(self._connection()).scores()

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """The best ``limit`` matters for ``query``: official names, citizens' own words,
        pinyin or initials, typos, English (see :mod:`kiosk.finding.search`)."""
        return self._search_index().search(query, limit)

    def _search_index(self) -> SearchIndex:
        from kiosk.finding.search import SearchIndex

        store = self.store
        version = self.view_version()
        if self._index is None or version != self._index_version:
            self._index = SearchIndex(self.matters(), store.keys())
            self._index_version = version
        return self._index

