"""Answers to a question typed in the citizen's own words (我要问), without widgets.

A citizen who asks 驾照到期了 wants one answer, not a list: the matter to apply for, what it
takes, and whether it can be done at this kiosk. The answer combines two sources:

1. the FAQ (:mod:`kiosk.finding.knowledge`): an entry one of whose colloquial questions is
   close to the citizen's (character pairs in common, after filler words such as 怎么办 or
   请问 are dropped) puts its matters first and its short answer on the card. Its text is
   shown as written; the shipped and reference FAQs mark theirs 【示例】 and stay marked;
2. the catalogue search (the same ranking as the search screen) for everything else, and
   for the next candidates offered under "Not what I meant".

The search engine always finds *something* when a name shares one character with the
question (天上下雨 -> a permit for large events). Offering that as "the answer" would mislead
an elderly citizen, so a search-only answer must show evidence (see :func:`_confident`);
otherwise the kiosk says it found no answer and names the departments of the closest matters
instead, with staff one tap away.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from kiosk.finding.guides import SAMPLE_MARK, Guide

if TYPE_CHECKING:
    from kiosk.finding.knowledge import FaqEntry
    from kiosk.finding.literal import SearchHit
    from kiosk.models import Matter

CANDIDATES = 5
"""At most this many other matters under "Not what I meant"."""

DEPARTMENTS = 4
"""At most this many departments named when there is no answer."""

FAQ_MATCH = 0.5
"""A FAQ question this close (Dice coefficient of character pairs) answers the citizen's."""

#: Literal search tiers that show the citizen named the matter (not just shared a character).
STRONG_REASONS = frozenset({"name_exact", "name_prefix", "name", "initials_prefix",
                            "pinyin_prefix", "pinyin", "initials", "item_code"})

#: Words that carry no meaning in a question; longest first so 怎么办 goes before 怎么.
FILLERS: tuple[str, ...] = tuple(sorted(
    ("请问", "我想", "我要", "想要", "怎么办", "怎么弄", "怎么", "如何", "在哪里", "在哪儿",
     "在哪", "哪里", "什么", "需要", "吗", "呢", "啊", "吧", "了", "的", "要"),
    key=len, reverse=True))

_HAN = re.compile(r"[\u3400-\u9fff]")
_KEEP = re.compile(r"[\w]", re.UNICODE)


class Catalogue(Protocol):
    """What the answer needs of :class:`kiosk.finding.catalog.CatalogService`."""

    def search(self, query: str, limit: int = 20) -> list[SearchHit]: ...
    def matter(self, item_code: str) -> Matter | None: ...
    def offered(self, item_code: str) -> bool: ...
    def guide(self, item_code: str) -> Guide | None: ...
    def form_document(self, item_code: str) -> tuple[str | None, object | None]: ...


@dataclass(frozen=True)
class KeyFacts:
    """What the guide says, in the few numbers an answer card shows."""

    materials: int
    time_limit_days: int
    fee: str
    visits_required: int
    is_sample: bool


@dataclass(frozen=True)
class Answer:
    """The answer card's content; ``matter`` None means no answer was found."""

    question: str
    matter: Matter | None
    faq_text: str = ""  # the FAQ's short answer, as written (may carry 【示例】)
    faq_is_sample: bool = False
    facts: KeyFacts | None = None  # None until the matter's guide is on the kiosk
    can_apply: bool = False  # the kiosk has the matter's form: "Apply here" is offered
    candidates: tuple[Matter, ...] = ()  # the next best matters, for "Not what I meant"
    departments: tuple[str, ...] = ()  # with no answer: departments of the closest matters

    @property
    def found(self) -> bool:
        """Whether there is a matter to show."""
        return self.matter is not None


def normalise(text: str) -> str:
    """Comparable form of a question: NFKC, lower case, letters and digits only, no fillers."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(char for char in folded if _KEEP.match(char) and char != "_")
    for word in FILLERS:
        kept = kept.replace(word, "")
    return kept


def _pairs(text: str) -> set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return {text[i:i + 2] for i in range(len(text) - 1)}


def similarity(question: str, variant: str) -> float:
    """Dice coefficient of the two questions' character pairs (0 to 1), fillers dropped.

    One pair in common is not enough unless that is the whole of both: a bare 户口 shares
    a pair with 户口怎么迁 and with 新生儿报户口, and should reach the search, not one FAQ."""
    return _dice(_pairs(normalise(question)), _variant_pairs(variant))


@lru_cache(maxsize=8192)
def _variant_pairs(variant: str) -> frozenset[str]:
    """An FAQ question's pairs, worked out once: every question asked compares against all
    of them, and normalising 300 variants per question cost most of an answer's time."""
    return frozenset(_pairs(normalise(variant)))


