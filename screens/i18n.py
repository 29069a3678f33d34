"""Live language switching for kv rules.

A kv expression such as ``text: tr._("Apply")`` makes the kv compiler bind the rule to
the attribute ``_`` of ``tr`` through ``fbind``. ``tr`` keeps those bindings and re-runs
them when the language changes, so every label re-renders at once without rebuilding
screens (the pattern of tito/kivy-gettext-example, written for our translator).
"""

from __future__ import annotations

import itertools
from typing import Any

from kivy.event import Observable

from kiosk.i18n import Translator


class KvTranslator(Observable):
    """Wraps :class:`kiosk.i18n.Translator` for kv rules; ``tr._(text)`` translates."""

    def __init__(self, translator: Translator | None = None) -> None:
        super().__init__()
        self._uids = itertools.count(1)
        self._rules: dict[int, tuple[Any, tuple[Any, ...], dict[str, Any]]] = {}
        self.translator = translator or Translator()
        self.translator.add_listener(self._refresh)

    def use(self, translator: Translator) -> None:
        """Follow another core translator (the app owns one per kiosk process)."""
        self.translator.remove_listener(self._refresh)
        self.translator = translator
        translator.add_listener(self._refresh)
        self._refresh(translator.language)

    def _(self, text: str) -> str:
        return self.translator.gettext(text)

    @property
    def language(self) -> str:
        """Current language code."""
        return self.translator.language

    def fbind(self, name: str, func: Any, *args: Any, **kwargs: Any) -> int:
        if name != "_":
            return super().fbind(name, func, *args, **kwargs)
        uid = next(self._uids)
        self._rules[uid] = (func, args, kwargs)
        return uid

    def funbind(self, name: str, func: Any, *args: Any, **kwargs: Any) -> None:
        if name != "_":
            super().funbind(name, func, *args, **kwargs)
            return
        for uid, rule in self._snapshot().items():
            if rule == (func, args, kwargs):
                self._rules.pop(uid, None)  # a collection may have unbound it meanwhile

    def unbind_uid(self, name: str, uid: int) -> None:
        if name != "_":
            super().unbind_uid(name, uid)
            return
        self._rules.pop(uid, None)

    def _snapshot(self) -> dict[int, tuple[Any, tuple[Any, ...], dict[str, Any]]]:
        """The rules as they are now, taken in one step.

        A widget the garbage collector frees unbinds its rules (Kivy's widget destructor
        calls :meth:`unbind_uid`), and a collection can start at any allocation:
        ``list(rules.items())`` allocates a tuple per rule and so can see the dictionary
        shrink under it. ``dict.copy`` makes its one allocation before it copies.
        """
        return self._rules.copy()

    def _refresh(self, _language: str) -> None:
        for uid, (func, args, kwargs) in self._snapshot().items():
            try:
                func(*args, None, None, **kwargs)
            except ReferenceError:
                # the widget owning the rule is gone; forget the rule
                self._rules.pop(uid, None)


tr = KvTranslator()
"""The one translator kv files import with ``#:import tr screens.i18n.tr``."""


def N_(text: str) -> str:
    """Mark ``text`` as a message id translated later with ``tr._(variable)`` (tables of
    advice and badges); the catalogue test finds these marks as it finds tr._ calls."""
    return text


def core_messages() -> set[str]:
    """Message ids the core hands to the screens (validation and entry checks), which the
    screens translate with ``tr._(message)``; the catalogues must cover them too."""
    from kiosk.applying.applicant import ENTRY_MESSAGES
    from kiosk.applying.forms import VALIDATION_MESSAGES

    return set(ENTRY_MESSAGES) | set(VALIDATION_MESSAGES)
