"""Review: every answer on one page, each part changeable, the delivery, and consent.

Nothing is sent until the citizen has seen it all and ticked the consent to the use of the
data. ID numbers stay masked here too (the citizen checks the last digits; the whole number
was on screen while it was typed or read from their own card).
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from screens.form import shown_value
from screens.i18n import tr
from screens.materials import material_state
from screens.widgets import KioskScreen


class ReviewSection(BoxLayout):
    """A titled block of lines with a "Change" button that returns to where they were given."""

    heading = StringProperty("")
    body = StringProperty("")
    target = StringProperty("")  # the screen to change them on; empty: not changeable here


class ReviewScreen(KioskScreen):
    """The summary, the delivery choice and the consent; Submit seals the application."""

    consent = BooleanProperty(False)
    delivery_method = StringProperty("pickup")
    pickup_text = StringProperty("")
    express_allowed = BooleanProperty(True)
    pickup_allowed = BooleanProperty(True)

    def on_pre_enter(self, *args) -> None:
        draft = self.services.session.draft
        if draft is None:
            return
        self.title = tr._("Check and submit")
        language = tr.language
        sections: list[tuple[str, str, str, str]] = []
        who = [f"{draft.applicant.name}  {draft.applicant.masked_number()}"] \
            if draft.applicant else []
        if draft.agent is not None:
            who.append(tr._("Applying on their behalf: {name} {number}").format(
                name=draft.agent.name, number=draft.agent.masked_number()))
        sections.append(("review_applicant", tr._("Applicant"), "\n".join(who), "identify"))
        answers = []
        for item in draft.form.fields if draft.form else ():
            value = draft.values.get(item.name, "")
            if item.type == "checkbox":
                value = tr._("Yes") if value == "1" else tr._("No")
            else:
                value = shown_value(item, value, draft.sources.get(item.name, ""))[0]
            answers.append(f"{item.label(language)}: {value or '-'}")
        sections.append(("review_form", tr._("Form"), "\n".join(answers), "form"))
        lines = [f"{need.name}: {material_state(need.how, len(draft.captured.get(need.name, ())), need.pages)}"  # noqa: E501
                 for need in draft.materials]
        if draft.face_still:
            lines.append(tr._("A photo for the record: taken"))
        sections.append(("review_materials", tr._("Materials"),
                         "\n".join(lines) or tr._("None needed"),
                         "materials" if draft.materials else ""))
        box = self.ids.sections
        box.clear_widgets()
        for automation_id, heading, body, target in sections:
            section = ReviewSection(heading=heading, body=body, target=target)
            section.ids.change.automation_id = f"{automation_id}_change"
            box.add_widget(section)
        self._show_delivery()
        self.consent = draft.consent

    def _show_delivery(self) -> None:
        draft = self.services.session.draft
        guide = self.services.catalog.guide(draft.matter.item_code)
        offered = guide.delivery if guide and guide.delivery else ("pickup",)
        self.pickup_allowed = "pickup" in offered
        self.express_allowed = "express" in offered
        hall = guide.locations[0].hall if guide and guide.locations else \
            self.services.config.kiosk.hall
        self.pickup_text = tr._("Pick up the result at {hall}").format(hall=hall)
        if draft.delivery.get("method") == "pickup" and hall:
            draft.delivery = {"method": "pickup", "hall": hall}
        if not self.pickup_allowed and draft.delivery.get("method") != "express":
            draft.delivery = {"method": "express"}
        self.delivery_method = draft.delivery.get("method", "pickup")
        express = draft.delivery
        self.ids.express_summary.text = (
            tr._("Sent to {recipient}, phone {phone}").format(
                recipient=express.get("recipient", ""), phone=express.get("phone", ""))
            + "\n" + express.get("address", "")) if self.delivery_method == "express" and \
            express.get("address") else ""

    def choose_pickup(self) -> None:
        """The result is collected at the hall."""
        draft = self.services.session.draft
        draft.delivery = {"method": "pickup"}
        self._show_delivery()

    def choose_express(self) -> None:
        """Express delivery: recipient, phone and address on the delivery screen."""
        App.get_running_app().show("delivery")

    def set_consent(self, given: bool) -> None:
        """The consent box was ticked or unticked."""
        draft = self.services.session.draft
        self.consent = given
        if draft is not None:
            draft.consent = given

    def submit(self) -> None:
        """Seal and print (the done screen does both)."""
        if not self.consent:
            return
        App.get_running_app().flow.submit()

    def spoken_text(self) -> str:
        return self.title + "\n" + tr._("Check your answers. Tick the box to agree to the use of your data, then press Submit.")  # noqa: E501

    def on_language(self, language: str) -> None:
        if self.manager is not None and self.manager.current == self.name:
            self.on_pre_enter()

    def reset(self) -> None:
        """Nothing of the visit remains on screen."""
        self.ids.sections.clear_widgets()
        self.ids.express_summary.text = ""
        self.consent = False
        self.delivery_method = "pickup"
        self.pickup_text = ""


Builder.load_file(os.path.join(os.path.dirname(__file__), "review.kv"))
