"""Evaluation (好差评):
an optional five-level rating after each finished service, queued like applications.
(Being built for issue 14.)"""

from __future__ import annotations

import os

from kivy.lang import Builder

from screens.widgets import KioskScreen


class EvaluateScreen(KioskScreen):
    """(Being built.)"""


Builder.load_file(os.path.join(os.path.dirname(__file__), "evaluate.kv"))