def _dice(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    common = len(a & b)
    if common < 2 and a != b:
        return 0.0
    return 2 * common / (len(a) + len(b))


def best_faq(question: str, entries: Iterable[FaqEntry]) -> FaqEntry | None:
    """The FAQ entry whose closest question variant is closest to ``question``, if close
    enough (:data:`FAQ_MATCH`); the first such entry on a tie."""
    asked = _pairs(normalise(question))
    best, best_score = None, FAQ_MATCH
    for entry in entries:
        score = max((_dice(asked, _variant_pairs(variant)) for variant in entry.questions),
                    default=0)
        if score >= best_score and (best is None or score > best_score):
            best, best_score = entry, score
    return best


def key_facts(guide: Guide) -> KeyFacts:
    """The card's numbers from a guide."""
    return KeyFacts(materials=len(guide.materials), time_limit_days=guide.time_limit_days,
                    fee=guide.fee, visits_required=guide.visits_required,
                    is_sample=guide.is_sample)


def _confident(question: str, hit: SearchHit) -> bool:
    """Whether a search-only best hit answers the question rather than sharing a character.

    Evidence: a literal tier that means the citizen named the matter (name, pinyin,
    initials, code); or a question without Chinese characters (pinyin and English are
    matched by the engine's own tiers and translations); or a character pair in common with
    the matter's name; or most (60 %) of the question's characters in the name.
    """
    if hit.reason in STRONG_REASONS:
        return True
    words = normalise(question)
    if not _HAN.search(words):
        return True
    name = hit.matter.name
    if any(len(pair) == 2 and pair in name for pair in _pairs(words)):
        return True
    chars = set(_HAN.findall(words))
    return bool(chars) and len(chars & set(name)) >= 0.6 * len(chars)


def _unique(matters: Iterable[Matter | None]) -> list[Matter]:
    seen: set[str] = set()
    unique = []
    for matter in matters:
        if matter is not None and matter.item_code not in seen:
            seen.add(matter.item_code)
            unique.append(matter)
    return unique


def answer(question: str, catalog: Catalogue, faq: Sequence[FaqEntry], *,
           search_limit: int = 20) -> Answer:
    """The answer card for ``question``: the best matter, its facts and the next ones."""
    question = question.strip()
    if not question:
        return Answer(question, None)
    entry = best_faq(question, faq)
    hits = catalog.search(question, limit=search_limit)
    # the search lists only matters offered here; a FAQ entry's matters are kept to them too
    faq_matters = [catalog.matter(code) for code in entry.item_codes
                   if catalog.offered(code)] if entry else []
    ranked = _unique([*faq_matters, *(hit.matter for hit in hits)])
    if not ranked or (entry is None and not _confident(question, hits[0])):
        departments = _unique_texts(hit.matter.department for hit in hits)[:DEPARTMENTS]
        return Answer(question, None, departments=tuple(departments))
    faq_text = entry.answer if entry and any(m is not None for m in faq_matters) else ""
    return answer_for(ranked[0], catalog, question=question, faq_text=faq_text,
                      candidates=ranked[1:1 + CANDIDATES])


def answer_for(matter: Matter, catalog: Catalogue, *, question: str = "", faq_text: str = "",
               candidates: Sequence[Matter] = ()) -> Answer:
    """The card for one chosen matter (the best one, or a candidate the citizen tapped)."""
    guide = catalog.guide(matter.item_code)
    return Answer(
        question, matter, faq_text=faq_text, faq_is_sample=SAMPLE_MARK in faq_text,
        facts=key_facts(guide) if guide is not None else None,
        can_apply=catalog.form_document(matter.item_code)[0] is not None,
        candidates=tuple(m for m in candidates if m.item_code != matter.item_code),
    )


def _unique_texts(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(text for text in texts if text))
