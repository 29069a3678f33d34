"""The kv translator survives widgets freed by the garbage collector while it re-runs rules."""

from __future__ import annotations

import gc

from kivy.lang import Builder
from kivy.properties import StringProperty
from kivy.uix.widget import Widget

from screens.i18n import tr

Builder.load_string(
    """
#:import tr screens.i18n.tr
<TranslatedProbe>:
    caption: tr._("Call staff")
"""
)


class TranslatedProbe(Widget):
    """A widget with one translated kv rule, as every kiosk label has."""

    caption = StringProperty("")


def test_a_language_switch_survives_widgets_collected_during_it():
    """A widget freed by a collection in the middle of a switch unbinds its rule from the
    translator (Kivy's widget destructor); the switch must not trip over the shrinking rules
    (CI once saw 'dictionary changed size during iteration' at the end of a visit)."""
    live = [TranslatedProbe() for _ in range(20)]
    threshold = gc.get_threshold()
    try:
        # the collection is timed to fall a few allocations into the switch, on its way
        # through the rules, for each of several offsets
        for offset in range(1, 40):
            gc.collect()
            gc.set_threshold(1_000_000, 10, 10)
            for _ in range(50):
                probe = TranslatedProbe()
                probe.cycle = probe  # only the cyclic collector frees it
                del probe
            gc.set_threshold(gc.get_count()[0] + offset, 10, 10)
            tr._refresh("en_US" if offset % 2 else "zh_CN")
    finally:
        gc.set_threshold(*threshold)
        gc.collect()
    assert all(probe.caption == tr._("Call staff") for probe in live)
