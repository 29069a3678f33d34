"""Submitted: the application is sealed on this kiosk; the receipt is printed.

Submit seals the application into the outbox at once, so from here nothing can lose it.
Online, the screen waits a few seconds for the platform's official number so that it is on
the receipt; offline it says plainly that the application is saved here and will be sent
by itself, with the receipt number that tracks it. When the printer cannot print (out of
paper, cover open, unplugged), the same QR code is shown on screen to photograph, and the
receipt stays in the outbox for a reprint by staff (``kiosk queue reprint RECEIPT_NO``).
"""

from __future__ import annotations

import logging
import os
import threading

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from kiosk.applying.applications import ApplicationError, StorageFull
from kiosk.applying.draft import DraftIncomplete
from kiosk.applying.preflight import PreflightRefused
from kiosk.applying.receipts import facts_from_outbox, receipt_for, receipt_qr_payload
from screens.i18n import N_, tr
from screens.widgets import KioskScreen

log = logging.getLogger(__name__)

OFFICIAL_NUMBER_WAIT_S = 6.0
"""How long an online kiosk waits for the platform's number before printing without it."""
PRINTER_PROBLEMS = {
    "paper_out": N_("The printer is out of paper."),
    "cover_open": N_("The printer's cover is open."),
    "offline": N_("The printer is not working right now."),
    "failed": N_("The printer is not working right now."),
}


