"""Home menu: large tiles for what a citizen came to do, only for services offered here."""

from __future__ import annotations

import os

from kivy.lang import Builder

from kiosk.finding.offering import HOME_SERVICES, offered_services
from screens.i18n import tr
from screens.widgets import KioskScreen


class HomeScreen(KioskScreen):
    """Tiles lead to the catalogue and search; services not offered here are not shown."""

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        offered = offered_services()
        grid = self.ids.tiles
        for name in HOME_SERVICES:
            if name not in offered:
                grid.remove_widget(self.ids[name])

    def spoken_text(self) -> str:
        """The question, then the tiles on offer."""
        tiles = [self.ids[name].title for name in offered_services()]
        return self.title + "\n" + "，".join(tiles) if tr.language == "zh_CN" else \
            self.title + "\n" + ", ".join(tiles)


Builder.load_file(os.path.join(os.path.dirname(__file__), "home.kv"))
