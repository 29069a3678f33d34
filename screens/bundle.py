"""Life-event bundles (一件事一次办): pick a life event, answer a few questions one at a time,
and get every matter it needs with one list of documents to bring, printable as a checklist.

The questions come one per page with large answer buttons and a Back button, because the
citizens this serves best (someone retiring, a new parent) are the least used to forms.
The result keeps each matter one tap from its office guide and says plainly when a guide
is not on the kiosk yet, rather than showing a materials list that looks complete and is
not. Online, the missing guides are fetched once per visit, as the guide screen does, and
the list grows when they arrive. A printer that fails says so and the list stays on screen.
The logic (which matters, the combined list, the slip) is in :mod:`kiosk.finding.bundles`
and :mod:`kiosk.finding.checklist`; this screen only shows it.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, OptionProperty, StringProperty

from kiosk.finding.bundles import Bundle, BundleMatter, bundle_for
from kiosk.finding.checklist import checklist_for
from kiosk.finding.guides import SAMPLE_MARK
from kiosk.finding.knowledge import KnowledgeBase, Scenario
from screens import theme
from screens.done import PRINTER_PROBLEMS
from screens.guide_fetch import GuideFetcher
from screens.i18n import tr
from screens.slip_printing import SlipPrinter
from screens.widgets import KButton, KioskScreen, outline_if_light

log = logging.getLogger(__name__)

ACTIONS = frozenset({"question_back", "bundle_apply_all", "bundle_print", "bundle_restart"})
"""Buttons shown below the scrolled area (always in view) rather than inside it."""
_SIDE = object()
"""In a page's widget list: the rest goes beside the matters in landscape (the documents)."""


class BundleButton(KButton):
    """A full-width button of the page: at least ``min_height``, taller when its text wraps."""

    min_height = NumericProperty(dp(96))


