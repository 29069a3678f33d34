"""``make bench``: run every benchmark and write docs/benchmarks.md.

Figures are measured, never asserted in unit tests; this file records them with the machine
they ran on so that a regression shows up as a diff in review.
"""

from __future__ import annotations

import importlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import BenchResult, machine_info

MODULES = ("bench.bench_search", "bench.bench_relevance", "bench.bench_ui",
           "bench.bench_camera", "bench.bench_devices", "bench.bench_outbox", "bench.bench_crash",
           "bench.bench_idcard_timing", "bench.bench_apply", "bench.bench_platform_security",
           "bench.bench_progress", "bench.bench_diagnose", "bench.bench_metrics",
           "bench.bench_fleet")
OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def format_value(result: BenchResult) -> str:
    """Value with its unit, three significant decimals for small numbers."""
    if result.unit in ("ms", "s", "x"):
        return f"{result.value:.3f} {result.unit}" if result.value < 10 else \
            f"{result.value:.1f} {result.unit}"
    return f"{result.value:,.1f} {result.unit}"


def render(sections: list[tuple[str, list[BenchResult], float]],
           kept: dict[str, str] | None = None) -> str:
    """The markdown page for ``sections`` of (module, results, seconds taken).

    ``kept`` holds the text of sections from the previous page that were not run this time
    (``python -m bench.run bench.bench_ui`` reruns one module and keeps the others); each
    section says when and where it ran.
    """
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run [MODULE...]`); do not edit by hand.",
        "Each section names the run and the machine it came from.",
        "",
        "- Display: SDL offscreen with Mesa llvmpipe (software GL); a kiosk PC with a GPU "
        "draws faster.",
        "",
    ]
    run_line = f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {machine_info()}."
    fresh = {module.split('.')[-1].removeprefix('bench_'): (module, results, seconds)
             for module, results, seconds in sections}
    for name in [m.split(".")[-1].removeprefix("bench_") for m in MODULES]:
        if name not in fresh:
            if kept and name in kept:
                lines += [kept[name].rstrip("\n"), ""]
            continue
        module, results, seconds = fresh[name]
        doc = (importlib.import_module(module).__doc__ or "").strip().splitlines()
        lines += [f"## {name}", "", doc[0] if doc else "", "", run_line, "",
                  "| figure | value | goal | met | notes |", "| --- | --- | --- | --- | --- |"]
        for result in results:
            goal = "" if result.goal is None else (
                f"{'>=' if result.higher_is_better else '<='} {result.goal:g} {result.unit}")
            met = {None: "", True: "yes", False: "**no**"}[result.met]
            lines.append(
                f"| {result.name} | {format_value(result)} | {goal} | {met} | {result.detail} |")
        lines += ["", f"({seconds:.0f} s to run)", ""]
    return "\n".join(lines)


def previous_sections(path: Path) -> dict[str, str]:
    """The ``## name`` sections of the page as it stands, with their own run lines."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    header = next((line for line in text.splitlines() if line.startswith("- Run: ")), "")
    machine = next((line for line in text.splitlines() if line.startswith("- Machine: ")), "")
    sections: dict[str, str] = {}
    for chunk in text.split("\n## ")[1:]:
        name, _, body = chunk.partition("\n")
        if header and "Run " not in body.split("|", 1)[0]:
            # a page from before per-section run lines: carry its single run line down
            when = header.removeprefix("- Run: ")
            where = machine.removeprefix("- Machine: ")
            first, sep, rest = body.partition("\n| figure")
            body = f"{first.rstrip()}\n\nRun {when} on {where}.\n{sep}{rest}"
        sections[name.strip()] = f"## {name.strip()}\n{body}"
    return sections


def main() -> int:
    """Run the modules named on the command line, or all of them."""
    names = sys.argv[1:] or list(MODULES)
    sections = []
    for name in names:
        started = time.perf_counter()
        results = importlib.import_module(name).run()
        sections.append((name, results, time.perf_counter() - started))
        for result in results:
            print(f"{result.name}: {format_value(result)} {result.detail}", flush=True)
    OUTPUT.write_text(render(sections, previous_sections(OUTPUT)), encoding="utf-8")
    print(f"written {OUTPUT}")
    missed = [r.name for _m, results, _s in sections for r in results if r.met is False]
    if missed:
        print("goals missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
