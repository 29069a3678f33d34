"""The application being built during one visit, from "Apply" to "Submit".

Screens come and go (identify, form, materials, delivery, review); the draft is what they
share. It holds personal data only in memory, shows none in its ``repr``, and
:meth:`ApplyDraft.wipe` drops every reference when the visit ends. :meth:`to_application`
turns a finished draft into the :class:`NewApplication` that
:meth:`ApplicationService.submit` seals, and refuses an unfinished one by naming the parts
still missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.applying.applicant import Applicant
from kiosk.applying.applications import ApplicationError, NewApplication, NewAttachment
from kiosk.applying.forms import (
    MOBILE,
    Form,
    FormField,
    LicenceLike,
    check_value,
    normalize_value,
    prefill,
)
from kiosk.applying.materials import MaterialNeed
from kiosk.models import Matter

__all__ = ["FACE_ATTACHMENT", "ApplyDraft", "DraftIncomplete"]

FACE_ATTACHMENT = "face_presence"
"""The attachment name of the live still photo a form with ``face_presence`` asks for."""
JPEG = "image/jpeg"


class DraftIncomplete(ApplicationError):
    """A draft that cannot be submitted yet; ``parts`` names what is missing or wrong
    ("applicant", "form.phone", "materials.户口簿", "face_presence", "agent.phone",
    "consent"), never the data."""

    def __init__(self, parts: list[str]) -> None:
        super().__init__("not finished: " + ", ".join(parts))
        self.parts = tuple(parts)


def _pickup() -> dict[str, Any]:
    return {"method": "pickup"}


@dataclass(repr=False)
class ApplyDraft:
    """Everything the citizen has given so far for one matter."""

    matter: Matter
    form: Form | None = None
    applicant: Applicant | None = None
    agent: Applicant | None = None
    agent_phone: str = ""
    licences: list[LicenceLike] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    materials: tuple[MaterialNeed, ...] = ()
    captured: dict[str, list[bytes]] = field(default_factory=dict)
    face_still: bytes | None = None
    delivery: dict[str, Any] = field(default_factory=_pickup)
    consent: bool = False

    def __repr__(self) -> str:
        """What stage the draft is at, without any of the citizen's data."""
        pages = sum(len(found) for found in self.captured.values())
        return (f"ApplyDraft(item_code={self.matter.item_code!r}, "
                f"form={self.form.form_id if self.form else None!r}, "
                f"applicant={'yes' if self.applicant else 'no'}, "
                f"agent={'yes' if self.agent else 'no'}, values={len(self.values)}, "
                f"pages={pages}, face={'yes' if self.face_still else 'no'}, "
                f"consent={self.consent})")

    def apply_prefill(self) -> None:
        """Fill the form from the applicant and licences (see :func:`forms.prefill`).

        Values pre-filled earlier are replaced (or removed when no longer known, e.g. after
        another card was read); values the citizen typed stay.
        """
        if self.form is None:
            return
        for name, source in list(self.sources.items()):
            if source != "citizen":
                self.values.pop(name, None)
                del self.sources[name]
        if self.applicant is None:
            return
        for name, known in prefill(self.form, self.applicant, self.licences).items():
            if self.sources.get(name) == "citizen" and self.values.get(name, "").strip():
                continue
            self.values[name] = known.value
            self.sources[name] = known.source

    def set_value(self, name: str, text: str) -> str | None:
        """Store what the citizen entered in field ``name``; return the check message
        (None when fine). ``KeyError`` for a field the form does not have."""
        item = self._field(name)
        self.values[name] = text
        self.sources[name] = "citizen"
        return check_value(item, text)

    def problems(self) -> dict[str, str]:
        """Field name -> message for every field that is required and empty, or invalid."""
        if self.form is None:
            return {}
        found = {}
        for item in self.form.fields:
            message = check_value(item, self.values.get(item.name, ""))
            if message is not None:
                found[item.name] = message
        return found

    def missing_materials(self) -> list[MaterialNeed]:
        """Materials to photograph that do not have all their pages yet."""
        return [need for need in self.materials
                if need.how == "photograph" and len(self.captured.get(need.name, ())) < need.pages]

    def to_application(self) -> NewApplication:
        """The application to submit; :class:`DraftIncomplete` names what is missing."""
        missing = self._missing_parts()
        if missing:
            raise DraftIncomplete(missing)
        assert self.applicant is not None
        applicant = self.applicant.wire()
        if self.agent is not None:
            applicant["agent"] = {"name": self.agent.name, "id_number": self.agent.id_number,
                                  "phone": self.agent_phone.strip()}
        form: dict[str, Any] = {}
        for item in self.form.fields if self.form else ():
            value = normalize_value(item, self.values.get(item.name, ""))
            if value:
                form[item.name] = value
        application = NewApplication(
            item_code=self.matter.item_code,
            applicant=applicant,
            form=form,
            delivery=dict(self.delivery),
            attachments=self._attachments(),
        )
        application.check()
        return application

    def wipe(self) -> None:
        """Forget everything the citizen gave: the visit is over.

        Containers are emptied in place as well, so a screen still holding one sees it
        empty. Pages held as ``bytearray`` are overwritten; ``bytes`` cannot be, so their
        last references are dropped.
        """
        for pages in self.captured.values():
            for page in pages:
                if isinstance(page, bytearray):
                    page[:] = bytes(len(page))
            pages.clear()
        if isinstance(self.face_still, bytearray):
            self.face_still[:] = bytes(len(self.face_still))
        self.captured.clear()
        self.values.clear()
        self.sources.clear()
        self.licences.clear()
        self.delivery.clear()
        self.form = None
        self.applicant = None
        self.agent = None
        self.agent_phone = ""
        self.licences = []
        self.values = {}
        self.sources = {}
        self.materials = ()
        self.captured = {}
        self.face_still = None
        self.delivery = _pickup()
        self.consent = False

    def _field(self, name: str) -> FormField:
        item = self.form.field(name) if self.form is not None else None
        if item is None:
            raise KeyError("the form has no such field")
        return item

    def _missing_parts(self) -> list[str]:
        missing = []
        if self.applicant is None:
            missing.append("applicant")
        missing.extend(f"form.{name}" for name in self.problems())
        missing.extend(f"materials.{need.name}" for need in self.missing_materials())
        if self.form is not None and self.form.face_presence and not self.face_still:
            missing.append(FACE_ATTACHMENT)
        if self.agent is not None and not MOBILE.fullmatch(self.agent_phone.strip()):
            missing.append("agent.phone")
        if not self.consent:
            missing.append("consent")
        return missing

    def _attachments(self) -> tuple[NewAttachment, ...]:
        planned = [need.name for need in self.materials]
        names = planned + [name for name in self.captured if name not in planned]
        result = []
        for name in names:
            pages = [page for page in self.captured.get(name, ()) if page]
            for number, page in enumerate(pages, start=1):
                label = f"{name} ({number})" if len(pages) > 1 else name
                result.append(NewAttachment(label, bytes(page), JPEG))
        if self.face_still:
            result.append(NewAttachment(FACE_ATTACHMENT, bytes(self.face_still), JPEG))
        return tuple(result)
