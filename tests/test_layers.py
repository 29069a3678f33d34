"""The architecture's import rules, checked on the source (DEVELOPERS.md, README)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "drivers": {"kivy", "sqlite3", "requests", "http", "urllib.request", "offline_cache",
                "screens", "kiosk"},
    # the cache may use the core's plain data types (kiosk.models) and nothing else of it
    "offline_cache": {"kivy", "requests", "http", "urllib.request", "screens", "pypinyin",
                      *(f"kiosk.{name}" for name in ("catalog", "search", "pinyin_keys",
                                                     "services", "config", "cli"))},
    "kiosk": {"kivy", "screens"},
    "screens": {"drivers", "sqlite3", "offline_cache"},
    # the demo/test server shares only the core's contract helpers (signing, receipt numbers,
    # the catalogue loader); it must never depend on the kiosk's devices, cache or UI
    "reference_platform": {"drivers", "offline_cache", "screens", "kivy"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violates(module: str, banned: set[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in banned)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_its_import_rules(package: str):
    problems = []
    for path in sorted((REPO / package).rglob("*.py")):
        for module in imported_modules(path):
            if violates(module, FORBIDDEN[package]):
                problems.append(f"{path.relative_to(REPO)} imports {module}")
    assert not problems, "\n".join(problems)


def test_the_rule_checker_catches_a_violation(tmp_path: Path):
    source = tmp_path / "bad.py"
    source.write_text("import sqlite3\nfrom kivy.app import App\n", encoding="utf-8")
    modules = imported_modules(source)
    assert violates("kivy.app", FORBIDDEN["drivers"]) and "kivy.app" in modules
    assert violates("sqlite3", FORBIDDEN["screens"]) and "sqlite3" in modules
