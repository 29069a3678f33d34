"""Appointments (预约):
a matter, a hall, a day and a slot with places left; printed slip with a QR code.
(Being built for issue 14.)"""

from __future__ import annotations

import os

from kivy.lang import Builder

from screens.widgets import KioskScreen


class AppointmentScreen(KioskScreen):
    """(Being built.)"""


Builder.load_file(os.path.join(os.path.dirname(__file__), "appointment.kv"))
