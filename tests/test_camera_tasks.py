"""Camera tasks over the hub's emulated camera: a document photographed by itself, a still
of a person, QR codes reported once each; stopping is clean and the hub stops its tasks.
No timing assertions: checks wait for conditions or for a number of processed frames."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from drivers.device_url import parse_device_url
from kiosk.config import DevicesSection
from kiosk.devices.camera_tasks import (
    DocumentTask,
    DocumentUpdate,
    FaceTask,
    FaceUpdate,
    QrTask,
)
from kiosk.devices.hub import DeviceHub
from tests.waiting import wait_until


@pytest.fixture()
def hub() -> Iterator[DeviceHub]:
    hub = DeviceHub(DevicesSection(parse_device_url("emulator://idcard?card=none"),
                                   parse_device_url("emulator://printer"),
                                   parse_device_url("emulator://camera?scene=empty")))
    hub.start()
    try:
        wait_until(lambda: hub.camera_ok, 10, "camera online")
        yield hub
    finally:
        hub.stop()


class Collect:
    def __init__(self) -> None:
        self.items: list = []
        self.threads: set[str] = set()

    def __call__(self, item) -> None:
        self.threads.add(threading.current_thread().name)
        self.items.append(item)


def frames_later(task, count: int = 10) -> None:
    start = task.frames_processed
    wait_until(lambda: task.frames_processed >= start + count, 10, f"{count} more frames")


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_a_still_document_is_photographed_straight_and_bounded(hub: DeviceHub):
    updates = Collect()
    hub.emulators.show_scene("document")
    task = DocumentTask(hub, updates).start()
    wait_until(lambda: task.done, 10, "the page captured")
    last: DocumentUpdate = updates.items[-1]
    assert last.page_jpeg is not None and last.page_jpeg == task.page_jpeg
    assert [u.page_jpeg is not None for u in updates.items].count(True) == 1
    assert last.problems == () and last.steady == 1.0 and last.frame_size == (1280, 720)
    assert len(last.corners) == 4
    assert [u.steady for u in updates.items] == sorted(u.steady for u in updates.items)
    page = decode(last.page_jpeg)
    height, width = page.shape[:2]
    assert height > width  # the emulator's page stands upright, straightened
    assert page.mean() > 150  # mostly paper, not desk
    assert max(page.shape[:2]) <= 1600 and len(last.page_jpeg) <= 800_000
    assert task.fps > 0 and task.seconds_per_frame > 0
    assert updates.threads == {"camera-document"}
    assert task.join()


def test_no_page_no_photo_until_one_is_held_up(hub: DeviceHub):
    updates = Collect()
    task = DocumentTask(hub, updates).start()
    try:
        frames_later(task)
        assert all(u.problems == ("no_page",) and u.corners is None for u in updates.items)
        assert task.page_jpeg is None and not task.done
        hub.emulators.show_scene("document")
        wait_until(lambda: task.done, 10, "the page captured")
    finally:
        task.stop()


def test_capture_now_takes_the_frame_as_it_is(hub: DeviceHub):
    updates = Collect()
    hub.emulators.show_scene("black")
    task = DocumentTask(hub, updates).start()
    frames_later(task, 2)
    task.capture_now()
    wait_until(lambda: task.done, 10, "forced capture")
    assert decode(task.page_jpeg).shape[:2] == (720, 1280)
    assert updates.items[-1].problems == ("no_page",)


def test_a_person_in_front_gives_one_still(hub: DeviceHub):
    updates = Collect()
    hub.emulators.show_scene("face")
    task = FaceTask(hub, updates, confirm_frames=3).start()
    wait_until(lambda: task.done, 10, "a still")
    stills = [u for u in updates.items if u.still_jpeg is not None]
    assert len(stills) == 1 and stills[0] is updates.items[-1]
    last: FaceUpdate = updates.items[-1]
    assert last.present and last.advice == "ok" and last.face is not None
    still = decode(task.still_jpeg)
    _x, _y, w, h = last.face
    assert still.shape[1] < 1280  # the face and a margin, not the whole hall
    assert still.shape[1] >= 2 * w and still.shape[0] >= 2 * h
    assert updates.threads == {"camera-face"}


def test_nobody_there_gives_no_still(hub: DeviceHub):
    updates = Collect()
    hub.emulators.show_scene("blank")
    task = FaceTask(hub, updates).start()
    try:
        frames_later(task)
        assert all(not u.present and u.advice == "no_face" for u in updates.items)
        assert task.still_jpeg is None
    finally:
        task.stop()


def test_each_distinct_code_is_reported_once(hub: DeviceHub):
    codes = Collect()
    hub.emulators.show_qr("ECODE-A")
    task = QrTask(hub, codes).start()
    try:
        wait_until(lambda: codes.items == ["ECODE-A"], 10, "first code")
        frames_later(task)
        assert codes.items == ["ECODE-A"]
        hub.emulators.show_qr("ECODE-B 电子证照")
        wait_until(lambda: len(codes.items) == 2, 10, "second code")
        hub.emulators.show_qr("ECODE-A")
        frames_later(task)
        assert codes.items == ["ECODE-A", "ECODE-B 电子证照"]
        assert codes.threads == {"camera-qr"}
    finally:
        task.stop()


def test_a_stopped_task_calls_nothing_more_and_ends(hub: DeviceHub):
    codes = Collect()
    hub.emulators.show_qr("ECODE-A")
    task = QrTask(hub, codes).start()
    wait_until(lambda: codes.items, 10, "a code")
    task.stop()
    count = len(codes.items)
    task.forget()  # would report the code again, were the task still running
    assert task.join() and not task.running
    assert len(codes.items) == count


def test_stopping_the_hub_stops_its_tasks():
    hub = DeviceHub(DevicesSection(parse_device_url("emulator://idcard?card=none"),
                                   parse_device_url("emulator://printer"),
                                   parse_device_url("emulator://camera?scene=qr")))
    hub.start()
    task = QrTask(hub, lambda code: None).start()
    try:
        wait_until(lambda: task.frames_processed > 0, 10, "frames processed")
    finally:
        hub.stop()
    assert task.join() and not task.running


def test_camera_unplugged_pauses_the_task_and_replug_resumes_it(hub: DeviceHub):
    codes = Collect()
    task = QrTask(hub, codes).start()
    try:
        hub.emulators.unplug("camera")
        wait_until(lambda: not hub.camera_ok, 10, "camera offline")
        hub.emulators.show_qr("AFTER-REPLUG")
        frames = task.frames_processed
        hub.emulators.replug("camera")
        wait_until(lambda: codes.items == ["AFTER-REPLUG"], 10, "code after replug")
        assert task.frames_processed > frames
    finally:
        task.stop()
