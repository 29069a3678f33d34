"""QR codes in camera frames: the receipt's tracking code and e-licence codes.

OpenCV's own detector is used (the headless wheel ships it; no extra native library). Some
government QR codes carry GBK bytes rather than UTF-8; OpenCV then hands back the raw bytes
as Latin-1 characters, which :func:`repair_text` turns back into Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class QRCode:
    """One decoded code and the four corners where it was found (pixels)."""

    text: str
    corners: tuple[tuple[float, float], ...]


def repair_text(text: str) -> str:
    """Undo a GBK payload shown as Latin-1 characters; other text is returned unchanged."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return text  # already real Unicode beyond Latin-1
    if raw.isascii():
        return text
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return text


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A single-channel view of ``frame`` (BGR, BGRA or already gray)."""
    if frame.ndim == 2:
        return frame
    code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(frame, code)


class QRDecoder:
    """Finds and decodes every QR code in a frame; one detector reused across frames."""

    def __init__(self) -> None:
        self._detector = cv2.QRCodeDetector()

    def decode(self, frame: np.ndarray) -> list[QRCode]:
        """All readable codes in ``frame``; an unreadable or empty frame gives ``[]``."""
        if frame is None or frame.size == 0:
            return []
        gray = to_gray(frame)
        found, texts, points, _ = self._detector.detectAndDecodeMulti(gray)
        pairs = list(zip(texts, points, strict=False)) if found and points is not None else []
        if not any(text for text, _quad in pairs):
            # the multi-code detector misses some tilted single codes that this one reads
            text, quad, _ = self._detector.detectAndDecode(gray)
            pairs = [(text, quad.reshape(4, 2))] if text and quad is not None else []
        return [
            QRCode(repair_text(text), tuple((float(x), float(y)) for x, y in quad))
            for text, quad in pairs
            if text
        ]
