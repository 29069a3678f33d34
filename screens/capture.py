"""Photographing a material's pages, or the still photo for the record (face presence).

Documents: the live picture with the page's outline drawn once it is found; the photo is
taken by itself when the page has held still and is sharp, without glare and large enough,
or at once with "Take the photo now". The straightened page is then shown large so the
citizen can check it is legible, and is used or taken again. Two-sided materials ask for
the front, then the back.

Face presence: "look at the camera"; one still is kept once a face is seen close enough for
a few frames in a row. The screen says plainly that this is a photo for the record, not face
recognition. Without a working camera the citizen is sent to staff instead of a dead end.
"""

from __future__ import annotations

import io
import os

from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from screens.camera_view import CameraView  # noqa: F401 (registers the kv class)
from screens.i18n import N_, tr
from screens.widgets import KioskScreen

PROBLEM_ADVICE = {
    "no_page": N_("Lay the page flat under the camera, inside the picture"),
    "blurred": N_("Hold still: the picture is blurred"),
    "glare": N_("Too much glare: tilt the page a little"),
    "too_small": N_("Bring the page closer to the camera"),
}
"""Machine words of the page check -> what the citizen should do (message ids)."""
FACE_ADVICE = {
    "no_face": N_("Please look at the camera"),
    "come_closer": N_("Please come a little closer"),
    "ok": N_("Hold still..."),
}


class CaptureScreen(KioskScreen):
    """``what`` is "document" (``material``'s pages) or "face"."""

    what = StringProperty("document")
    material = StringProperty("")
    pages = NumericProperty(1)
    page = NumericProperty(1)  # which page is being taken (1-based)
    advice = StringProperty("")
    reviewing = BooleanProperty(False)  # the taken photo is shown for checking
    preview = ObjectProperty(None, allownone=True)  # texture of the taken photo
    steady = NumericProperty(0.0)  # 0..1 while the page holds still
    camera_ok = BooleanProperty(True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._taken: list[bytes] = []
        self._pending: bytes | None = None
        self._task = None

    def prepare(self, what: str, material: str = "") -> None:
        """Set up for ``what`` before the screen is shown (called by the apply flow)."""
        draft = self.services.session.draft
        self.what, self.material = what, material
        need = next((n for n in draft.materials if n.name == material), None) if draft else None
        self.pages = need.pages if need is not None else 1
        self.page = 1
        self._taken = []

    def on_pre_enter(self, *args) -> None:
        self._update_title()
        self._look()

    def on_leave(self, *args) -> None:
        self._stop()
        # Kivy draws a label's new text into its old texture when the size is unchanged (every
        # one-line advice's is: text_size fixes the width), and Mesa's software renderer makes
        # that upload wait for the frames still being drawn: 100-400 ms on the first frame of
        # the next visit here. Without a texture the advice label is given a new one.
        self.ids.capture_advice._label.texture = None

    def _update_title(self) -> None:
        if self.what == "face":
            self.title = tr._("A photo for the record")
        elif self.pages > 1:
            side = tr._("front") if self.page == 1 else tr._("back")
            self.title = tr._("Photograph: {material} ({side})").format(
                material=self.material, side=side)
        else:
            self.title = tr._("Photograph: {material}").format(material=self.material)

    # -- looking -----------------------------------------------------------------------------
    def _look(self) -> None:
        self.reviewing = False
        self.preview = None
        self._pending = None
        self.steady = 0.0
        devices = self.services.devices
        devices.use_camera()  # opened now (closed between visits); a failure shows below
        self.camera_ok = devices.camera_ok
        if not self.camera_ok:
            self.advice = tr._("The camera is not working right now. Please press Call staff: staff can take your materials at the counter.")  # noqa: E501
            return
        camera = self.ids.camera
        if self.what == "face":
            self.advice = tr._(FACE_ADVICE["no_face"])
            self._task = camera.start_face(self._face_update)
        else:
            self.advice = tr._(PROBLEM_ADVICE["no_page"])
            self._task = camera.start_document(self._document_update)
        App.get_running_app().say(f"{self.title}\n{self.advice}")

    def on_camera_state(self, state: str) -> None:
        """The preview found no picture after the camera's start-up time: say so."""
        if state == "no_camera" and not self.reviewing and self.manager is not None \
                and self.manager.current == self.name:
            self.camera_ok = False
            self.advice = tr._("The camera is not working right now. Please press Call staff: staff can take your materials at the counter.")  # noqa: E501

    def _document_update(self, update) -> None:
        if self.reviewing:
            return
        self.steady = update.steady
        if update.page_jpeg:
            self._taken_photo(update.page_jpeg)
            return
        problem = update.problems[0] if update.problems else None
        self.advice = tr._(PROBLEM_ADVICE.get(problem, FACE_ADVICE["ok"])) if problem else \
            tr._("Hold still...")

    def _face_update(self, update) -> None:
        if self.reviewing:
            return
        if update.still_jpeg:
            self._taken_photo(update.still_jpeg)
            return
        self.advice = tr._(FACE_ADVICE.get(update.advice, FACE_ADVICE["no_face"]))

    def take_now(self) -> None:
        """"Take the photo now": the next frame, whatever the page check says."""
        if self._task is not None and hasattr(self._task, "capture_now"):
            self._task.capture_now()

    def _taken_photo(self, jpeg: bytes) -> None:
        self._stop()
        self._pending = jpeg
        self.preview = CoreImage(io.BytesIO(jpeg), ext="jpg").texture
        self.reviewing = True
        self.advice = tr._("Can you read everything on the photo? If not, take it again.") \
            if self.what == "document" else tr._("Is this photo of you clear?")
        App.get_running_app().play("done")

    # -- checking -----------------------------------------------------------------------------
    def use(self) -> None:
        """"Use this photo": keep it; the back next, or back to the journey."""
        if self._pending is None:
            return
        self._taken.append(self._pending)
        self._pending = None
        if self.what == "document" and len(self._taken) < self.pages:
            self.page += 1
            self._update_title()
            self._look()
            return
        taken, self._taken = self._taken, []
        self.preview = None
        App.get_running_app().flow.captured(self.what, self.material, taken)

    def retake(self) -> None:
        """"Take it again"."""
        self._look()

    def cancel(self) -> None:
        """Leave without a photo (the material stays to be photographed)."""
        self._stop()
        self._taken = []
        App.get_running_app().back()

    def _stop(self) -> None:
        self._task = None
        if "camera" in self.ids:
            self.ids.camera.stop()

    def spoken_text(self) -> str:
        note = tr._("This photo is kept with your application as a record that you applied in person. It is not face recognition.") if self.what == "face" else ""  # noqa: E501
        return "\n".join(part for part in (self.title, self.advice, note) if part)

    def on_language(self, language: str) -> None:
        self._update_title()

    def reset(self) -> None:
        """No photo of the visit remains on screen or in memory here."""
        self._stop()
        self._taken = []
        self._pending = None
        self.preview = None
        self.reviewing = False
        self.material = ""
        self.advice = ""


Builder.load_file(os.path.join(os.path.dirname(__file__), "capture.kv"))
