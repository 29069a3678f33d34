"""Browse the catalogue by department or by task type.

Both lists are RecycleViews: only the rows on screen exist as widgets, so the 1,135 matters
(or a province's tens of thousands) scroll at the same speed.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, OptionProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk.i18n import task_type_label
from screens.i18n import tr
from screens.widgets import KioskScreen

ALL = "all"


class GroupRow(ButtonBehavior, BoxLayout):
    """One department or task type with its number of matters."""

    key = StringProperty("")
    text = StringProperty("")
    count = StringProperty("")
    selected = BooleanProperty(False)

    def on_release(self) -> None:
        App.get_running_app().screen("catalogue").select_group(self.key)


class MatterRow(ButtonBehavior, BoxLayout):
    """One matter: its name and, below, its department and task type."""

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

    mode = OptionProperty("department", options=["department", "task_type"])
    selected = StringProperty(ALL)

    def on_pre_enter(self, *args) -> None:
        if not self.ids.groups.data:
            self.refresh()

    def on_mode(self, *_args) -> None:
        self.selected = ALL
        self.refresh()

    def reset(self) -> None:
        """Back to all matters by department, scrolled to the top (visit ended)."""
        self.mode = "department"
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
        catalog = App.get_running_app().services.catalog
        language = tr.language
        total = catalog.count()
        groups = [{"key": ALL, "text": tr._("All matters"), "count": str(total)}]
        if self.mode == "department":
            groups += [
                {"key": name, "text": name, "count": str(count)}
                for name, count in catalog.departments()
            ]
        else:
            groups += [
                {"key": str(code), "text": task_type_label(code, name, language),
                 "count": str(count)}
                for code, name, count in catalog.task_types()
            ]
        for group in groups:
            group["selected"] = group["key"] == self.selected
        self.ids.groups.data = groups
        if self.selected == ALL:
            matters = catalog.matters()
        elif self.mode == "department":
            matters = catalog.by_department(self.selected)
        else:
            matters = catalog.by_task_type(int(self.selected))
        self.ids.matters.data = [
            {
                "item_code": matter.item_code,
                "name": matter.name,
                "detail": f"{matter.department} · "
                f"{task_type_label(matter.task_type, matter.task_type_name, language)}",
            }
            for matter in matters
        ]
        self.ids.matters.scroll_y = 1
        self.ids.matter_count.text = tr._("{count} matters").format(count=len(matters))


Builder.load_file(os.path.join(os.path.dirname(__file__), "catalogue.kv"))
