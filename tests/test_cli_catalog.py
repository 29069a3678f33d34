"""``kiosk catalog import|search|stats`` through the real command line entry point."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kiosk import cli
from kiosk.commands.catalog import display_width
from kiosk.finding.catalog import SAMPLE_CATALOG, CatalogService

SAMPLE = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))


class Kiosk:
    """Runs ``kiosk --config <tmp ini> ...`` and returns (exit code, stdout, stderr)."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data_dir = tmp_path / "data"
        self.config = tmp_path / "kiosk.ini"
        self.config.write_text(f"[storage]\ndata_dir = {self.data_dir}\n", encoding="utf-8")
        self.capsys = capsys

    @property
    def database(self) -> Path:
        return self.data_dir / "kiosk.db"

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = cli.main(["--config", str(self.config), "catalog", *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, _ = self(*args, "--json")
        assert code == 0
        return json.loads(out)


@pytest.fixture()
def kiosk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Kiosk:
    return Kiosk(tmp_path, capsys)


def test_import_defaults_to_the_shipped_sample(kiosk: Kiosk) -> None:
    code, out, err = kiosk("import")
    assert code == 0, err
    assert "imported 1135 matters (34 departments, 7 task types)" in out
    assert str(SAMPLE_CATALOG) in out
    assert kiosk.database.exists()


def test_import_a_file_then_stats(kiosk: Kiosk, tmp_path: Path) -> None:
    path = tmp_path / "two.json"
    record = {"item_code": "A-1", "name": "居住证办理", "department": "区公安分局",
              "task_type": 20, "task_type_name": "公共服务"}
    path.write_text(json.dumps({"source": "two", "matters": [
        record, {**record, "item_code": "A-2", "name": "户口迁移"}]}), encoding="utf-8")
    code, out, _ = kiosk("import", str(path))
    assert code == 0 and "imported 2 matters" in out
    stats = kiosk.json("stats")
    assert stats["count"] == 2 and stats["source"] == "two"
    assert stats["departments"] == [{"name": "区公安分局", "count": 2}]
    assert stats["task_types"] == [{"code": 20, "name": "公共服务", "count": 2}]


def test_bad_file_is_one_message_and_exit_1(kiosk: Kiosk, tmp_path: Path) -> None:
    assert kiosk("import")[0] == 0
    path = tmp_path / "matters.json"
    path.write_text(json.dumps({"matters": [{"item_code": "x"}]}), encoding="utf-8")
    code, out, err = kiosk("import", str(path))
    assert code == 1 and out == ""
    assert f"{path}: matters[0].name: missing" in err
    assert "Traceback" not in err
    assert kiosk.json("stats")["count"] == 1135  # the old catalogue is kept
    code, _, err = kiosk("import", str(tmp_path / "absent.json"))
    assert code == 1 and "cannot read" in err


def test_corrupt_database_is_one_message_and_exit_1(kiosk: Kiosk) -> None:
    kiosk.data_dir.mkdir()
    kiosk.database.write_bytes(b"not a database " * 100)
    code, _, err = kiosk("stats")
    assert code == 1
    assert str(kiosk.database) in err and "not a usable SQLite database" in err


def test_bad_config_is_exit_2(kiosk: Kiosk) -> None:
    kiosk.config.write_text("[storage]\nno_such_key = 1\n", encoding="utf-8")
    code, _, err = kiosk("stats")
    assert code == 2 and "configuration error" in err


def test_stats_fills_an_empty_catalogue_first(kiosk: Kiosk) -> None:
    code, out, err = kiosk("stats", "--json")
    assert code == 0
    assert "catalogue was empty: imported 1135 matters" in err
    stats = json.loads(out)
    assert stats["count"] == 1135
    assert stats["source"] == SAMPLE["source"]
    assert stats["version"] == 1
    assert re.fullmatch(r"[0-9a-f]{64}", stats["sha256"])
    assert stats["imported_at"]
    departments = Counter(m["department"] for m in SAMPLE["matters"])
    assert {d["name"]: d["count"] for d in stats["departments"]} == dict(departments)
    assert stats["departments"][0] == {"name": "区行政审批局", "count": 344}
    types = Counter(m["task_type"] for m in SAMPLE["matters"])
    assert {t["code"]: t["count"] for t in stats["task_types"]} == dict(types)
    code, out, err = kiosk("stats")
    assert code == 0 and err == ""
    assert out.startswith("1135 matters, catalogue version 1")
    assert "344  区行政审批局" in out
    assert "行政许可 administrative licence" in out


def test_search_json_finds_an_exact_name_first(kiosk: Kiosk) -> None:
    matter = SAMPLE["matters"][1]
    hits = kiosk.json("search", matter["name"], "--limit", "5")
    assert 1 <= len(hits) <= 5
    assert [hit["rank"] for hit in hits] == list(range(1, len(hits) + 1))
    assert {"rank", "item_code", "name", "department", "score"} <= set(hits[0])
    assert hits[0]["item_code"] == matter["item_code"]
    assert hits[0]["name"] == matter["name"]
    assert hits[0]["department"] == matter["department"]
    assert isinstance(hits[0]["score"], int | float)


@pytest.mark.parametrize("query", ["居住证", "jzz", "shebao", "补贴 申领", "bt", "区人社局"])
def test_search_ranks_exactly_as_the_service(kiosk: Kiosk, query: str) -> None:
    hits = kiosk.json("search", query, "--limit", "8")
    with CatalogService(kiosk.database) as service:
        expected = service.search(query, 8)
    assert [hit["item_code"] for hit in hits] == [hit.matter.item_code for hit in expected]


def test_search_table_is_aligned(kiosk: Kiosk) -> None:
    code, out, _ = kiosk("search", "补贴", "--limit", "6")
    assert code == 0
    lines = out.rstrip("\n").splitlines()
    assert lines[0].split() == ["#", "item_code", "name", "department", "score"]
    assert len(lines) >= 2
    hits = kiosk.json("search", "补贴", "--limit", "6")
    columns = set()
    for line, hit in zip(lines[1:], hits, strict=True):
        assert hit["item_code"] in line and hit["name"] in line
        columns.add(display_width(line[: line.index("  " + hit["department"]) + 2]))
    columns.add(display_width(lines[0][: lines[0].index("department")]))
    assert len(columns) == 1, "department column starts at different display columns"


def test_search_without_match(kiosk: Kiosk) -> None:
    code, out, err = kiosk("search", "zzzzqqqqxxxx")
    assert code == 0 and out == ""
    assert "no matters match 'zzzzqqqqxxxx'" in err
    code, out, _ = kiosk("search", "zzzzqqqqxxxx", "--json")
    assert code == 0 and json.loads(out) == []


def test_search_limit_must_be_positive(kiosk: Kiosk) -> None:
    with pytest.raises(SystemExit) as caught:
        kiosk("search", "x", "--limit", "0")
    assert caught.value.code == 2


def test_every_parser_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["catalog"], ["catalog", "import"], ["catalog", "search"], ["catalog", "stats"]):
        with pytest.raises(SystemExit) as caught:
            cli.main([*args, "--help"])
        assert caught.value.code == 0
        out = capsys.readouterr().out
        assert "usage: kiosk catalog" in out
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "import, search and inspect the offline catalogue" in capsys.readouterr().out
