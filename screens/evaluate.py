"""Evaluation (好差评): an optional five-level rating of a finished service, queued offline.

The national rules (GB/T 39734-2020) make a rating voluntary and protect the evaluator, so
this screen pre-selects nothing, forces nothing and shows no identity; "Skip" is one tap on
every step. The five levels are five large buttons (非常满意 first). A low rating (不满意,
非常不满意) then offers, never requires, the four offline indicators and free text typed on
the docked pinyin keyboard. The rating goes into the kiosk's queue at once
(kiosk.platform.evaluations), sealed, and the sync worker sends it exactly once, so it
works offline: the thank-you says so.

Steps: ``choose`` (from the home tile: which service? search the catalogue), ``rate`` (the
five levels), ``detail`` (after a low rating: indicators and words), ``thanks``.
Automation ids: rate_search, rate_matter_N, rate_5 (非常满意) .. rate_1 (非常不满意),
rate_tag_overall / _efficiency / _service_level / _attitude, rate_comment, rate_send,
rate_skip, rate_continue, rate_finish.
"""

from __future__ import annotations

import logging
import os

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, OptionProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from kiosk.finding.pinyin_input import PinyinInput
from kiosk.models import Matter
from kiosk.platform.evaluations import (
    LOW_SCORES,
    MAX_COMMENT,
    TAGS,
    EvaluationDesk,
    Rating,
    tags_in_order,
)
from screens import theme
from screens.composer import Composer
from screens.entry import CheckRow
from screens.i18n import N_, tr
from screens.keyboard import DockedKeyboard  # noqa: F401 (registers the kv class)
from screens.search import SearchScreen
from screens.widgets import KioskScreen, outline_if_light

log = logging.getLogger(__name__)

LEVELS = ((5, N_("Very satisfied")), (4, N_("Satisfied")), (3, N_("Basically satisfied")),
          (2, N_("Dissatisfied")), (1, N_("Very dissatisfied")))
"""The five national levels, best first, as the buttons show them (ids rate_5 .. rate_1)."""
TAG_WORDS = {"overall": N_("Overall"), "efficiency": N_("Efficiency"),
             "service_level": N_("Service level"), "attitude": N_("Attitude")}
"""The four offline indicators (整体, 办事效率, 服务水平, 服务态度)."""
MATTER_LIMIT = 5
ACTIONS = frozenset({"rate_send", "rate_skip", "rate_continue", "rate_finish"})
"""Buttons shown below the scrolled area (always in view)."""


class RateInput(ButtonBehavior, BoxLayout):
    """A text box the citizen taps to type into (search words, the optional comment)."""

    text = StringProperty("")