class BundleScreen(KioskScreen):
    """Scenario list -> one question per page -> matters, combined materials, checklist."""

    mode = OptionProperty("list", options=("list", "question", "result"))
    print_state = StringProperty("")  # "" | printing | printed | failed
    print_message = StringProperty("")  # what became of the checklist, in words
    two_columns = BooleanProperty(False)  # landscape result: documents beside the matters

    def __init__(self, **kwargs) -> None:
        self.scenario: Scenario | None = None
        self.answers: dict[str, str] = {}
        self.step = 0  # the question shown, from 0
        self.bundle: Bundle | None = None
        self._knowledge: KnowledgeBase | None = None
        self._guides: GuideFetcher | None = None  # made on first use (needs the services)
        self._printer: SlipPrinter | None = None  # made on first use (needs the services)
        self._problem: str | None = None  # the printer's last problem (PRINTER_PROBLEMS key)
        self._landscape = False  # the orientation the page was built for
        super().__init__(**kwargs)

    def knowledge(self) -> KnowledgeBase:
        """The scenarios of this kiosk's database (the shipped samples until a sync)."""
        if self._knowledge is None:
            self._knowledge = KnowledgeBase(self.services.config.storage.database)
        return self._knowledge

    def scenarios(self) -> list[Scenario]:
        return self.knowledge().scenarios()

    # -- moving through ----------------------------------------------------------------------
    def choose(self, scenario: Scenario) -> None:
        """A life event was tapped: its first question (or its result when it asks none)."""
        self.scenario, self.answers, self.step = scenario, {}, 0
        self._show_question_or_result()

    def answer(self, choice: str) -> None:
        """An answer button was tapped: the next question, or the result after the last."""
        if self.scenario is None or self.mode != "question":
            return
        self.answers[self.scenario.questions[self.step].id] = choice
        self.step += 1
        self._show_question_or_result()

    def go_back(self) -> None:
        """Back one page: the previous question, or the list from the first question."""
        if self.mode == "result" and self.scenario is not None and self.scenario.questions:
            self.step = len(self.scenario.questions) - 1
            self._set_mode("question")
        elif self.mode == "question" and self.step > 0:
            self.step -= 1
            self._set_mode("question")
        else:
            self.restart()

    def restart(self) -> None:
        """"Another life event": the list, with nothing of the last one kept."""
        self.scenario, self.answers, self.step, self.bundle = None, {}, 0, None
        self._clear_print()
        self._set_mode("list")

    def _show_question_or_result(self) -> None:
        if self.scenario is not None and self.step < len(self.scenario.questions):
            self._set_mode("question")
        else:
            self.show_result()

    def show_result(self) -> None:
        """The matters the answers select and their combined materials."""
        if self.scenario is None:
            return
        self.bundle = bundle_for(self.scenario, self.answers, self.services.catalog)
        self._clear_print()
        self._set_mode("result")
        for item in self.bundle.without_guide:
            self._fetch(item.item_code)

    def applicable(self) -> list:
        """The matters of the result this kiosk has an application form for, in order."""
        if self.bundle is None:
            return []
        catalog = self.services.catalog
        return [m.matter for m in self.bundle.matters
                if catalog.form_document(m.item_code)[0] is not None]

    def apply_all(self) -> None:
        """"Apply for all": the apply journey for each matter with a form, one after another,
        the identity read once (kept for this visit only)."""
        matters = self.applicable()
        if matters:
            App.get_running_app().flow.start_bundle(matters)

    def open_matter(self, item: BundleMatter) -> None:
        """A matter of the result was tapped: its office guide (Back returns here)."""
        App.get_running_app().open_matter(item.matter)

    def _set_mode(self, mode: str) -> None:
        if self.mode == mode:
            self.build_body()
        self.mode = mode
        self.say(self.spoken_text())

    # -- guides not on the kiosk yet ------------------------------------------------------------
    def _fetch(self, code: str) -> None:
        """Online, a missing guide is fetched once per visit; the list grows when it arrives."""
        if self._guides is None:
            self._guides = GuideFetcher(self.services, self._fetched)
        self._guides.fetch(code)

    def _fetched(self, code: str, stored: bool) -> None:
        bundle = self.bundle
        if stored and self.mode == "result" and bundle is not None and \
                any(m.item_code == code for m in bundle.without_guide):
            self.bundle = bundle_for(bundle.scenario, bundle.answers, self.services.catalog)
            self.build_body()

    # -- printing ------------------------------------------------------------------------------
    def print_checklist(self) -> None:
        """Print the checklist on the receipt printer (seconds: on a worker thread)."""
        if self.bundle is None or self.print_state == "printing":
            return
        slip = checklist_for(self.bundle, hall=self.services.config.kiosk.hall,
                             printed_at=datetime.now().strftime("%Y-%m-%d %H:%M"))
        self._show_print("printing")
        if self._printer is None:
            self._printer = SlipPrinter(self.services.devices, self._printed, "print-checklist")
        self._printer.print(slip)

    def _printed(self, outcome) -> None:
        self._show_print("printed" if outcome.printed else "failed", outcome.problem)
        self.say(self.print_message)

    def _show_print(self, state: str, problem: str | None = None) -> None:
        self.print_state, self._problem = state, problem
        if state == "printing":
            self.print_message = tr._("Printing your checklist...")
        elif state == "printed":
            self.print_message = tr._("Your checklist is printed. Please take it from the slot below the screen.")  # noqa: E501
        elif state == "failed":
            text = PRINTER_PROBLEMS.get(problem or "failed", PRINTER_PROBLEMS["failed"])
            self.print_message = tr._(text) + " " + tr._("The list stays on the screen: you can photograph it or ask staff for help.")  # noqa: E501
        else:
            self.print_message = ""

    def _clear_print(self) -> None:
        if self._printer is not None:  # a slip of an ended visit must not report on the next
            self._printer.forget()
        self._show_print("")

    # -- what is shown ---------------------------------------------------------------------------
    def on_mode(self, _screen, _mode: str) -> None:
        self.build_body()

    def build_body(self, *_args) -> None:
        """Fill the page for the current mode, in the current language."""
        body, side, actions = self.ids.body, self.ids.side, self.ids.actions
        for box in (body, side, actions):
            box.clear_widgets()
        self._landscape = self.width > self.height
        self.two_columns = self.mode == "result" and self._landscape
        builder = {"list": self._list, "question": self._question,
                   "result": self._result}[self.mode]
        target = body
        for widget in builder():
            if widget is _SIDE:  # what follows is the documents list
                target = side if self.two_columns else body
            elif getattr(widget, "automation_id", "") in ACTIONS:
                actions.add_widget(widget)
            else:
                target.add_widget(widget)
        self.ids.body_view.scroll_y = self.ids.side_view.scroll_y = 1

    def _orientation_changed(self, *_args) -> None:
        if (self.width > self.height) != self._landscape:
            self.build_body()

    def _list(self) -> list:
        widgets = [Factory.BundleText(text=tr._("Choose a life event. A few questions, then every service it needs and one list of documents to bring."))]  # noqa: E501
        # landscape: two columns of life events, so that all fit without scrolling
        grid = Factory.BundleGrid(cols=2 if self.width > self.height else 1)
        for scenario in self.scenarios():
            covers = tr._("{questions} short questions, up to {matters} services").format(
                questions=len(scenario.questions), matters=len(scenario.matters))
            grid.add_widget(_button(f"scenario_{scenario.id}", f"{scenario.title}\n{covers}",
                                    lambda s=scenario: self.choose(s), theme.SURFACE,
                                    theme.PRIMARY, font_size=theme.FONT_LARGE))
        widgets.append(grid)
        if any(SAMPLE_MARK in s.title for s in self.scenarios()):
            widgets.append(Factory.BundleSample(text=tr._("Sample life events from demonstration content, not real guidance.")))  # noqa: E501
        return widgets

    def _question(self) -> list:
        scenario = self.scenario
        question = scenario.questions[self.step]
        chosen = self.answers.get(question.id)
        widgets = [Factory.BundleNote(text=scenario.title),
                   Factory.BundleNote(text=tr._("Question {number} of {count}").format(
                       number=self.step + 1, count=len(scenario.questions))),
                   Factory.BundleTitle(text=question.text)]
        for number, choice in enumerate(question.choices, start=1):
            widgets.append(_button(f"choice_{number}", choice,
                                   lambda c=choice: self.answer(c),
                                   theme.SUCCESS if choice == chosen else theme.PRIMARY,
                                   font_size=theme.FONT_LARGE, height=112))
        widgets.append(_button("question_back", tr._("Previous step"), self.go_back,
                               theme.SURFACE, theme.PRIMARY))
        return widgets

    def _result(self) -> list:
        bundle = self.bundle
        widgets = [Factory.BundleTitle(text=bundle.scenario.title)]
        if bundle.matters:
            widgets.append(Factory.BundleText(text=tr._("You need these {count} services. Tap one to see its office guide.").format(count=len(bundle.matters))))  # noqa: E501
        elif not bundle.elsewhere:  # (else the note below says where they are done)
            widgets.append(Factory.BundleText(text=tr._("No service of this kiosk's catalogue matches your answers. Please ask staff.")))  # noqa: E501
        for number, item in enumerate(bundle.matters, start=1):
            text = f"{number}. {item.matter.name}\n{item.matter.department}"
            if item.guide is None:
                text += "\n" + tr._("Materials: see its office guide")
            widgets.append(_button(f"bundle_matter_{number}", text,
                                   lambda m=item: self.open_matter(m), theme.SURFACE,
                                   theme.PRIMARY))
        if bundle.unknown_codes:
            widgets.append(Factory.BundleNote(text=tr._("{count} more services of this life event are not in this kiosk's catalogue: please ask at the counter.").format(count=len(bundle.unknown_codes))))  # noqa: E501
        if bundle.elsewhere:
            widgets.append(Factory.BundleNote(text=self._elsewhere_text(bundle.elsewhere)))
        widgets.append(_SIDE)
        if bundle.materials:
            widgets.append(Factory.BundleTitle(text=tr._("Documents to bring, one list for all")))
            widgets += [Factory.BundleText(text=self._material_text(m)) for m in bundle.materials]
        if bundle.without_guide:
            numbers = _join(str(bundle.number_of(m.item_code)) for m in bundle.without_guide)
            widgets.append(Factory.BundleNote(text=tr._("Services {numbers}: their office guides are not on this kiosk yet. Tap a service to see what it needs.").format(numbers=numbers)))  # noqa: E501
        if bundle.is_sample:
            widgets.append(Factory.BundleSample(text=tr._("Sample life events from demonstration content, not real guidance.")))  # noqa: E501
        here = self.applicable()
        if here:
            if len(here) < len(bundle.matters):
                widgets.append(Factory.BundleNote(text=tr._("The other services cannot be applied for at this kiosk: take the checklist to the counter.")))  # noqa: E501
            text = tr._("Apply here for {matter}").format(matter=here[0].name) if len(here) == 1 \
                else tr._("Apply here for all {count} services, one after another").format(count=len(here))  # noqa: E501
            widgets.append(_button("bundle_apply_all", text, self.apply_all, theme.SUCCESS))
        widgets.append(_button("bundle_print", tr._("Print checklist"), self.print_checklist,
                               theme.PRIMARY if here else theme.SUCCESS))
        widgets.append(_button("bundle_restart", tr._("Another life event"), self.restart,
                               theme.SURFACE, theme.PRIMARY))
        return widgets

    def _elsewhere_text(self, matters) -> str:
        """The selected services this site does not offer, and where they are done."""
        site = App.get_running_app().site
        halls = site.where_else() if site else ()
        lines = [tr._("Also part of this life event, not offered at this kiosk:"),
                 *(f"• {matter.name}" for matter in matters)]
        lines.append(tr._("They can be done at:") + "\n" + "\n".join(halls) if halls
                     else tr._("Please ask staff where they can be done."))
        return "\n".join(lines)

    def _material_text(self, material) -> str:
        parts = [f"• {material.name}"]
        if material.copies > 1:
            parts.append(f"×{material.copies}")
        if material.original:
            parts.append(tr._("(original)"))
        numbers = _join(str(self.bundle.number_of(code)) for code in material.item_codes)
        return " ".join(parts) + "\n    " + tr._("for services {numbers}").format(numbers=numbers)

    def material_lines(self) -> list[str]:
        """The combined list as shown (tests and spoken text read it)."""
        return [self._material_text(m) for m in self.bundle.materials] if self.bundle else []

    def spoken_text(self) -> str:
        """The page: the question and its answers, or the matters and the documents."""
        if self.mode == "question" and self.scenario is not None:
            question = self.scenario.questions[self.step]
            parts = [self.scenario.title, question.text, *question.choices]
        elif self.mode == "result" and self.bundle is not None:
            parts = [self.bundle.scenario.title, *(m.matter.name for m in self.bundle.matters),
                     tr._("Documents to bring, one list for all"), *self.material_lines()]
        else:
            parts = [self.title, *(s.title for s in self.scenarios())]
        return "\n".join(part for part in parts if part)

    def say(self, text: str) -> None:
        app = App.get_running_app()
        if app is not None and hasattr(app, "say") and self.manager is not None and \
                self.manager.current == self.name:
            app.say(text)

    # -- lifecycle -----------------------------------------------------------------------------
    def on_pre_enter(self, *args) -> None:
        if self.mode == "result" and self.bundle is not None:  # back from a guide: fresher
            self.bundle = bundle_for(self.bundle.scenario, self.bundle.answers,
                                     self.services.catalog)
        self.build_body()

    def on_language(self, language: str) -> None:
        self._show_print(self.print_state, self._problem)
        self.build_body()

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        App.get_running_app().bind(text_scale=Clock.create_trigger(self.build_body))
        self.bind(size=Clock.create_trigger(self._orientation_changed))
        self.build_body()

    def reset(self) -> None:
        """Forget the life event, the answers and the list (visit ended)."""
        self.scenario, self.answers, self.step, self.bundle = None, {}, 0, None
        if self._guides is not None:
            self._guides.forget()
        self._clear_print()
        self.mode = "list"
        self.build_body()


def _join(numbers) -> str:
    """Matter numbers as a list: 1、2、3 in Chinese, 1, 2, 3 in English."""
    return ("、" if tr.language.startswith("zh") else ", ").join(numbers)


def _button(automation_id: str, text: str, action, bg=theme.PRIMARY, fg=theme.ON_PRIMARY, *,
            font_size=theme.FONT_BODY, height: int = 96):
    """A full-width button, at least ``height`` dp and as tall as its wrapped text."""
    button = BundleButton(text=text, bg_color=bg, fg_color=fg, font_size=font_size,
                                  min_height=dp(height))
    button.automation_id = automation_id
    button.bind(on_release=lambda _widget: action())
    outline_if_light(button, bg)
    return button


Builder.load_file(os.path.join(os.path.dirname(__file__), "bundle.kv"))
