"""Themes for browsing as citizens think: 生育收养, 户籍与身份证, 开办企业...

The catalogue files matters under departments and legal task types (行政许可, 公共服务),
which is how the government is organised, not how a citizen looks for help. Provincial
portals add person and business themes; our catalogue carries none, so
``kiosk/data/themes.json`` defines them by words of the official names: a matter belongs to
a theme when its name contains one of ``name_terms`` and none of ``exclude_terms``. The rule
is plain enough for a hall's staff to read and correct, and tests/test_browse.py checks the
themes against the shipped catalogue (every theme has matters; known matters land where a
citizen would look for them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

THEMES_FILE: Path = Path(__file__).resolve().parent.parent / "data" / "themes.json"
AUDIENCES = ("person", "business")


class ThemeFileError(ValueError):
    """The themes file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Theme:
    """One theme: who it is for, its title in each language, and its name rule."""

    id: str
    audience: str  # "person" or "business"
    titles: Mapping[str, str]
    name_terms: tuple[str, ...]
    exclude_terms: tuple[str, ...] = ()

    def title(self, language: str) -> str:
        """The title in ``language``, else the Chinese one."""
        return self.titles.get(language) or self.titles["zh_CN"]

    def covers(self, name: str) -> bool:
        """Whether a matter called ``name`` belongs to this theme."""
        return any(term in name for term in self.name_terms) and \
            not any(term in name for term in self.exclude_terms)


def load_themes(path: Path | str = THEMES_FILE) -> list[Theme]:
    """The themes of ``path``, in the file's order (person themes, then business ones)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ThemeFileError(f"{path}: cannot be read as JSON ({error})") from None
    return parse_themes(document, path)


def parse_themes(document: Any, path: Path | str = "themes") -> list[Theme]:
    """Check a themes document; every problem is named with the theme it is in."""
    if not isinstance(document, dict) or not isinstance(document.get("themes"), list):
        raise ThemeFileError(f"{path}: expected an object with a list 'themes'")
    themes: list[Theme] = []
    seen: set[str] = set()
    for position, entry in enumerate(document["themes"], start=1):
        where = f"{path}: theme {position}"
        if not isinstance(entry, dict):
            raise ThemeFileError(f"{where}: expected an object")
        ident, audience, titles = entry.get("id"), entry.get("audience"), entry.get("title")
        if not isinstance(ident, str) or not ident or ident in seen:
            raise ThemeFileError(f"{where}: 'id' must be a new, non-empty text")
        if audience not in AUDIENCES:
            raise ThemeFileError(f"{where} ({ident}): 'audience' must be person or business")
        if not isinstance(titles, dict) or not isinstance(titles.get("zh_CN"), str) or \
                not all(isinstance(text, str) and text for text in titles.values()):
            raise ThemeFileError(f"{where} ({ident}): 'title' needs a zh_CN text")
        terms = [_terms(entry.get(key), f"{where} ({ident}): '{key}'")
                 for key in ("name_terms", "exclude_terms")]
        if not terms[0]:
            raise ThemeFileError(f"{where} ({ident}): 'name_terms' must not be empty")
        seen.add(ident)
        themes.append(Theme(ident, audience, dict(titles), *terms))
    return themes


def _terms(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(term, str) and term for term in value):
        raise ThemeFileError(f"{where} must be a list of non-empty texts")
    return tuple(value)


def theme_members(themes: Iterable[Theme], names: Mapping[str, str]) -> dict[str, list[str]]:
    """``theme id -> item codes`` of the matters (``item_code -> name``) it covers, in the
    order of ``names``. A matter may be in several themes (养老 is retirement and insurance).

    A term is looked for only in the names that hold its rarest character: 23 themes x
    100,000 names took 5 s name by name (a frozen screen for the first citizen to open the
    guides of a province-sized catalogue), and 0.7 s scanning all names once per term.
    """
    themes = list(themes)
    codes, texts = list(names), list(names.values())
    terms = {term for theme in themes for term in (*theme.name_terms, *theme.exclude_terms)}
    wanted = {char for term in terms for char in term}
    char_rows: dict[str, list[int]] = {}
    for row, text in enumerate(texts):
        for char in wanted.intersection(text):
            char_rows.setdefault(char, []).append(row)

    def rows_with(term: str) -> set[int]:
        rarest = min(term, key=lambda char: len(char_rows.get(char, ())))
        return {row for row in char_rows.get(rarest, ()) if term in texts[row]}

    found = {term: rows_with(term) for term in terms}
    members: dict[str, list[str]] = {}
    for theme in themes:
        rows = set().union(*(found[term] for term in theme.name_terms))
        rows -= set().union(*(found[term] for term in theme.exclude_terms))
        members[theme.id] = [codes[row] for row in sorted(rows)]
    return members
