"""Home menu: large tiles for what a citizen came to do, only for services offered here."""

from __future__ import annotations

import os

from kivy.app import App
from kivy.lang import Builder
from kivy.utils import escape_markup

from kiosk.finding.offering import HOME_SERVICES, offered_services
from screens.i18n import tr
from screens.widgets import KioskScreen


class HomeScreen(KioskScreen):
    """Tiles lead to the catalogue and search; services not offered here are not shown."""

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        # strong references (``__self__``): ids hold weak proxies, and a tile a profile
        # hides is out of the tree, so only this dict keeps it alive until it comes back
        self._tiles = {name: self.ids[name].__self__ for name in HOME_SERVICES}
        app = App.get_running_app()
        self.on_site(getattr(app, "site", None))

    def on_site(self, profile) -> None:
        """Show the tiles the site profile offers (a push changes them without a restart)."""
        offered = offered_services() if profile is None else profile.tiles()
        grid = self.ids.tiles
        grid.clear_widgets()
        for name in offered:
            grid.add_widget(self._tiles[name])

    def offered(self) -> tuple[str, ...]:
        """The tiles on the screen now, in order."""
        return tuple(name for name in HOME_SERVICES if self._tiles[name].parent is not None)

    @staticmethod
    def site_text(profile, _language: str = "") -> str:
        """The host beside the government's name and the opening hours, when the profile
        has them; empty for a hall of its own (the header names it)."""
        if profile is None or not (profile.host_name or profile.hours):
            return ""
        lines = [f"[b]{escape_markup(profile.name)}[/b]"] if profile.name else []
        if profile.host_name:
            lines.append(tr._("Hosted by {host}").format(host=escape_markup(profile.host_name)))
        if profile.hours:
            lines.append(tr._("Opening hours: {hours}").format(
                hours=escape_markup("；".join(profile.hours))))
        return "\n".join(lines)

    def spoken_text(self) -> str:
        """The question, then the tiles on offer."""
        tiles = [self.ids[name].title for name in self.offered()]
        return self.title + "\n" + "，".join(tiles) if tr.language == "zh_CN" else \
            self.title + "\n" + ", ".join(tiles)


Builder.load_file(os.path.join(os.path.dirname(__file__), "home.kv"))
