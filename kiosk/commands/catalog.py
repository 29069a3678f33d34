"""``kiosk catalog``: import, search and inspect the offline catalogue of matters.

Technicians use it to load a new catalogue file and to check what the touchscreen will
find for a query: ``search`` goes through :meth:`kiosk.finding.catalog.CatalogService.search`, the
same code as the search screen, so the ranking shown here is the ranking citizens see.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kiosk.finding.catalog import SAMPLE_CATALOG, CatalogFileError, CatalogService
from offline_cache.errors import CacheError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``catalog`` and its ``import``, ``search`` and ``stats`` actions."""
    parser = subparsers.add_parser(
        "catalog",
        help="import, search and inspect the offline catalogue of matters",
        description=(
            "Manage the catalogue of matters stored on the kiosk (the database named by "
            "the [storage] section of the configuration)."
        ),
    )
    actions = parser.add_subparsers(dest="catalog_action", metavar="ACTION", required=True)

    importer = actions.add_parser(
        "import",
        help="replace the catalogue with a catalogue file",
        description=(
            "Validate a catalogue JSON file and replace the stored catalogue with it in one "
            "transaction; a bad file is reported and the current catalogue is kept."
        ),
    )
    importer.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        type=Path,
        default=SAMPLE_CATALOG,
        help=f"catalogue file to import (default: the shipped sample, {SAMPLE_CATALOG.name})",
    )
    importer.set_defaults(func=_guarded(_run_import))

    search = actions.add_parser(
        "search",
        help="rank matters for a query exactly as the search screen does",
        description=(
            "Search the catalogue by Chinese text, full pinyin or pinyin initials and print "
            "the ranked matters (the catalogue is filled from the sample if empty)."
        ),
    )
    search.add_argument("query", metavar="QUERY", help="what a citizen would type")
    search.add_argument(
        "--limit", type=_positive_int, default=10, metavar="N",
        help="show at most N matters (default: 10)",
    )
    search.add_argument(
        "--json", action="store_true",
        help="print a JSON list of {rank, item_code, name, department, score, reason}",
    )
    search.set_defaults(func=_guarded(_run_search))

    stats = actions.add_parser(
        "stats",
        help="show what catalogue is loaded and its matters per department and task type",
        description=(
            "Print the number of matters, the source and import time of the catalogue, and "
            "the matters per department and per task type (the catalogue is filled from "
            "the sample if empty)."
        ),
    )
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(func=_guarded(_run_stats))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _guarded(action: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn catalogue and database failures into one message and exit code 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return action(args)
        except (CatalogFileError, CacheError) as error:
            print(f"kiosk catalog {args.catalog_action}: {error}", file=sys.stderr)
            return 1

    run.__doc__ = action.__doc__
    return run


def _service(args: argparse.Namespace) -> CatalogService:
    from kiosk.config import load_config

    return CatalogService(load_config(args.config).storage.database)


def _ensure_loaded(service: CatalogService) -> None:
    """Fill an empty catalogue from the sample, saying so on stderr (stdout stays clean)."""
    report = service.ensure_loaded(SAMPLE_CATALOG)
    if report is not None:
        print(f"catalogue was empty: {report.summary()}", file=sys.stderr)


def _run_import(args: argparse.Namespace) -> int:
    """``kiosk catalog import [FILE]``."""
    with _service(args) as service:
        report = service.import_file(args.file)
    print(report.summary())
    print(
        f"  parse {report.parse_seconds:.3f} s, pinyin keys {report.keys_seconds:.3f} s, "
        f"store {report.store_seconds:.3f} s; sha256 {report.sha256}"
    )
    return 0


def _run_search(args: argparse.Namespace) -> int:
    """``kiosk catalog search QUERY [--limit N] [--json]``."""
    with _service(args) as service:
        _ensure_loaded(service)
        hits = service.search(args.query, args.limit)
    rows = [
        {
            "rank": rank,
            "item_code": hit.matter.item_code,
            "name": hit.matter.name,
            "department": hit.matter.department,
            "score": hit.score,
            "reason": hit.reason,
        }
        for rank, hit in enumerate(hits, start=1)
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif rows:
        print(
            format_table(
                ("#", "item_code", "name", "department", "score"),
                [
                    (row["rank"], row["item_code"], row["name"], row["department"],
                     _score(row["score"]))
                    for row in rows
                ],
                right_aligned={0, 4},
            )
        )
    if not rows:
        print(f"no matters match {args.query!r}", file=sys.stderr)
    return 0


def _run_stats(args: argparse.Namespace) -> int:
    """``kiosk catalog stats [--json]``."""
    with _service(args) as service:
        _ensure_loaded(service)
        meta = service.meta()
        count = service.count()
        departments = service.departments()
        task_types = service.task_types()
    if args.json:
        document = {
            "count": count,
            "source": meta.get("source", ""),
            "imported_at": meta.get("imported_at", ""),
            "version": int(meta.get("version", "0") or 0),
            "file": meta.get("file", ""),
            "sha256": meta.get("sha256", ""),
            "departments": [{"name": name, "count": n} for name, n in departments],
            "task_types": [
                {"code": code, "name": name, "count": n} for code, name, n in task_types
            ],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(f"{count} matters, catalogue version {meta.get('version', '0')}")
    for key in ("imported_at", "file", "sha256", "source"):
        print(f"{key + ':':<13}{meta.get(key, '')}")
    print(f"\ndepartments ({len(departments)}):")
    print(
        format_table(
            ("matters", "department"), [(n, name) for name, n in departments], right_aligned={0}
        )
    )
    print(f"\ntask types ({len(task_types)}):")
    print(
        format_table(
            ("matters", "code", "name"),
            [(n, code, name) for code, name, n in task_types],
            right_aligned={0, 1},
        )
    )
    return 0


def _score(score: Any) -> str:
    return f"{score:.1f}" if isinstance(score, float) else str(score)


def display_width(text: str) -> int:
    """Terminal columns taken by ``text``: CJK characters are two columns wide."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    right_aligned: set[int] | frozenset[int] = frozenset(),
) -> str:
    """Rows as text columns aligned by display width (``str.ljust`` misaligns Chinese)."""
    cells = [[str(value) for value in row] for row in rows]
    table = [list(headers), *cells]
    widths = [max(display_width(row[column]) for row in table) for column in range(len(headers))]
    lines = []
    for row in table:
        parts = []
        for column, cell in enumerate(row):
            padding = " " * (widths[column] - display_width(cell))
            last = column == len(row) - 1
            if column in right_aligned:
                parts.append(padding + cell)
            else:
                parts.append(cell if last else cell + padding)
        lines.append("  ".join(parts))
    return "\n".join(lines)
