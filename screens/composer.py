"""Composing text from the on-screen keyboard's keys: Chinese by pinyin, or plain letters.

Kivy's VKeyboard never passes through a system input method, so the kiosk composes Chinese
itself: in Chinese mode letters collect as pinyin and the candidate bar offers words and
characters; in letter mode (and for digits) keys are typed as they are. Search and every
text field of the apply journey share this one implementation.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.finding.pinyin_input import PinyinInput

CANDIDATE_LIMIT = 24


class Composer:
    """The text typed so far, the pinyin still being composed, and the candidates for it."""

    def __init__(self, engine: Callable[[], PinyinInput], *, chinese: bool = True,
                 max_length: int | None = None) -> None:
        self.engine = engine
        self.text = ""
        self.pinyin = ""
        self.chinese_mode = chinese
        self.max_length = max_length
        self.candidates: list[str] = []

    @property
    def value(self) -> str:
        """What the field holds now: committed text plus the letters still composing."""
        return self.text + self.pinyin

    def key(self, keycode: str | None, internal: str | None) -> None:
        """One key released on the keyboard (VKeyboard's keycode and internal text)."""
        if keycode == "backspace":
            if self.pinyin:
                self.pinyin = self.pinyin[:-1]
            else:
                self.text = self.text[:-1]
        elif keycode == "clear":
            self.text = self.pinyin = ""
        elif keycode == "mode":
            self.commit_letters()
            self.chinese_mode = not self.chinese_mode
        elif keycode == "spacebar":
            if self.pinyin and self.candidates:
                self.choose(self.candidates[0])
                return
            self._append(" ")
        elif internal:
            if self.chinese_mode and internal.isalpha() and internal.isascii():
                self.pinyin += internal
            else:
                self.commit_letters()
                self._append(internal)
        self._refresh()

    def _append(self, text: str) -> None:
        if self.max_length is None or len(self.text) + len(text) <= self.max_length:
            self.text += text

    def commit_letters(self) -> None:
        """Keep the raw letters as typed (e.g. before switching to letter mode)."""
        self._append(self.pinyin)
        self.pinyin = ""

    def choose(self, candidate: str) -> None:
        """A candidate was tapped: commit it and keep the letters it did not consume."""
        used = self.engine().consumed(self.pinyin, candidate)
        self._append(candidate)
        self.pinyin = self.pinyin[used:]
        self._refresh()

    def set(self, text: str) -> None:
        """Start from ``text`` (a pre-filled value the citizen corrects)."""
        self.text, self.pinyin = text, ""
        self._refresh()

    def reset(self, *, chinese: bool = True) -> None:
        """Forget everything typed."""
        self.text = self.pinyin = ""
        self.chinese_mode = chinese
        self.candidates = []

    def _refresh(self) -> None:
        self.candidates = (self.engine().candidates(self.pinyin, limit=CANDIDATE_LIMIT)
                           if self.pinyin else [])
