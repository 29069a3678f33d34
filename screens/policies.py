"""Policy matching (政策匹配): which benefits this citizen may be entitled to, and why.

The citizen ticks their situations (graduate, unemployed...) and may read their ID card for
age, gender and area; :mod:`kiosk.finding.policy_match` does the matching, offline. Each
result says in plain words what is met and what is still open ("read your card", "tick
this"), and leads to the matter's office guide.

Only the profile drawn from the card is kept (age, gender, area), never the person: the
screen shows neither the ID number nor the birth date, and :meth:`PolicyScreen.reset`
forgets the profile and the ticks when the visit ends.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty

from kiosk.applying.applicant import Applicant
from kiosk.finding.knowledge import MET, MISSING, NOT_MET, Check, KnowledgeBase
from kiosk.finding.policy_match import (
    MATCH,
    TAGS,
    MatchResult,
    PolicyMatch,
    Profile,
    area_name,
    match_policies,
    profile_of_person,
)
from screens import theme
from screens.entry import CheckRow
from screens.i18n import tr
from screens.widgets import KioskScreen

SAMPLE_MARK = "【示例】"


class PolicyScreen(KioskScreen):
    """Profile (card and ticked tags) on one side, the matching policies on the other."""

    profile_text = StringProperty("")
    card_read = BooleanProperty(False)

    def __init__(self, **kwargs) -> None:
        self._card = Profile()  # age, gender, area from a card read in this visit
        self._knowledge: KnowledgeBase | None = None
        self.result: MatchResult | None = None
        self._rows: dict[str, CheckRow] = {}
        super().__init__(**kwargs)

    # -- what the citizen told ---------------------------------------------------------------
    @property
    def tags(self) -> frozenset[str]:
        """The situations ticked now."""
        return frozenset(tag for tag, row in self._rows.items() if row.checked)

    @property
    def profile(self) -> Profile:
        """What the matching uses: the card's facts and the ticks."""
        return self._card.with_tags(self.tags)

    def read_card(self) -> None:
        """"Read my ID card": the identify screen, for the profile only (role "profile")."""
        app = App.get_running_app()
        app.screen("identify").role = "profile"
        app.show("identify")

    def identified(self, person: Applicant) -> None:
        """The identify screen read a card: keep its age, gender and area, forget the rest,
        and come back here."""
        self._card = profile_of_person(person)
        app = App.get_running_app()
        if app.manager.current != self.name:
            if app.history and app.history[-1] == self.name:
                app.back()
            else:
                app.show(self.name, remember=False)
        self.refresh()
        app.say(self.spoken_text())

    def forget_card(self) -> None:
        """The citizen takes the card's facts back; the ticks stay."""
        self._card = Profile()
        self.refresh()

    def _ticked(self, _row, _checked) -> None:
        self._refresh_soon()

    # -- knowledge and matching ----------------------------------------------------------------
    def knowledge(self) -> KnowledgeBase:
        """The policies of this kiosk's database (the shipped samples until a sync)."""
        if self._knowledge is None:
            self._knowledge = KnowledgeBase(self.services.config.storage.database)
        return self._knowledge

    def refresh(self, *_args) -> None:
        """Match again and show the profile and the results in the current language."""
        self.card_read = self._card.from_card
        self.profile_text = self._profile_words()
        self.result = match_policies(self.knowledge().policies(), self.profile)
        self._build_results()

    def open_guide(self, match: PolicyMatch) -> None:
        """The office guide of the policy's matter."""
        code = match.policy.item_code
        matter = self.services.catalog.matter(code) if code else None
        if matter is not None:
            App.get_running_app().open_matter(matter)

    # -- words -----------------------------------------------------------------------------------
    def _profile_words(self) -> str:
        card = self._card
        if not card.from_card:
            return tr._("Your age, gender and area are not known yet. Read your ID card to check them; nothing is stored.")  # noqa: E501
        parts = [tr._("{age} years old").format(age=card.age) if card.age is not None
                 else tr._("age not known"),
                 gender_words(card.gender) if card.gender else tr._("gender not known"),
                 area_words(card.area_code) if card.area_code else tr._("area not known")]
        return tr._("From your ID card: {facts}").format(facts=tr._(", ").join(parts))

    def _build_results(self) -> None:
        results = self.ids.results
        results.clear_widgets()
        for widget in self._result_widgets():
            results.add_widget(widget)
        self.ids.results_view.scroll_y = 1

    def _result_widgets(self) -> list:
        result = self.result
        if result is None:
            return []
        full = len(result.full)
        if not result.shown:
            heading = tr._("No policy on this kiosk matches what you told us. Staff can tell you about other support.")  # noqa: E501
        elif full:
            heading = tr._("Policies that match you: {count}").format(count=full)
        elif not self._card.from_card and not self.tags:
            heading = tr._("Read your ID card and tick what applies to you. Policies that may match:")  # noqa: E501
        else:
            heading = tr._("No policy fully matches yet. These may match:")
        widgets = [Factory.PolicyTitle(text=heading)]
        widgets += [self._card_for(match) for match in result.shown]
        if result.ruled_out:
            widgets.append(Factory.PolicyNote(text=tr._(
                "{count} other policies do not apply to your age, gender or area.").format(
                count=len(result.ruled_out))))
        return widgets

    def _card_for(self, match: PolicyMatch):
        policy = match.policy
        card = Factory.PolicyCard()
        card.automation_id = f"policy_{policy.id}"
        card.add_widget(Factory.PolicyTitle(text=policy.title))
        status = tr._("You meet every condition") if match.status == MATCH else \
            tr._("May match: still to check")
        card.add_widget((Factory.PolicyMet if match.status == MATCH else Factory.PolicyOpen)(
            text=status, bold=True))
        card.add_widget(Factory.PolicyText(text=tr._("Benefit: {benefit}").format(
            benefit=policy.benefit)))
        card.add_widget(Factory.PolicyNote(text=tr._("Department: {department}").format(
            department=policy.department)))
        card.add_widget(Factory.PolicyNote(text=policy.summary))
        for check in match.reasons:
            card.add_widget(Factory.PolicyMet(text=check_words(check)))
        for check in match.missing:
            card.add_widget(Factory.PolicyOpen(text=check_words(check)))
        if SAMPLE_MARK in policy.title or SAMPLE_MARK in policy.summary:
            card.add_widget(Factory.PolicySample(text=tr._(
                "Sample policy from demonstration content, not a real benefit.")))
        code = policy.item_code
        if code and self.services.catalog.matter(code) is not None:
            button = Factory.PolicyButton(text=tr._("How to apply: office guide"),
                                          bg_color=theme.PRIMARY)
            button.automation_id = f"policy_guide_{policy.id}"
            button.bind(on_release=lambda _w, match=match: self.open_guide(match))
            card.add_widget(button)
        else:
            card.add_widget(Factory.PolicyNote(text=tr._(
                "Ask at the service counter how to apply.")))
        return card

    def spoken_text(self) -> str:
        """The title and the policies shown, best first (never the card's facts)."""
        result = self.result
        if result is None:
            return self.title
        full = len(result.full)
        parts = [self.title,
                 tr._("Policies that match you: {count}").format(count=full) if full
                 else tr._("No policy fully matches yet. These may match:"),
                 *(match.policy.title for match in result.shown[:5])]
        return "\n".join(parts)

    # -- lifecycle -------------------------------------------------------------------------------
    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        self._refresh_soon = Clock.create_trigger(self.refresh)
        grid = self.ids.tag_grid
        for tag in TAGS:
            row = CheckRow(text=tag_words(tag))
            row.automation_id = f"tag_{tag}"
            row.bind(checked=self._ticked)
            self._rows[tag] = row
            grid.add_widget(row)
        App.get_running_app().bind(text_scale=self._refresh_soon)

    def on_pre_enter(self, *args) -> None:
        self.refresh()

    def on_language(self, language: str) -> None:
        for tag, row in self._rows.items():
            row.text = tag_words(tag)
        self.refresh()

    def reset(self) -> None:
        """Forget the card's facts and the ticks (visit ended)."""
        self._card = Profile()
        for row in self._rows.values():
            row.checked = False
        self._refresh_soon.cancel()
        self.refresh()


