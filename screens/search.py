"""Search with the on-screen keyboard: pinyin, initials or Chinese characters.

Kivy's VKeyboard never passes through a system input method, so the screen composes Chinese
itself: in 中 mode letters collect as pinyin, the candidate bar offers words and characters
(catalogue words first), and the results already follow the raw letters, so ``jzz`` lists
居住证 matters before any candidate is chosen. Results go straight to the guide.
"""

from __future__ import annotations

import os

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.finding.pinyin_input import PinyinInput
from kiosk.i18n import task_type_label
from screens.catalogue import row_heights  # also registers MatterRow and PagedList
from screens.composer import Composer
from screens.i18n import tr
from screens.keyboard import DockedKeyboard  # noqa: F401 (registers the kv class)
from screens.widgets import KioskScreen

RESULT_LIMIT = 50


class SearchScreen(KioskScreen):
    """Query line, results, candidate bar and a docked keyboard, top to bottom."""

    text = StringProperty("")
    pinyin = StringProperty("")
    chinese_mode = BooleanProperty(True)
    candidates = ListProperty([])

    @property
    def query(self) -> str:
        """What is searched: the committed text plus the letters still being composed."""
        return self.text + self.pinyin

    def input_engine(self) -> PinyinInput:
        """The pinyin engine over the catalogue's vocabulary (built at start-up)."""
        return self.services.pinyin_input()

    def on_key(self, keycode: str | None, internal: str | None) -> None:
        """One key released on the on-screen keyboard."""
        self._composer.key(keycode, internal)
        self._take()
        self.update()

    def choose(self, candidate: str) -> None:
        """A candidate was tapped: commit it and keep the letters it did not consume."""
        self._composer.choose(candidate)
        self._take()
        self.update()

    def _take(self) -> None:
        composer = self._composer
        self.text, self.pinyin, self.chinese_mode = (composer.text, composer.pinyin,
                                                     composer.chinese_mode)

    def update(self) -> None:
        """Refresh candidates and results for the current query."""
        self.services.session.search_text = self.query
        self.candidates = self._composer.candidates
        self._show_candidates()
        hits = self.services.catalog.search(self.query, limit=RESULT_LIMIT) if self.query.strip() \
            else []
        language = tr.language
        rows = [
            {
                "item_code": hit.matter.item_code,
                "name": hit.matter.name,
                "detail": f"{hit.matter.department} · "
                f"{task_type_label(hit.matter.task_type, hit.matter.task_type_name, language)}",
            }
            for hit in hits
        ]
        row_heights(rows, self.ids.results.width)
        self.ids.results.data = rows
        self.ids.results.scroll_y = 1
        self._update_status(len(hits))

    def _update_status(self, count: int) -> None:
        if not self.query.strip():
            status = tr._("Type pinyin, initials (e.g. jzz for 居住证) or choose characters")
        elif count == 0:
            status = tr._("No matching service. Try fewer letters, or call staff.")
        else:
            status = tr._("{count} services found; tap one to read its guide").format(count=count)
        self.ids.status.text = status

    def _show_candidates(self) -> None:
        from kivy.metrics import dp, sp

        from screens.text_metrics import text_width
        from screens.widgets import KButton

        bar = self.ids.candidate_bar
        bar.clear_widgets()
        font_size = sp(30)
        for candidate in self.candidates:
            button = KButton(
                text=candidate,
                size_hint_x=None,
                width=max(dp(96), text_width(candidate, font_size) + dp(48)),
                font_size=font_size,
                bg_color=(1, 1, 1, 1),
                fg_color=(0.043, 0.306, 0.635, 1),
            )
            button.bind(on_release=lambda widget: self.choose(widget.text))
            bar.add_widget(button)

    def on_language(self, language: str) -> None:
        self.ids.keyboard.use_language(language)
        self.update()

    def spoken_text(self) -> str:
        """The title and the status line (how many found, or what to type)."""
        return f"{self.title}\n{self.ids.status.text}"

    def on_pre_enter(self, *args) -> None:
        self.ids.keyboard.use_language(tr.language)
        self.update()

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        self._composer = Composer(self.input_engine)
        resize = Clock.create_trigger(lambda _dt: self._resize_rows())
        self.ids.results.bind(width=resize)
        from kivy.app import App

        App.get_running_app().bind(text_scale=resize)

    def _resize_rows(self) -> None:
        rows = self.ids.results.data
        if rows:
            row_heights(rows, self.ids.results.width)
            # the same (mutated) dicts compare equal: the list must be told to redraw
            self.ids.results.refresh_from_data()

    def reset(self) -> None:
        """Forget the query (visit ended)."""
        self._composer.reset()
        self._take()
        if self.ids.results.data or self.candidates:
            self.update()


Builder.load_file(os.path.join(os.path.dirname(__file__), "search.kv"))
