"""Express delivery of the result: who receives it, their phone and the address.

Pre-filled from what the citizen already gave (the applicant's name, the form's phone and
address), so most citizens only check them. Picking the result up at the hall needs
nothing here: that is one tap on the review screen.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import StringProperty

from kiosk.applying.forms import MOBILE
from screens.composer import Composer
from screens.entry import pinyin_engine
from screens.i18n import tr
from screens.widgets import KioskScreen

FIELDS = ("recipient", "phone", "address")


class DeliveryScreen(KioskScreen):
    """Three fields and the keyboard; "Send it to this address" returns to the review."""

    recipient = StringProperty("")
    phone = StringProperty("")
    address = StringProperty("")
    recipient_message = StringProperty("")
    phone_message = StringProperty("")
    address_message = StringProperty("")
    editing = StringProperty("")

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        self._composers = {
            "recipient": Composer(pinyin_engine, chinese=True, max_length=30),
            "phone": Composer(pinyin_engine, chinese=False, max_length=11),
            "address": Composer(pinyin_engine, chinese=True, max_length=120),
        }

    def on_pre_enter(self, *args) -> None:
        self.title = tr._("Express delivery")
        draft = self.services.session.draft
        if draft is None:
            return
        known = draft.delivery if draft.delivery.get("method") == "express" else {}
        values = draft.values
        self.recipient = known.get("recipient") or (draft.applicant.name if draft.applicant
                                                     else "")
        self.phone = known.get("phone") or values.get("phone", "")
        self.address = known.get("address") or values.get("address", "") or (
            draft.applicant.address if draft.applicant else "")
        self.recipient_message = self.phone_message = self.address_message = ""
        self.edit("")

    def edit(self, name: str) -> None:
        """Type into field ``name`` ("" hides the keyboard)."""
        self.editing = name
        pad = self.ids.pad
        if not name:
            pad.attach(None)
            return
        composer = self._composers[name]
        composer.set(getattr(self, name))
        setattr(self, f"{name}_message", "")
        pad.attach(composer, "numeric" if name == "phone" else "pinyin",
                   lambda value: setattr(self, name, value))

    def confirm(self) -> None:
        """Check the three fields; when fine, express delivery is chosen."""
        self.edit("")
        self.recipient_message = "" if self.recipient.strip() else \
            tr._("Please type who receives the result")
        self.phone_message = "" if MOBILE.fullmatch(self.phone.strip()) else \
            tr._("Please type an 11-digit mobile number")
        self.address_message = "" if len(self.address.strip()) >= 6 else \
            tr._("Please type the full address")
        if self.recipient_message or self.phone_message or self.address_message:
            return
        draft = self.services.session.draft
        draft.delivery = {"method": "express", "recipient": self.recipient.strip(),
                          "phone": self.phone.strip(), "address": self.address.strip()}
        App.get_running_app().show("review", remember=False)

    def spoken_text(self) -> str:
        return self.title + "\n" + tr._("Check who receives the result, the phone and the address, then press Send it to this address.")  # noqa: E501

    def on_language(self, language: str) -> None:
        self.ids.pad.on_language(language)

    def reset(self) -> None:
        """Nothing of the visit remains."""
        for composer in self._composers.values():
            composer.reset()
        self.ids.pad.attach(None)
        self.recipient = self.phone = self.address = ""
        self.recipient_message = self.phone_message = self.address_message = ""


Builder.load_file(os.path.join(os.path.dirname(__file__), "delivery.kv"))