# -- plain words for the rules, in the current language -----------------------------------------


def tag_words(tag: str) -> str:
    """A situation as the citizen ticks it; an unknown tag as it came."""
    return {
        "graduate": tr._("College graduate"),
        "unemployed": tr._("Out of work"),
        "disabled": tr._("Living with a disability"),
        "elderly_carer": tr._("Caring for an elderly family member"),
        "small_business": tr._("Running a small business or self-employed"),
        "veteran": tr._("Veteran (retired from the armed forces)"),
        "low_income": tr._("Low-income household"),
    }.get(tag, tag)


def gender_words(gender: str) -> str:
    """男/女 as a word of the current language."""
    return {"男": tr._("man"), "女": tr._("woman")}.get(gender, gender)


def area_words(code: str) -> str:
    """An area by name when the kiosk knows it, else its code."""
    return area_name(code, tr.language) or code


def age_words(check: Check) -> str:
    """The age range of a rule."""
    low, high = check.age_min, check.age_max
    if low is not None and high is not None:
        return tr._("Age {low} to {high}").format(low=low, high=high)
    if low is not None:
        return tr._("Age {low} or over").format(low=low)
    return tr._("Age {high} or under").format(high=high)


def rule_words(check: Check) -> str:
    """What a rule asks, without its state."""
    if check.rule == "age":
        return age_words(check)
    if check.rule == "gender":
        return tr._("For women") if check.gender == "女" else tr._("For men") \
            if check.gender == "男" else check.gender or ""
    if check.rule == "area":
        return tr._("Area: {area}").format(area=area_words(check.area_prefix or ""))
    return " / ".join(tag_words(tag) for tag in check.tags)


def check_words(check: Check) -> str:
    """One line of a result: the rule and how it stands for this citizen."""
    rule = rule_words(check)
    if check.state == MET:
        return tr._("{rule}: met").format(rule=rule)
    if check.state == NOT_MET:
        return tr._("{rule}: not met").format(rule=rule)
    if check.state == MISSING:
        return tr._("Needs: {rule} (tick it if it applies to you)").format(rule=rule)
    return tr._("{rule}: not known yet, read your ID card to check").format(rule=rule)


Builder.load_file(os.path.join(os.path.dirname(__file__), "policies.kv"))
