"""The catalogue's plain record types, defined where they are stored.

The cache layer must not depend on the application core, so the types it reads and writes
live here; :mod:`kiosk.models` re-exports them for the core and the screens.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Matter:
    """One service item ("matter") of the government catalogue.

    Field names follow the platform contract and the shipped sample data so that a record
    can be built straight from either with ``Matter(**record)``.
    """

    item_code: str
    name: str
    department: str
    task_type: int
    task_type_name: str
    group: str | None = None
    area_code: str = ""
    dept_code: str = ""


@dataclass(frozen=True, slots=True)
class PinyinKeys:
    """Pinyin search keys of one text: ``full`` toneless pinyin and syllable ``initials``.

    Computed by :func:`kiosk.finding.pinyin_keys.pinyin_keys` at import time and stored beside each
    matter, so that neither the kiosk's start nor a search pays for pypinyin.
    """

    full: str
    initials: str
