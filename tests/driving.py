"""Driving the shared test kiosk with journey steps, as `kiosk drive` does (screens/drive.py)."""

from __future__ import annotations

import json
from pathlib import Path


def run(kiosk, steps: list[dict], tmp_path: Path, name: str = "test", *,
        fresh: bool = True) -> list[str]:
    """Drive ``steps`` through the real input pipeline: a new visit, or ``fresh=False`` to go
    on with the current one. Returns the report lines; fails with them when a step fails."""
    from screens.drive import drive

    script = tmp_path / f"{name}.json"
    script.write_text(json.dumps({"name": name, "steps": steps}, ensure_ascii=False),
                      encoding="utf-8")
    lines: list[str] = []
    assert drive(kiosk, script, tmp_path, report=lines.append, fresh=fresh), "\n".join(lines)
    return lines