class EvaluateScreen(KioskScreen):
    """One rating: which service, how satisfied, what was wrong (optional), thank you."""

    step = OptionProperty("rate", options=("choose", "rate", "detail", "thanks"))
    typing = BooleanProperty(False)  # the keyboard is on screen (search words or comment)
    text = StringProperty("")
    pinyin = StringProperty("")
    chinese_mode = BooleanProperty(True)
    candidates = ListProperty([])
    item_code = StringProperty("")
    matter_name = StringProperty("")
    service = StringProperty("")
    receipt_no = StringProperty("")
    offline = BooleanProperty(False)  # the rating was queued while the platform was away

    # the candidate bar is the search screen's: same buttons, one implementation
    _show_candidates = SearchScreen._show_candidates

    def __init__(self, **kwargs) -> None:
        self.score = 0
        self._prepared = False
        self._desk: EvaluationDesk | None = None
        self._tags: dict[str, CheckRow] = {}
        self._comment = ""
        super().__init__(**kwargs)

    # -- entry ---------------------------------------------------------------------------
    def prepare(self, item_code: str, *, service: str, receipt_no: str | None = None) -> None:
        """After a finished service (app.offer_evaluation): rate that matter."""
        self._forget()
        matter = self.services.catalog.matter(item_code)
        self.item_code = item_code
        self.matter_name = matter.name if matter is not None else ""
        self.service = service
        self.receipt_no = receipt_no or ""
        self._prepared = True
        self.step = "rate"

    def on_pre_enter(self, *args) -> None:
        self.ids.keyboard.use_language(tr.language)
        if self._prepared:
            self._prepared = False
        elif self.step != "choose":
            self._forget()  # the home tile: no service just finished, so ask which
            self.step = "choose"
        self.typing = self.step == "choose"
        self.build_body()

    def choose_matter(self, matter: Matter) -> None:
        """A matter found by search: rate it (no receipt: the contract allows that)."""
        self.item_code = matter.item_code
        self.matter_name = matter.name
        self.service = "home"
        self.receipt_no = ""
        self._set_text("")
        self.typing = False
        self.step = "rate"
        self.say(self.spoken_text())

    # -- typing --------------------------------------------------------------------------
    def input_engine(self) -> PinyinInput:
        """The pinyin engine over the catalogue's vocabulary (as search uses)."""
        return self.services.pinyin_input()

    def on_key(self, keycode: str | None, internal: str | None) -> None:
        """One key released on the on-screen keyboard."""
        if keycode == "enter":
            self.typing = self.step == "choose"
            self.build_body()
            return
        self._composer.key(keycode, internal)
        self._take()

    def choose(self, candidate: str) -> None:
        """A pinyin candidate was tapped: commit it."""
        self._composer.choose(candidate)
        self._take()

    def _take(self) -> None:
        composer = self._composer
        self.text, self.pinyin, self.chinese_mode = (composer.text, composer.pinyin,
                                                     composer.chinese_mode)
        self.candidates = composer.candidates
        if self.step == "detail":
            self._comment = composer.value
        self._show_candidates()
        self.build_body()

    def _set_text(self, text: str) -> None:
        self._composer.reset()
        if text:
            self._composer.set(text)
        self._composer.max_length = MAX_COMMENT if self.step == "detail" else 40
        self._take_quietly()

    def _take_quietly(self) -> None:
        composer = self._composer
        self.text, self.pinyin = composer.text, composer.pinyin
        self.candidates = composer.candidates
        self._show_candidates()

    def edit_comment(self) -> None:
        """The comment box was tapped: the keyboard comes to type into it."""
        self._composer.reset()
        self._composer.max_length = MAX_COMMENT
        self._composer.set(self._comment)
        self._take_quietly()
        self.typing = True
        self.build_body()

    # -- rating --------------------------------------------------------------------------
    def rate(self, score: int) -> None:
        """A level was tapped: a low one asks (never requires) what was wrong."""
        self.score = score
        if score in LOW_SCORES:
            self.step = "detail"
            self.typing = False
            self._comment = ""
            for row in self._tags.values():
                row.checked = False
            self.say(self.spoken_text())
            return
        self.send()

    def send(self) -> None:
        """Queue the rating (works offline) and thank the citizen."""
        if not self.item_code or not self.score:
            return
        tags = tags_in_order(tag for tag, row in self._tags.items() if row.checked)
        rating = Rating(self.item_code, self.score, tags, self._comment,
                        self.receipt_no or None)
        try:
            self.desk().submit(rating)
        except Exception as error:  # never the rating's words in the log
            log.error("evaluation could not be queued: %s", type(error).__name__)
            from screens.widgets import Notice

            Notice(title=tr._("Your evaluation could not be saved"),
                   message=tr._("Something went wrong on this kiosk. You can rate the service at the counter's evaluation device.")  # noqa: E501
                   ).open(animation=False)
            return
        log.info("evaluation queued (%s, score %d)", self.service or "home", self.score)
        self.offline = App.get_running_app().online is not True
        self._wipe_words()
        self.typing = False
        self.step = "thanks"
        self.say(self.spoken_text())

    def desk(self) -> EvaluationDesk:
        """The rating queue on the outbox's database (opened on first use)."""
        if self._desk is None:
            services = self.services
            storage = services.applications().storage
            self._desk = EvaluationDesk(storage.conn, storage.master_key,
                                        wake=services.sync.wake)
        return self._desk

    def skip(self) -> None:
        """"Skip": nothing is kept; back to where the citizen came from."""
        self._forget()
        App.get_running_app().back()

    def go_on(self) -> None:
        """"Other services": the visit goes on at the home menu."""
        self._forget()
        App.get_running_app().home()

    def finish(self) -> None:
        """"Finish": the visit ends and everything is wiped."""
        App.get_running_app().end_session()

    # -- what is shown -------------------------------------------------------------------
    def on_step(self, _screen, _step: str) -> None:
        self.build_body()

    def on_typing(self, _screen, typing: bool) -> None:
        if not hasattr(self, "_panel"):
            return
        layout, panel = self.ids.layout, self._panel
        if typing and panel.parent is None:
            layout.add_widget(panel)
        elif not typing and panel.parent is not None:
            layout.remove_widget(panel)

    def build_body(self, *_args) -> None:
        """Fill the rating area for the current step, in the current language."""
        if not hasattr(self, "_panel"):
            return
        body, actions = self.ids.body, self.ids.actions
        for row in self._tags.values():
            if row.parent is not None:
                row.parent.remove_widget(row)
        body.clear_widgets()
        actions.clear_widgets()
        builder = {"choose": self._choosing, "rate": self._levels, "detail": self._details,
                   "thanks": self._thanks}[self.step]
        for widget in builder():
            is_action = getattr(widget, "automation_id", "") in ACTIONS
            (actions if is_action else body).add_widget(widget)

    def _choosing(self) -> list:
        words = _escape(self.text) + (
            f"[u][color=0b4ea2]{self.pinyin}[/color][/u]" if self.pinyin else "")
        shown = (words + "|") if words else \
            "[color=4a525e]" + tr._("Type the service's name, pinyin or initials") + "[/color]"
        box = RateInput(text=shown)
        box.automation_id = "rate_search"
        box.bind(on_release=lambda _w: setattr(self, "typing", True))
        widgets = [Factory.RateTitle(text=tr._("Which service would you like to rate?")),
                   box]
        query = self._composer.value.strip()
        hits = self.services.catalog.search(query, limit=MATTER_LIMIT) if query else []
        for number, hit in enumerate(hits, start=1):
            matter = hit.matter
            widgets.append(_button(f"rate_matter_{number}",
                                   f"{matter.name}\n{matter.department}",
                                   lambda matter=matter: self.choose_matter(matter),
                                   theme.SURFACE, theme.PRIMARY, font=theme.FONT_BODY))
        if query and not hits:
            widgets.append(Factory.RateNote(text=tr._("No matching service. Try fewer letters.")))
        widgets.append(_button("rate_skip", tr._("Skip"), self.skip, theme.PRIMARY_DARK))
        return widgets

    def _levels(self) -> list:
        widgets = [Factory.RateTitle(text=tr._("How satisfied are you with this service?"))]
        if self.matter_name:
            widgets.append(Factory.RateText(text=self.matter_name, bold=True))
        widgets.append(Factory.RateNote(text=tr._("Rating is optional: you may skip it. Your name and ID are not recorded.")))  # noqa: E501
        colours = {5: theme.SUCCESS, 4: theme.SUCCESS, 3: theme.PRIMARY, 2: theme.WARNING,
                   1: theme.DANGER}
        # all five in view at once, never the low ones scrolled away: stacked in portrait,
        # side by side in landscape
        levels = GridLayout(cols=1 if self.height >= self.width else len(LEVELS),
                            size_hint_y=None, spacing=dp(12))
        levels.bind(minimum_height=levels.setter("height"))
        for score, words in LEVELS:
            levels.add_widget(_button(f"rate_{score}", tr._(words),
                                      lambda score=score: self.rate(score), colours[score]))
        widgets.append(levels)
        widgets.append(_button("rate_skip", tr._("Skip"), self.skip, theme.PRIMARY_DARK))
        return widgets

    def _details(self) -> list:
        level = dict(LEVELS).get(self.score, "")
        widgets = [Factory.RateTitle(text=tr._("What was not good? (optional)")),
                   Factory.RateNote(text=tr._("Your rating: {level}. Tick what applies, write a few words if you like, then press Send.").format(level=tr._(level) if level else ""))]  # noqa: E501
        for tag in TAGS:
            row = self._tags[tag]
            row.text = tr._(TAG_WORDS[tag])
            widgets.append(row)
        words = _escape(self.text) + (
            f"[u][color=0b4ea2]{self.pinyin}[/color][/u]" if self.pinyin else "")
        if self.typing:
            words += "|"
        shown = words or \
            "[color=4a525e]" + tr._("Tap here to write what happened (optional)") + "[/color]"
        if not self.typing:
            shown = _escape(self._comment) or shown
        box = RateInput(text=shown)
        box.automation_id = "rate_comment"
        box.bind(on_release=lambda _w: self.edit_comment())
        widgets += [box, Factory.RateNote(text=tr._("Do not write your name, ID number or phone number."))]  # noqa: E501
        widgets.append(_button("rate_send", tr._("Send"), self.send, theme.SUCCESS))
        widgets.append(_button("rate_skip", tr._("Skip"), self.skip, theme.PRIMARY_DARK))
        return widgets

    def _thanks(self) -> list:
        message = tr._("Your evaluation is saved on this kiosk. It will be sent to the platform automatically when the network is back.") if self.offline else tr._("Your evaluation is being sent to the provincial platform.")  # noqa: E501
        return [Factory.RateTitle(text=tr._("Thank you for your evaluation")),
                Factory.RateText(text=message,
                                 color=theme.WARNING if self.offline else theme.TEXT),
                Factory.RateNote(text=tr._("Your name and ID are not recorded with it.")),
                _button("rate_continue", tr._("Other services"), self.go_on, theme.PRIMARY),
                _button("rate_finish", tr._("Finish"), self.finish, theme.SUCCESS)]

    def spoken_text(self) -> str:
        """The step's question and choices, or the thank-you."""
        if self.step == "choose":
            parts = [tr._("Which service would you like to rate?"),
                     tr._("Type the service's name, pinyin or initials")]
        elif self.step == "rate":
            parts = [tr._("How satisfied are you with this service?"), self.matter_name,
                     *(tr._(words) for _score, words in LEVELS), tr._("Skip")]
        elif self.step == "detail":
            parts = [tr._("What was not good? (optional)"),
                     *(tr._(TAG_WORDS[tag]) for tag in TAGS), tr._("Send"), tr._("Skip")]
        else:
            parts = [tr._("Thank you for your evaluation")]
        return "\n".join(part for part in parts if part)

    def say(self, text: str) -> None:
        app = App.get_running_app()
        if app is not None and hasattr(app, "say"):
            app.say(text)

    # -- lifecycle -----------------------------------------------------------------------
    def on_language(self, language: str) -> None:
        self.ids.keyboard.use_language(language)
        self.build_body()

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        self._composer = Composer(self.input_engine, max_length=40)
        # kv keeps ids as weak references: the keyboard panel, taken out of the layout while
        # no text is typed, must be held here or it is collected with its keyboard
        self._panel = self.ids.typing_panel.__self__
        self.ids.layout.remove_widget(self._panel)
        for tag in TAGS:
            row = CheckRow(text=tag)
            row.automation_id = f"rate_tag_{tag}"
            self._tags[tag] = row
        rebuild = Clock.create_trigger(self.build_body)
        App.get_running_app().bind(text_scale=rebuild)
        self.bind(size=lambda _screen, size: rebuild() if self.step == "rate" else None)
        self.build_body()

    def _wipe_words(self) -> None:
        """The comment and ticks leave memory once queued (sealed in the database)."""
        self._comment = ""
        self._composer.reset()
        self._take_quietly()
        for row in self._tags.values():
            row.checked = False

    def _forget(self) -> None:
        self._wipe_words()
        self.score = 0
        self.item_code = self.matter_name = self.service = self.receipt_no = ""
        self.offline = False
        self.typing = False

    def reset(self) -> None:
        """Forget the rating, the matter and anything typed (visit ended)."""
        self._forget()
        self._prepared = False
        self.step = "rate"
        self.build_body()


def _escape(text: str) -> str:
    """Typed text shown in a markup label: its brackets must not read as markup."""
    return text.replace("&", "&amp;").replace("[", "&bl;").replace("]", "&br;")


def _button(automation_id: str, text: str, action, bg=theme.PRIMARY, fg=theme.ON_PRIMARY, *,
            font: str = theme.FONT_LARGE):
    """A full-width button of the rating area, at least 96 dp, taller when it wraps."""
    button = Factory.RateButton(text=text, bg_color=bg, fg_color=fg, font_size=font)
    button.automation_id = automation_id
    button.bind(on_release=lambda _widget: action())
    outline_if_light(button, bg)
    return button


Builder.load_file(os.path.join(os.path.dirname(__file__), "evaluate.kv"))
