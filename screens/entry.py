"""Fields a citizen fills with the on-screen keyboard: the field row and the keyboard pad.

A screen with fields has one :class:`EntryPad` docked at its bottom. Tapping a
:class:`FieldRow` makes it the pad's target: the pad shows the keypad for numbers or the
pinyin keyboard for text, with the candidate bar for Chinese, and every key goes to that
field's :class:`~screens.composer.Composer`. The row shows the value, where a pre-filled value
came from (a small badge), and the validation message beside the field in plain words.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from kivy.app import App
from kivy.lang import Builder
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from screens import theme
from screens.composer import Composer
from screens.keyboard import DockedKeyboard  # noqa: F401 (registers the kv class)


class FieldRow(ButtonBehavior, BoxLayout):
    """One field: its label, its value (or a hint), a source badge and a message.

    ``secret`` fields (an ID number being typed) show their value as typed, since the
    citizen must check it; they are never spoken aloud (see the screens' spoken_text).
    """

    label = StringProperty("")
    value = StringProperty("")
    hint = StringProperty("")
    badge = StringProperty("")  # e.g. "From ID card"; empty when the citizen typed it
    message = StringProperty("")  # what is wrong, in plain words; empty when fine
    active = BooleanProperty(False)  # the keyboard types into this field now
    required = BooleanProperty(False)
    field_name = StringProperty("")
    editable = BooleanProperty(True)  # False: read from the card, shown but not typed


class ChoiceRow(BoxLayout):
    """A field with a few fixed answers (gender, a yes/no): one large button per choice."""

    label = StringProperty("")
    choices = ListProperty([])
    value = StringProperty("")
    badge = StringProperty("")
    message = StringProperty("")
    field_name = StringProperty("")
    locked = StringProperty("")  # read from the card: these words instead of the buttons
    on_choose = ObjectProperty(None, allownone=True)  # called with the chosen text

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        self._build()

    def on_choices(self, *_args) -> None:
        if "buttons" in self.ids:  # choices given to the constructor arrive before the kv
            self._build()

    def on_value(self, *_args) -> None:
        if "buttons" not in self.ids:
            return
        for button in self.ids.buttons.children:
            selected = button.choice == self.value
            button.bg_color = theme.PRIMARY if selected else theme.SURFACE
            button.fg_color = theme.ON_PRIMARY if selected else theme.PRIMARY

    def _build(self) -> None:
        from screens.widgets import KButton

        box = self.ids.buttons
        box.clear_widgets()
        for index, choice in enumerate(self.choices):
            button = KButton(text=choice, font_size=theme.FONT_BODY)
            button.choice = choice
            button.automation_id = f"{self.field_name}_{index}"
            button.bind(on_release=lambda widget: self._chosen(widget.choice))
            box.add_widget(button)
        self.on_value()

    def _chosen(self, choice: str) -> None:
        self.value = choice
        if self.on_choose is not None:
            self.on_choose(choice)


class CheckRow(ButtonBehavior, BoxLayout):
    """A statement the citizen ticks (a promise, the consent): the whole row is the target."""

    text = StringProperty("")
    checked = BooleanProperty(False)
    message = StringProperty("")
    field_name = StringProperty("")

    def on_release(self) -> None:
        self.checked = not self.checked


class EntryPad(BoxLayout):
    """Candidate bar and keyboard, typing into one :class:`Composer` at a time.

    ``on_change(value)`` is called after every key with the field's whole value.
    """

    candidates = ListProperty([])
    kind = StringProperty("pinyin")
    shown = BooleanProperty(False)  # a field is being typed into: the keyboard is on screen

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.composer: Composer | None = None
        self.on_change: Callable[[str], None] | None = None

    def attach(self, composer: Composer | None, kind: str = "pinyin",
               on_change: Callable[[str], None] | None = None) -> None:
        """Type into ``composer`` with the ``kind`` keyboard; None detaches the pad."""
        self.composer = composer
        self.on_change = on_change
        self.kind = kind
        self.shown = composer is not None
        self.ids.keyboard.use(kind)
        self._show_candidates()

    def on_key(self, keycode: str | None, internal: str | None) -> None:
        """A key of the docked keyboard was released."""
        if self.composer is None:
            return
        if self.kind == "numeric" and internal and not (internal.isdigit() or internal == "X"):
            return
        self.composer.key(keycode, internal)
        self._changed()

    def choose(self, candidate: str) -> None:
        """A candidate of the bar was tapped."""
        if self.composer is not None:
            self.composer.choose(candidate)
            self._changed()

    def _changed(self) -> None:
        self._show_candidates()
        if self.on_change is not None and self.composer is not None:
            self.on_change(self.composer.value)

    def _show_candidates(self) -> None:
        from screens.text_metrics import text_width
        from screens.widgets import KButton

        self.candidates = list(self.composer.candidates) if self.composer else []
        bar = self.ids.candidate_bar
        bar.clear_widgets()
        font_size = sp(30)
        for candidate in self.candidates:
            button = KButton(text=candidate, size_hint_x=None,
                             width=max(dp(96), text_width(candidate, font_size) + dp(48)),
                             font_size=font_size, bg_color=theme.SURFACE, fg_color=theme.PRIMARY)
            button.bind(on_release=lambda widget: self.choose(widget.text))
            bar.add_widget(button)

    def on_language(self, language: str) -> None:
        self.ids.keyboard.use(language=language)


def pinyin_engine():
    """The app's pinyin engine (built at start-up on its own thread)."""
    return App.get_running_app().services.pinyin_input()


Builder.load_file(os.path.join(os.path.dirname(__file__), "entry.kv"))
