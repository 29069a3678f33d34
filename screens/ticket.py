"""Queue tickets (取号) for today:
a matter and a hall; printed ticket with the number and the people waiting.
(Being built for issue 14.)"""

from __future__ import annotations

import os

from kivy.lang import Builder

from screens.widgets import KioskScreen


class TicketScreen(KioskScreen):
    """(Being built.)"""


Builder.load_file(os.path.join(os.path.dirname(__file__), "ticket.kv"))
