"""Face presence on drawn faces with known position and size."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.camera.presence import PresenceDetector
from drivers.camera.scenes import face_scene


@pytest.fixture(scope="module")
def detector() -> PresenceDetector:
    return PresenceDetector()


def test_a_person_close_to_the_kiosk(detector):
    presence = detector.check(face_scene(centre=(640, 360), face_width=300))
    assert presence.present and presence.close_enough and presence.advice == "ok"
    x, y, w, h = presence.face
    assert abs((x + w / 2) - 640) < 60 and abs((y + h / 2) - 360) < 80


def test_a_person_far_away_is_asked_to_come_closer(detector):
    presence = detector.check(face_scene(centre=(900, 300), face_width=130))
    assert presence.present and not presence.close_enough
    assert presence.advice == "come_closer"


def test_an_empty_hall(detector):
    presence = detector.check(np.full((720, 1280, 3), 200, np.uint8))
    assert not presence.present and presence.advice == "no_face"


def test_a_document_is_not_a_face(detector):
    from drivers.camera.scenes import document_scene

    corners = np.array([[420, 80], [820, 110], [860, 660], [390, 640]], np.float32)
    assert not detector.check(document_scene(corners, text="K1-20261123-000001-Q")).present
