"""Is a person in front of the kiosk, facing it, and close enough? A presence check only.

The ID card's photo is a proprietary compressed image that cannot be decoded without a
licensed vendor library, so the kiosk cannot compare faces and does not pretend to: this
module says "someone is there, looking at the screen, at a usable distance", which the
identity step uses to know that a person (not an empty hall) is being served. It uses the
frontal-face Haar cascade shipped inside the opencv-contrib-python-headless 4.x wheel, so it
needs no model download. A frontal detection implies the face is turned to the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from drivers.camera.qr import to_gray

CASCADE = "haarcascade_frontalface_default.xml"
CLOSE_ENOUGH = 0.18  # face width as a fraction of the frame width
DETECT_WIDTH = 640  # frames are scaled down to this width first: presence needs no detail


@dataclass(frozen=True)
class Presence:
    """The answer for one frame; ``face`` is (x, y, w, h) in frame pixels or None."""

    face: tuple[int, int, int, int] | None
    frame_width: int

    @property
    def present(self) -> bool:
        """A frontal face is in the frame."""
        return self.face is not None

    @property
    def close_enough(self) -> bool:
        """The face is large enough to be someone standing at the kiosk."""
        return self.face is not None and self.face[2] >= CLOSE_ENOUGH * self.frame_width

    @property
    def advice(self) -> str:
        """Machine word for the screen: ok, no_face or come_closer."""
        if not self.present:
            return "no_face"
        return "ok" if self.close_enough else "come_closer"


class PresenceDetector:
    """Finds the largest frontal face in a frame."""

    def __init__(self) -> None:
        path = cv2.data.haarcascades + CASCADE
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"face cascade {path} could not be loaded")

    def check(self, frame: np.ndarray) -> Presence:
        """Presence in ``frame`` (gray, BGR or BGRA)."""
        gray = to_gray(frame)
        width = gray.shape[1]
        scale = min(1.0, DETECT_WIDTH / width)
        small = cv2.resize(gray, None, fx=scale, fy=scale) if scale < 1 else gray
        faces = self._cascade.detectMultiScale(small, scaleFactor=1.05, minNeighbors=3,
                                               minSize=(24, 24))
        if len(faces) == 0:
            return Presence(None, width)
        x, y, w, h = max(faces, key=lambda face: face[2] * face[3])
        face = tuple(round(value / scale) for value in (x, y, w, h))
        return Presence(face, width)  # type: ignore[arg-type]
