"""The camera's live picture with what the kiosk sees drawn on it.

The preview is drawn from the newest frame at most ``fps`` times a second (never queued:
a slow frame is skipped, not delayed), scaled down before upload because the software
renderer of a kiosk PC pays for every pixel. The analysis (page outline, face, QR code)
runs on a camera task's own thread; its updates come back through Kivy's Clock and are
drawn over the picture: the page's outline in green once it is found.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.lang import Builder
from kivy.properties import ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.widget import Widget

# OpenCV, numpy and the camera tasks load when a screen first uses the camera, not with
# the kiosk: about 60 MiB that most visits (guides, search) never need

OPENING_GRACE_S = 2.0
"""Seconds a camera may take to give its first frame before "no picture" is shown."""
PREVIEW_WIDTH = 640
"""Pixels across the uploaded preview: sharp enough on screen, cheap to draw."""


class CameraView(Widget):
    """Live preview plus an outline; ``start_*`` begins one analysis, ``stop`` ends it."""

    texture = ObjectProperty(None, allownone=True)
    outline = ListProperty([])  # x, y pairs in widget coordinates (closed polygon)
    picture_box = ListProperty([0, 0, 0, 0])  # where the picture is drawn (x, y, w, h)
    fps = NumericProperty(20)
    state = StringProperty("off")  # off | live | no_camera

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._event = None
        self._task = None
        self._frame_size = (0, 0)
        self._due = 0.0  # when the next preview frame should be drawn (monotonic seconds)
        self._opened_at = 0.0
        self.frames_shown = 0
        self.bind(size=self._place, pos=self._place)

    @property
    def hub(self):
        return App.get_running_app().services.devices

    # -- analysis ---------------------------------------------------------------------------
    def start_qr(self, on_code: Callable[[str], None]) -> None:
        """Show the picture and report each QR payload read (UI thread)."""
        from kiosk.devices.camera_tasks import QrTask

        self._begin(QrTask(self.hub, lambda text: Clock.schedule_once(
            lambda _dt: self._task_alive() and on_code(text))))

    def start_document(self, on_update: Callable):
        """Show the picture with the page outline; ``on_update(DocumentUpdate)`` (UI thread)."""
        from kiosk.devices.camera_tasks import DocumentTask

        def update(event) -> None:
            Clock.schedule_once(lambda _dt: self._document_update(event, on_update))

        task = DocumentTask(self.hub, update)
        self._begin(task)
        return task

    def start_face(self, on_update: Callable):
        """Show the picture with the face's box; ``on_update(FaceUpdate)`` (UI thread)."""
        from kiosk.devices.camera_tasks import FaceTask

        def update(event) -> None:
            Clock.schedule_once(lambda _dt: self._face_update(event, on_update))

        task = FaceTask(self.hub, update)
        self._begin(task)
        return task

    def _begin(self, task) -> None:
        self.stop()
        self._opened_at = time.monotonic()
        self._task = task.start()  # opens the camera if it is closed
        self.outline = []
        self.state = "live"
        # checked on every frame of the event loop, drawn when due: an interval of 1/fps
        # would fire on every other frame of a 30 fps loop (15 fps, less when a frame runs
        # late), because Kivy times an interval from its last call, not from a fixed grid
        self._due = 0.0
        self._event = Clock.schedule_interval(self._draw, 0)

    def _task_alive(self) -> bool:
        return self._task is not None

    def stop(self) -> None:
        """End the analysis and the preview (leaving the screen, a result taken)."""
        if self._task is not None:
            self._task.stop()
            self._task = None
        if self._event is not None:
            self._event.cancel()
            self._event = None
        self.outline = []
        self.texture = None
        self.state = "off"

    def _document_update(self, event, on_update: Callable) -> None:
        if self._task is None:
            return
        self._frame_size = event.frame_size
        self.outline = self._to_widget(event.corners) if event.corners else []
        on_update(event)

    def _face_update(self, event, on_update: Callable) -> None:
        if self._task is None:
            return
        self._frame_size = event.frame_size
        if event.face:
            x, y, w, h = event.face
            self.outline = self._to_widget(((x, y), (x + w, y), (x + w, y + h), (x, y + h)))
        else:
            self.outline = []
        on_update(event)

    # -- drawing ----------------------------------------------------------------------------
    def _draw(self, _dt: float) -> None:
        now = time.monotonic()
        period = 1.0 / self.fps
        if now < self._due - period / 4:  # a quarter period early still counts as due
            return
        # the next one a period after this one was due (no drift); after a stall, a period
        # from now (no burst of catching up)
        self._due = self._due + period if now - self._due <= period else now + period
        frame = self.hub.latest_frame()
        if frame is None:
            # a camera being opened gives its first frame within a second or so; only
            # then is a missing picture worth saying
            if now - self._opened_at > OPENING_GRACE_S or not self.hub.camera_ok:
                self.state = "no_camera"
            self.texture = None
            return
        import cv2

        self.state = "live"
        height, width = frame.shape[:2]
        self._frame_size = (width, height)
        scale = PREVIEW_WIDTH / width
        small = cv2.resize(frame, (PREVIEW_WIDTH, max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        texture = self.texture
        size = (small.shape[1], small.shape[0])
        if texture is None or texture.size != size:
            texture = Texture.create(size=size, colorfmt="bgr")
            texture.flip_vertical()  # image rows run top-down, GL's bottom-up
        texture.blit_buffer(small.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.texture = texture
        self.frames_shown += 1
        self._place()

    def _place(self, *_args) -> None:
        """Fit the picture in the widget, keeping its aspect ratio."""
        width, height = self._frame_size
        if not width or not height:
            self.picture_box = [self.x, self.y, self.width, self.height]
            return
        scale = min(self.width / width, self.height / height)
        w, h = width * scale, height * scale
        self.picture_box = [self.x + (self.width - w) / 2, self.y + (self.height - h) / 2, w, h]

    def _to_widget(self, points) -> list[float]:
        """Frame pixel corners (top-left origin) -> a closed line in widget coordinates."""
        self._place()
        x0, y0, w, h = self.picture_box
        width, height = self._frame_size
        if not width or not height:
            return []
        line: list[float] = []
        for px, py in (*points, points[0]):
            line += [x0 + px / width * w, y0 + h - py / height * h]
        return line


Builder.load_file(os.path.join(os.path.dirname(__file__), "camera_view.kv"))
