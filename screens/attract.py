"""Attract loop shown while nobody uses the kiosk: clock, "touch to start", language.

A touch anywhere that no button takes starts a visit. The online / offline badge tells
staff and citizens at a glance whether applications go straight to the platform or wait in
the kiosk's queue.
"""

from __future__ import annotations

import os

from kivy.lang import Builder
from kivy.uix.screenmanager import Screen

from screens import widgets  # noqa: F401 - registers KButton and the shared kv rules


class AttractScreen(Screen):
    """Idle screen; any touch outside its buttons begins a visit."""

    def on_touch_down(self, touch) -> bool:
        if super().on_touch_down(touch):
            return True
        if self.collide_point(*touch.pos):
            from kivy.app import App

            App.get_running_app().start_session()
            return True
        return False

    def spoken_text(self) -> str:
        """Read aloud on the attract screen: what to do to begin."""
        from screens.i18n import tr

        return tr._("Touch the screen to start")


Builder.load_file(os.path.join(os.path.dirname(__file__), "attract.kv"))
