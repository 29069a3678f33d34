"""Browse the catalogue by theme (for individuals, for businesses), by department or by task
type, the most-used matters first (:mod:`kiosk.finding.browse`).

Both lists are RecycleViews: only the rows on screen exist as widgets, so the 1,135 matters
(or a province's tens of thousands) scroll at the same speed. Each row is as tall as its
text needs (measured from the data, :mod:`screens.text_metrics`), so every name is shown
whole in both languages and every text size. The matter list moves a page at a time with
two large buttons and says where the citizen is ("rows 41-60 of 1,135"): swiping through
88 screen heights is not a way an elderly citizen finds anything.
"""

from __future__ import annotations

import bisect
import os

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp, dpi2px
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.recycleview import RecycleView

from kiosk.i18n import task_type_label
from screens import theme
from screens.i18n import tr
from screens.text_metrics import text_height
from screens.widgets import KioskScreen, ScrollInRange, SteadyBar

ALL = "all"


class PagedList(ScrollInRange, SteadyBar, RecycleView):
    """A RecycleView with a thumb long enough to see and a page-at-a-time scroll."""

    thumb = ListProperty([0, 0])  # y and length of the drawn thumb, window-independent

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bind(vbar=self._update_thumb, size=self._update_thumb, pos=self._update_thumb)

    def _update_thumb(self, *_args) -> None:
        content = self.children[0].height if self.children else 0
        if content <= self.height + 1:
            self.thumb = [0, 0]
            return
        start, length = self.vbar
        length_px = max(dp(64), length * self.height)
        travel = self.height - length_px
        progress = 0 if length >= 1 else start / max(1e-6, 1 - length)
        self.thumb = [self.y + travel * progress, length_px]

    def page(self, direction: int) -> None:
        """Scroll one view height (less one row's worth) down (+1) or up (-1)."""
        content = self.children[0].height if self.children else 0
        scrollable = content - self.height
        if scrollable <= 0:
            return
        top = (1 - self.scroll_y) * scrollable + direction * (self.height - dp(48))
        self.scroll_y = 1 - min(max(top, 0), scrollable) / scrollable


def row_heights(rows: list[dict], width: float) -> None:
    """Give each row dict its ``row_size`` for ``width``: both lines wrapped, whole."""
    text_width = max(width - dp(40) - dp(20), 10)  # row padding and the scroll bar
    # a theme size such as "26sp" in pixels at the current text scale
    body, small = (dpi2px(size[:-2], size[-2:]) for size in (theme.FONT_BODY, theme.FONT_SMALL))
    for row in rows:
        first = row.get("name", row.get("text", ""))
        second = row.get("detail", row.get("count", ""))
        height = text_height(first, body, text_width) + text_height(second, small, text_width)
        row["row_size"] = (width, max(dp(84), height + dp(24) + dp(4)))


class GroupRow(ButtonBehavior, BoxLayout):
    """One department or task type with its number of matters."""

    key = StringProperty("")
    text = StringProperty("")
    count = StringProperty("")
    selected = BooleanProperty(False)

    def on_release(self) -> None:
        App.get_running_app().screen("catalogue").select_group(self.key)


class MatterRow(ButtonBehavior, BoxLayout):
    """One matter: its whole name and, below, its department and task type."""

    shows_whole_when_opened = True  # its guide shows name, department and type whole
    item_code = StringProperty("")
    name = StringProperty("")
    detail = StringProperty("")

    def on_release(self) -> None:
        app = App.get_running_app()
        matter = app.services.catalog.matter(self.item_code)
        if matter is not None:
            app.open_matter(matter)


