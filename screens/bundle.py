"""Life-event bundles (一件事一次办): a short questionnaire, the matters it selects, one
combined materials list and a printed checklist. (Being built for issue 13.)"""

from __future__ import annotations

import os

from kivy.lang import Builder

from screens.widgets import KioskScreen


class BundleScreen(KioskScreen):
    """Scenario list, questions, then the combined list."""


Builder.load_file(os.path.join(os.path.dirname(__file__), "bundle.kv"))
