"""Camera pipelines on generated images with known answers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.camera.document import StableFrames, assess, find_page, straighten
from drivers.camera.qr import QRDecoder, repair_text
from drivers.camera.scenes import document_scene, qr_image

TILTED = np.array([[420, 80], [820, 110], [860, 660], [390, 640]], np.float32)


ENGINES = pytest.mark.parametrize("engine", QRDecoder.ENGINES)


@ENGINES
def test_receipt_qr_decodes_exactly(engine):
    text = "K511602-HALL-01-20261123-000001-7"
    frame = cv2.cvtColor(qr_image(text), cv2.COLOR_GRAY2BGR)
    codes = QRDecoder(engine).decode(frame)
    assert [code.text for code in codes] == [text]
    assert len(codes[0].corners) == 4


@ENGINES
def test_chinese_qr_payload(engine):
    codes = QRDecoder(engine).decode(qr_image("居住证 受理回执"))
    assert [c.text for c in codes] == ["居住证 受理回执"]


def test_gbk_bytes_become_chinese():
    from drivers.camera.qr import text_from_bytes

    assert text_from_bytes("受理回执".encode("gbk"), "?") == "受理回执"
    assert text_from_bytes(b"\xff\xfe\xff", "?") == "?"


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown QR engine"):
        QRDecoder("tesseract")


def test_gbk_payload_shown_as_latin1_is_repaired():
    raw = "受理回执".encode("gbk")
    assert repair_text(raw.decode("latin-1")) == "受理回执"
    assert repair_text("plain ascii") == "plain ascii"
    assert repair_text("已是中文") == "已是中文"


@ENGINES
def test_qr_on_a_tilted_page_is_found(engine):
    frame = document_scene(TILTED, text="K511602-HALL-01-20261123-000042-Q")
    codes = QRDecoder(engine).decode(frame)
    assert "K511602-HALL-01-20261123-000042-Q" in [c.text for c in codes]


@ENGINES
def test_empty_or_blank_frames_give_nothing(engine):
    decoder = QRDecoder(engine)
    assert decoder.decode(np.zeros((0, 0), np.uint8)) == []
    assert decoder.decode(np.full((720, 1280, 3), 128, np.uint8)) == []


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-40, 40), min_size=8, max_size=8))
def test_page_corners_found_within_a_few_pixels(jitter):
    corners = TILTED + np.array(jitter, np.float32).reshape(4, 2)
    found = find_page(document_scene(corners))
    assert found is not None
    assert np.abs(found - corners).max() <= 6


def test_straightened_page_has_the_page_proportions_and_passes_quality():
    frame = document_scene(TILTED)
    corners = find_page(frame)
    page = straighten(frame, corners)
    height, width = page.shape[:2]
    assert 1.1 < height / width < 1.6
    quality = assess(frame, page, corners)
    assert quality.ok, quality.problems


def test_quality_flags_blur_glare_and_small_pages():
    small = np.array([[500, 200], [760, 210], [770, 560], [495, 550]], np.float32)
    frame = document_scene(small)
    corners = find_page(frame)
    assert corners is not None
    assert "too_small" in assess(frame, straighten(frame, corners), corners).problems

    frame = cv2.GaussianBlur(document_scene(TILTED), (31, 31), 0)
    corners = find_page(frame)
    page = straighten(frame, corners)
    assert "blurred" in assess(frame, page, corners).problems
    page[:, :] = 255
    assert "glare" in assess(frame, page, corners).problems


def test_no_page_on_an_empty_desk():
    assert find_page(np.full((720, 1280, 3), 60, np.uint8)) is None


def test_stable_frames_signal():
    stable = StableFrames(needed=3, tolerance=2)
    assert [stable.update(TILTED) for _ in range(3)] == [False, False, True]
    assert stable.update(TILTED + 20) is False
    assert stable.update(None) is False


@pytest.mark.parametrize("shape", [(720, 1280), (720, 1280, 3), (720, 1280, 4)])
def test_any_channel_layout(shape):
    frame = np.zeros(shape, np.uint8)
    assert QRDecoder().decode(frame) == []
    assert find_page(frame) is None
