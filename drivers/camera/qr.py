"""QR codes in camera frames: the receipt's tracking code and e-licence codes.

Two engines, chosen by measurement (docs/benchmarks.md, ``bench.bench_camera``): zxing-cpp
(the default; a wheel from the package registry, no system library) decodes a 1280x720
frame in a few milliseconds, OpenCV's QRCodeDetector in tens to hundreds, with the same hit
rate on our scenes. OpenCV stays available as ``engine="opencv"``.

Text: zxing's ``text`` honours the code's ECI header and the QR default (ISO-8859-1), so it
is used as it is. The one exception is a payload that carries GBK bytes without an ECI
header, as some government codes do: zxing shows it as Latin-1 characters, and
:func:`looks_like_gbk` decides when to read the bytes as GB18030 instead.

Faint codes (20-25 grey levels between dark and light modules) defeat zxing's binariser:
when a frame gives nothing, the zxing engine retries on a contrast-stretched and on a
locally boosted half-size copy (about 3 ms in all at 1280x720), and, only when asked, with
OpenCV's detector
(about 150 ms on a 1280x720 frame with no code: too slow for every live frame).
"""

from __future__ import annotations

import re
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


_HIGH_RUNS = re.compile(rb"[\x80-\xff]+")
_CJK = re.compile(
    "[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
    "\U00020000-\U0003134f]"
)


def looks_like_gbk(raw: bytes) -> bool:
    """True when ``raw`` (a payload without ECI) is better read as GBK than as Latin-1.

    Both readings decode almost any bytes, so it takes evidence: GBK Chinese comes in runs of
    high bytes of even length (two per character) and decodes only to CJK characters, while
    Latin-1 text has lone accented letters (b"M\\xfcller") or pairs that decode to GBK's
    private-use area (b"Gr\\xfc\\xdfe"). GBK extension characters whose second byte is ASCII
    are not recognised and stay Latin-1: rare, and better than garbling European names.
    """
    if raw.isascii():
        return False
    try:
        raw.decode("utf-8")
        return False  # valid UTF-8: zxing reads it right by itself
    except UnicodeDecodeError:
        pass
    if any(len(run) % 2 for run in _HIGH_RUNS.findall(raw)):
        return False
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return all(char.isascii() or _CJK.match(char) for char in text)


def payload_text(raw: bytes, text: str, symbology_identifier: str) -> str:
    """zxing's ``text`` for a code, except GBK bytes in a code without an ECI header.

    The symbology identifier ``]Q2``, ``]Q4`` or ``]Q6`` says the code declares its character
    set (ISO/IEC 18004 annex F); then zxing's text is right by definition.
    """
    has_eci = symbology_identifier[-1:] in ("2", "4", "6")
    if not has_eci and looks_like_gbk(raw):
        return raw.decode("gb18030")
    return text


def _stretched(gray: np.ndarray) -> np.ndarray | None:
    """The whole frame stretched to 0-255: enough when nothing else in view is dark. None
    when the frame already spans most of the range (a retry would see the same image)."""
    low, high, _, _ = cv2.minMaxLoc(gray)
    if high - low >= 200:
        return None
    return cv2.normalize(gray, None, 0, 255, cv2.NORM_MINMAX)


def _boosted_small(gray: np.ndarray) -> np.ndarray:
    """:func:`_boosted` on a half-size copy of a frame wider than 960 px: a quarter of the
    pixels for zxing, which is what keeps a frame without any code under the live budget
    (about 2 ms instead of 8 at 1280x720); a code held up to the kiosk camera still has
    modules of 2 px or more at half size. Corners are scaled back by the caller."""
    if gray.shape[1] <= 960:
        return _boosted(gray)
    half = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2),
                      interpolation=cv2.INTER_AREA)
    return _boosted(half)


def _boosted(gray: np.ndarray) -> np.ndarray:
    """Local contrast times four (unsharp mask over a 41 px box): zxing's binariser takes
    any 8x8 block spanning fewer than 24 grey levels as flat, so a faint code next to a dark
    desk stays invisible to it even after a global stretch. On generated faint codes beside
    a dark desk (contrast 12-25, grain, 4-12 px modules) it read 53 of 54, where CLAHE read
    them only with some clip and tile settings and not others."""
    return cv2.addWeighted(gray, 4.0, cv2.blur(gray, (41, 41)), -3.0, 0)


class QRDecoder:
    """Finds and decodes every QR code in a frame; one engine reused across frames."""

    ENGINES = ("zxing", "opencv")

    def __init__(self, engine: str = "zxing", *, opencv_fallback: bool = False) -> None:
        """``opencv_fallback``: after zxing and its contrast retries fail, try OpenCV's
        detector too. Worth it for one image (a technician's photo), not for live frames."""
        if engine not in self.ENGINES:
            raise ValueError(f"unknown QR engine {engine!r}; use one of {self.ENGINES}")
        self.engine = engine
        self.opencv_fallback = opencv_fallback
        use_opencv = engine == "opencv" or opencv_fallback
        self._detector = cv2.QRCodeDetector() if use_opencv else None

    def decode(self, frame: np.ndarray) -> list[QRCode]:
        """All readable codes in ``frame``; an unreadable or empty frame gives ``[]``."""
        if frame is None or frame.size == 0:
            return []
        gray = to_gray(frame)
        if self.engine == "opencv":
            return self._decode_opencv(gray)
        codes = self._decode_zxing(gray)
        for enhance in (_stretched, _boosted_small):
            if codes:
                break
            enhanced = enhance(gray)
            codes = self._decode_zxing(enhanced) if enhanced is not None else []
            scale = gray.shape[1] / enhanced.shape[1] if enhanced is not None else 1.0
            if codes and scale != 1.0:
                codes = [QRCode(code.text, tuple((x * scale, y * scale) for x, y in code.corners))
                         for code in codes]
        if not codes and self.opencv_fallback:
            codes = self._decode_opencv(gray)
        return codes

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
            text = payload_text(result.bytes, result.text, result.symbology_identifier)
            codes.append(QRCode(text, corners))
        return codes

    def _decode_opencv(self, gray: np.ndarray) -> list[QRCode]:
        assert self._detector is not None
        try:
            found, texts, points, _ = self._detector.detectAndDecodeMulti(gray)
            pairs = list(zip(texts, points, strict=False)) if found and points is not None else []
            if not any(text for text, _quad in pairs):
                # the multi-code detector misses some tilted single codes that this one reads
                text, quad, _ = self._detector.detectAndDecode(gray)
                pairs = [(text, quad.reshape(4, 2))] if text and quad is not None else []
        except UnicodeDecodeError:
            # OpenCV 4.x's binding turns a payload that is not UTF-8 into this error and
            # gives no bytes to recover from: the code counts as unreadable
            return []
        return [
            QRCode(repair_text(text), tuple((float(x), float(y)) for x, y in quad))
            for text, quad in pairs
            if text
        ]
