"""Importing catalogue files: the real sample, replacement, atomicity and bad files."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.finding.catalog import (
    SAMPLE_CATALOG,
    CatalogFile,
    CatalogFileError,
    CatalogService,
    catalog_records,
    import_catalog,
    load_catalog_file,
)
from kiosk.finding.pinyin_keys import pinyin_keys
from kiosk.models import Matter
from offline_cache.catalog_store import CatalogRecord, CatalogStore
from offline_cache.database import open_database
from offline_cache.errors import CacheError

SAMPLE = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))


def _record(code: str = "A-1", name: str = "居住证办理", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "item_code": code,
        "name": name,
        "department": "区公安分局",
        "group": None,
        "task_type": 20,
        "task_type_name": "公共服务",
        "area_code": "511602000000",
        "dept_code": "D1",
    }
    record.update(changes)
    return record


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture()
def small_file(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "small.json",
        {
            "source": "test catalogue",
            "task_types": {"20": "公共服务 public service", "1": "行政许可 administrative licence"},
            "matters": [
                _record("A-1", "居住证办理"),
                _record("A-2", "身份证换领", department="区公安分局"),
                _record("B-1", "营业执照办理", department="区行政审批局", task_type=1,
                        task_type_name="行政许可"),
            ],
        },
    )


@pytest.fixture()
def sample_db(tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    db = tmp_path / "kiosk.db"
    import_catalog(db, SAMPLE_CATALOG)
    conn = open_database(db)
    yield db, conn
    conn.close()


# -- the real sample ----------------------------------------------------------------


def test_sample_file_loads() -> None:
    catalog = load_catalog_file(SAMPLE_CATALOG)
    assert len(catalog.matters) == len(SAMPLE["matters"]) == 1135
    assert catalog.source == SAMPLE["source"]
    assert catalog.task_types == {int(k): v for k, v in SAMPLE["task_types"].items()}
    assert catalog.matters[0] == Matter(**SAMPLE["matters"][0])


def test_import_of_the_real_sample(tmp_path: Path) -> None:
    report = import_catalog(tmp_path / "kiosk.db", SAMPLE_CATALOG)
    assert report.matters == 1135
    assert report.previous == 0
    assert report.version == 1
    assert report.departments == len({m["department"] for m in SAMPLE["matters"]})
    assert report.task_types == len({m["task_type"] for m in SAMPLE["matters"]})
    assert report.seconds > 0
    assert len(report.sha256) == 64
    assert "1135 matters" in report.summary()


def test_counts_per_department_and_task_type_match_the_file(
    sample_db: tuple[Path, sqlite3.Connection],
) -> None:
    store = CatalogStore(sample_db[1])
    assert store.count() == 1135
    by_department = Counter(m["department"] for m in SAMPLE["matters"])
    assert dict(store.departments()) == dict(by_department)
    counts = [count for _, count in store.departments()]
    assert counts == sorted(counts, reverse=True)
    by_type = Counter(m["task_type"] for m in SAMPLE["matters"])
    assert {code: count for code, _, count in store.task_types()} == dict(by_type)
    names = {code: name for code, name, _ in store.task_types()}
    assert names[1] == SAMPLE["task_types"]["1"]
    for name, count in by_department.items():
        listed = store.matters_by_department(name)
        assert len(listed) == count
        assert [m.name for m in listed] == sorted(m.name for m in listed)
    for code, count in by_type.items():
        assert len(store.matters_by_task_type(code)) == count


def test_stored_matters_round_trip(sample_db: tuple[Path, sqlite3.Connection]) -> None:
    store = CatalogStore(sample_db[1])
    expected = {m["item_code"]: Matter(**m) for m in SAMPLE["matters"]}
    matters = store.matters()
    assert {m.item_code: m for m in matters} == expected
    order = [(m.department, m.name, m.item_code) for m in matters]
    assert order == sorted(order)
    some = SAMPLE["matters"][17]
    assert store.matter(some["item_code"]) == Matter(**some)
    assert store.matter("no-such-code") is None


def test_pinyin_keys_are_stored(sample_db: tuple[Path, sqlite3.Connection]) -> None:
    store = CatalogStore(sample_db[1])
    keys = store.keys()
    assert len(keys) == 1135
    for record in SAMPLE["matters"][:50]:
        assert keys[record["item_code"]] == pinyin_keys(record["name"])
    departments = store.department_keys()
    assert departments["区公安分局"] == pinyin_keys("区公安分局")


def test_meta_records_provenance(sample_db: tuple[Path, sqlite3.Connection]) -> None:
    meta = CatalogStore(sample_db[1]).meta()
    assert meta["source"] == SAMPLE["source"]
    assert meta["version"] == "1"
    assert meta["matters"] == "1135"
    assert len(meta["sha256"]) == 64
    assert meta["imported_at"].endswith("+00:00")
    assert Path(meta["file"]) == SAMPLE_CATALOG


# -- replacement and atomicity ----------------------------------------------------------


def test_reimport_replaces_the_catalogue(tmp_path: Path, small_file: Path) -> None:
    db = tmp_path / "kiosk.db"
    import_catalog(db, SAMPLE_CATALOG)
    report = import_catalog(db, small_file)
    assert (report.previous, report.matters, report.version) == (1135, 3, 2)
    with CatalogService(db) as service:
        assert service.count() == 3
        assert service.departments() == [("区公安分局", 2), ("区行政审批局", 1)]
        assert service.task_types() == [
            (20, "公共服务 public service", 2),
            (1, "行政许可 administrative licence", 1),
        ]
        assert service.meta()["source"] == "test catalogue"
        assert service.matter(SAMPLE["matters"][0]["item_code"]) is None
    assert import_catalog(db, SAMPLE_CATALOG).version == 3


def test_bad_file_keeps_the_old_catalogue(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.db"
    import_catalog(db, SAMPLE_CATALOG)
    bad = _write(tmp_path / "bad.json", {"matters": [_record(), _record(task_type="1")]})
    with pytest.raises(CatalogFileError):
        import_catalog(db, bad)
    with CatalogService(db) as service:
        assert service.count() == 1135
        assert service.meta()["version"] == "1"


def test_failure_half_way_through_the_write_keeps_the_old_catalogue(
    sample_db: tuple[Path, sqlite3.Connection],
) -> None:
    store = CatalogStore(sample_db[1])
    before = (store.matters(), store.meta(), store.task_types())
    records = catalog_records([Matter(**_record(f"X-{i}")) for i in range(100)])

    def failing() -> Iterator[CatalogRecord]:
        yield from records[:50]
        raise RuntimeError("disk pulled out")

    with pytest.raises(RuntimeError):
        store.replace_catalog(failing(), {20: "公共服务"}, {"source": "half"})
    assert (store.matters(), store.meta(), store.task_types()) == before

    duplicate = [records[0], records[1], records[0]]
    with pytest.raises(CacheError) as caught:
        store.replace_catalog(duplicate, {}, {"source": "dup"})
    assert "kiosk.db" in str(caught.value)
    assert (store.matters(), store.meta(), store.task_types()) == before
    assert not sample_db[1].in_transaction


# -- the service -------------------------------------------------------------------------


def test_service_fills_an_empty_catalogue_once(tmp_path: Path, small_file: Path) -> None:
    with CatalogService(tmp_path / "data" / "kiosk.db") as service:
        assert service.count() == 0
        report = service.ensure_loaded(SAMPLE_CATALOG)
        assert report is not None and report.matters == 1135
        assert service.ensure_loaded(small_file) is None
        assert service.count() == 1135
        assert len(service.matters()) == 1135
        first = SAMPLE["matters"][0]
        assert service.matter(first["item_code"]) == Matter(**first)
        assert all(m.department == "区人社局" for m in service.by_department("区人社局"))
        assert len(service.by_task_type(8)) == 2


def test_search_index_is_built_once_and_follows_imports(
    tmp_path: Path, small_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kiosk.finding.search

    builds: list[int] = []
    real = kiosk.finding.search.SearchIndex

    def counting(*args: Any, **kwargs: Any) -> kiosk.finding.search.SearchIndex:
        builds.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(kiosk.finding.search, "SearchIndex", counting)
    db = tmp_path / "kiosk.db"
    with CatalogService(db) as service:
        service.ensure_loaded()
        assert service.search("居住证办理", 1)[0].matter.name == "居住证办理"
        # the sample catalogue has no 营业执照 matter (related ones are offered instead)
        assert "B-1" not in [hit.matter.item_code for hit in service.search("营业执照", 5)]
        assert len(builds) == 1
        service.import_file(small_file)
        assert service.search("营业执照", 5)[0].matter.item_code == "B-1"
        assert len(builds) == 2
        import_catalog(db, SAMPLE_CATALOG)  # another process, e.g. ``kiosk catalog import``
        assert "B-1" not in [hit.matter.item_code for hit in service.search("营业执照", 5)]
        assert len(builds) == 3


# -- malformed files --------------------------------------------------------------------


def _with_matters(*records: Any, **top: Any) -> dict[str, Any]:
    return {"source": "s", **top, "matters": list(records)}


_MALFORMED: list[tuple[str, bytes | Any, str]] = [
    ("not-json", b"{\"matters\": [", "not valid JSON: "),
    ("not-utf8", "{\"source\": \"广安\"}".encode("gb18030"), "not UTF-8 text (byte 0xb9 at "
                                                           "offset 12)"),
    ("not-utf8-after-bom", b"\xef\xbb\xbf{\"a\": \"\xff\"}", "(byte 0xff at offset 10)"),
    ("nan", b"{\"matters\": [NaN]}", "not valid JSON: NaN is not a JSON value"),
    ("empty-file", b"", "not valid JSON"),
    ("top-list", [], "expected a JSON object, got list"),
    ("no-matters", {"source": "s"}, "matters: missing"),
    ("matters-object", {"matters": {}}, "matters: expected a list, got object"),
    ("matters-empty", {"matters": []}, "matters: empty"),
    ("record-string", _with_matters("x"), "matters[0]: expected an object, got string"),
    (
        "missing-item-code",
        _with_matters(*[_record(f"C-{i}") for i in range(12)],
                      {k: v for k, v in _record().items() if k != "item_code"}),
        "matters[12].item_code: missing",
    ),
    ("code-number", _with_matters(_record(code=12)), "matters[0].item_code: expected a string, "
                                                    "got integer"),
    ("name-empty", _with_matters(_record(name="")), "matters[0].name: empty"),
    ("name-blank", _with_matters(_record(name="  ")), "matters[0].name: blank"),
    ("type-string", _with_matters(_record(task_type="10")),
     "matters[0].task_type: expected an integer, got string"),
    ("type-bool", _with_matters(_record(task_type=True)),
     "matters[0].task_type: expected an integer, got boolean"),
    ("type-float", _with_matters(_record(task_type=1.5)),
     "matters[0].task_type: expected an integer, got number"),
    ("type-huge", _with_matters(_record(task_type=2**64)),
     "matters[0].task_type: integer out of range"),
    ("group-number", _with_matters(_record(group=3)),
     "matters[0].group: expected a string or null, got integer"),
    ("dept-null", _with_matters(_record(department=None)),
     "matters[0].department: expected a string, got null"),
    ("surrogate", b"{\"matters\": [{\"item_code\": \"\\ud800\"}]}",
     "matters[0].item_code: invalid Unicode"),
    ("duplicate", _with_matters(_record("A-1"), _record("A-2"), _record("A-1")),
     "matters[2].item_code: duplicate item code 'A-1' (first at matters[0])"),
    ("source-number", _with_matters(_record(), source=5), "source: expected a string, got integer"),
    ("task-types-list", _with_matters(_record(), task_types=[]),
     "task_types: expected an object, got list"),
    ("task-type-key", _with_matters(_record(), task_types={"x": "y"}),
     "task_types[\"x\"]: key is not an integer task type code"),
    ("task-type-key-huge", _with_matters(_record(), task_types={"9" * 5000: "y"}),
     "key is not an integer task type code"),
    ("task-type-name", _with_matters(_record(), task_types={"1": 1}),
     "task_types[\"1\"]: expected a string, got integer"),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [(content, message) for _, content, message in _MALFORMED],
    ids=[case for case, _, _ in _MALFORMED],
)
def test_malformed_file_gives_its_message(tmp_path: Path, content: Any, message: str) -> None:
    path = tmp_path / "matters.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        _write(path, content)
    with pytest.raises(CatalogFileError) as caught:
        load_catalog_file(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: "), text
    assert message in text, text
    assert caught.value.path == path
    # and the database is not even created for a bad file's sake
    with pytest.raises(CatalogFileError):
        import_catalog(tmp_path / "db" / "kiosk.db", path)
    assert not (tmp_path / "db").exists()


def test_missing_file_is_a_catalog_file_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogFileError, match="cannot read: No such file"):
        load_catalog_file(tmp_path / "absent.json")
    with pytest.raises(CatalogFileError, match="cannot read"):
        load_catalog_file(tmp_path)


def test_every_problem_is_listed_up_to_a_limit(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.json", _with_matters(*[{"name": "x"}] * 30))
    with pytest.raises(CatalogFileError) as caught:
        load_catalog_file(path)
    assert len(caught.value.problems) == 30 * 4  # item_code, department, type, type name
    lines = str(caught.value).splitlines()
    assert len(lines) == 11
    assert lines[-1].endswith("... and 110 more problems")


def test_lenient_on_what_does_not_matter(tmp_path: Path) -> None:
    minimal = {k: v for k, v in _record().items() if k not in ("group", "area_code", "dept_code")}
    extra = _record("A-2", newer_field={"anything": 1})
    path = tmp_path / "m.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"matters": [minimal, extra]}).encode())
    catalog = load_catalog_file(path)
    assert catalog.source == ""
    assert catalog.task_types == {}
    assert catalog.matters[0] == Matter(**minimal)
    assert catalog.matters[1].item_code == "A-2"


# -- property: any input is a CatalogFile or a CatalogFileError ---------------------------

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
_json_like = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
_field_values = _json_scalars | st.sampled_from(["", " ", "A-1", "区公安分局", "\ud800"])
_records = st.dictionaries(
    st.sampled_from(["item_code", "name", "department", "task_type", "task_type_name",
                     "group", "area_code", "dept_code", "other"]),
    _field_values | st.integers(min_value=-3, max_value=30),
    max_size=9,
)
_catalogue_shaped = st.fixed_dictionaries(
    {"matters": st.lists(_records | _json_like, max_size=5)},
    optional={
        "source": _json_like,
        "task_types": st.dictionaries(
            st.sampled_from(["1", "20", "x", "-3", "01", "99999999999999999999"]),
            _json_like, max_size=3,
        ) | _json_like,
    },
)


_valid_text = st.text(min_size=1, max_size=12).filter(str.strip)
_valid_records = st.fixed_dictionaries(
    {
        "item_code": _valid_text,
        "name": _valid_text,
        "department": st.sampled_from(["区公安分局", "区人社局"]) | _valid_text,
        "task_type": st.integers(min_value=-(2**63), max_value=2**63 - 1),
        "task_type_name": _valid_text,
    },
    optional={"group": st.none() | st.text(max_size=5), "area_code": st.text(max_size=5),
              "extra": _json_like},
)


@pytest.fixture(scope="module")
def prop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prop") / "prop.json"


def _outcome(path: Path, data: bytes) -> CatalogFile | CatalogFileError:
    """Write ``data`` to ``path`` and load it: a catalogue or our error, nothing else."""
    path.write_bytes(data)
    try:
        return load_catalog_file(path)
    except CatalogFileError as error:
        assert str(error).startswith(f"{path}: ")
        return error


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_else(prop_file: Path, data: bytes) -> None:
    _outcome(prop_file, data)


@settings(max_examples=300, deadline=None)
@given(document=_json_like | _catalogue_shaped)
def test_arbitrary_json_never_raises_anything_else(prop_file: Path, document: Any) -> None:
    _outcome(prop_file, json.dumps(document).encode("utf-8"))
    _outcome(prop_file, json.dumps(document, ensure_ascii=False).encode("utf-8", "replace"))


@settings(max_examples=60, deadline=None)
@given(records=st.lists(_valid_records, min_size=1, max_size=6))
def test_every_accepted_file_imports(prop_file: Path, records: list[Any]) -> None:
    data = json.dumps({"source": "prop", "matters": records}).encode("utf-8")
    result = _outcome(prop_file, data)
    if isinstance(result, CatalogFileError):
        return
    with tempfile.TemporaryDirectory() as tmp:
        report = import_catalog(Path(tmp) / "kiosk.db", prop_file)
        assert report.matters == len(result.matters)
        with CatalogService(Path(tmp) / "kiosk.db") as service:
            assert sorted(service.matters(), key=lambda m: m.item_code) == sorted(
                result.matters, key=lambda m: m.item_code
            )