def qr_texture(text: str) -> Texture:
    """A QR code of ``text`` as a texture, drawn with sharp modules at any size."""
    import cv2  # loaded with the first receipt, not with the kiosk
    code = cv2.QRCodeEncoder.create().encode(text)
    code = cv2.copyMakeBorder(code, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=255)
    code = cv2.resize(code, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    texture = Texture.create(size=(code.shape[1], code.shape[0]), colorfmt="luminance")
    texture.blit_buffer(cv2.flip(code, 0).tobytes(), colorfmt="luminance", bufferfmt="ubyte")
    texture.mag_filter = "nearest"
    return texture


class DoneScreen(KioskScreen):
    """The receipt number, the official number when known, and the printing."""

    receipt_no = StringProperty("")
    application_no = StringProperty("")
    matter_name = StringProperty("")
    message = StringProperty("")
    print_state = StringProperty("")  # waiting | printing | printed | failed
    print_problem = StringProperty("")
    qr = ObjectProperty(None, allownone=True)
    offline = BooleanProperty(False)
    next_label = StringProperty("")  # "Apply for all": the next matter, "" when none
    item_code = StringProperty("")  # the matter applied for, for "Rate this service"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._wait_event = None
        # Which printing the screen waits for: a slip still printing when its citizen tapped
        # Finish must not report its outcome on the next citizen's screen.
        self._print_job = 0

    def submit(self) -> None:
        """Seal the draft (the review's Submit): a receipt number, or a plain refusal."""
        app = App.get_running_app()
        services = self.services
        draft = services.session.draft
        if draft is None:
            return
        try:
            application = draft.to_application()
            receipt_no = services.applications().submit(application)
        except DraftIncomplete as incomplete:
            log.info("submit refused, not finished: %s", ", ".join(incomplete.parts))
            app.screen("review").on_pre_enter()
            self._notice(tr._("Something is still missing"),
                         tr._("Please check the parts marked on the previous screens."))
            return
        except StorageFull:
            log.error("submit refused: the kiosk's storage is full")
            self._notice(tr._("Your application could not be saved"),
                         tr._("This kiosk's storage is full, so nothing was saved. Please press Call staff: staff will help you apply at the counter."))  # noqa: E501
            return
        except PreflightRefused as refused:
            app.show_refusal(refused.citizen_message_id or "preflight.unavailable")
            return
        except (ApplicationError, OSError) as error:
            log.error("submit failed: %s", type(error).__name__)
            self._notice(tr._("Your application could not be saved"),
                         tr._("Something went wrong on this kiosk, so nothing was saved. Please press Call staff."))  # noqa: E501
            return
        self.receipt_no = receipt_no
        self.application_no = ""
        self.matter_name = draft.matter.name
        self.item_code = draft.matter.item_code
        self.qr = qr_texture(receipt_qr_payload(receipt_no))
        self.print_problem = ""
        draft.wipe()  # the sealed copy is in the outbox; nothing personal stays in memory
        services.session.draft = None
        self._offer_next()
        app.history.clear()
        app.show("done", remember=False)
        self.offline = app.online is not True
        if self.offline:
            self.message = tr._("Your application is saved on this kiosk. It will be sent to the platform automatically when the network is back. Keep your receipt: its number tracks the application.")  # noqa: E501
            self._print()
        else:
            self.message = tr._("Sending your application to the provincial platform...")
            self.print_state = "waiting"
            self._wait_event = Clock.schedule_once(lambda _dt: self._print(),
                                                   OFFICIAL_NUMBER_WAIT_S)
        app.say(f"{self.title}\n{self.message}")

    def acknowledged(self, receipt_no: str, application_no: str) -> None:
        """The sync thread's news (UI thread): the platform took our application."""
        if receipt_no != self.receipt_no or not application_no:
            return
        self.application_no = application_no
        self.message = tr._("The provincial platform has received your application.")
        if self.print_state == "waiting":
            self._print()

    # -- printing ------------------------------------------------------------------------------
    def _print(self) -> None:
        if self._wait_event is not None:
            self._wait_event.cancel()
            self._wait_event = None
        if self.print_state == "printing" or not self.receipt_no:
            return
        if self.print_state == "waiting" and not self.application_no:
            self.message = tr._("Your application is saved on this kiosk and is being sent to the platform. Keep your receipt: its number tracks the application.")  # noqa: E501
        services = self.services
        try:
            facts = facts_from_outbox(services.applications().storage, self.receipt_no,
                                      services.catalog)
        except Exception:  # the record is sealed; a receipt can be reprinted later
            log.exception("receipt facts could not be read")
            self._printed(None)
            return
        receipt = receipt_for(facts)
        self.print_state = "printing"
        devices = services.devices
        self._print_job += 1
        job = self._print_job

        def run() -> None:  # printing takes seconds on a serial printer: not the UI thread
            outcome = devices.print_receipt(receipt)
            Clock.schedule_once(lambda _dt: self._printed(outcome, job))

        threading.Thread(target=run, name="print-receipt", daemon=True).start()

    def _printed(self, outcome, job: int | None = None) -> None:
        if job is not None and job != self._print_job:
            return  # an earlier visit's slip: its citizen has gone
        if outcome is not None and outcome.printed:
            self.print_state = "printed"
            self.print_problem = ""
            return
        self.print_state = "failed"
        problem = outcome.problem if outcome is not None else "failed"
        self.print_problem = tr._(PRINTER_PROBLEMS.get(problem, PRINTER_PROBLEMS["failed"])) + \
            " " + tr._("Please photograph the QR code on the screen, or note the receipt number. Staff can print the receipt again for you.")  # noqa: E501
        App.get_running_app().say(self.print_problem)

    def print_again(self) -> None:
        """"Try printing again" (paper refilled, cover closed)."""
        if self.print_state == "failed":
            self.print_state = ""
            self._print()

    def _offer_next(self) -> None:
        """After a matter of "Apply for all", the button to the next one, with its number."""
        following = self.services.session.next_in_bundle()
        if following is None:
            self.next_label = ""
            return
        matter, number, count = following
        self.next_label = tr._("Next: {matter} ({number} of {count})").format(
            matter=matter.name, number=number, count=count)

    def apply_next(self) -> None:
        """"Next": the following matter of "Apply for all", the same applicant."""
        self.next_label = ""
        App.get_running_app().flow.next_in_bundle()

    def rate(self) -> None:
        """"Rate this service": the optional 好差评 of this application (screens/evaluate.py);
        Skip there comes back here."""
        if self.item_code:
            App.get_running_app().offer_evaluation(self.item_code, service="application",
                                                   receipt_no=self.receipt_no or None)

    def finish(self) -> None:
        """"Finish": the visit ends and everything is wiped."""
        App.get_running_app().end_session()

    def spoken_text(self) -> str:
        parts = [self.title, self.message, self.print_problem]
        return "\n".join(part for part in parts if part)

    def _notice(self, title: str, message: str) -> None:
        from screens.widgets import Notice

        Notice(title=title, message=message).open(animation=False)

    def reset(self) -> None:
        """Nothing of the visit remains on screen."""
        if self._wait_event is not None:
            self._wait_event.cancel()
            self._wait_event = None
        self._print_job += 1  # whatever is still printing belongs to the visit that ended
        self.receipt_no = self.application_no = self.matter_name = self.item_code = ""
        self.message = self.print_state = self.print_problem = ""
        self.next_label = ""
        self.qr = None


Builder.load_file(os.path.join(os.path.dirname(__file__), "done.kv"))
