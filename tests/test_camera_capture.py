"""Frame sources and the capture thread: newest frame, unplug, replug, give-up state."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.capture import CaptureThread
from drivers.camera.qr import QRDecoder
from drivers.camera.sources import CameraError, ImageSource, SceneSource, open_source
from drivers.device_url import parse_device_url
from drivers.model import DeviceState, ErrorAction
from tests.waiting import wait_until


def test_emulator_scenes_carry_their_answers():
    frame = open_source(parse_device_url("emulator://camera?scene=qr")).read()
    assert [c.text for c in QRDecoder().decode(frame)] == ["K511602-DEMO-01-20261123-000001-7"]
    assert open_source(parse_device_url("emulator://camera?scene=black")).read().max() == 0
    with pytest.raises(CameraError, match="unknown scene"):
        SceneSource("aquarium")


def test_folder_replay_in_name_order(tmp_path: Path):
    for index, value in enumerate((10, 20, 30)):
        cv2.imwrite(str(tmp_path / f"{index:02d}.png"), np.full((40, 60, 3), value, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    source = open_source(parse_device_url(f"file://{tmp_path}"))
    assert [int(source.read()[0, 0, 0]) for _ in range(4)] == [10, 20, 30, 10]


def test_bad_replay_paths_are_clear_errors(tmp_path: Path):
    with pytest.raises(CameraError, match="no images"):
        ImageSource(tmp_path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(CameraError, match="not a readable image"):
        ImageSource(broken).read()


def test_unplug_and_replug_come_back_online_within_3_s():
    camera = SceneSource("document")
    capture = CaptureThread(lambda: camera, backoff=(0.05, 0.2))
    capture.start()
    try:
        wait_until(lambda: capture.status.state is DeviceState.ONLINE)
        _frame, before, _at = capture.latest()
        assert before > 0
        camera.unplugged = True
        wait_until(lambda: capture.status.state is DeviceState.OFFLINE)
        camera.unplugged = False
        started = time.monotonic()
        wait_until(lambda: capture.status.state is DeviceState.ONLINE)
        assert time.monotonic() - started < 3
        wait_until(lambda: capture.latest()[1] > before + 1)
    finally:
        capture.stop()
    kinds = [(e.kind, e.status.state) for e in capture.channel.drain()]
    assert ("error", DeviceState.OFFLINE) in kinds and kinds[-1] == ("status", DeviceState.ONLINE)


def test_a_missing_camera_ends_in_maintenance():
    def missing():
        raise CameraError("camera /dev/video9 cannot be opened")

    capture = CaptureThread(missing, backoff=(0.01, 0.02), max_failures=3)
    capture.start()
    try:
        wait_until(lambda: capture.status.state is DeviceState.HARDWARE_ERROR)
    finally:
        capture.stop()
    last = capture.channel.drain()[-1]
    assert last.action is ErrorAction.MAINTENANCE and "video9" in last.message
