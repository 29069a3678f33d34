"""The order of the apply journey's screens, and what happens between them.

Guide -> identify (the applicant; then the agent when someone applies on the applicant's
behalf) -> face presence when the form asks for it -> form -> materials (capture each page)
-> review (delivery, consent) -> done (sealed, receipt printed). The screens only show and
collect; this object decides where the citizen goes next, so the order lives in one place
and the count of taps from a read card to the receipt stays small (docs/benchmarks.md).

Everything runs on the UI thread; platform requests (the form, e-licences, an e-ID code)
run on the fetch thread and come back through Kivy's Clock.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock

from kiosk.applying.applicant import Applicant
from kiosk.applying.draft import ApplyDraft
from kiosk.applying.forms import FormError, parse_form
from kiosk.applying.materials import plan_materials
from kiosk.models import Matter
from screens.i18n import tr

if TYPE_CHECKING:
    from screens.app import KioskApp

log = logging.getLogger(__name__)

ROLE_SCREENS: dict[str, str] = {
    "profile": "policies",  # policy matching: age, gender and area from the card
    "progress": "progress",  # the citizen's applications (POST /applications/lookup)
    "appointment": "appointment",  # who books the slot
}
"""Identify roles that belong to another screen -> that screen (its ``identified(person)``)."""


class ApplyFlow:
    """Moves one citizen's application from screen to screen."""

    def __init__(self, app: KioskApp) -> None:
        self.app = app
        self.for_other = False  # the person at the kiosk applies on someone else's behalf
        self._generation = 0  # a request answered after the visit ended is ignored

    @property
    def services(self):
        return self.app.services

    @property
    def draft(self) -> ApplyDraft | None:
        """The application being built in this visit, if any."""
        return self.services.session.draft

    # -- start ---------------------------------------------------------------------------
    def start_bundle(self, matters: list[Matter]) -> None:
        """A life event's "Apply for all": the first matter now, the others one after
        another from the done screen, with the applicant identified once."""
        if not matters:
            return
        self.services.session.start_bundle(matters)
        self.start(matters[0], bundle=True)

    def next_in_bundle(self) -> None:
        """The done screen's "Next": the following matter of "Apply for all"."""
        session = self.services.session
        following = session.next_in_bundle()
        if following is None:
            return
        session.bundle_index += 1
        self.start(following[0], bundle=True)

    def start(self, matter: Matter, *, bundle: bool = False) -> None:
        """The guide's Apply button: check the kiosk can take it, then the form, then who.

        ``bundle``: a matter of "Apply for all"; any other start leaves that bundle, so an
        identity kept for it is never used for a matter the citizen chose on their own.
        """
        if not bundle:
            self.services.session.end_bundle()
        reason = self.services.refusal()
        if reason is not None:
            self.app.show_refusal(reason)
            return
        form_id, document = self.services.catalog.form_document(matter.item_code)
        if form_id is None:
            self._notice(tr._("This service cannot be applied for at this kiosk"),
                         tr._("This kiosk has no application form for this service. Please read its guide for what to bring, then go to the service counter, or press Call staff."))  # noqa: E501
            return
        self.reset()
        self.services.browser.record(matter.item_code, "apply")  # most used first
        if self.draft is not None:  # an application left unfinished in this visit
            self.draft.wipe()
        self.services.session.draft = ApplyDraft(matter=matter)
        if document is not None:
            self._form_arrived(document)
        elif self.app.online:
            generation = self._generation
            self.app.show_busy(tr._("Fetching the application form from the provincial platform..."))  # noqa: E501

            def done(body, _error) -> None:  # on the fetch thread
                Clock.schedule_once(lambda _dt: self._form_fetched(generation, form_id, body))

            self.services.documents.fetch(f"/forms/{form_id}", done)
        else:
            self.services.session.draft = None
            self._notice(tr._("The form is not on this kiosk yet"),
                         tr._("This kiosk is offline and has not yet received the application form for this service. You can read its guide here; to apply, please go to the service counter or press Call staff."))  # noqa: E501

    def _form_fetched(self, generation: int, form_id: str, body: Any) -> None:
        self.app.hide_busy()
        if generation != self._generation or self.draft is None:
            return
        if body is None:
            self.services.session.draft = None
            self._notice(tr._("The form could not be fetched"),
                         tr._("The provincial platform did not send the application form just now. Please try again in a moment, or press Call staff."))  # noqa: E501
            return
        self.services.catalog.store_document("form", form_id, body, body.get("version"))
        self._form_arrived(body)

    def _form_arrived(self, document: Any) -> None:
        draft = self.draft
        try:
            draft.form = parse_form(document)
        except FormError as error:
            log.warning("form of %s is not usable: %s", draft.matter.item_code, error)
            self.services.session.draft = None
            self._notice(tr._("The form could not be used"),
                         tr._("This service's application form on this kiosk is damaged. Please press Call staff."))  # noqa: E501
            return
        kept = self.services.session.bundle_applicant
        if kept is not None:  # "Apply for all": identified for the first matter already
            draft.applicant = kept
            self._after_identity()
            return
        self.identify("applicant")

    # -- who -----------------------------------------------------------------------------
    def identify(self, role: str) -> None:
        """Show the identify screen for the applicant or the agent."""
        screen = self.app.screen("identify")
        screen.role = role
        self.app.show("identify")

    def identified(self, person: Applicant, role: str) -> None:
        """A card was read, a number typed or an e-ID code resolved."""
        if role in ROLE_SCREENS:  # another service asked who is at the kiosk, not an application
            self.app.screen(ROLE_SCREENS[role]).identified(person)
            return
        draft = self.draft
        if draft is None:
            return
        if role == "agent":
            draft.agent = person
        else:
            draft.applicant = person
            session = self.services.session
            if session.bundle_queue and not self.for_other:
                session.bundle_applicant = person  # for the next matters of this visit only
            if self.for_other and draft.agent is None:
                self.identify("agent")
                return
        self._after_identity()

    def _after_identity(self) -> None:
        draft = self.draft
        draft.apply_prefill()
        self._plan_materials()
        if self.app.online and draft.applicant is not None:
            self._look_up_licences(draft.applicant.id_number)
        if draft.form.face_presence and not draft.face_still:
            self.capture("face")
        else:
            self.app.show("form")

    def _look_up_licences(self, id_number: str) -> None:
        """Online, the platform's e-licences fill more fields and spare photographs."""
        generation = self._generation

        def done(licences, error) -> None:  # on the fetch thread
            if error is None:
                Clock.schedule_once(lambda _dt: self._licences_arrived(generation, licences))

        self.services.documents.call(lambda client: client.lookup_licences(id_number), done)

    def _licences_arrived(self, generation: int, licences: list) -> None:
        draft = self.draft
        if generation != self._generation or draft is None:
            return
        draft.licences = list(licences)
        draft.apply_prefill()
        self._plan_materials()
        for name in ("form", "materials", "review"):
            screen = self.app.screen(name)
            if self.app.manager.current == name:
                screen.on_pre_enter()

    def _plan_materials(self) -> None:
        draft = self.draft
        source = draft.applicant.source if draft.applicant else "manual"
        guide = self.services.catalog.guide(draft.matter.item_code)
        draft.materials = plan_materials(guide, licences=draft.licences,
                                         applicant_source=source,
                                         has_agent=draft.agent is not None)

    # -- the rest ------------------------------------------------------------------------
    def form_done(self) -> None:
        """Form complete: photograph what is missing, else review."""
        missing = self.draft.missing_materials()
        self.app.show("materials" if missing else "review")

    def capture(self, what: str, material: str = "") -> None:
        """Open the camera screen for a material's pages or the face-presence still."""
        screen = self.app.screen("capture")
        screen.prepare(what, material)
        self.app.show("capture")

    def captured(self, what: str, material: str, pages: list[bytes]) -> None:
        """The citizen accepted the photo(s): go on to what is still missing."""
        draft = self.draft
        if draft is None:
            return
        if what == "face":
            draft.face_still = pages[0]
            self.app.show("form")
            return
        draft.captured[material] = list(pages)
        missing = draft.missing_materials()
        if missing:
            self.app.show("materials")
        else:
            self.app.show("review")

    def submit(self) -> None:
        """Seal the application; the done screen prints the receipt."""
        self.app.screen("done").submit()

    def reset(self) -> None:
        """Forget the flow's own state (the session's draft is wiped by the session)."""
        self._generation += 1
        self.for_other = False

    def _notice(self, title: str, message: str) -> None:
        from screens.widgets import Notice

        Notice(title=title, message=message).open(animation=False)
