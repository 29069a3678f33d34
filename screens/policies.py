"""Policy matching (政策匹配): which benefits this citizen may be entitled to, and why.
(Being built for issue 13.)"""

from __future__ import annotations

import os

from kivy.lang import Builder

from kiosk.applying.applicant import Applicant
from screens.widgets import KioskScreen


class PolicyScreen(KioskScreen):
    """Profile (card and ticked tags), then the matching policies."""

    def identified(self, person: Applicant) -> None:
        """The identify screen read a card (role "profile")."""


Builder.load_file(os.path.join(os.path.dirname(__file__), "policies.kv"))