class CatalogueScreen(KioskScreen):
    """Groups on the left, the matters of the chosen group on the right."""

    mode = OptionProperty("theme", options=["theme", "department", "task_type"])
    selected = StringProperty(ALL)
    position_text = StringProperty("")
    at_top = BooleanProperty(True)
    at_bottom = BooleanProperty(True)

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        self._resize = Clock.create_trigger(lambda _dt: self._size_rows())
        self.ids.matters.bind(width=self._resize)
        self.ids.groups.bind(width=self._resize)
        App.get_running_app().bind(text_scale=self._resize)

    def on_pre_enter(self, *args) -> None:
        if not self.ids.groups.data:
            self.refresh()

    def on_mode(self, *_args) -> None:
        self.selected = ALL
        self.refresh()

    def reset(self) -> None:
        """Back to all matters by theme, scrolled to the top (visit ended)."""
        self.mode = "theme"
        self.selected = ALL
        self.refresh()

    def on_language(self, language: str) -> None:
        if self.ids.groups.data:
            self.refresh()

    def select_group(self, key: str) -> None:
        """Show the matters of department / task type ``key``."""
        self.selected = key
        self.refresh()

    def refresh(self) -> None:
        """Rebuild both lists from the catalogue in the current language."""
        services = App.get_running_app().services
        catalog, browser = services.catalog, services.browser
        language = tr.language
        count_text = tr._("{count} matters")
        groups = [{"key": ALL, "text": tr._("All matters"), "total": catalog.count()}]
        if self.mode == "theme":
            audience = {"person": tr._("For individuals"), "business": tr._("For businesses")}
            groups += [{"key": group.theme.id, "text": group.theme.title(language),
                        "total": group.count, "audience": audience[group.theme.audience]}
                       for group in browser.theme_groups()]
        elif self.mode == "department":
            groups += [{"key": name, "text": name, "total": count}
                       for name, count in catalog.departments()]
        else:
            groups += [{"key": str(code), "text": task_type_label(code, name, language),
                        "total": count} for code, name, count in catalog.task_types()]
        for group in groups:
            group["count"] = count_text.format(count=f"{group['total']:,}")
            if "audience" in group:
                group["count"] = f"{group.pop('audience')} · {group['count']}"
            group["selected"] = group["key"] == self.selected
        if self.selected == ALL:
            matters = browser.most_used_first(catalog.matters())
        elif self.mode == "theme":
            matters = browser.theme_matters(self.selected)
        elif self.mode == "department":
            matters = browser.most_used_first(catalog.by_department(self.selected))
        else:
            matters = browser.most_used_first(catalog.by_task_type(int(self.selected)))
        rows = [
            {
                "item_code": matter.item_code,
                "name": matter.name,
                "detail": f"{matter.department} · "
                f"{task_type_label(matter.task_type, matter.task_type_name, language)}",
            }
            for matter in matters
        ]
        self._groups, self._rows = groups, rows
        self._size_rows()
        self.ids.matters.scroll_y = 1
        self.show_position()

    def _size_rows(self) -> None:
        groups, rows = getattr(self, "_groups", None), getattr(self, "_rows", None)
        if groups is None or rows is None:
            return
        row_heights(groups, self.ids.groups.width)
        row_heights(rows, self.ids.matters.width)
        tops, total = [], 0.0
        for row in rows:
            tops.append(total)
            total += row["row_size"][1]
        self._tops, self._content_height = tops, total
        self.ids.groups.data = groups
        self.ids.matters.data = rows
        self.ids.groups.refresh_from_data()
        self.ids.matters.refresh_from_data()
        self.show_position()

    def page(self, direction: int) -> None:
        """Previous (-1) or next (+1) page of matters."""
        self.ids.matters.page(direction)
        self.show_position()

    def show_position(self, *_args) -> None:
        """"Rows 41-60 of 1,135" for the rows now in view; which page buttons work."""
        view = self.ids.matters
        tops = getattr(self, "_tops", [])
        total = len(tops)
        if not total:
            self.position_text, self.at_top, self.at_bottom = "", True, True
            return
        scrollable = max(self._content_height - view.height, 0)
        top = (1 - view.scroll_y) * scrollable
        first = bisect.bisect_right(tops, top + 1)
        last = bisect.bisect_left(tops, top + view.height - 1)
        self.at_top = top <= 1
        self.at_bottom = top >= scrollable - 1
        self.position_text = tr._("Rows {first}-{last} of {total}").format(
            first=max(first, 1), last=max(min(last, total), 1), total=f"{total:,}")

    def spoken_text(self) -> str:
        """The title, the chosen group and where the list is."""
        return f"{self.title}\n{self.position_text}"


Builder.load_file(os.path.join(os.path.dirname(__file__), "catalogue.kv"))
