"""Materials: what to photograph, what the e-licence or the card already covers; page JPEGs."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from drivers.camera.scenes import document_scene
from kiosk.applying.materials import MaterialNeed, plan_materials, prepare_jpeg
from kiosk.finding.guides import Guide, Material, parse_guide
from reference_platform import samples
from reference_platform.matters import shipped_records


@dataclass(frozen=True)
class SampleLicence:
    type: str


HOUSEHOLD = SampleLicence("household_register")
MARRIAGE = SampleLicence("marriage_certificate")

ALL_MATERIALS = ("申请人居民身份证", "户口簿", "结婚证", "申请表", "营业执照副本",
                 "近期一寸免冠照片", "授权委托书（委托办理时）", "相关证明材料")


def guide_of(*names: str, copies: int = 1) -> Guide:
    return Guide("CODE", tuple(Material(samples.marked(name), copies, True, "") for name in names),
                 (), 5, "", (), 0, ("pickup",))


def plan(guide: Guide, **kwargs) -> dict[str, MaterialNeed]:
    options = {"licences": (), "applicant_source": "card", "has_agent": False} | kwargs
    return {need.name.removeprefix("【示例】"): need for need in plan_materials(guide, **options)}


def test_no_guide_no_materials():
    assert plan_materials(None, licences=(), applicant_source="card", has_agent=False) == ()


def test_card_holder_without_licences_applying_in_person():
    needs = plan(guide_of(*ALL_MATERIALS))
    assert {name: (need.how, need.pages) for name, need in needs.items()} == {
        "申请人居民身份证": ("not_needed", 1),
        "户口簿": ("photograph", 2),
        "结婚证": ("photograph", 1),
        "申请表": ("not_needed", 1),
        "营业执照副本": ("photograph", 1),
        "近期一寸免冠照片": ("photograph", 1),
        "授权委托书（委托办理时）": ("not_needed", 1),
        "相关证明材料": ("photograph", 1),
    }


def test_typed_identity_with_licences_and_an_agent():
    needs = plan(guide_of(*ALL_MATERIALS), applicant_source="manual", has_agent=True,
                 licences=[HOUSEHOLD, MARRIAGE])
    assert {name: (need.how, need.pages) for name, need in needs.items()} == {
        "申请人居民身份证": ("photograph", 2),
        "户口簿": ("licence", 1),
        "结婚证": ("licence", 1),
        "申请表": ("not_needed", 1),
        "营业执照副本": ("photograph", 1),
        "近期一寸免冠照片": ("photograph", 1),
        "授权委托书（委托办理时）": ("photograph", 1),
        "相关证明材料": ("photograph", 1),
    }
    assert needs["户口簿"].licence_type == "household_register"
    assert needs["营业执照副本"].licence_type == "business_licence"


def test_an_ecode_identifies_like_the_card():
    needs = plan(guide_of("申请人居民身份证"), applicant_source="ecode")
    assert needs["申请人居民身份证"].how == "not_needed"


def test_the_contracts_licence_type_wins_over_the_words():
    @dataclass(frozen=True)
    class TypedMaterial:
        name: str
        copies: int
        licence_type: str | None

    guide = Guide("C", (TypedMaterial("不动产权证书", 2, "property_certificate"),), (), 0, "",
                  (), 0, ())
    [need] = plan_materials(guide, licences=[SampleLicence("property_certificate")],
                            applicant_source="card", has_agent=False)
    assert (need.how, need.copies, need.licence_type) == ("licence", 2, "property_certificate")


def test_copies_are_kept_and_duplicates_planned_once():
    guide = guide_of("相关证明材料", "相关证明材料", copies=2)
    needs = plan_materials(guide, licences=(), applicant_source="card", has_agent=False)
    assert len(needs) == 1 and needs[0].copies == 2


def test_every_sample_guide_gets_a_plan_that_covers_its_materials():
    records = shipped_records()
    person_licences = [SampleLicence(item["type"])
                       for item in samples.licences("110101199003078013")]
    for record in records[:300]:
        guide = parse_guide(samples.guide(record, 1))
        assert guide is not None
        needs = plan_materials(guide, licences=person_licences, applicant_source="card",
                               has_agent=False)
        assert [need.name for need in needs] == [m.name for m in guide.materials]
        for need in needs:
            assert need.how in ("licence", "photograph", "not_needed")
            assert need.pages in (1, 2) and need.copies >= 1
            if "户口簿" in need.name:
                assert need.how == "licence"


# --- page JPEGs -------------------------------------------------------------------------


def page_frame(size=(1280, 720), seed=0) -> np.ndarray:
    width, height = size
    corners = np.array([[0.2 * width, 0.1 * height], [0.8 * width, 0.12 * height],
                        [0.78 * width, 0.92 * height], [0.22 * width, 0.9 * height]])
    return document_scene(corners, size=size, seed=seed)


def decoded(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


def segments(data: bytes) -> list[int]:
    """The JPEG marker segments before the image data (APPn, DQT, SOF...)."""
    markers, position = [], 2
    assert data[:2] == b"\xff\xd8"
    while position < len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the image data follows
            break
        length = int.from_bytes(data[position + 2:position + 4], "big")
        position += 2 + length
    return markers


def test_a_camera_frame_becomes_a_small_clean_jpeg():
    frame = page_frame()
    data = prepare_jpeg(frame)
    assert len(data) <= 800_000
    image = decoded(data)
    assert image.shape == frame.shape
    # the page is still legible: close to the original on average
    assert float(np.mean(cv2.absdiff(image, frame))) < 6
    markers = segments(data)
    assert 0xE1 not in markers  # no EXIF / XMP segment
    assert b"Exif" not in data


def test_a_large_photo_is_bounded_in_pixels():
    frame = page_frame((4000, 3000))
    image = decoded(prepare_jpeg(frame, max_side=1600))
    assert max(image.shape[:2]) == 1600
    assert image.shape[:2] == (1200, 1600)


def test_a_tight_byte_limit_lowers_quality_then_size():
    rng = np.random.default_rng(7)
    noisy = rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8)  # incompressible
    roomy = prepare_jpeg(noisy, max_bytes=2_000_000)
    tight = prepare_jpeg(noisy, max_bytes=100_000)
    assert len(tight) <= 100_000 < len(roomy)
    assert max(decoded(tight).shape[:2]) < 1600  # quality alone was not enough


def test_grey_and_bgra_frames_are_accepted():
    grey = cv2.cvtColor(page_frame(), cv2.COLOR_BGR2GRAY)
    assert decoded(prepare_jpeg(grey)).ndim == 2
    bgra = cv2.cvtColor(page_frame(), cv2.COLOR_BGR2BGRA)
    assert decoded(prepare_jpeg(bgra)).shape[2] == 3


@pytest.mark.parametrize("image", [
    np.zeros((0, 0, 3), np.uint8),
    np.zeros((10, 10, 3), np.float32),
    np.zeros((10, 10, 2), np.uint8),
    b"not an image",
])
def test_what_is_not_an_image_is_refused(image):
    with pytest.raises(ValueError):
        prepare_jpeg(image)


def test_impossible_limits_are_refused():
    with pytest.raises(ValueError):
        prepare_jpeg(page_frame(), max_bytes=100)
