"""The on-screen keyboards: pinyin letters for Chinese text, a keypad for numbers.

Kivy's VKeyboard reads its layouts from JSON files; ours live in ``screens/keyboards``. Each
layout is loaded once per language (the same keys, with the function keys labelled in that
language), and the keyboard is docked in a layout rather than floating over the window.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache

from kivy.clock import Clock
from kivy.uix.vkeyboard import VKeyboard

LAYOUT_DIR = os.path.join(os.path.dirname(__file__), "keyboards")
KINDS = ("pinyin", "numeric")
"""``pinyin``: letters and digits, Chinese composed by pinyin; ``numeric``: digits and X."""
KEY_LABELS = {"删除": "Delete", "清空": "Clear", "空格": "Space", "中/EN": "中/ABC"}
"""English faces of the keys whose labels in the layout files are Chinese."""


@cache
def keyboard_layouts() -> dict[str, dict]:
    """Every layout once per language, named ``KIND_LANGUAGE`` (e.g. ``numeric_en``)."""
    layouts: dict[str, dict] = {}
    for kind in KINDS:
        with open(os.path.join(LAYOUT_DIR, f"{kind}.json"), encoding="utf-8") as stream:
            chinese = json.load(stream)
        for line in range(1, chinese["rows"] + 1):  # VKeyboard looks up every mode
            for mode in ("shift", "special"):
                chinese.setdefault(f"{mode}_{line}", chinese[f"normal_{line}"])
        english = copy.deepcopy(chinese)
        for rows in english.values():
            if isinstance(rows, list):
                for key in rows:
                    key[0] = KEY_LABELS.get(key[0], key[0])
        layouts[f"{kind}_zh_CN"] = chinese
        layouts[f"{kind}_en"] = english
    return layouts


class DockedKeyboard(VKeyboard):
    """Kivy's VKeyboard placed in a layout: it redraws its keys whenever it is resized.

    VKeyboard only lays its keys out when its layout changes; docked by the Window it never
    needed more, but inside a BoxLayout its size arrives later and changes with orientation.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("layout", "pinyin_zh_CN")
        super().__init__(**kwargs)
        self.available_layouts.update(copy.deepcopy(keyboard_layouts()))
        self.kind = self.layout.rsplit("_", 2)[0] if self.layout.startswith(KINDS) else "pinyin"
        self._trigger_redraw = Clock.create_trigger(lambda _dt: self.refresh(True))
        self.bind(size=lambda *_a: self._trigger_redraw(),
                  font_size=lambda *_a: self._trigger_redraw())

    def use(self, kind: str | None = None, language: str | None = None) -> None:
        """Show the ``kind`` keyboard labelled in ``language`` (each defaults to the current)."""
        from screens.i18n import tr

        self.kind = kind or self.kind
        name = f"{self.kind}_{language or tr.language}"
        if name in self.available_layouts and self.layout != name:
            self.layout = name

    def use_language(self, language: str) -> None:
        """Label the keys in ``language`` (the keys themselves do not change)."""
        self.use(language=language)
