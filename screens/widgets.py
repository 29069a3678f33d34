"""Widgets every screen shares: buttons, tiles, the header, the action bar, notices.

The action bar (back, home, large text, language, call staff) sits at the bottom of every
screen, within reach of a seated user (EN 301 549 §8.3), and is the same everywhere so that
a citizen learns it once.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen

from screens import theme


class KButton(ButtonBehavior, Label):
    """A large flat button with rounded corners; darker while pressed."""

    bg_color = ColorProperty(theme.PRIMARY)
    fg_color = ColorProperty(theme.ON_PRIMARY)
    radius = ListProperty([12])


class Tile(ButtonBehavior, BoxLayout):
    """A home-screen tile: a large title and one line saying what it leads to."""

    title = StringProperty("")
    hint = StringProperty("")
    bg_color = ColorProperty(theme.PRIMARY)


class Header(BoxLayout):
    """Screen title on the left, hall name and clock on the right."""

    title = StringProperty("")


class NavBar(BoxLayout):
    """Back, home, large text, language and call staff; identical on every screen."""

    show_back = BooleanProperty(True)


class KioskScreen(Screen):
    """A screen with the shared header and action bar; kv children go into ``content``.

    Subclass rules are applied after this class's rule has built the frame, so every widget
    added after the frame lands in the content area between header and action bar.
    """

    title = StringProperty("")
    show_back = BooleanProperty(True)

    def add_widget(self, widget, *args, **kwargs):
        frame = self.ids.get("content") if hasattr(self, "ids") else None
        if frame is not None and widget is not self.ids.get("frame"):
            return frame.add_widget(widget, *args, **kwargs)
        return super().add_widget(widget, *args, **kwargs)

    def on_pre_enter(self, *args) -> None:
        """Refresh what the screen shows from the session; subclasses extend it."""

    def on_language(self, language: str) -> None:
        """Re-render texts built in Python (kv texts follow ``tr`` by themselves)."""

    @property
    def services(self):
        """The core services of the running app."""
        return App.get_running_app().services


class Notice(ModalView):
    """A plain message with one large OK button (e.g. "staff are on their way")."""

    title = StringProperty("")
    message = StringProperty("")


Builder.load_file(os.path.join(os.path.dirname(__file__), "widgets.kv"))
