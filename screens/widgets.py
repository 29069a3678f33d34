"""Widgets every screen shares: buttons, tiles, the header, the action bar, notices.

The action bar (back, home, large text, language, call staff) sits at the bottom of every
screen, within reach of a seated user (EN 301 549 §8.3), and is the same everywhere so that
a citizen learns it once.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen
from kivy.uix.scrollview import ScrollView

from screens import theme


class KButton(ButtonBehavior, Label):
    """A large flat button with rounded corners; darker while pressed."""

    bg_color = ColorProperty(theme.PRIMARY)
    fg_color = ColorProperty(theme.ON_PRIMARY)
    radius = ListProperty([12])
    fit_height = NumericProperty(0)  # the height its wrapped text needs, at least 72 dp


class Tile(ButtonBehavior, BoxLayout):
    """A home-screen tile: a large title and one line saying what it leads to."""

    title = StringProperty("")
    hint = StringProperty("")
    bg_color = ColorProperty(theme.PRIMARY)


class SteadyBar:
    """Keeps Kivy's scroll bar from piling up bindings during a long scroll.

    Kivy 2.3.1's ``ScrollView.update_from_scroll`` binds ``bar_color`` again on every scroll
    step and unbinds it once per half-second pause, so a citizen paging or swiping through
    the catalogue leaves bindings behind for the life of the process (about 6 per visit in
    the visit benchmark). One binding is all the fade needs.
    """

    def update_from_scroll(self, *largs) -> None:
        super().update_from_scroll(*largs)
        bound = [callback for callback in self.get_property_observers("bar_color")
                 if callback == self._change_bar_color]
        for _extra in bound[1:]:
            self.funbind("bar_color", self._change_bar_color)


class ScrollInRange:
    """Keeps a list's position between its top and its bottom once no finger is on it.

    Kivy 2.3.1's scroll effect can keep a value from the list's previous content: after the
    catalogue's 1,135 rows were replaced by one department's few, a CI run found
    ``scroll_y`` at 17,885 (1 is the top), so that not one row was drawn. A citizen would
    have seen an empty list under a department that has matters. A position out of range is
    brought back to the nearest end, and the effect's bounds are worked out again from the
    content now there, so that it does not bring the stale value back.

    The lists stop at their ends instead of bouncing (``ScrollEffect``): the bounce was a
    flourish that, for an elderly citizen, looks like the list refusing, and it made a
    position out of range a normal sight that this guard could not have told apart.
    """

    def __init__(self, **kwargs) -> None:
        from kivy.effects.scroll import ScrollEffect

        kwargs.setdefault("effect_cls", ScrollEffect)
        super().__init__(**kwargs)

    def on_scroll_y(self, _instance, value: float) -> None:
        if 0.0 <= value <= 1.0 or self._touch:
            return
        self.scroll_y = min(max(value, 0.0), 1.0)
        self._update_effect_bounds()


class KScrollView(ScrollInRange, SteadyBar, ScrollView):
    """The kiosk's ScrollView: a visible bar (3:1 or better) that does not leak bindings,
    and a position that stays within the content."""


class Header(BoxLayout):
    """Hall name and clock on one small line, the screen title below, wrapped, never cut.

    The title gets the whole width: side by side with the clock it was ellipsized in
    large text ("What would yo…").
    """

    title = StringProperty("")
    top_columns = NumericProperty(2)  # hall and clock side by side (2) or stacked (1)

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        arrange = Clock.create_trigger(self._arrange)
        self.bind(width=arrange)
        for line in (self.ids.hall_line, self.ids.clock_line):
            line.bind(text=arrange, font_size=arrange)

    def _arrange(self, *_args) -> None:
        """Stack hall and clock when both do not fit on one line (large text, English)."""
        hall, clock = self.ids.hall_line, self.ids.clock_line
        left, _top, right, _bottom = self.padding
        needed = (hall._label.get_extents(hall.text)[0] + clock._label.get_extents(clock.text)[0]
                  + self.ids.hall_and_clock.spacing[0])
        self.top_columns = 2 if needed <= self.width - left - right else 1


class NavButton(KButton):
    """A button of the action bar; its height follows its wrapped text."""


class NavBar(GridLayout):
    """Back, home, text size, language, read aloud, call staff; identical on every screen.

    One row when every label's longest word fits its button; two rows of three otherwise
    (large text in English, portrait), so that no word is broken inside ("Nor / mal").
    Read aloud is left out when the kiosk has no speech engine.
    """

    show_back = BooleanProperty(True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._relayout = Clock.create_trigger(self._choose_columns)
        self.bind(width=self._relayout)
        Clock.schedule_once(self._finish, 0)

    def _finish(self, _dt: float) -> None:
        app = App.get_running_app()
        if app is not None and not app.speech_available:
            self.remove_widget(self.ids.read_aloud)
        for child in self.children:
            child.bind(texture_size=self._relayout, font_size=self._relayout)
        self._choose_columns()

    def _choose_columns(self, *_args) -> None:
        buttons = list(self.children)
        if not buttons or self.width <= 1:
            return
        left, _top, right, _bottom = self.padding
        spacing = self.spacing[0]
        one_row = (self.width - left - right - spacing * (len(buttons) - 1)) / len(buttons)
        fits = all(longest_word(button) + 16 <= one_row for button in buttons)
        self.cols = len(buttons) if fits else (len(buttons) + 1) // 2


def longest_word(label: Label) -> float:
    """Width in pixels of the label's widest word in its own font and size."""
    words = label.text.split() or [""]
    return max(label._label.get_extents(word)[0] for word in words)


