"""Where frames come from: a real camera, image files a technician replays, or a generated
scene (the camera emulator). All give the same small interface, so the capture thread and
the vision code do not know which one they have.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

# V4L2 waits this many seconds in select() for a frame; the default (10 s) freezes a
# kiosk for 10 s when the camera is unplugged. Read by OpenCV at the first capture.
os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", "2")

import cv2  # OpenCV reads the variable above at the first capture, not at import

from drivers.camera.scenes import document_scene, face_scene, qr_image
from drivers.device_url import DeviceURL

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
SCENES = ("document", "qr", "face", "black", "empty")
#: What the emulator's qr scene shows until :meth:`SceneSource.show_qr` says otherwise.
DEMO_QR = "K511602-DEMO-01-20261123-000001-7"


class CameraError(RuntimeError):
    """The camera cannot give frames (unplugged, no such device, unreadable files)."""


class CameraPermissionError(CameraError):
    """The camera is there but the kiosk may not open it: a configuration fault (udev rule,
    ``video`` group, folder rights) that retrying will not mend, so it says what to fix."""


class FrameSource(Protocol):
    """Anything that gives BGR frames.

    ``frame_interval`` is 0 for a source whose ``read`` blocks until the next frame (a real
    camera paces itself); a source that answers at once (emulator, file replay) gives the
    seconds between its frames, and the capture thread waits that long between reads.
    """

    frame_interval: float

    def read(self) -> np.ndarray:
        """The next frame; raises CameraError when there is none to give."""

    def close(self) -> None:
        """Release the device or files."""


class ImageSource:
    """Frames from one image file or a folder of them, in name order, looping.

    A technician copies the photos of a problem case into a folder and points the camera URL
    at it (``file:///path/to/folder``) to replay exactly what the kiosk saw.
    """

    def __init__(self, path: Path, fps: float = 30.0) -> None:
        self.frame_interval = 1.0 / fps
        try:
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) \
                if path.is_dir() else [path]
        except PermissionError as error:
            raise CameraPermissionError(f"{path}: permission denied ({error})") from error
        if not files or not all(file.exists() for file in files):
            raise CameraError(f"{path}: no images to replay")
        self.files = files
        self._next = 0

    def read(self) -> np.ndarray:
        file = self.files[self._next % len(self.files)]
        self._next += 1
        frame = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if frame is None:
            raise CameraError(f"{file}: not a readable image")
        return frame

    def close(self) -> None:
        pass


class SceneSource:
    """The camera emulator: generated scenes with known answers, and an unplug switch.

    :meth:`show` and :meth:`show_qr` change the scene while frames are being read (a demo's
    "hold up a document" button, a test); the next :meth:`read` gives the new scene.
    """

    def __init__(
        self, scene: str = "document", size: tuple[int, int] = (1280, 720), fps: float = 30.0
    ) -> None:
        self.frame_interval = 1.0 / fps
        self.size = size
        self.unplugged = False
        self.qr_text = DEMO_QR
        self.scene = scene
        self._frame = np.zeros((1, 1, 3), np.uint8)
        self.show(scene)

    def show(self, scene: str) -> None:
        """Switch to ``scene`` (one of :data:`SCENES`)."""
        if scene not in SCENES:
            raise CameraError(f"unknown scene {scene!r}; use one of {', '.join(SCENES)}")
        frame = self._render(scene)
        self.scene, self._frame = scene, frame  # a reader sees the old or the new frame

    def show_qr(self, text: str) -> None:
        """Show a QR code holding ``text`` (an e-ID code, a receipt's tracking code)."""
        previous, self.qr_text = self.qr_text, text
        try:
            self.show("qr")
        except Exception:
            self.qr_text = previous  # too long for a QR code: keep what was shown
            raise

    def _render(self, scene: str) -> np.ndarray:
        width, height = self.size
        if scene == "document":
            corners = np.array([[420, 80], [820, 110], [860, 660], [390, 640]], np.float32)
            return document_scene(corners, self.size, text=DEMO_QR)
        if scene == "qr":
            code = cv2.cvtColor(qr_image(self.qr_text), cv2.COLOR_GRAY2BGR)
            fit = min(1.0, 0.9 * min(width, height) / max(code.shape[:2]))
            if fit < 1.0:  # a long payload: shrink the code to fit the frame
                code = cv2.resize(code, None, fx=fit, fy=fit, interpolation=cv2.INTER_AREA)
            frame = np.full((height, width, 3), 230, np.uint8)
            top, left = (height - code.shape[0]) // 2, (width - code.shape[1]) // 2
            frame[top:top + code.shape[0], left:left + code.shape[1]] = code
            return frame
        if scene == "face":
            return face_scene(size=self.size)
        value = 0 if scene == "black" else 200
        return np.full((height, width, 3), value, np.uint8)

    def read(self) -> np.ndarray:
        if self.unplugged:
            raise CameraError("emulated camera unplugged")
        return self._frame.copy()

    def close(self) -> None:
        pass


class OpenCVSource:
    """A real camera through OpenCV's V4L2 backend (``v4l2:///dev/v4l/by-id/...`` or index)."""

    frame_interval = 0.0  # read() blocks until the camera delivers

    def __init__(self, device: str | int) -> None:
        self.device = device
        if isinstance(device, str) and os.path.exists(device) \
                and not os.access(device, os.R_OK | os.W_OK):
            # OpenCV would only say "cannot be opened"; this is what the technician must fix
            raise CameraPermissionError(
                f"camera {device}: permission denied; add the kiosk user to the 'video' group "
                "(or give it the device with a udev rule)")
        self._capture = cv2.VideoCapture(device, cv2.CAP_V4L2)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(f"camera {device} cannot be opened")
        # MJPG before the size, or USB 2 bandwidth limits 1080p (see hardware notes)
        self._capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, 1280)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, 720)

    def read(self) -> np.ndarray:
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise CameraError(f"camera {self.device} gave no frame")
        return frame

    def close(self) -> None:
        self._capture.release()


def open_source(url: DeviceURL) -> FrameSource:
    """The frame source a camera URL names (see docs/configuration.md)."""
    if url.scheme == "emulator":
        return SceneSource(url.params.get("scene", "document"))
    if url.scheme == "file":
        return ImageSource(Path(url.target))
    if url.scheme == "v4l2":
        return OpenCVSource(url.target)
    if url.scheme == "index":
        return OpenCVSource(int(url.target))
    raise CameraError(f"{url}: not a camera URL")
