"""``kiosk audit``: both orientations, each in its own process, then docs/accessibility.md.

The report holds the counts per mode, before the large-text work of issue 9 (the figures
kept in ``docs/accessibility/before-*.json``) and now, every finding if there are any, and
a thumbnail of each state the audit looked at, so that a reviewer sees what was checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ORIENTATIONS = {"portrait": "1080x1920", "landscape": "1920x1080"}
THUMB_SCALE = 4  # thumbnails at a quarter of the window size


def run_orientations(out_dir: Path, shots: Path | None, config: str | None,
                     extra: list[str] | None = None) -> dict[str, dict]:
    """Run ``python -m screens.audit`` for both orientations at once; their JSON results."""
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy",
               LP_NUM_THREADS=os.environ.get("LP_NUM_THREADS", "0"))
    processes = {}
    for orientation, size in ORIENTATIONS.items():
        command = [sys.executable, "-m", "screens.audit", size,
                   "--json", str(out_dir / f"{orientation}.json"), *(extra or [])]
        if shots is not None:
            command += ["--shots", str(shots)]
        if config:
            command += ["--config", config]
        processes[orientation] = subprocess.Popen(command, env=env, stderr=subprocess.PIPE,
                                                  text=True)
    results = {}
    for orientation, process in processes.items():
        _out, errors = process.communicate()
        if process.returncode:
            raise RuntimeError(f"audit of {orientation} failed:\n{errors[-3000:]}")
        results[orientation] = json.loads((out_dir / f"{orientation}.json").read_text("utf-8"))
    return results


def counts(result: dict) -> list[tuple[str, str, float, int, Counter]]:
    """(orientation, language, scale, total, per kind) for each mode of one result."""
    rows = []
    for mode in result["modes"]:
        kinds = Counter(f["kind"] for found in mode["states"].values() for f in found)
        rows.append((mode["orientation"], mode["language"], mode["text_scale"],
                     sum(kinds.values()), kinds))
    return rows


def write_thumbnails(shots: Path, target: Path) -> list[str]:
    """Quarter-size JPEG copies of the audited screenshots in ``target``; their names."""
    from PIL import Image

    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.jpg"):
        old.unlink()
    names = []
    for path in sorted(shots.glob("*.png")):
        with Image.open(path) as image:
            small = image.convert("RGB").resize(
                (image.width // THUMB_SCALE, image.height // THUMB_SCALE), Image.LANCZOS)
            name = path.with_suffix(".jpg").name
            small.save(target / name, quality=80, optimize=True)
            names.append(name)
    return names


def render_report(now: dict[str, dict], before: dict[str, dict], thumbs: list[str],
                  machine: str) -> str:
    """docs/accessibility.md."""
    lines = [
        "# Accessibility audit",
        "",
        "Written by `kiosk audit` (screens/audit.py, screens/audit_checks.py); the same states",
        "run in `make test` (tests/test_accessibility_audit.py), which fails on any finding.",
        "",
        "What it checks on every state, in portrait 1080x1920 and landscape 1920x1080, Chinese",
        "and English, normal text, the configured large text (`large_font_scale`, 1.4) and the",
        "documented maximum (2.0):",
        "",
        "- **overflow**: a text needs more room than its box (measured again with the label's",
        "  own font, size and width, without clipping), or is drawn outside it;",
        "- **ellipsized**: a text cut with an ellipsis where the whole text is shown nowhere",
        "  else (a matter row may ellipsize: its guide shows the name whole; none does now);",
        "- **cut**: a text cut by `max_lines`; **broken_word**: an English word split over two",
        "  lines (\"Administ / rative\"); **overlap**: a text drawn over another;",
        "- **small_target**: a button, row or keyboard key under 48 dp;",
        "- **contrast**: text under 4.5:1, or 3:1 for large text (WCAG 1.4.3), between the",
        "  label's colour and the background sampled from the render under it;",
        "- **scroll_indicator**: a list longer than its view whose scroll bar is under 8 dp or",
        "  under 3:1 (WCAG 1.4.11);",
        "- **unreachable** / **dead_end**: back, home, text size, language or call staff not",
        "  on screen and free to touch, or a dialog without a button.",
        "",
        f"Machine: {machine}.",
        "",
        "## Findings per mode",
        "",
        "| orientation | language | text | before (issue 9 opened) | now |",
        "| --- | --- | --- | --- | --- |",
    ]
    for orientation in ORIENTATIONS:
        old = {(o, lang, s): (n, k) for o, lang, s, n, k in counts(before.get(orientation, {
            "modes": []}))}
        for _o, language, scale, total, _kinds in counts(now[orientation]):
            was = old.get((orientation, language, scale))
            was_text = f"{was[0]} ({_kinds_text(was[1])})" if was else "not measured"
            lines.append(f"| {orientation} | {language} | x{scale:g} | {was_text} | {total} |")
    states = sorted({state for result in now.values() for mode in result["modes"]
                     for state in mode["states"]})
    seconds = sum(result.get("seconds", 0) for result in now.values())
    lines += ["", f"States audited ({len(states)}, each in 12 modes; {seconds:.0f} s of "
              "rendering in all): " + ", ".join(f"`{s}`" for s in states) + ".", ""]
    findings = [(orientation, mode, state, finding)
                for orientation, result in now.items() for mode in result["modes"]
                for state, found in mode["states"].items() for finding in found]
    lines += ["## Findings now", ""]
    if not findings:
        lines += ["None.", ""]
    for orientation, mode, state, finding in findings:
        lines.append(f"- {orientation} {mode['language']} x{mode['text_scale']:g} `{state}`: "
                     f"{finding['kind']} `{finding['widget']}` {finding['detail']}")
    lines += ["## Screens the audit looked at", "",
              "Quarter-size thumbnails in `docs/accessibility/shots/`, named "
              "`STATE-ORIENTATION-LANGUAGE-TEXT.jpg`:", ""]
    by_state: dict[str, list[str]] = {}
    for name in thumbs:
        by_state.setdefault(name.split("-portrait-")[0].split("-landscape-")[0], []).append(name)
    for state, names in sorted(by_state.items()):
        links = " ".join(f"[{n.split(state + '-', 1)[1][:-4]}](accessibility/shots/{n})"
                         for n in names)
        lines.append(f"- `{state}`: {links}")
    return "\n".join(lines) + "\n"


def _kinds_text(kinds: Counter) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()) or "none"


def machine_line() -> str:
    """The machine the audit ran on, for the report."""
    import platform

    try:
        model = next(line.split(":", 1)[1].strip()
                     for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, " \
        "Mesa llvmpipe offscreen"


def cmd_audit(args) -> int:
    """Audit both orientations; write the report and thumbnails; exit 1 on a finding."""
    docs = Path(args.docs)
    with tempfile.TemporaryDirectory(prefix="kiosk-audit-") as work:
        work_dir = Path(work)
        shots = work_dir / "shots"
        now = run_orientations(work_dir, shots, None)
        thumbs = write_thumbnails(shots, docs / "accessibility" / "shots")
    before = {}
    for orientation in ORIENTATIONS:
        path = docs / "accessibility" / f"before-{orientation}.json"
        if path.exists():
            before[orientation] = json.loads(path.read_text("utf-8"))
    report = docs / "accessibility.md"
    report.write_text(render_report(now, before, thumbs, machine_line()), encoding="utf-8")
    total = sum(n for result in now.values() for _o, _l, _s, n, _k in counts(result))
    print(f"{report}: {total} findings")
    return 1 if total else 0
