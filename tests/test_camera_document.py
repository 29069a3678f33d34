"""Page detection in the hard cases: a page at 45 degrees, an outline that does not simplify
to four points, and a white page on a light desk."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from drivers.camera.document import StableFrames, find_page, order_corners
from drivers.camera.scenes import document_scene

TILTED = np.array([[420, 80], [820, 110], [860, 660], [390, 640]], np.float32)


def rotated_page(angle: float, centre=(640, 360), size=(300, 420)) -> np.ndarray:
    """The corners of an upright page of ``size`` turned by ``angle`` degrees, in the cyclic
    order OpenCV gives (not through order_corners, which is under test)."""
    return cv2.boxPoints((centre, size, angle)).astype(np.float32)


def distinct(corners: np.ndarray, at_least: float = 50) -> bool:
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(corners) for b in corners[i + 1:]]
    return min(gaps) >= at_least


def matches(found: np.ndarray, truth: np.ndarray, tolerance: float) -> bool:
    """Every true corner has a found corner within ``tolerance`` (order aside)."""
    return all(np.linalg.norm(found - corner, axis=1).min() <= tolerance for corner in truth)


def test_a_diamond_has_four_distinct_corners_in_clockwise_order():
    diamond = np.array([[500, 100], [700, 300], [500, 500], [300, 300]], np.float32)
    ordered = order_corners(diamond[[2, 0, 3, 1]])
    assert distinct(ordered)
    (ax, ay), (bx, by) = ordered[1] - ordered[0], ordered[2] - ordered[0]
    assert ax * by - ay * bx > 0  # TL -> TR -> BR turns clockwise on screen (y grows down)
    assert np.array_equal(order_corners(TILTED[[2, 3, 0, 1]]), TILTED)


@pytest.mark.parametrize("angle", [30, 44, 45, 46, 60])
def test_a_page_turned_near_45_degrees_is_found(angle):
    truth = rotated_page(angle)
    found = find_page(document_scene(truth))
    assert found is not None and distinct(found)
    assert matches(found, truth, 8)  # diagonal edges, found at half resolution


def test_an_outline_with_a_folded_corner_falls_back_to_the_bounding_rectangle():
    truth = rotated_page(12, size=(380, 520))
    frame = document_scene(truth)
    before, corner, after = truth[0], truth[1], truth[2]  # fold one corner under
    fold = np.array([corner + (before - corner) * 0.3, corner, corner + (after - corner) * 0.3],
                    np.int32)
    cv2.fillPoly(frame, [fold], (60, 60, 60))
    found = find_page(frame)
    assert found is not None and distinct(found)
    assert matches(found, truth, 12)


@pytest.mark.parametrize("desk", [170, 200, 215])
def test_a_white_page_on_a_light_desk(desk):
    found = find_page(document_scene(TILTED, desk=desk))
    assert found is not None
    assert np.abs(found - TILTED).max() <= 8


def test_still_no_page_on_an_empty_light_desk():
    frame = np.full((720, 1280, 3), 210, np.uint8)
    frame += np.random.default_rng(0).integers(0, 12, frame.shape, dtype=np.uint8)
    assert find_page(frame) is None


def test_a_page_at_45_degrees_is_stable_although_its_top_left_corner_changes_name():
    stable = StableFrames(needed=4, tolerance=12)  # 1 degree of turn moves corners ~10 px
    frames = [document_scene(rotated_page(angle)) for angle in (44, 45, 44, 45)]
    found = [find_page(frame) for frame in frames]
    assert np.linalg.norm(found[0][0] - found[1][0]) > 100  # "top-left" is another corner
    assert [stable.update(corners) for corners in found] == [False, False, False, True]
