"""The capture thread: always holds the newest frame, reconnects by itself.

V4L2 queues several buffers, so a consumer that reads only now and then sees stale frames;
this thread reads continuously and keeps just the latest. When the source fails (unplugged
camera, vanished files) it reports OFFLINE, closes the source and reopens it with growing
pauses; after ``max_failures`` reopen attempts in a row it reports HARDWARE_ERROR with the
MAINTENANCE action, and keeps trying, so a camera plugged back in comes online again without
restarting the kiosk. The UI thread only calls :meth:`latest`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from drivers.background import DeviceThread
from drivers.camera.sources import CameraError, FrameSource
from drivers.model import DeviceState, DeviceStatus, ErrorAction, EventChannel


class CaptureThread(DeviceThread):
    """Reads frames from sources made by ``open_source`` on a daemon thread."""

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        events: EventChannel | None = None,
        *,
        name: str = "camera",
        interval: float = 1 / 30,
        backoff: tuple[float, float] = (0.1, 2.0),
        max_failures: int = 5,
    ) -> None:
        super().__init__(name, events)
        self._open_source = open_source
        self.interval = interval
        self.backoff = backoff
        self.max_failures = max_failures
        self._frame: np.ndarray | None = None
        self._sequence = 0
        self._lock = threading.Lock()

    def latest(self) -> tuple[np.ndarray | None, int]:
        """The newest frame and its sequence number (0 before the first frame)."""
        with self._lock:
            return self._frame, self._sequence

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                source = self._open_source()
            except CameraError as error:
                failures += 1
                self._report_failure(failures, str(error))
                self._stop.wait(min(self.backoff[1], self.backoff[0] * 2 ** (failures - 1)))
                continue
            failures = 0
            try:
                self._pump(source)
            except CameraError as error:
                failures = 1
                self._report_failure(failures, str(error))
            finally:
                source.close()

    def _pump(self, source: FrameSource) -> None:
        while not self._stop.is_set():
            frame = source.read()
            with self._lock:
                self._frame = frame
                self._sequence += 1
            self._report(DeviceStatus(DeviceState.ONLINE, detail="capturing"))
            time.sleep(self.interval)

    def _report_failure(self, failures: int, message: str) -> None:
        if failures >= self.max_failures:
            self._report(DeviceStatus(DeviceState.HARDWARE_ERROR, detail=message),
                             message, ErrorAction.MAINTENANCE)
        else:
            self._report(DeviceStatus(DeviceState.OFFLINE, detail=message),
                             message, ErrorAction.RETRY)
