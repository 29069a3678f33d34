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

MODULES = ("bench.bench_search", "bench.bench_ui", "bench.bench_camera", "bench.bench_devices",
           "bench.bench_outbox", "bench.bench_crash")
OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def format_value(result: BenchResult) -> str:
    """Value with its unit, three significant decimals for small numbers."""
    if result.unit in ("ms", "s", "x"):
        return f"{result.value:.3f} {result.unit}" if result.value < 10 else \
            f"{result.value:.1f} {result.unit}"
    return f"{result.value:,.1f} {result.unit}"


def render(sections: list[tuple[str, list[BenchResult], float]]) -> str:
    """The markdown page for ``sections`` of (module, results, seconds taken)."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run`); do not edit by hand.",
        "",
        f"- Run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine_info()}",
        "- Display: SDL offscreen with Mesa llvmpipe (software GL); a kiosk PC with a GPU "
        "draws faster.",
        "",
    ]
    for module, results, seconds in sections:
        doc = (importlib.import_module(module).__doc__ or "").strip().splitlines()
        lines += [f"## {module.split('.')[-1].removeprefix('bench_')}", "", doc[0] if doc else "",
                  "", "| figure | value | goal | met | notes |", "| --- | --- | --- | --- | --- |"]
        for result in results:
            goal = "" if result.goal is None else (
                f"{'>=' if result.higher_is_better else '<='} {result.goal:g} {result.unit}")
            met = {None: "", True: "yes", False: "**no**"}[result.met]
            lines.append(
                f"| {result.name} | {format_value(result)} | {goal} | {met} | {result.detail} |")
        lines += ["", f"({seconds:.0f} s to run)", ""]
    return "\n".join(lines)


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
    OUTPUT.write_text(render(sections), encoding="utf-8")
    print(f"written {OUTPUT}")
    missed = [r.name for _m, results, _s in sections for r in results if r.met is False]
    if missed:
        print("goals missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
