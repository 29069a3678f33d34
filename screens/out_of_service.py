"""Out of service: what citizens see instead of the attract screen while the kiosk cannot
serve them (a technician's switch, or a part every journey needs is down: see
kiosk.operations.service_state).

One plain message, large, Chinese first: this terminal is out of service, use another
terminal of this hall or the service counter, and the nearby halls of the site profile when
it names any. A touch starts no visit. The language, text size and Call staff buttons stay
(a citizen who cannot read Chinese, or cannot read small text, must still learn where to
go), and so does the technician's hidden way in (the corner held 3 s, Ctrl+Alt+D).
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from screens import widgets  # noqa: F401 - registers KButton and the shared kv rules
from screens.attract import TechnicianDoor
from screens.i18n import tr


class OutOfServiceScreen(TechnicianDoor, Screen):
    """Full-screen "out of service, please use terminal X or the counter"."""

    message = StringProperty("")
    elsewhere = StringProperty("")
    technician_actions = ("lang_zh", "lang_en", "large_text", "call_staff")
    """What the accessibility audit expects here (the attract screen's buttons): no visit
    starts on this screen, so the citizens' bar with Home and Back has no place."""

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        self.reword()

    def on_pre_enter(self, *args) -> None:
        self.reword()

    def on_language(self, _language: str) -> None:
        self.reword()

    def on_site(self, _profile) -> None:
        self.reword()

    def show_state(self, _state) -> None:
        """The switches changed (the words do not depend on why: citizens need where to
        go, not which part failed)."""
        self.reword()

    def reword(self) -> None:
        """The message with this hall's name and the nearby halls, in the language now."""
        app = App.get_running_app()
        if app is None:
            return
        hall = app.hall_name or app.services.config.kiosk.hall
        self.message = tr._("Please use another self-service terminal in {hall}, or go to the service counter.").format(hall=hall)  # noqa: E501
        halls = app.site.where_else() if app.site is not None else ()
        self.elsewhere = (tr._("You can also go to:") + "\n" + "\n".join(
            "• " + line for line in halls)) if halls else ""

    def spoken_text(self) -> str:
        """Read aloud: the title and where to go."""
        return tr._("This terminal is out of service") + "\n" + self.message


Builder.load_file(os.path.join(os.path.dirname(__file__), "out_of_service.kv"))
