"""The materials of a guide turned into what the citizen does at the kiosk, and page JPEGs.

A guide lists documents for the counter ("ID card", "household register", "application
form"...). At the kiosk many are already at hand: the ID card was read, the platform holds
an e-licence, the form is filled on screen. :func:`plan_materials` says for each material
whether to photograph it now (and how many pages), use the e-licence, or skip it, so the
citizen is asked only for what is really missing.

Guides give no machine-readable kind for a material, only its name (and sometimes an
e-licence type), so the names are classified by their content words; the reference
platform's 【示例】 mark in front of sample names is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kiosk.finding.guides import SAMPLE_MARK, Guide

__all__ = [
    "HOW",
    "LICENCE_WORDS",
    "MaterialNeed",
    "plan_materials",
    "prepare_jpeg",
]

HOW = ("licence", "photograph", "not_needed")

#: Words of a material name -> the e-licence type that can stand in for it, for guides
#: whose materials do not name one (the contract's ``licence_type`` wins when given).
LICENCE_WORDS: tuple[tuple[str, str], ...] = (
    ("户口簿", "household_register"),
    ("户口本", "household_register"),
    ("结婚证", "marriage_certificate"),
    ("营业执照", "business_licence"),
)
_ID_CARD_WORDS = ("身份证",)
_FORM_WORDS = ("申请表",)
_PROXY_WORDS = ("授权委托书", "委托")
_TWO_SIDED_WORDS = ("户口簿", "户口本")
IDENTIFIED_SOURCES = ("card", "ecode")
"""Applicant sources after which the ID card need not be photographed."""


@dataclass(frozen=True)
class MaterialNeed:
    """One material of the guide and what the kiosk does about it.

    ``how``: "licence" (an e-licence the platform holds for this person), "photograph"
    (capture now, ``pages`` pages: 2 for front and back) or "not_needed".
    """

    name: str
    copies: int
    how: str
    pages: int = 1
    licence_type: str | None = None


AUTHORISATION_LETTER = MaterialNeed("授权委托书", 1, "photograph")
"""The agent's mandate, added when the guide does not list one."""


def plan_materials(guide: Guide | None, *, licences: Iterable[Any] = (),
                   applicant_source: str = "manual",
                   has_agent: bool = False) -> tuple[MaterialNeed, ...]:
    """What to do about each of the guide's materials, in the guide's order.

    ``licences`` are the applicant's e-licences (anything with a ``type``);
    ``applicant_source`` is :attr:`Applicant.source`; ``has_agent`` is true when someone
    applies on the applicant's behalf (代办). A name listed twice is planned once. When an
    agent applies, the authorisation letter is always a material, listed by the guide or not
    (whoever applies for another person must show that person's mandate).
    """
    if guide is None:
        return (AUTHORISATION_LETTER,) if has_agent else ()
    held = {getattr(licence, "type", None) for licence in licences}
    plan: list[MaterialNeed] = []
    seen: set[str] = set()
    for material in guide.materials:
        if material.name in seen:
            continue
        seen.add(material.name)
        plan.append(_need(material, held, applicant_source, has_agent))
    if has_agent and not any(_has(need.name, _PROXY_WORDS) for need in plan):
        plan.append(AUTHORISATION_LETTER)
    return tuple(plan)


def _need(material: Any, held: set[Any], applicant_source: str,
          has_agent: bool) -> MaterialNeed:
    name: str = material.name
    words = name.replace(SAMPLE_MARK, "")
    copies = max(1, int(material.copies))
    licence_type = getattr(material, "licence_type", None) or _licence_type_of(words)

    def need(how: str, pages: int = 1) -> MaterialNeed:
        return MaterialNeed(name, copies, how, pages, licence_type)

    if _has(words, _FORM_WORDS):
        return need("not_needed")  # the form is filled here, on screen
    if _has(words, _PROXY_WORDS):
        return need("photograph" if has_agent else "not_needed")
    if _has(words, _ID_CARD_WORDS):
        if applicant_source in IDENTIFIED_SOURCES:
            return need("not_needed")
        return need("photograph", 2)
    if licence_type is not None and licence_type in held:
        return need("licence")
    if _has(words, _TWO_SIDED_WORDS):
        return need("photograph", 2)
    return need("photograph")


def _has(text: str, words: Sequence[str]) -> bool:
    return any(word in text for word in words)


def _licence_type_of(words: str) -> str | None:
    return next((kind for word, kind in LICENCE_WORDS if word in words), None)


if TYPE_CHECKING:
    import numpy as np


def prepare_jpeg(image_bgr: np.ndarray, *, max_side: int = 1600,
                 max_bytes: int = 800_000) -> bytes:
    """A JPEG of ``image_bgr`` whose longest side is at most ``max_side`` pixels and whose
    size is at most ``max_bytes``: quality is lowered step by step, then the picture is
    made smaller, until it fits. OpenCV writes no EXIF or other metadata, so nothing about
    the kiosk, the time or the person goes out with the page.

    Raise ``ValueError`` for an image that is not an 8-bit grey, BGR or BGRA array, or a
    ``max_bytes`` too small for any legible page.
    """
    import cv2  # OpenCV and numpy load with the first photo, not with the kiosk

    image = _as_bgr(image_bgr)
    if max_side < 64 or max_bytes < 4096:
        raise ValueError("max_side must be at least 64 and max_bytes at least 4096")
    image = _shrink(image, max_side)
    while True:
        for quality in (90, 80, 70, 60, 50, 40):
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise ValueError("the image could not be encoded as JPEG")
            if encoded.size <= max_bytes:
                return encoded.tobytes()
        longest = max(image.shape[:2])
        if longest <= 64:
            raise ValueError("max_bytes is too small for this image")
        image = _shrink(image, max(64, int(longest * 0.75)))


def _as_bgr(image: Any) -> np.ndarray:
    import cv2
    import numpy as np

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise ValueError("expected a non-empty 8-bit image array")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    raise ValueError("expected a grey, BGR or BGRA image")


def _shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
