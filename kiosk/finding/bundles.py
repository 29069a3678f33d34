"""Life-event bundles (一件事一次办): the matters a citizen's answers select, and one list of
what to bring for all of them.

Each office guide lists its own materials, written by a different office: one says
居民身份证, the next 申请人身份证原件, a third 身份证复印件. A citizen opening a shop does not
want to read "ID card" five times, nor to miss that one office wants two copies. So the
names are reduced to a key (:func:`material_key`) that drops what only says which copy or
whose document it is, and the materials with the same key become one line that keeps the
largest number of copies, whether an original is asked for, and which matters need it.

An application form (申请表) is the exception, with the vague "relevant proofs" (相关证明材料):
every matter has its own, so these are never merged across matters. A matter whose guide
has not reached the kiosk is kept in the bundle and said to have its materials in its
guide: dropping it would make the list look complete when it is not. A scenario may name
an item code the catalogue no longer has; it is reported (:attr:`Bundle.unknown_codes`),
not fatal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from kiosk.finding.guides import SAMPLE_MARK, Guide, Material
from kiosk.finding.knowledge import Scenario
from kiosk.models import Matter

__all__ = [
    "Bundle",
    "BundleMatter",
    "CombinedMaterial",
    "bundle_for",
    "combine_materials",
    "material_key",
]

#: Words that say which copy, whose, or how recent a document is, not which document.
#: Longest first, so 原件及复印件 goes before 原件.
_QUALIFIERS: tuple[str, ...] = tuple(sorted((
    "原件及复印件", "原件和复印件", "原件、复印件", "复印件", "原件", "副本", "正本", "扫描件",
    "影印件", "申请人", "申请者", "本人", "有效", "近期", "居民", "一份", "各一份",
), key=len, reverse=True))

#: Whole names (after the qualifiers are gone) that mean the same document.
_SAME_AS: Mapping[str, str] = {
    "身份证": "身份证",
    "二代身份证": "身份证",
    "身份证件": "身份证",
    "身份证明": "身份证",
    "户口本": "户口簿",
    "户口簿": "户口簿",
    "户口簿首页及本人页": "户口簿",
    "一寸免冠照片": "一寸照片",
    "一寸免冠彩色照片": "一寸照片",
    "1寸免冠照片": "一寸照片",
    "一寸照片": "一寸照片",
}

#: A document each matter has its own of (its form, "the relevant proofs"): never merged
#: across matters, though the names are the same.
_PER_MATTER_WORDS: tuple[str, ...] = ("申请表", "申请书", "登记表", "相关证明", "其他材料")

_BRACKETS = re.compile(r"【[^】]*】|\[[^\]]*\]|（[^）]*）|\([^)]*\)")
_NOT_WORD = re.compile(r"[^\w]", re.UNICODE)


def material_key(name: str) -> str:
    """The document a material name means, with the wording of one office taken away.

    ``居民身份证``, ``申请人身份证原件`` and ``身份证复印件`` all give ``身份证``; a note in
    brackets (``授权委托书（委托办理时）``) and the sample mark are ignored. A name that is
    nothing but qualifiers keeps its own cleaned text rather than becoming empty.
    """
    text = unicodedata.normalize("NFKC", name).replace(SAMPLE_MARK, "")
    text = _BRACKETS.sub("", text)
    text = _NOT_WORD.sub("", text).replace("_", "").lower()
    plain = text
    for word in _QUALIFIERS:
        plain = plain.replace(word, "")
    plain = plain or text
    return _SAME_AS.get(plain, plain)


def _per_matter(key: str) -> bool:
    return any(word in key for word in _PER_MATTER_WORDS)


@dataclass(frozen=True)
class CombinedMaterial:
    """One line of the combined list: a document, how many copies, and for which matters."""

    key: str
    name: str
    """As shown: the plainest of the names the guides gave (the sample mark kept)."""
    copies: int
    """The largest number any of the matters asks for."""
    original: bool
    """Some matter wants to see the original."""
    item_codes: tuple[str, ...]
    """The matters that need it, in the bundle's order."""
    names: tuple[str, ...]
    """Every name the guides used for it, as written."""

    @property
    def is_sample(self) -> bool:
        """True when the name comes from a sample guide (marked 【示例】)."""
        return self.name.startswith(SAMPLE_MARK)


