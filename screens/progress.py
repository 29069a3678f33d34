"""Progress (进度查询):
find an application by its receipt QR code, a typed number or the ID card, and show its timeline.
(Being built for issue 14.)"""

from __future__ import annotations

import os

from kivy.lang import Builder

from screens.widgets import KioskScreen


class ProgressScreen(KioskScreen):
    """(Being built.)"""


Builder.load_file(os.path.join(os.path.dirname(__file__), "progress.kv"))
