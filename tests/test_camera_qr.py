"""QR payload text and faint codes: zxing's encoding-aware text, GBK without ECI, the
contrast fallback and the OpenCV fallback."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from drivers.camera.qr import QRDecoder, looks_like_gbk
from drivers.camera.scenes import qr_from_bytes, qr_image

RECEIPT = "K511602-HALL-01-20261123-000001-7"


def faint(code: np.ndarray, contrast: int, noise: float = 0.0, dark_edge: bool = False):
    """``code`` printed with only ``contrast`` grey levels between dark and light modules, on
    a lighter frame (a worn thermal receipt under the kiosk's lamp); with ``dark_edge`` a
    dark desk and a white glare band are in view too, so a global stretch gains nothing."""
    frame = np.full((720, 1280), 240, np.uint8)
    if dark_edge:
        frame[:, :100], frame[:, -100:] = 10, 255
    patch = np.where(code > 127, 200, 200 - contrast).astype(np.uint8)
    frame[200:200 + code.shape[0], 400:400 + code.shape[1]] = patch
    if noise:
        grain = np.random.default_rng(0).normal(0, noise, frame.shape)
        frame = np.clip(frame + grain, 0, 255).astype(np.uint8)
    return frame


def zxing_alone(frame: np.ndarray) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.mark.parametrize("text", ["Müller Straße 5", "Grüße aus Köln", "café Zürich"])
def test_a_latin1_code_without_eci_keeps_zxings_text(text):
    """The QR default character set is ISO-8859-1; re-decoding the bytes as GB18030 turned
    "Müller" into "M黮ler"."""
    codes = QRDecoder().decode(qr_from_bytes(text.encode("latin-1")))
    assert [c.text for c in codes] == [text]


@pytest.mark.parametrize("text", ["受理回执", "办事指南 第1号", "广安区 政务服务中心"])
def test_a_gbk_code_without_eci_is_still_chinese(text):
    codes = QRDecoder().decode(qr_from_bytes(text.encode("gbk")))
    assert [c.text for c in codes] == [text]


def test_gbk_guess():
    assert looks_like_gbk("受理回执 第1号".encode("gbk"))
    assert not looks_like_gbk("Müller".encode("latin-1"))  # an odd run of high bytes
    assert not looks_like_gbk("Grüße".encode("latin-1"))  # decodes, but to a private-use char
    assert not looks_like_gbk("受理回执".encode())  # UTF-8 is read right by zxing
    assert not looks_like_gbk(b"plain")


@pytest.mark.parametrize(("contrast", "noise", "dark_edge"), [
    (20, 0, False), (22, 0, False), (24, 0, False),
    (20, 0, True), (22, 1.5, True), (24, 3, True),
])
def test_a_faint_code_is_read_after_contrast_normalisation(contrast, noise, dark_edge):
    frame = faint(qr_image(RECEIPT), contrast, noise, dark_edge)
    assert zxing_alone(frame) == []  # the case of the issue: zxing alone misses it
    assert [c.text for c in QRDecoder().decode(frame)] == [RECEIPT]


def test_the_opencv_fallback_reads_what_zxing_cannot(monkeypatch):
    frame = faint(qr_image(RECEIPT), 20)
    monkeypatch.setattr(QRDecoder, "_decode_zxing", staticmethod(lambda gray: []))
    assert QRDecoder().decode(frame) == []  # off by default: too slow for live frames
    assert [c.text for c in QRDecoder(opencv_fallback=True).decode(frame)] == [RECEIPT]


def test_opencv_engine_survives_a_payload_it_cannot_turn_into_text():
    """OpenCV's Python binding raises UnicodeDecodeError for non-UTF-8 payloads."""
    frame = qr_from_bytes("受理回执".encode("gbk"))
    assert QRDecoder("opencv").decode(frame) == []


def test_a_faint_code_read_at_half_size_is_placed_in_full_frame_pixels():
    """The local-contrast retry reads a 1280x720 frame at half size; the corners it reports
    are scaled back, so a caller drawing a box around the code draws it in the right place."""
    code = qr_image(RECEIPT)
    frame = faint(code, 20, dark_edge=True)
    [found] = QRDecoder().decode(frame)
    xs = [x for x, _y in found.corners]
    ys = [y for _x, y in found.corners]
    assert min(xs) >= 400 - 20 and max(xs) <= 400 + code.shape[1] + 20
    assert min(ys) >= 200 - 20 and max(ys) <= 200 + code.shape[0] + 20
