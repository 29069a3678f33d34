"""Office guide of one matter, as far as the kiosk has data for it.

The shipped catalogue holds names, departments, codes and task types only; materials, steps
and time limits come with the platform's guides once the kiosk syncs them. Until then the
screen says so plainly instead of showing invented text.
"""

from __future__ import annotations

import os

from kivy.lang import Builder
from kivy.properties import StringProperty

from kiosk.i18n import task_type_label
from screens.i18n import tr
from screens.widgets import KioskScreen


class GuideScreen(KioskScreen):
    """Facts of the chosen matter and what the citizen can do next."""

    name_text = StringProperty("")
    department = StringProperty("")
    task_type = StringProperty("")
    item_code = StringProperty("")
    area_code = StringProperty("")

    def on_pre_enter(self, *args) -> None:
        matter = self.services.session.matter
        if matter is None:
            self.reset()
            return
        self.name_text = matter.name
        self.department = matter.department
        self.task_type = task_type_label(matter.task_type, matter.task_type_name, tr.language)
        self.item_code = matter.item_code
        self.area_code = matter.area_code

    def on_language(self, language: str) -> None:
        self.on_pre_enter()

    def reset(self) -> None:
        """Show nothing of the previous visit."""
        self.name_text = self.department = self.task_type = self.item_code = ""
        self.area_code = ""


Builder.load_file(os.path.join(os.path.dirname(__file__), "guide.kv"))
