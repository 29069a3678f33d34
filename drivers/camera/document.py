"""Document capture: find the page, straighten it, and judge whether the photo is usable.

A citizen holds a paper under the camera at an angle. We look for the largest convex
four-sided outline (failing that, the rectangle around the largest page-like outline; on a
light desk, with more sensitive edges), warp it to a flat rectangle, and check what makes a
photo useless to the clerk who later reads it: blur, glare and a page too small in the frame.
A stable-frame signal tells the screen when to take the picture by itself, so no one has to
find a button while holding a document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from drivers.camera.qr import to_gray

MIN_AREA_FRACTION = 0.2  # a page covering less of the frame is "too small"
BLUR_THRESHOLD = 60.0  # variance of the Laplacian below this is "blurred"
GLARE_FRACTION = 0.02  # more than 2 % saturated pixels on the page is "glare"
RECT_FILL = 0.85  # an outline filling less of its bounding rectangle is not taken as a page


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
    """Corners as top-left, top-right, bottom-right, bottom-left (float32, shape 4x2).

    Sorted by angle around the centroid, then started at the corner nearest the top-left.
    Picking each corner by the smallest or largest x + y and y - x, as before, chose the same
    point twice for a page turned 45 degrees, where two corners tie on both sums.
    """
    points = points.reshape(4, 2).astype(np.float32)
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    clockwise = points[np.argsort(angles, kind="stable")]  # y grows downwards on screen
    start = int(np.argmin(clockwise.sum(axis=1)))
    return np.roll(clockwise, -start, axis=0)


def _edge_maps(blurred: np.ndarray) -> Iterator[np.ndarray]:
    """Edge images to look for the page in, from the usual to the sensitive.

    A white page on a dark desk gives strong edges. On a light desk the step from desk to
    page is 10-40 grey levels, under Canny's usual thresholds; the sensitive pass finds it,
    and runs only when the first found nothing, so busy scenes keep the usual thresholds.
    """
    kernel = np.ones((3, 3), np.uint8)
    for low, high in ((50, 150), (10, 30)):
        yield cv2.dilate(cv2.Canny(blurred, low, high), kernel)


def _outline(edges: np.ndarray) -> np.ndarray | None:
    """The page's four corners in ``edges`` (unordered), or None.

    The largest convex four-point outline wins. When the largest outline does not simplify
    to four points (a folded corner, a thumb on the edge), its minimum-area rectangle stands
    in, provided the outline fills most of that rectangle (a page, not a blob).
    """
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    frame_area = edges.shape[0] * edges.shape[1]
    candidates = [c for c in sorted(contours, key=cv2.contourArea, reverse=True)[:5]
                  if cv2.contourArea(c) >= 0.05 * frame_area]
    for contour in candidates:
        approx = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return approx.reshape(4, 2).astype(np.float32)
    if candidates:
        rect = cv2.minAreaRect(candidates[0])
        box_area = rect[1][0] * rect[1][1]
        if box_area > 0 and cv2.contourArea(candidates[0]) / box_area >= RECT_FILL:
            return cv2.boxPoints(rect).astype(np.float32)
    return None


def find_page(frame: np.ndarray) -> np.ndarray | None:
    """The page's four corners (ordered) or None when no page-like outline is found."""
    gray = to_gray(frame)
    small_scale = 640.0 / max(gray.shape)
    small = cv2.resize(gray, None, fx=small_scale, fy=small_scale) if small_scale < 1 else gray
    scale = small_scale if small_scale < 1 else 1.0
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    for edges in _edge_maps(blurred):
        corners = _outline(edges)
        if corners is not None:
            return order_corners(corners / scale)
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


def _shift(corners: np.ndarray, last: np.ndarray) -> float:
    """How far the corners moved, whichever corner is called top-left: at 45 degrees the
    name passes from one corner to the next with a pixel of jitter, the page has not moved."""
    return min(float(np.abs(np.roll(corners, turn, axis=0) - last).max()) for turn in range(4))


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
        if self._last is not None and _shift(corners, self._last) <= self.tolerance:
            self._count += 1
        else:
            self._count = 1
        self._last = corners
        return self._count >= self.needed