class KioskScreen(Screen):
    """A screen with the shared header and action bar; kv children go into ``content``.

    Subclass rules are applied after this class's rule has built the frame, so every widget
    added after the frame lands in the content area between header and action bar.
    """

    title = StringProperty("")
    show_back = BooleanProperty(True)

    def add_widget(self, widget, *args, **kwargs):
        frame = self.ids.get("content") if hasattr(self, "ids") else None
        if frame is not None and widget is not self.ids.get("frame"):
            return frame.add_widget(widget, *args, **kwargs)
        return super().add_widget(widget, *args, **kwargs)

    def on_pre_enter(self, *args) -> None:
        """Refresh what the screen shows from the session; subclasses extend it."""

    def on_language(self, language: str) -> None:
        """Re-render texts built in Python (kv texts follow ``tr`` by themselves)."""

    def spoken_text(self) -> str:
        """What Read aloud says on this screen: its title; screens with more extend it."""
        return self.title

    @property
    def services(self):
        """The core services of the running app."""
        return App.get_running_app().services


class FittedDialog(ModalView):
    """A dialog as tall as its content, at most the window's height less a margin.

    The limit is read when the dialog opens instead of bound in kv: a kv rule bound to
    ``Window.height`` stays in the window's observers after the dialog is gone, and a kiosk
    opens thousands of dialogs between restarts.
    """

    max_height = NumericProperty(10000)
    margin = NumericProperty(60)

    def on_pre_open(self) -> None:
        from kivy.core.window import Window
        from kivy.metrics import dp

        self.max_height = Window.height - dp(self.margin)


class Notice(FittedDialog):
    """A plain message with one large OK button; as tall as its text, scrolled if taller.

    Notices carry errors and refusals, so they are spoken as they open.
    """

    title = StringProperty("")
    message = StringProperty("")

    def spoken_text(self) -> str:
        """Read aloud: the title, then the message."""
        return f"{self.title}\n{self.message}"

    def on_open(self) -> None:
        app = App.get_running_app()
        if app is not None and hasattr(app, "say"):
            app.say(self.spoken_text())


def outline_if_light(button, bg) -> None:
    """A light (SURFACE) button built in Python keeps a PRIMARY outline, or on the light page
    it looks like text rather than something to press."""
    if bg != theme.SURFACE:
        return
    from kivy.graphics import Color, Line
    from kivy.metrics import dp

    with button.canvas.after:
        Color(*theme.PRIMARY)
        outline = Line(width=1.5)

    def follow(widget, _value) -> None:
        outline.rounded_rectangle = (widget.x, widget.y, widget.width, widget.height, dp(12))

    button.bind(pos=follow, size=follow)


Builder.load_file(os.path.join(os.path.dirname(__file__), "widgets.kv"))
