"""QR codes in camera frames: the receipt's tracking code and e-licence codes.

Two engines, chosen by measurement (docs/benchmarks.md, ``bench.bench_camera``): zxing-cpp
(the default; a wheel from the package registry, no system library) decodes a 1280x720
frame in a few milliseconds, OpenCV's QRCodeDetector in tens to hundreds, with the same hit
rate on our scenes. OpenCV stays available as ``engine="opencv"``. Some government codes
carry GBK bytes without saying so; such text comes back as Latin-1 characters (OpenCV) or
as undecodable bytes (zxing), and :func:`repair_text` / :func:`text_from_bytes` turn it back
into Chinese.
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


def text_from_bytes(raw: bytes, fallback: str) -> str:
    """The payload as text: UTF-8 when it is, else GB18030 (a superset of GBK)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return fallback


class QRDecoder:
    """Finds and decodes every QR code in a frame; one engine reused across frames."""

    ENGINES = ("zxing", "opencv")

    def __init__(self, engine: str = "zxing") -> None:
        if engine not in self.ENGINES:
            raise ValueError(f"unknown QR engine {engine!r}; use one of {self.ENGINES}")
        self.engine = engine
        self._detector = cv2.QRCodeDetector() if engine == "opencv" else None

    def decode(self, frame: np.ndarray) -> list[QRCode]:
        """All readable codes in ``frame``; an unreadable or empty frame gives ``[]``."""
        if frame is None or frame.size == 0:
            return []
        gray = to_gray(frame)
        if self.engine == "zxing":
            return self._decode_zxing(gray)
        return self._decode_opencv(gray)

    @staticmethod
    def _decode_zxing(gray: np.ndarray) -> list[QRCode]:
        import zxingcpp

        codes = []
        for result in zxingcpp.read_barcodes(
            np.ascontiguousarray(gray), formats=zxingcpp.BarcodeFormat.QRCode
        ):
            if not result.valid:
                continue
            position = result.position
            corners = tuple(
                (float(point.x), float(point.y))
                for point in (position.top_left, position.top_right,
                              position.bottom_right, position.bottom_left)
            )
            codes.append(QRCode(text_from_bytes(result.bytes, result.text), corners))
        return codes

    def _decode_opencv(self, gray: np.ndarray) -> list[QRCode]:
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
