"""Home menu: large tiles for what a citizen came to do."""

from __future__ import annotations

import os

from kivy.lang import Builder

from screens.widgets import KioskScreen


class HomeScreen(KioskScreen):
    """Tiles lead to the catalogue, search, guides; services not yet offered say so."""


Builder.load_file(os.path.join(os.path.dirname(__file__), "home.kv"))
