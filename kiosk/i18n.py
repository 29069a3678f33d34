"""Languages of the kiosk: gettext catalogues and the current language.

Message ids are English; ``zh_CN`` is the kiosk's first language and its catalogue must
translate every id (a test checks this). The English catalogue exists so that English
wording can change without touching the code. Matter names and departments come from the
platform in Chinese only and are shown as they are in both languages.
"""

from __future__ import annotations

import gettext
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).with_name("locales")
LANGUAGES: dict[str, str] = {"zh_CN": "中文", "en": "English"}
"""Supported languages, each with its own name, in the order the switch shows them."""

Listener = Callable[[str], None]


def load_translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language``; a missing one is logged and falls back."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; use one of {', '.join(LANGUAGES)}")
    try:
        return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])
    except OSError:
        log.error("no compiled catalogue for %s under %s; run make locales", language, LOCALE_DIR)
        return gettext.NullTranslations()


class Translator:
    """The current language and its catalogue, with listeners told of every switch."""

    def __init__(self, language: str = "zh_CN") -> None:
        self._listeners: list[Listener] = []
        self._language = language
        self._catalogue = load_translations(language)

    @property
    def language(self) -> str:
        """The code of the language in use, e.g. ``zh_CN``."""
        return self._language

    def gettext(self, message: str) -> str:
        """``message`` in the current language."""
        return self._catalogue.gettext(message)

    def switch(self, language: str) -> None:
        """Use ``language`` from now on and tell every listener."""
        if language == self._language:
            return
        self._catalogue = load_translations(language)
        self._language = language
        for listener in list(self._listeners):
            listener(language)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(language)`` after each switch."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)


TASK_TYPES_EN: dict[int, str] = {
    1: "Administrative licence",
    5: "Administrative payment",
    7: "Administrative confirmation",
    8: "Administrative reward",
    9: "Administrative ruling",
    10: "Other administrative power",
    20: "Public service",
}
"""English names of the national task types (the catalogue gives them in Chinese only)."""


def task_type_label(code: int, chinese_name: str, language: str) -> str:
    """The task type's name in ``language``; unknown codes keep the Chinese name.

    The sample catalogue's task type table writes both names in one string
    ("行政许可 administrative licence"); only its Chinese part is shown.
    """
    chinese, _space, rest = chinese_name.partition(" ")
    if rest.isascii():
        chinese_name = chinese
    if language == "zh_CN":
        return chinese_name
    return TASK_TYPES_EN.get(code, chinese_name)
