"""The architecture's import rules, checked on the source (DEVELOPERS.md, README)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "drivers": {"kivy", "sqlite3", "requests", "http", "urllib.request", "offline_cache",
                "screens", "kiosk"},
    # the cache knows nothing of the core: the core imports the cache's record types
    "offline_cache": {"kivy", "requests", "http", "urllib.request", "screens", "pypinyin",
                      "kiosk"},
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


CAPABILITIES = {"finding", "applying", "platform", "devices", "assistance", "operations",
                "commands"}
"""kiosk/ is grouped by capability; only the shared core stays at its top level."""
CORE_MODULES = {"__init__", "__main__", "cli", "config", "fonts", "i18n", "models", "services",
                "session"}


def test_kiosk_folder_lists_the_architecture():
    top = REPO / "kiosk"
    folders = {p.name for p in top.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in top.glob("*.py")}
    assert folders == CAPABILITIES
    assert modules == CORE_MODULES


def load_time_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported: top-level statements only (imports inside
    functions run later, and ``if TYPE_CHECKING:`` blocks never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("package", ["kiosk", "offline_cache", "drivers", "screens"])
def test_no_import_loops(package: str):
    paths = sorted((REPO / package).rglob("*.py"))
    own = {module_name(p) for p in paths}
    graph = {module_name(p): {m for m in load_time_imports(p) if m in own} for p in paths}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
