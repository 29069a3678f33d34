"""What the screens ask of the camera: photograph a document, keep a still of the person
at the kiosk, read a QR code. Each task is one thread over the hub's newest frame.

A task always takes the newest frame and skips the ones it had no time for, so it never
falls behind the camera and never queues frames (a queue would show the citizen what the
camera saw seconds ago). Callbacks run on the task's thread; the screens hand them to the UI
thread with Kivy's Clock and must return at once. After :meth:`FrameTask.stop` returns, the
task calls nothing more.

The face task is a presence check, not face recognition: the card photo cannot be decoded
without a licensed library (drivers/camera/presence.py), so nothing compares faces.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, Self

import numpy as np

from drivers.camera.capture import LatestFrame
from drivers.camera.document import StableFrames, assess, find_page, straighten
from drivers.camera.presence import PresenceDetector
from drivers.camera.qr import QRDecoder
from kiosk.applying.materials import prepare_jpeg

__all__ = [
    "DocumentTask",
    "DocumentUpdate",
    "FaceTask",
    "FaceUpdate",
    "FrameFeed",
    "FrameTask",
    "QrTask",
]

log = logging.getLogger(__name__)

#: How long a task waits before looking for a new frame again (seconds).
IDLE_WAIT = 0.01
#: The bounds of every JPEG a task makes (the platform's attachment limits).
MAX_SIDE = 1600
MAX_BYTES = 800_000


class FrameFeed(Protocol):
    """Where a task gets frames: :class:`~kiosk.devices.hub.DeviceHub` (or a fake)."""

    def latest(self) -> LatestFrame: ...


def _jpeg(image: np.ndarray) -> bytes:
    """``image`` as the bounded JPEG every material photo is (the applying layer's rule)."""
    return prepare_jpeg(image, max_side=MAX_SIDE, max_bytes=MAX_BYTES)


class FrameTask(ABC):
    """A thread that processes the newest frame of ``feed`` until stopped or done.

    ``start()`` returns the task, so ``task = DocumentTask(hub, cb).start()`` works.
    ``stop()`` never waits for the frame being processed; ``join()`` does.
    """

    thread_name = "camera-task"

    def __init__(self, feed: FrameFeed) -> None:
        self._feed = feed
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._times: deque[float] = deque(maxlen=30)
        self._costs: deque[float] = deque(maxlen=30)
        self.frames_processed = 0

    def start(self) -> Self:
        """Start the thread (a second call does nothing); the hub stops it with itself."""
        if self._thread is None:
            attach = getattr(self._feed, "attach", None)
            if callable(attach):
                attach(self)
            self._thread = threading.Thread(target=self._run, name=self.thread_name,
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """No callback runs after this returns; the thread ends after its current frame."""
        with self._lock:
            self._stopped.set()

    def join(self, timeout: float = 5.0) -> bool:
        """Wait for the thread to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def running(self) -> bool:
        """The thread is working (not stopped, not done)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def done(self) -> bool:
        """The task reached its goal (a page, a still) and ended by itself."""
        return self._finished.is_set()

    @property
    def fps(self) -> float:
        """Frames processed per second over the last 30 frames (0.0 before two frames).
        At most the camera's frame rate: a task never processes a frame twice."""
        times = list(self._times)
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    @property
    def seconds_per_frame(self) -> float:
        """Mean work per frame over the last 30 frames (0.0 before the first): what the
        task costs whatever the camera's frame rate; 1 / this is the rate it could keep."""
        costs = list(self._costs)
        return sum(costs) / len(costs) if costs else 0.0

    def _call(self, callback: Callable[[object], None], value: object) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            try:
                callback(value)
            except Exception:
                log.exception("%s callback failed", type(self).__name__)

    def _run(self) -> None:
        try:
            self._prepare()
        except Exception:
            log.exception("%s could not start", type(self).__name__)
            return
        seen = -1
        while not self._stopped.is_set():
            latest = self._feed.latest()
            if latest.image is None or latest.sequence == seen:
                self._stopped.wait(IDLE_WAIT)
                continue
            seen = latest.sequence
            began = time.monotonic()
            try:
                finished = self._process(latest.image)
            except Exception:  # one bad frame must not end the task
                log.exception("%s failed on a frame", type(self).__name__)
                finished = False
            ended = time.monotonic()
            self.frames_processed += 1
            self._times.append(ended)
            self._costs.append(ended - began)
            if finished:
                self._finished.set()
                return

    def _prepare(self) -> None:  # noqa: B027 (a hook: most tasks need nothing loaded)
        """Load what the task needs, on its own thread (not the caller's)."""

    @abstractmethod
    def _process(self, frame: np.ndarray) -> bool:
        """Handle one frame; True when the task is done (each kind of task says how)."""


# --- documents ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DocumentUpdate:
    """What the document screen shows for one frame.

    ``corners``: the page outline (top-left, top-right, bottom-right, bottom-left) in pixels
    of a frame of ``frame_size`` (width, height), or None when no page is seen. ``steady``:
    0..1, how far the page is toward "still enough to take". ``problems``: ``no_page``,
    ``blurred``, ``glare``, ``too_small`` (empty when the photo would be good).
    ``page_jpeg``: the straightened page, set once, on the last update of the task.
    """

    corners: tuple[tuple[float, float], ...] | None
    frame_size: tuple[int, int]
    steady: float
    problems: tuple[str, ...]
    page_jpeg: bytes | None = None

    def __repr__(self) -> str:
        jpeg = f"{len(self.page_jpeg)} bytes" if self.page_jpeg is not None else None
        return (f"DocumentUpdate(corners={self.corners is not None}, steady={self.steady:.2f}, "
                f"problems={self.problems}, page_jpeg={jpeg})")


class _Steadiness(StableFrames):
    """StableFrames that also says how far along it is, for the screen's progress ring."""

    @property
    def progress(self) -> float:
        return min(1.0, self._count / self.needed) if self._last is not None else 0.0


class DocumentTask(FrameTask):
    """Photographs a document by itself: once the page has held still for ``still_frames``
    processed frames and its photo is good (sharp, no glare, large enough), the straightened
    page is taken as a bounded JPEG (longest side <= 1600 px, <= 800 KB), reported in a last
    update, kept in :attr:`page_jpeg`, and the task ends. One task takes one page: start a
    new one for the next page. :meth:`capture_now` takes the next frame as it is (the page
    if one is seen, else the whole frame), for a "take it anyway" button.
    """

    thread_name = "camera-document"

    def __init__(self, feed: FrameFeed, on_update: Callable[[DocumentUpdate], None], *,
                 still_frames: int = 8, tolerance: float = 6.0) -> None:
        super().__init__(feed)
        self._on_update = on_update
        self._steadiness = _Steadiness(still_frames, tolerance)
        self._capture_now = threading.Event()
        self.page_jpeg: bytes | None = None

    def capture_now(self) -> None:
        """Take the next frame whatever its quality."""
        self._capture_now.set()

    def _process(self, frame: np.ndarray) -> bool:
        height, width = frame.shape[:2]
        corners = find_page(frame)
        still = self._steadiness.update(corners)
        forced = self._capture_now.is_set()
        page = None
        if corners is None:
            problems: tuple[str, ...] = ("no_page",)
        else:
            page = straighten(frame, corners)
            problems = assess(frame, page, corners).problems
        jpeg = None
        if forced or (still and not problems):
            jpeg = _jpeg(page if page is not None else frame)
            self.page_jpeg = jpeg
        shape = None if corners is None else tuple(
            (float(x), float(y)) for x, y in corners)
        self._call(self._on_update, DocumentUpdate(shape, (width, height),
                                                   self._steadiness.progress, problems, jpeg))
        return jpeg is not None


# --- faces ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FaceUpdate:
    """Presence for one frame: ``advice`` is ``ok``, ``no_face`` or ``come_closer``;
    ``still_jpeg`` is set once, on the last update; ``face`` is (x, y, w, h) in a frame of
    ``frame_size`` (width, height), for drawing a guide."""

    present: bool
    advice: str
    still_jpeg: bytes | None = None
    face: tuple[int, int, int, int] | None = None
    frame_size: tuple[int, int] = (0, 0)

    def __repr__(self) -> str:
        still = f"{len(self.still_jpeg)} bytes" if self.still_jpeg is not None else None
        return f"FaceUpdate(present={self.present}, advice={self.advice!r}, still_jpeg={still})"


class FaceTask(FrameTask):
    """Keeps one still of the person at the kiosk once a frontal face close enough has been
    seen in ``confirm_frames`` processed frames in a row, then ends. The still is the face
    with a margin of one face width around it (head and shoulders, not the hall behind),
    as a bounded JPEG in :attr:`still_jpeg`. A presence check only: no recognition."""

    thread_name = "camera-face"

    def __init__(self, feed: FrameFeed, on_update: Callable[[FaceUpdate], None], *,
                 confirm_frames: int = 5) -> None:
        super().__init__(feed)
        self._on_update = on_update
        self.confirm_frames = confirm_frames
        self._detector: PresenceDetector | None = None
        self._in_a_row = 0
        self.still_jpeg: bytes | None = None

    def _prepare(self) -> None:
        self._detector = PresenceDetector()  # loads the cascade: not on the UI thread

    def _process(self, frame: np.ndarray) -> bool:
        assert self._detector is not None
        presence = self._detector.check(frame)
        self._in_a_row = self._in_a_row + 1 if presence.close_enough else 0
        still = None
        if presence.face is not None and self._in_a_row >= self.confirm_frames:
            still = _jpeg(_around(frame, presence.face))
            self.still_jpeg = still
        height, width = frame.shape[:2]
        self._call(self._on_update, FaceUpdate(presence.present, presence.advice, still,
                                               presence.face, (width, height)))
        return still is not None


def _around(frame: np.ndarray, face: tuple[int, int, int, int]) -> np.ndarray:
    """The face box grown by one face width (height) on every side, inside the frame."""
    x, y, w, h = face
    height, width = frame.shape[:2]
    left, top = max(0, x - w), max(0, y - h)
    right, bottom = min(width, x + 2 * w), min(height, y + 2 * h)
    return frame[top:bottom, left:right]


# --- QR codes -------------------------------------------------------------------------------
class QrTask(FrameTask):
    """Reads QR codes until stopped and calls ``on_code(text)`` once for each distinct
    payload (an e-ID code held up stays in view for many frames). The payload may carry
    personal data: it is passed on, never logged."""

    thread_name = "camera-qr"

    def __init__(self, feed: FrameFeed, on_code: Callable[[str], None]) -> None:
        super().__init__(feed)
        self._on_code = on_code
        self._decoder: QRDecoder | None = None
        self._seen: set[str] = set()

    def _prepare(self) -> None:
        self._decoder = QRDecoder()

    def forget(self) -> None:
        """Report codes seen before again (after the screen rejected one, say)."""
        with self._lock:
            self._seen = set()

    def _process(self, frame: np.ndarray) -> bool:
        assert self._decoder is not None
        for code in self._decoder.decode(frame):
            with self._lock:
                if code.text in self._seen:
                    continue
                self._seen.add(code.text)
            self._call(self._on_code, code.text)
        return False
