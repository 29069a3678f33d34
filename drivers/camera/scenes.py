"""Generated camera scenes with known answers, for the camera emulator and the tests.

Every scene returns the frame and the truth (where the page's corners are, which QR text
it shows), so that detection can be checked to the pixel without any real camera.
"""

from __future__ import annotations

import cv2
import numpy as np


def qr_image(text: str, module_px: int = 8, border_modules: int = 4) -> np.ndarray:
    """A clean black-on-white QR code for ``text`` (grayscale)."""
    code = cv2.QRCodeEncoder.create().encode(text)
    code = cv2.resize(code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    pad = border_modules * module_px
    return cv2.copyMakeBorder(code, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)


def qr_from_bytes(raw: bytes, module_px: int = 8) -> np.ndarray:
    """A QR code holding exactly ``raw`` in byte mode with no ECI header (grayscale).

    OpenCV's encoder always writes UTF-8; this one lets tests make the codes found in the
    field: Latin-1 (the QR default) or GBK bytes that do not say what they are.
    """
    import zxingcpp

    code = zxingcpp.create_barcode(raw, zxingcpp.BarcodeFormat.QRCode)
    return np.ascontiguousarray(zxingcpp.write_barcode_to_image(code, scale=module_px))


def document_scene(
    corners: np.ndarray,
    size: tuple[int, int] = (1280, 720),
    text: str | None = None,
    seed: int = 0,
    desk: int = 60,
) -> np.ndarray:
    """A white A4-like page with printed lines (and an optional QR code) on a desk of grey
    level ``desk`` (dark by default; light desks are the hard case), seen with its corners at
    ``corners`` (TL, TR, BR, BL) in a BGR frame of ``size``."""
    rng = np.random.default_rng(seed)
    page = np.full((1123, 794), 245, np.uint8)  # A4 at 96 dpi
    for row in range(120, 1000, 48):
        width = int(rng.integers(300, 650))
        cv2.line(page, (72, row), (72 + width, row), 40, 6)
    if text:
        # printed on the page, so its light modules are the paper's white (245), not 255:
        # a pure-white patch would read as glare and no capture would ever pass the check
        code = np.minimum(qr_image(text, module_px=10), 245)
        page[80:80 + code.shape[0], 794 - 80 - code.shape[1]:794 - 80] = code
    source = np.array([[0, 0], [793, 0], [793, 1122], [0, 1122]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    width, height = size
    background = np.full((height, width), min(desk, 243), np.uint8)  # + grain stays < 255
    background += rng.integers(0, 12, background.shape, dtype=np.uint8)
    warped = cv2.warpPerspective(page, matrix, (width, height), borderValue=0)
    mask = cv2.warpPerspective(np.full_like(page, 255), matrix, (width, height))
    frame = np.where(mask > 127, warped, background).astype(np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def face_scene(
    centre: tuple[int, int] = (640, 360),
    face_width: int = 260,
    size: tuple[int, int] = (1280, 720),
) -> np.ndarray:
    """A drawn frontal face (oval, brows, eyes, nose, mouth) on a plain background (BGR).

    Crude on purpose: it has the light/dark structure a frontal-face detector keys on, and a
    known position and size, so tests know the answer without a photograph of anyone.
    """
    width, height = size
    image = np.full((height, width), 200, np.uint8)
    cx, cy = centre
    unit = face_width / 220.0

    def scaled(value: float) -> int:
        return round(value * unit)

    cv2.ellipse(image, (cx, cy), (scaled(110), scaled(145)), 0, 0, 360, 170, -1)
    for dx in (-40, 40):
        cv2.ellipse(image, (cx + scaled(dx), cy - scaled(35)), (scaled(24), scaled(11)), 0, 0,
                    360, 40, -1)
    cv2.ellipse(image, (cx, cy - scaled(65)), (scaled(60), scaled(12)), 0, 0, 360, 120, -1)
    cv2.line(image, (cx, cy - scaled(25)), (cx, cy + scaled(25)), 120, max(1, scaled(6)))
    cv2.ellipse(image, (cx, cy + scaled(60)), (scaled(40), scaled(12)), 0, 0, 360, 60, -1)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
