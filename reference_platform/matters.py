"""The catalogue as the platform serves it: the shipped file, seeded once, in MATTER shape.

The shipped file (:data:`kiosk.finding.catalog.SAMPLE_CATALOG`) has names, departments, codes and
task types as published.  The contract's MATTER adds ``keywords``, ``online`` and
``form_id``; the file has none of them, so they are derived here deterministically (from
the name and a hash of the item code) and the same matter always gets the same values.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from kiosk.finding.catalog import SAMPLE_CATALOG, load_catalog_file

_SPLIT = re.compile(r"[\s（）()【】\[\]、，,；;：:/／·\-—“”\"'《》<>]+")
_SUFFIXES = ("审批", "登记", "许可", "备案", "核准", "认定", "申请", "办理", "确认", "变更", "注销")


def shipped_records(path: Path | str = SAMPLE_CATALOG) -> list[dict[str, Any]]:
    """The matters of a catalogue file as plain dicts (validated by the kiosk's loader)."""
    catalog = load_catalog_file(path)
    return [
        {
            "item_code": matter.item_code,
            "name": matter.name,
            "department": matter.department,
            "group": matter.group,
            "task_type": matter.task_type,
            "task_type_name": matter.task_type_name,
        }
        for matter in catalog.matters
    ]


def code_hash(item_code: str, salt: str = "") -> int:
    """A stable number from an item code, for deterministic sample choices."""
    return int(hashlib.sha256((salt + item_code).encode()).hexdigest()[:12], 16)


WITH_FORM = frozenset({
    "512B0011200070-511602000000-000-11511300008778693M-1-00",  # 居住证办理
})
"""Matters that have a form whatever their hash: the apply journey's demo matters."""


def form_id_of(item_code: str) -> str | None:
    """The sample form of a matter, or None: about two matters in three have a form, and
    every matter in :data:`WITH_FORM` has one."""
    if code_hash(item_code, "form") % 3 == 0 and item_code not in WITH_FORM:
        return None
    return "F" + hashlib.sha256(item_code.encode()).hexdigest()[:12].upper()


def keywords_of(name: str, department: str = "") -> list[str]:
    """Search words from the name: its parts between punctuation, and the name without
    its procedural suffix (审批, 登记...), so "护照申请" also answers "护照"."""
    words: list[str] = []
    for part in _SPLIT.split(name):
        part = part.strip()
        if len(part) < 2:
            continue
        words.append(part)
        for suffix in _SUFFIXES:
            if part.endswith(suffix) and len(part) - len(suffix) >= 2:
                words.append(part[: -len(suffix)])
                words.append(suffix)
    if department.startswith("区") and len(department) > 2:
        words.append(department[1:])
    unique: list[str] = []
    for word in words:
        if word not in unique:
            unique.append(word)
    return unique[:12]


def matter_json(record: dict[str, Any], version: int) -> dict[str, Any]:
    """One MATTER exactly as the contract lists its fields."""
    code = record["item_code"]
    return {
        "item_code": code,
        "name": record["name"],
        "department": record["department"],
        "group": record.get("group"),
        "task_type": record["task_type"],
        "task_type_name": record["task_type_name"],
        "keywords": keywords_of(record["name"], record["department"]),
        "online": code_hash(code, "online") % 5 < 3,
        "form_id": form_id_of(code),
        "version": version,
    }
