"""Browsing the catalogue as citizens think: by theme, with the most-used matters first.

The stored catalogue lists matters by department and name, so "all matters" used to open
with highway-engineering filings. Here every list (all matters, a department, a task type,
a theme) is ordered by:

1. how often the matter was chosen at this kiosk (guides opened, applications started;
   :mod:`offline_cache.usage_store`), most first;
2. then, while a kiosk has few visits of its own, the matters its FAQ, life-event bundles and
   policies lead to (written from what citizens ask most), then matters in a theme for
   individuals, then in a business theme, then the rest;
3. then the catalogue's own order.

The platform's catalogue carries no usage figures (../shared/platform-api.md); if it comes
to, they belong in step 1 beside this kiosk's own.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kiosk.finding.catalog import CatalogService
from kiosk.finding.themes import Theme, load_themes, theme_members
from kiosk.models import Matter

log = logging.getLogger(__name__)

ASKED, PERSON, BUSINESS, OTHER = range(4)
"""Tiers of step 2 above, best first."""


@dataclass(frozen=True)
class ThemeGroup:
    """A theme with the number of matters it holds in the loaded catalogue."""

    theme: Theme
    count: int


class Browser:
    """Themes and most-used-first ordering over one kiosk's catalogue.

    Theme membership is worked out once per catalogue version; the usage counts are read
    again only after this kiosk recorded a use, so browsing costs one sort per change.
    """

    def __init__(self, catalog: CatalogService, *,
                 asked_codes: Callable[[], Iterable[str]] = tuple,
                 themes: list[Theme] | None = None) -> None:
        self.catalog = catalog
        self._asked_codes = asked_codes
        self.themes = load_themes() if themes is None else themes
        self._version: tuple[int, int] = (-1, -1)
        self._members: dict[str, list[str]] = {}
        self._tier: dict[str, int] = {}
        self._scores: dict[str, int] | None = None

    # -- recording -----------------------------------------------------------------------

    def record(self, item_code: str, kind: str) -> None:
        """Count a guide opened ('guide') or an application started ('apply'). A count that
        cannot be written is logged and dropped: it is never worth a citizen's error."""
        try:
            self.catalog.record_use(item_code, kind)
        except sqlite3.Error as error:
            log.warning("usage of a matter not counted: %s", error)
        self._scores = None

    # -- reading -------------------------------------------------------------------------

    def theme_groups(self) -> list[ThemeGroup]:
        """Themes with at least one matter, person themes first, in the file's order."""
        self._refresh()
        return [ThemeGroup(theme, len(self._members[theme.id])) for theme in
                sorted(self.themes, key=lambda t: t.audience != "person")
                if self._members.get(theme.id)]

    def theme_matters(self, theme_id: str) -> list[Matter]:
        """The matters of one theme, most used first (empty for an unknown theme)."""
        self._refresh()
        matters = [self.catalog.matter(code) for code in self._members.get(theme_id, ())]
        return self.most_used_first([m for m in matters if m is not None])

    def most_used_first(self, matters: list[Matter]) -> list[Matter]:
        """``matters`` in the order the module docstring gives (stable within each step).

        The few matters used here are sorted; the rest are dealt into their tiers in one
        pass (a sort of 100,000 matters by a two-part key took 170 ms, each time 全部事项
        was shown after a guide had been opened)."""
        self._refresh()
        scores, tiers = self._usage(), self._tier
        used = [m for m in matters if m.item_code in scores]
        used.sort(key=lambda m: (-scores[m.item_code], tiers.get(m.item_code, OTHER)))
        buckets: list[list[Matter]] = [[] for _ in range(OTHER + 1)]
        for matter in matters:
            if matter.item_code not in scores:
                buckets[tiers.get(matter.item_code, OTHER)].append(matter)
        return [*used, *(matter for bucket in buckets for matter in bucket)]

    # -- caches --------------------------------------------------------------------------

    def _usage(self) -> dict[str, int]:
        if self._scores is None:
            try:
                self._scores = self.catalog.usage_scores()
            except sqlite3.Error as error:
                log.warning("usage counts unreadable, browsing without them: %s", error)
                self._scores = {}
        return self._scores

    def _refresh(self) -> None:
        # the offer is part of the version: a new site profile changes the themes' members
        version = self.catalog.view_version()
        if version == self._version:
            return
        names = {m.item_code: m.name for m in self.catalog.matters()}
        self._members = theme_members(self.themes, names)
        audience = {theme.id: theme.audience for theme in self.themes}
        tier: dict[str, int] = {}
        for theme_id, codes in self._members.items():
            level = PERSON if audience[theme_id] == "person" else BUSINESS
            for code in codes:
                tier[code] = min(tier.get(code, OTHER), level)
        for code in self._asked_codes():
            if code in names:
                tier[code] = ASKED
        self._tier, self._version = tier, version
