"""Office guides (办事指南) as the kiosk keeps them: from the platform's cache, checked.

The sync worker stores each ``GET /matters/{code}/guide`` answer as received; this module
reads one back for the guide screen and refuses anything that is not a usable guide (a
wrong type, a missing list), so a bad document shows the honest "not yet received" text
rather than a half-rendered page. Texts are shown exactly as the platform wrote them: the
reference platform's sample guides carry the mark 【示例】 in every generated text, and
that mark stays visible to the citizen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SAMPLE_MARK = "【示例】"


@dataclass(frozen=True)
class Material:
    """One document the citizen must bring or photograph."""

    name: str
    copies: int
    original: bool
    note: str


@dataclass(frozen=True)
class Location:
    """Where the matter is handled in person."""

    hall: str
    address: str
    window: str
    hours: str


@dataclass(frozen=True)
class Guide:
    """The parts of a guide the screen shows."""

    item_code: str
    materials: tuple[Material, ...]
    steps: tuple[str, ...]
    time_limit_days: int
    fee: str
    locations: tuple[Location, ...]
    visits_required: int
    delivery: tuple[str, ...]

    @property
    def is_sample(self) -> bool:
        """True for the reference platform's generated guides (their texts carry 【示例】)."""
        texts = [*self.steps, self.fee, *(m.name for m in self.materials)]
        return any(text.startswith(SAMPLE_MARK) for text in texts)


def parse_guide(data: Any) -> Guide | None:
    """A :class:`Guide` from a cached GUIDE document, or None when it is not usable."""
    try:
        return _parse(data)
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def _text(value: Any, *, optional: bool = False) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000:
        raise ValueError("not a count")
    return value


def _parse(data: Any) -> Guide:
    if not isinstance(data, dict):
        raise TypeError("not an object")
    materials = tuple(
        Material(_text(m["name"]), _count(m.get("copies", 1)), bool(m.get("original")),
                 _text(m.get("note"), optional=True))
        for m in _items(data["materials"]))
    locations = tuple(
        Location(_text(p["hall"]), _text(p.get("address"), optional=True),
                 _text(p.get("window"), optional=True), _text(p.get("hours"), optional=True))
        for p in _items(data.get("locations", [])))
    return Guide(
        item_code=_text(data["item_code"]),
        materials=materials,
        steps=tuple(_text(step) for step in _list(data.get("steps", []))),
        time_limit_days=_count(data.get("time_limit_days", 0)),
        fee=_text(data.get("fee"), optional=True),
        locations=locations,
        visits_required=_count(data.get("visits_required", 0)),
        delivery=tuple(_text(way) for way in _list(data.get("delivery", []))),
    )


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def _items(value: Any) -> list[dict[str, Any]]:
    items = _list(value)
    if not all(isinstance(item, dict) for item in items):
        raise TypeError("not a list of objects")
    return items
