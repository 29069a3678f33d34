"""The capture thread: always holds the newest frame, reconnects by itself.

V4L2 queues several buffers, so a consumer that reads only now and then sees stale frames;
this thread reads continuously and keeps just the latest, stamped with the time it arrived.
A blocking ``read()`` paces the loop by itself: sleeping after it would let the driver's
queue fill up and hand out old frames. Only sources that do not block (the emulator, file
replay) are paced, by their own ``frame_interval``.

Recovery rules (docs/devices.md, "Camera deadlines and recovery"):

* any failure to open or read closes the source and waits before reopening, with a pause
  that doubles from ``backoff[0]`` up to ``backoff[1]``: a source that opens but cannot
  read (a corrupt replay image) must not spin;
* failures are counted until a frame really arrives, not until an open succeeds; after
  ``max_failures`` in a row the camera reports HARDWARE_ERROR / MAINTENANCE, and keeps trying
  so that a camera plugged back in comes online without restarting the kiosk;
* a permission error asks for CONFIGURATION (udev rule, video group), any other exception
  is a SOFTWARE_ERROR; neither ends the thread;
* a watchdog reports OFFLINE when no new frame has arrived for ``max_frame_age`` seconds,
  which catches a read that hangs in the driver beyond V4L2's select() timeout.

The UI thread only calls :meth:`CaptureThread.latest`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from drivers.background import DeviceThread
from drivers.camera.sources import CameraError, CameraPermissionError, FrameSource
from drivers.model import DeviceEvent, DeviceState, DeviceStatus, ErrorAction, EventChannel

WATCHDOG_PERIOD = 0.1  # seconds between frame-age checks


class LatestFrame(NamedTuple):
    """The newest frame, its sequence number (0 before the first) and when it arrived
    (``time.monotonic()``, None before the first), so callers can judge freshness."""

    image: np.ndarray | None
    sequence: int
    captured_at: float | None

    def age(self, now: float | None = None) -> float | None:
        """Seconds since the frame arrived; None before the first frame."""
        if self.captured_at is None:
            return None
        return (time.monotonic() if now is None else now) - self.captured_at


class CaptureThread(DeviceThread):
    """Reads frames from sources made by ``open_source`` on a daemon thread."""

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        events: EventChannel | None = None,
        *,
        name: str = "camera",
        backoff: tuple[float, float] = (0.1, 2.0),
        max_failures: int = 5,
        max_frame_age: float = 3.0,
    ) -> None:
        super().__init__(name, events)
        self._open_source = open_source
        self.backoff = backoff
        self.max_failures = max_failures
        self.max_frame_age = max_frame_age
        self._latest = LatestFrame(None, 0, None)
        self._action: ErrorAction | None = None
        self._started_at = time.monotonic()
        # one lock for the frame and the status: the watchdog must not call a frame stale
        # while the capture loop is storing a fresh one
        self._lock = threading.RLock()

    @property
    def thread_alive(self) -> bool:
        """True while the capture thread runs (for health checks and tests)."""
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> LatestFrame:
        """The newest frame with its sequence number and capture time (cheap, no I/O)."""
        with self._lock:
            return self._latest

    def pause_after(self, failures: int) -> float:
        """The pause before reopening after ``failures`` failures in a row."""
        first, cap = self.backoff
        return min(cap, first * 2 ** max(0, failures - 1))

    def _run(self) -> None:
        self._started_at = time.monotonic()
        watchdog = threading.Thread(target=self._watch, name=f"{self.name}-watchdog",
                                    daemon=True)
        watchdog.start()
        failures = 0
        while not self._stop.is_set():
            source: FrameSource | None = None
            sequence = self._latest.sequence
            try:
                source = self._open_source()
                self._pump(source)  # returns only when asked to stop
            except Exception as error:  # any failure is reported; none may end the thread
                # count until a frame really arrives: an open that succeeds proves nothing
                failures = 1 if self._latest.sequence > sequence else failures + 1
                self._report_failure(failures, error)
                self._stop.wait(self.pause_after(failures))
            finally:
                if source is not None:
                    self._close(source)
        watchdog.join(timeout=1)

    def _pump(self, source: FrameSource) -> None:
        """Read until stopped or until the source fails (the exception propagates)."""
        interval = float(getattr(source, "frame_interval", 0.0) or 0.0)
        while not self._stop.is_set():
            frame = source.read()
            now = time.monotonic()
            with self._lock:
                self._latest = LatestFrame(frame, self._latest.sequence + 1, now)
                self._report(DeviceStatus(DeviceState.ONLINE, detail="capturing"))
            if interval > 0:
                self._stop.wait(max(0.0, interval - (time.monotonic() - now)))

    @staticmethod
    def _close(source: FrameSource) -> None:
        # a failing release must not end the thread; the next open reports real trouble
        with contextlib.suppress(Exception):
            source.close()

    def _watch(self) -> None:
        """Report OFFLINE when frames stop arriving while the status still says ONLINE
        (or still says STARTING long after the start)."""
        while not self._stop.wait(WATCHDOG_PERIOD):
            with self._lock:
                if self.status.state not in (DeviceState.ONLINE, DeviceState.STARTING):
                    continue
                since = self._latest.captured_at or self._started_at
                age = time.monotonic() - since
                if age > self.max_frame_age:
                    detail = f"no new frame for {age:.1f} s (limit {self.max_frame_age:g} s)"
                    self._report(DeviceStatus(DeviceState.OFFLINE, detail=detail), detail,
                                 ErrorAction.RETRY)

    def _report_failure(self, failures: int, error: Exception) -> None:
        """Map a failure to a state and the action it needs (XFS4IoT error actions)."""
        if isinstance(error, PermissionError | CameraPermissionError):
            message = f"camera not accessible: {error}"
            state, action = DeviceState.HARDWARE_ERROR, ErrorAction.CONFIGURATION
        elif isinstance(error, CameraError):
            message = str(error)
            if failures >= self.max_failures:
                state, action = DeviceState.HARDWARE_ERROR, ErrorAction.MAINTENANCE
                message = f"{message} ({failures} failures in a row)"
            else:
                state, action = DeviceState.OFFLINE, ErrorAction.RETRY
        else:
            message = f"software error: {type(error).__name__}: {error}"
            state, action = DeviceState.OFFLINE, ErrorAction.SOFTWARE_ERROR
        with self._lock:
            self._report(DeviceStatus(state, detail=message), message, action)

    def _report(self, status: DeviceStatus, message: str = "",
                action: ErrorAction | None = None) -> None:
        """Keep ``status``; publish when the state or the needed action changed (the base
        class publishes on state changes only, which would hide OFFLINE/RETRY turning into
        OFFLINE/SOFTWARE_ERROR)."""
        with self._lock:
            changed = status.state != self.status.state or action != self._action
            self.status, self._action = status, action
            if changed:
                kind = "error" if action else "status"
                self.channel.publish(DeviceEvent(self.name, kind, status, message, action))
