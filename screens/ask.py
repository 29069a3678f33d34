"""Ask a question (我要问): the citizen's own words -> one answer card, not a list.

The question is typed on the same docked pinyin keyboard as search (the shared Composer).
"Ask" hides the keyboard and shows the answer built by :mod:`kiosk.finding.answers`: the
matter, the FAQ's short answer, the guide's key facts and one-tap buttons (apply here when
the kiosk has the form, the office guide, other matters). With no good answer it names the
departments of the closest matters and offers staff: a wrong answer with confidence would
send an elderly citizen to the wrong counter. Booking is not offered: appointments are not
delivered in this build (kiosk/finding/offering.py), and a button that leads nowhere is
worse than none.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, OptionProperty, StringProperty

from kiosk.finding.answers import Answer, answer, answer_for
from kiosk.finding.knowledge import KnowledgeBase
from kiosk.finding.pinyin_input import PinyinInput
from kiosk.models import Matter
from screens import theme
from screens.composer import Composer
from screens.guide_fetch import GuideFetcher
from screens.i18n import tr
from screens.keyboard import DockedKeyboard  # noqa: F401 (registers the kv class)
from screens.search import SearchScreen
from screens.widgets import KioskScreen

ACTIONS = frozenset({"answer_apply", "answer_guide", "answer_other", "others_back",
                     "ask_call_staff"})
"""Buttons shown below the answer area (always in view) rather than inside its scroll."""


class AskScreen(KioskScreen):
    """Question box and Ask button; below, the answer area, then the keyboard while typing."""

    text = StringProperty("")
    pinyin = StringProperty("")
    chinese_mode = BooleanProperty(True)
    candidates = ListProperty([])  # pinyin candidates of the letters being typed
    mode = OptionProperty("typing", options=("typing", "answer", "others", "none"))

    # the candidate bar is the search screen's: same buttons, same look, one implementation
    _show_candidates = SearchScreen._show_candidates

    def __init__(self, **kwargs) -> None:
        self.result: Answer | None = None
        self._ranked: list[Matter] = []  # best first: the answer and every candidate
        self._guides: GuideFetcher | None = None  # made on first use (needs the services)
        self._knowledge: KnowledgeBase | None = None
        super().__init__(**kwargs)

    @property
    def question(self) -> str:
        """The committed text plus the letters still being composed."""
        return self.text + self.pinyin

    def input_engine(self) -> PinyinInput:
        """The pinyin engine over the catalogue's vocabulary (as search uses)."""
        return self.services.pinyin_input()

    # -- typing --------------------------------------------------------------------------
    def on_key(self, keycode: str | None, internal: str | None) -> None:
        """One key released on the on-screen keyboard."""
        if keycode == "enter":
            self.ask()
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
        self._show_candidates()

    def edit(self) -> None:
        """The question box was tapped: the keyboard comes back to change the question."""
        self.mode = "typing"

    # -- asking --------------------------------------------------------------------------
    def knowledge(self) -> KnowledgeBase:
        """The FAQ of this kiosk's database (the shipped sample until a sync brought one)."""
        if self._knowledge is None:
            self._knowledge = KnowledgeBase(self.services.config.storage.database)
        return self._knowledge

    def ask(self) -> None:
        """Answer the question typed so far, and say the answer."""
        question = self.question.strip()
        if not question:
            self.mode = "typing"
            self.say(tr._("Type your question first, then press Ask."))
            return
        self.services.session.search_text = question
        result = answer(question, self.services.catalog, self.knowledge().faq_entries())
        self._ranked = [result.matter, *result.candidates] if result.matter else []
        self.show_result(result)
        self.say(self.spoken_text())

    def show_result(self, result: Answer) -> None:
        """Show ``result``: its card, or the no-answer page."""
        self.result = result
        if result.found and result.facts is None:
            self._fetch(result.matter.item_code)
        if self.mode == ("answer" if result.found else "none"):
            self.build_body()
        self.mode = "answer" if result.found else "none"

    def pick(self, matter: Matter) -> None:
        """A candidate was tapped: its card, with the others (the first answer too) below."""
        others = [m for m in self._ranked if m.item_code != matter.item_code]
        self.show_result(answer_for(matter, self.services.catalog,
                                    question=self.result.question if self.result else "",
                                    candidates=others))
        self.say(self.spoken_text())

    def show_others(self) -> None:
        """"Not what I meant": the next candidates as a list to tap."""
        self.mode = "others"
        self.say(self.spoken_text())

    def _fetch(self, code: str) -> None:
        """Online, a guide not cached yet is fetched once per visit, as the guide screen does;
        the card shows its facts when it arrives."""
        if self._guides is None:
            self._guides = GuideFetcher(self.services, self._fetched)
        self._guides.fetch(code)

    def _fetched(self, code: str, stored: bool) -> None:
        result = self.result
        if stored and result is not None and result.matter is not None and \
                result.matter.item_code == code and self.mode == "answer":
            self.show_result(answer_for(result.matter, self.services.catalog,
                                        question=result.question, faq_text=result.faq_text,
                                        candidates=result.candidates))

    # -- one-tap actions -----------------------------------------------------------------
    def apply(self) -> None:
        """Apply here: the apply journey starts with the answer's matter."""
        if self.result and self.result.matter and self.result.can_apply:
            self.services.session.choose_matter(self.result.matter)
            App.get_running_app().flow.start(self.result.matter)

    def open_guide(self) -> None:
        """The office guide of the answer's matter."""
        if self.result and self.result.matter:
            App.get_running_app().open_matter(self.result.matter)

    def open_department(self, department: str) -> None:
        """The catalogue at one department's matters."""
        app = App.get_running_app()
        app.show("catalogue")
        app.screen("catalogue").select_group(department)

    # -- what is shown -------------------------------------------------------------------
    def on_mode(self, _screen, mode: str) -> None:
        layout, panel = self.ids.layout, self._panel
        if mode == "typing" and panel.parent is None:
            layout.add_widget(panel)
        elif mode != "typing" and panel.parent is not None:
            layout.remove_widget(panel)
        self.build_body()

    def build_body(self, *_args) -> None:
        """Fill the answer area for the current mode, in the current language."""
        body, actions = self.ids.body, self.ids.actions
        body.clear_widgets()
        actions.clear_widgets()
        builder = {"typing": self._typing, "answer": self._card, "others": self._others,
                   "none": self._nothing}[self.mode]
        for widget in builder():
            # buttons of the whole page go below the scrolled part; list rows scroll
            is_action = getattr(widget, "automation_id", "") in ACTIONS
            (actions if is_action else body).add_widget(widget)
        self.ids.body_view.scroll_y = 1

    def _typing(self) -> list:
        example = tr._("Type your question in your own words, then press Ask. For example:")
        return [Factory.AskText(text=example),
                Factory.AskText(text="社保卡丢了怎么办\n开饭馆要办什么证\n小孩怎么上户口")]

    def _card(self) -> list:
        result = self.result
        matter = result.matter
        widgets = [Factory.AskTitle(text=matter.name),
                   Factory.AskNote(text=matter.department)]
        if result.faq_text:
            widgets.append(Factory.AskText(text=result.faq_text))
            if result.faq_is_sample:
                note = tr._("Sample answer from demonstration content, not real guidance.")
                widgets.append(Factory.AskSample(text=note))
        widgets += [Factory.AskText(text=line) for line in self._fact_lines(result)]
        if result.facts is not None and result.facts.is_sample:
            note = tr._("Sample guide from the demonstration platform, not real office guidance.")
            widgets.append(Factory.AskSample(text=note))
        if result.can_apply:
            widgets.append(_button("answer_apply", tr._("Apply for this service here"),
                                   self.apply, theme.SUCCESS))
        widgets.append(_button("answer_guide", tr._("Office guide: what to bring, where to go"),
                               self.open_guide))
        if result.candidates:
            widgets.append(_button("answer_other", tr._("Not what I meant"), self.show_others,
                                   theme.SURFACE, theme.PRIMARY))
        return widgets

    @staticmethod
    def _fact_lines(result: Answer) -> list[str]:
        here = tr._("Apply at this kiosk: yes") if result.can_apply else \
            tr._("Apply at this kiosk: not yet; apply at the service counter")
        facts = result.facts
        if facts is None:
            return [tr._("The full guide has not reached this kiosk yet."), here]
        lines = [tr._("Materials to bring: {count}").format(count=facts.materials),
                 tr._("Time limit: {days} working days").format(days=facts.time_limit_days)]
        if facts.fee:
            lines.append(tr._("Fee: {fee}").format(fee=facts.fee))
        lines.append(here)
        return lines

    def _others(self) -> list:
        result = self.result
        widgets = [Factory.AskText(text=tr._("Other services that may match your question:"))]
        for number, matter in enumerate(result.candidates if result else (), start=1):
            widgets.append(_button(f"candidate_{number}", f"{matter.name}\n{matter.department}",
                                   lambda matter=matter: self.pick(matter),
                                   theme.SURFACE, theme.PRIMARY))
        widgets.append(_button("others_back", tr._("Back to the answer"),
                               lambda: setattr(self, "mode", "answer")))
        return widgets

    def _nothing(self) -> list:
        result = self.result
        widgets = [Factory.AskTitle(text=tr._("No answer found for your question"))]
        if result and result.departments:
            help_text = tr._("These departments may be able to help. Tap one to see its services:")
            widgets.append(Factory.AskText(text=help_text))
            for number, department in enumerate(result.departments, start=1):
                widgets.append(_button(f"department_{number}", department,
                                       lambda d=department: self.open_department(d),
                                       theme.SURFACE, theme.PRIMARY))
        widgets.append(Factory.AskText(text=tr._("Try other words, or ask staff for help.")))
        widgets.append(_button("ask_call_staff", tr._("Call staff"),
                               lambda: App.get_running_app().call_staff(), theme.DANGER))
        return widgets

    def spoken_text(self) -> str:
        """The title, then the answer: the matter and its facts, or what to do."""
        result = self.result
        if self.mode == "answer" and result and result.matter:
            parts = [result.matter.name, result.faq_text, *self._fact_lines(result)]
        elif self.mode == "others" and result:
            parts = [tr._("Other services that may match your question:"),
                     *(m.name for m in result.candidates)]
        elif self.mode == "none":
            parts = [tr._("No answer found for your question"),
                     *(result.departments if result else ()),
                     tr._("Try other words, or ask staff for help.")]
        else:
            parts = [self.title, tr._("Type your question first, then press Ask.")]
        return "\n".join(part for part in parts if part)

    def say(self, text: str) -> None:
        app = App.get_running_app()
        if app is not None and hasattr(app, "say"):
            app.say(text)

    # -- lifecycle -----------------------------------------------------------------------
    def on_pre_enter(self, *args) -> None:
        self.ids.keyboard.use_language(tr.language)
        self.build_body()

    def on_language(self, language: str) -> None:
        self.ids.keyboard.use_language(language)
        if self.result is not None and self.result.matter is not None:
            self.result = answer_for(self.result.matter, self.services.catalog,
                                     question=self.result.question,
                                     faq_text=self.result.faq_text,
                                     candidates=self.result.candidates)
        self.build_body()

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        self._composer = Composer(self.input_engine)
        # kv keeps ids as weak references: the keyboard panel, taken out of the layout while
        # an answer is shown, must be held here or it is collected with its keyboard
        self._panel = self.ids.typing_panel.__self__
        App.get_running_app().bind(text_scale=Clock.create_trigger(self.build_body))
        self.build_body()

    def reset(self) -> None:
        """Forget the question and the answer (visit ended)."""
        self._composer.reset()
        self._take()
        self.result = None
        self._ranked = []
        if self._guides is not None:
            self._guides.forget()
        self.mode = "typing"
        self.build_body()


def _button(automation_id: str, text: str, action, bg=theme.PRIMARY, fg=theme.ON_PRIMARY):
    """A full-width button of the answer area, as tall as its wrapped text."""
    button = Factory.AskButton(text=text, bg_color=bg, fg_color=fg)
    button.automation_id = automation_id
    button.bind(on_release=lambda _widget: action())
    if bg == theme.SURFACE:  # a light button keeps an outline, or it looks like text
        from kivy.graphics import Color, Line

        with button.canvas.after:
            Color(*theme.PRIMARY)
            outline = Line(width=1.5)
        button.bind(pos=lambda w, _v: _outline(w, outline), size=lambda w, _v: _outline(w, outline))
    return button


def _outline(widget, line) -> None:
    from kivy.metrics import dp

    line.rounded_rectangle = (widget.x, widget.y, widget.width, widget.height, dp(12))


Builder.load_file(os.path.join(os.path.dirname(__file__), "ask.kv"))
