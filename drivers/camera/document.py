"""Document capture: find the page, straighten it, and judge whether the photo is usable.

A citizen holds a paper under the camera at an angle. We look for the largest convex
four-sided outline, warp it to a flat rectangle, and check what makes a photo useless to the
clerk who later reads it: blur, glare and a page too small in the frame. A stable-frame
signal tells the screen when to take the picture by itself, so no one has to find a button
while holding a document.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from drivers.camera.qr import to_gray

MIN_AREA_FRACTION = 0.2  # a page covering less of the frame is "too small"
BLUR_THRESHOLD = 60.0  # variance of the Laplacian below this is "blurred"
GLARE_FRACTION = 0.02  # more than 2 % saturated pixels on the page is "glare"


@dataclass(frozen=True)
class PageQuality:
    """Why a page photo is or is not good enough; ``ok`` when nothing is wrong."""

    sharpness: float
    glare: float
    area_fraction: float

    @property
    def problems(self) -> tuple[str, ...]:
        """Machine words the screen turns into advice: blurred, glare, too_small."""
        found = []
        if self.sharpness < BLUR_THRESHOLD:
            found.append("blurred")
        if self.glare > GLARE_FRACTION:
            found.append("glare")
        if self.area_fraction < MIN_AREA_FRACTION:
            found.append("too_small")
        return tuple(found)

    @property
    def ok(self) -> bool:
        """True when the photo can be sent."""
        return not self.problems


def order_corners(points: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left (float32, shape 4x2)."""
    points = points.reshape(4, 2).astype(np.float32)
    sums = points.sum(axis=1)
    diffs = np.diff(points, axis=1).ravel()
    return np.array(
        [points[np.argmin(sums)], points[np.argmin(diffs)],
         points[np.argmax(sums)], points[np.argmax(diffs)]],
        dtype=np.float32,
    )


def find_page(frame: np.ndarray) -> np.ndarray | None:
    """The page's four corners (ordered) or None when no page-like outline is found."""
    gray = to_gray(frame)
    small_scale = 640.0 / max(gray.shape)
    small = cv2.resize(gray, None, fx=small_scale, fy=small_scale) if small_scale < 1 else gray
    scale = small_scale if small_scale < 1 else 1.0
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    edges = cv2.Canny(blurred, 50, 150)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    frame_area = small.shape[0] * small.shape[1]
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        if cv2.contourArea(contour) < 0.05 * frame_area:
            break
        approx = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return order_corners(approx.astype(np.float32) / scale)
    return None


def straighten(frame: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The page warped flat, at the resolution its longer edges had in the frame."""
    tl, tr, br, bl = corners
    width = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]],
                      dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return cv2.warpPerspective(frame, matrix, (width, height))


def assess(frame: np.ndarray, page: np.ndarray, corners: np.ndarray) -> PageQuality:
    """Quality of the straightened ``page`` found at ``corners`` in ``frame``."""
    gray = to_gray(page)
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    glare = float(np.count_nonzero(gray >= 250)) / max(gray.size, 1)
    area = float(cv2.contourArea(corners.astype(np.float32)))
    return PageQuality(sharpness, glare, area / (frame.shape[0] * frame.shape[1]))


class StableFrames:
    """Says "capture now" once the page corners have stayed put for ``needed`` frames."""

    def __init__(self, needed: int = 8, tolerance: float = 6.0) -> None:
        self.needed = needed
        self.tolerance = tolerance
        self._last: np.ndarray | None = None
        self._count = 0

    def update(self, corners: np.ndarray | None) -> bool:
        """Feed this frame's corners (None: no page); True when it is time to capture."""
        if corners is None:
            self._last, self._count = None, 0
            return False
        if self._last is not None and np.abs(corners - self._last).max() <= self.tolerance:
            self._count += 1
        else:
            self._count = 1
        self._last = corners
        return self._count >= self.needed
