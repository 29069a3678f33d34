"""The capture thread under failing, raising and stalling sources: back-off, failure counts,
error actions, frame age and pacing. Fakes count calls and block on events, so the checks
rest on counts and lower bounds of pauses, never on a sleep being short enough."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from drivers.camera.capture import CaptureThread
from drivers.camera.sources import (
    CameraError,
    CameraPermissionError,
    ImageSource,
    OpenCVSource,
    SceneSource,
)
from drivers.model import DeviceState, ErrorAction
from tests.waiting import wait_until

FRAME = np.zeros((4, 4, 3), np.uint8)



class Scripted:
    """A blocking source (no pacing of its own) whose ``read`` runs ``behaviour``."""

    frame_interval = 0.0

    def __init__(self, behaviour) -> None:
        self.behaviour = behaviour
        self.reads = 0

    def read(self) -> np.ndarray:
        self.reads += 1
        return self.behaviour()

    def close(self) -> None:
        pass


def test_a_corrupt_image_backs_off_and_ends_in_maintenance(tmp_path: Path):
    """One unreadable replay image: every open succeeds and every read fails."""
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    opened: list[float] = []

    def open_source():
        opened.append(time.monotonic())
        return ImageSource(broken)

    capture = CaptureThread(open_source, backoff=(0.05, 0.2), max_failures=4)
    capture.start()
    try:
        wait_until(lambda: capture.status.state is DeviceState.HARDWARE_ERROR)
        assert capture.thread_alive
    finally:
        capture.stop()
    # at most one open per capped pause after the first four (the old loop: thousands a second)
    assert len(opened) <= 4 + (opened[-1] - opened[0]) / 0.2
    pauses = np.diff(opened[:4])  # a pause can only be longer than asked, never shorter
    assert all(pauses >= 0.9 * np.array([0.05, 0.1, 0.2]))
    errors = [e for e in capture.channel.drain() if e.kind == "error"]
    assert errors[0].status.state is DeviceState.OFFLINE
    assert errors[0].action is ErrorAction.RETRY
    assert errors[-1].status.state is DeviceState.HARDWARE_ERROR
    assert errors[-1].action is ErrorAction.MAINTENANCE
    assert "not a readable image" in errors[-1].message


def test_failures_are_counted_until_a_frame_arrives_then_reset():
    broken = threading.Event()
    broken.set()

    def behaviour():
        if broken.is_set():
            raise CameraError("no frame")
        return FRAME

    source = Scripted(behaviour)
    capture = CaptureThread(lambda: source, backoff=(0.01, 0.05), max_failures=3)
    capture.start()
    try:
        wait_until(lambda: capture.status.state is DeviceState.HARDWARE_ERROR)
        broken.clear()
        wait_until(lambda: capture.status.state is DeviceState.ONLINE)
        broken.set()
        wait_until(lambda: capture.status.state is not DeviceState.ONLINE)
    finally:
        capture.stop()
    events = [(e.kind, e.status.state) for e in capture.channel.drain()]
    back_online = events.index(("status", DeviceState.ONLINE))
    # the first failure after a real frame is OFFLINE again, not straight to maintenance
    assert events[back_online + 1] == ("error", DeviceState.OFFLINE)


def test_permission_denied_asks_for_configuration_and_the_thread_lives_on():
    denied = threading.Event()
    denied.set()
    opens = []

    def open_source():
        opens.append(1)
        if denied.is_set():
            raise PermissionError(13, "Permission denied", "/dev/video0")
        return Scripted(lambda: FRAME)

    capture = CaptureThread(open_source, backoff=(0.01, 0.05))
    capture.start()
    try:
        wait_until(lambda: len(opens) >= 3)  # retried with back-off, not dead
        assert capture.thread_alive
        assert capture.status.state is DeviceState.HARDWARE_ERROR
        assert "Permission denied" in capture.status.detail
        denied.clear()  # a technician adds the kiosk user to the video group
        wait_until(lambda: capture.status.state is DeviceState.ONLINE)
    finally:
        capture.stop()
    actions = [e.action for e in capture.channel.drain() if e.kind == "error"]
    assert actions == [ErrorAction.CONFIGURATION]


def test_a_camera_node_the_kiosk_may_not_open_says_what_to_fix(tmp_path: Path, monkeypatch):
    node = tmp_path / "video0"
    node.write_bytes(b"")
    monkeypatch.setattr("os.access", lambda path, mode: False)  # tests run as root
    with pytest.raises(CameraPermissionError, match="video' group"):
        OpenCVSource(str(node))

    def open_source():
        raise CameraPermissionError("camera /dev/video0: permission denied")

    capture = CaptureThread(open_source, backoff=(0.01, 0.05))
    capture.start()
    try:
        wait_until(lambda: capture.status.state is DeviceState.HARDWARE_ERROR)
    finally:
        capture.stop()
    assert capture.channel.drain()[-1].action is ErrorAction.CONFIGURATION


def test_an_unexpected_exception_mid_stream_is_a_software_error_not_a_frozen_online():
    """A read that raises something other than CameraError used to end the thread while the
    status stayed "online, capturing" and the frame stayed frozen."""
    reads = {"count": 0}
    healthy = threading.Event()

    def behaviour():
        reads["count"] += 1
        if reads["count"] > 3 and not healthy.is_set():
            raise ValueError("driver returned a frame of the wrong shape")
        return FRAME

    capture = CaptureThread(lambda: Scripted(behaviour), backoff=(0.01, 0.05))
    capture.start()
    try:
        wait_until(lambda: capture.status.state is DeviceState.OFFLINE)
        assert capture.thread_alive
        assert "ValueError" in capture.status.detail
        healthy.set()
        wait_until(lambda: capture.status.state is DeviceState.ONLINE)
    finally:
        capture.stop()
    errors = [e for e in capture.channel.drain() if e.kind == "error"]
    assert errors[0].action is ErrorAction.SOFTWARE_ERROR


def test_a_stalled_read_is_reported_as_offline_by_frame_age():
    release = threading.Event()
    reads = {"count": 0}

    def behaviour():
        reads["count"] += 1
        if reads["count"] > 2:
            release.wait(30)  # a driver hung inside read(), beyond any select() timeout
        return FRAME

    capture = CaptureThread(lambda: Scripted(behaviour), max_frame_age=0.3)
    capture.start()
    try:
        wait_until(lambda: capture.status.state is DeviceState.OFFLINE)
        assert "no new frame for" in capture.status.detail
        _image, sequence, captured_at = capture.latest()
        assert sequence == 2 and time.monotonic() - captured_at >= 0.3
        release.set()
        wait_until(lambda: capture.status.state is DeviceState.ONLINE)
    finally:
        release.set()
        capture.stop()


def test_latest_carries_the_capture_time():
    capture = CaptureThread(lambda: Scripted(lambda: FRAME))
    assert capture.latest() == (None, 0, None)
    before = time.monotonic()
    capture.start()
    try:
        wait_until(lambda: capture.latest().sequence >= 2)
        latest = capture.latest()
        assert latest.image is not None and before <= latest.captured_at <= time.monotonic()
        assert latest.age() >= 0
    finally:
        capture.stop()


def test_a_blocking_camera_is_drained_as_fast_as_it_delivers():
    """A model of V4L2 buffering: frames are queued by the "driver" at 200 Hz and read()
    hands out the oldest. Sleeping after each read (the old 1/30 s) lets the queue grow, so
    every frame handed out is stale; reading straight away keeps the queue empty."""
    buffers: queue.Queue[np.ndarray] = queue.Queue()
    closing = threading.Event()

    def dequeue() -> np.ndarray:
        while True:  # like select(): wait for a buffer, give up when the test ends
            try:
                return buffers.get(timeout=0.05)
            except queue.Empty:
                if closing.is_set():
                    raise CameraError("closed") from None

    capture = CaptureThread(lambda: Scripted(dequeue))
    capture.start()
    try:
        for _ in range(60):
            buffers.put(FRAME)
            time.sleep(0.005)
        backlog = buffers.qsize()
        wait_until(lambda: capture.latest().sequence == 60)
    finally:
        closing.set()
        capture.stop()
    assert backlog <= 20  # with the old sleep 50 of 60 frames were still queued


def test_a_source_that_does_not_block_is_paced_by_its_own_frame_rate():
    camera = SceneSource("black", size=(64, 48), fps=50)
    capture = CaptureThread(lambda: camera)
    started = time.monotonic()
    capture.start()
    try:
        wait_until(lambda: capture.latest().sequence >= 5)
        time.sleep(0.2)
        delivered, elapsed = capture.latest().sequence, time.monotonic() - started
    finally:
        capture.stop()
    assert delivered <= elapsed * 50 + 2  # never faster than its frame rate
