"""The application form, built from the matter's FORM and pre-filled.

Every field the card, the e-ID or an e-licence could fill is filled already and carries a
small badge saying where its value came from; the citizen only adds what is missing. Text
fields type with the pinyin keyboard, numbers with the keypad, choices are large buttons and
a promise is one tick. A field's problem is said beside it in plain words when the citizen
leaves it or presses Next, never while they are still typing.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder

from kiosk.applying.forms import FormField, check_value
from screens.composer import Composer
from screens.entry import CheckRow, ChoiceRow, FieldRow, pinyin_engine
from screens.i18n import N_, tr
from screens.widgets import KioskScreen

CARD_ONLY = {"idcard.birth_date", "idcard.gender", "idcard.issuer", "idcard.valid_from",
             "idcard.valid_to"}
"""Card facts never shown beside the (masked) ID number: with it they would narrow the
hidden digits down to a few thousand (see drivers.idcard.identity.SHOWN_BESIDE_MASKED)."""

AGENT_PHONE = "agent_phone"
"""The row for the agent's own mobile number (the contract's applicant.agent.phone)."""
AGENT_PHONE_FIELD = FormField(AGENT_PHONE, "代办人手机号码",
                              "Your mobile phone (you apply on their behalf)", "phone",
                              required=True)

BADGES = {
    "idcard": N_("From ID card"),
    "ecode": N_("From e-ID code"),
    "licence": N_("From e-licence"),
}
"""Badge message ids by value source; typed values carry none."""


def shown_value(item: FormField, value: str, source: str) -> tuple[str, bool]:
    """What the screen shows for a field's value, and whether the citizen may edit it.

    An ID number is shown masked; one read from the card or the e-ID, and the card facts
    that must not stand beside it, are read-only and said in words instead of shown.
    """
    from_card = source in ("idcard", "ecode")
    if item.prefill in CARD_ONLY and value:
        return tr._("Read from your ID card") if from_card else tr._("Filled in"), not from_card
    if item.type == "id_number" and value:
        from kiosk.applying.applicant import mask_number

        return mask_number(value), not from_card
    return value, True


class FormScreen(KioskScreen):
    """One row per field of the draft's form, the keyboard pad below."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._form_key: tuple | None = None
        self._rows: dict[str, object] = {}
        self._composers: dict[str, Composer] = {}
        self._editing: str | None = None

    @property
    def draft(self):
        return self.services.session.draft

    def on_pre_enter(self, *args) -> None:
        draft = self.draft
        if draft is None or draft.form is None:
            return
        self.title = draft.matter.name
        key = (draft.form.form_id, draft.form.version, tr.language, draft.agent is not None)
        if key != self._form_key:
            self._build(draft.form.fields)
            self._form_key = key
        for item in draft.form.fields:
            self._show_value(item)
        if AGENT_PHONE in self._rows:
            self._rows[AGENT_PHONE].value = draft.agent_phone
        self._edit(None)

    def _build(self, fields: tuple[FormField, ...]) -> None:
        box = self.ids.fields
        box.clear_widgets()
        self.ids.scroller.scroll_y = 1
        self._rows.clear()
        self._composers.clear()
        language = tr.language
        if self.draft.agent is not None:
            fields = (AGENT_PHONE_FIELD, *fields)
        for item in fields:
            label = item.label(language)
            if item.type == "choice":
                row = ChoiceRow(label=label, field_name=f"field_{item.name}",
                                choices=list(item.choices))
                row.on_choose = lambda choice, name=item.name: self._chosen(name, choice)
            elif item.type == "checkbox":
                row = CheckRow(text=label, field_name=f"field_{item.name}")
                row.bind(checked=lambda widget, ticked, name=item.name:
                         self._ticked(name, ticked))
            else:
                row = FieldRow(label=label, required=item.required,
                               field_name=f"field_{item.name}",
                               hint=tr._("Tap here to fill in"))
                row.bind(on_release=lambda _row, name=item.name: self._edit(name))
            row.automation_id = f"field_{item.name}"
            self._rows[item.name] = row
            box.add_widget(row)

    def _field(self, name: str) -> FormField:
        return AGENT_PHONE_FIELD if name == AGENT_PHONE else self.draft.form.field(name)

    def _problems(self) -> dict[str, str]:
        """Field problems of the draft, the agent's phone first."""
        draft = self.draft
        found = {}
        if draft.agent is not None:
            problem = check_value(AGENT_PHONE_FIELD, draft.agent_phone)
            if problem:
                found[AGENT_PHONE] = problem
        return found | draft.problems()

    def _show_value(self, item: FormField) -> None:
        draft, row = self.draft, self._rows[item.name]
        value = draft.values.get(item.name, "")
        badge = BADGES.get(draft.sources.get(item.name, ""), "")
        row.badge = tr._(badge) if badge else ""
        if isinstance(row, CheckRow):
            row.checked = value == "1"
        elif isinstance(row, ChoiceRow):
            row.value = value
            shown, editable = shown_value(item, value, draft.sources.get(item.name, ""))
            row.locked = "" if editable else shown
        else:
            row.value, row.editable = shown_value(item, value, draft.sources.get(item.name, ""))

    # -- editing ---------------------------------------------------------------------------
    def _edit(self, name: str | None) -> None:
        """Type into field ``name`` (None: no field, the keyboard is hidden)."""
        previous = self._editing
        if previous is not None and previous != name:
            self._check(previous)
            row = self._rows.get(previous)
            if isinstance(row, FieldRow):
                row.active = False
                if previous != AGENT_PHONE:
                    self._show_value(self._field(previous))
        self._editing = name
        pad = self.ids.pad
        if name is None:
            pad.attach(None)
            return
        item = self._field(name)
        if not self._rows[name].editable:  # read from the card: nothing to type
            self._editing = None
            pad.attach(None)
            return
        composer = self._composers.get(name)
        if composer is None:
            kind = "numeric" if item.keyboard() == "numeric" else "pinyin"
            composer = Composer(pinyin_engine, chinese=kind == "pinyin",
                                max_length=item.max_length)
            composer.kind = kind
            self._composers[name] = composer
        composer.set(self.draft.agent_phone if name == AGENT_PHONE else
                     self.draft.values.get(name, ""))
        row = self._rows[name]
        row.active = True
        row.message = ""
        pad.attach(composer, composer.kind, lambda value: self._typed(name, value))
        Clock.schedule_once(lambda _dt: self._scroll_to(row), 0)

    def _scroll_to(self, row) -> None:
        """Bring ``row`` into view, if it is still on the form (the visit may have ended)."""
        scroller, fields = self.ids.scroller, self.ids.fields
        if row.parent is not fields.__self__:
            return
        if fields.height <= scroller.height:
            scroller.scroll_y = 1  # it all fits: scrolling would only push it down
        else:
            scroller.scroll_to(row, padding=20)

    def _typed(self, name: str, value: str) -> None:
        if name == AGENT_PHONE:
            self.draft.agent_phone = value
        else:
            self.draft.set_value(name, value)
        row = self._rows[name]
        row.value = value  # shown as typed while typing; masked when the field is left
        row.badge = ""

    def _chosen(self, name: str, choice: str) -> None:
        self.draft.set_value(name, choice)
        self._rows[name].badge = ""
        self._rows[name].message = ""
        self._edit(None)

    def _ticked(self, name: str, ticked: bool) -> None:
        if self.draft is None or self.draft.form is None:
            return
        if (self.draft.values.get(name) == "1") != ticked:
            self.draft.set_value(name, "1" if ticked else "")
        self._rows[name].message = ""

    def _check(self, name: str) -> str | None:
        problem = self._problems().get(name)
        self._rows[name].message = tr._(problem) if problem else ""
        return problem

    def next(self) -> None:
        """Next: every field checked; the first with a problem is shown, else go on."""
        self._edit(None)
        problems = self._problems()
        for name, row in self._rows.items():
            row.message = tr._(problems[name]) if name in problems else ""
        if problems:
            first = self._rows[next(iter(problems))]
            Clock.schedule_once(lambda _dt: self._scroll_to(first), 0)
            App.get_running_app().say(tr._("Some answers are missing or need a correction. They are marked in red."))  # noqa: E501
            return
        App.get_running_app().flow.form_done()

    def spoken_text(self) -> str:
        """The matter and what to do; never the values (they are personal)."""
        return self.title + "\n" + tr._("Check the answers filled in from your card and add what is missing, then press Next.")  # noqa: E501

    def on_language(self, language: str) -> None:
        self.ids.pad.on_language(language)
        if self.manager is not None and self.manager.current == self.name:
            self.on_pre_enter()

    def reset(self) -> None:
        """Nothing the citizen typed remains in the widgets (visit ended)."""
        self._editing = None
        self.ids.pad.attach(None)
        self.ids.fields.clear_widgets()
        self.ids.scroller.scroll_y = 1
        self._rows.clear()
        self._composers.clear()
        self._form_key = None
        self.title = ""


Builder.load_file(os.path.join(os.path.dirname(__file__), "form.kv"))