def combine_materials(
        materials: Iterable[tuple[str, Material]]) -> tuple[CombinedMaterial, ...]:
    """One line per document from ``(item_code, material)`` pairs, in first-seen order.

    Materials with the same :func:`material_key` merge (forms only within one matter);
    every input lands in exactly one line, whose ``item_codes`` holds its matter.
    """
    lines: dict[str, dict] = {}
    for code, material in materials:
        key = material_key(material.name)
        slot = f"{key}@{code}" if _per_matter(key) else key
        line = lines.setdefault(slot, {"key": slot, "names": [], "codes": [], "copies": 0,
                                       "original": False})
        if material.name not in line["names"]:
            line["names"].append(material.name)
        if code not in line["codes"]:
            line["codes"].append(code)
        line["copies"] = max(line["copies"], material.copies)
        line["original"] = line["original"] or material.original
    return tuple(CombinedMaterial(key=line["key"], name=_shown_name(line["names"]),
                                  copies=max(1, line["copies"]), original=line["original"],
                                  item_codes=tuple(line["codes"]), names=tuple(line["names"]))
                 for line in lines.values())


def _shown_name(names: Sequence[str]) -> str:
    """The shortest name without its copy words: 身份证复印件 and 居民身份证 show 居民身份证
    (the plain document), keeping the sample mark when any name had it."""
    marked = any(name.startswith(SAMPLE_MARK) for name in names)

    def plain(name: str) -> str:
        return name.replace(SAMPLE_MARK, "").strip()

    def copy_words(name: str) -> int:
        return sum(word in name for word in ("复印件", "原件", "副本", "扫描件"))

    best = min((plain(name) for name in names), key=lambda n: (copy_words(n), len(n)))
    return SAMPLE_MARK + best if marked else best


class Catalogue(Protocol):
    """What a bundle needs of :class:`kiosk.finding.catalog.CatalogService`."""

    def matter(self, item_code: str) -> Matter | None: ...

    def offered(self, item_code: str) -> bool: ...

    def guide(self, item_code: str) -> Guide | None: ...


@dataclass(frozen=True)
class BundleMatter:
    """A matter of the bundle with its guide (None: not on the kiosk yet)."""

    matter: Matter
    guide: Guide | None

    @property
    def item_code(self) -> str:
        return self.matter.item_code


@dataclass(frozen=True)
class Bundle:
    """What one citizen's answers to one scenario come to."""

    scenario: Scenario
    answers: Mapping[str, str]
    matters: tuple[BundleMatter, ...]
    materials: tuple[CombinedMaterial, ...]
    unknown_codes: tuple[str, ...] = ()
    """Item codes of the scenario that the catalogue does not have."""
    elsewhere: tuple[Matter, ...] = ()
    """Matters the answers select that this kiosk's site does not offer: done at the
    halls its profile names (:meth:`kiosk.finding.site_profile.SiteProfile.where_else`),
    so they are listed apart rather than dropped."""

    @property
    def without_guide(self) -> tuple[BundleMatter, ...]:
        """Matters whose materials are in their guide only (not on the kiosk yet)."""
        return tuple(m for m in self.matters if m.guide is None)

    @property
    def is_sample(self) -> bool:
        """True when anything shown comes from sample content (marked 【示例】)."""
        return SAMPLE_MARK in self.scenario.title or any(
            m.guide is not None and m.guide.is_sample for m in self.matters)

    def number_of(self, item_code: str) -> int:
        """The matter's position in the list, from 1 (0 when not in it)."""
        for number, matter in enumerate(self.matters, start=1):
            if matter.item_code == item_code:
                return number
        return 0


def bundle_for(scenario: Scenario, answers: Mapping[str, str],
               catalog: Catalogue) -> Bundle:
    """The matters ``answers`` select in ``scenario`` and their combined materials."""
    matters: list[BundleMatter] = []
    unknown: list[str] = []
    elsewhere: list[Matter] = []
    for code in dict.fromkeys(scenario.item_codes_for(answers)):  # a code listed twice: once
        matter = catalog.matter(code)
        if matter is None:
            unknown.append(code)
            continue
        if not catalog.offered(code):
            elsewhere.append(matter)
            continue
        matters.append(BundleMatter(matter, catalog.guide(code)))
    materials = combine_materials(
        (m.item_code, material) for m in matters if m.guide is not None
        for material in m.guide.materials)
    return Bundle(scenario, dict(answers), tuple(matters), materials, tuple(unknown),
                  tuple(elsewhere))
