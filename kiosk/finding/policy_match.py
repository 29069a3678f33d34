"""Policy matching (政策匹配): which benefits a citizen may be entitled to, and why.

The profile is what the kiosk may know of the person at the screen: age, gender and area
from an ID card read for this purpose (never the number or the birth date themselves: the
screen shows only the profile), plus situations the citizen ticks (graduate, unemployed...).
Everything is evaluated here, offline, against the policies the knowledge base holds.

A fact the kiosk does not know is not a fact that fails: before the card is read, "aged 60
or over" is *unknown*, and the policy is offered as "may match: read your card to check"
rather than hidden. Only what is known to exclude a policy (a card showing age 30 for an
allowance from 80) leaves it out of the list, counted, so the citizen knows it was looked at.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from kiosk.finding.knowledge import MET, MISSING, NOT_MET, UNKNOWN, Check, Policy

TAGS: tuple[str, ...] = ("graduate", "unemployed", "disabled", "elderly_carer",
                         "small_business", "veteran", "low_income")
"""Situations the citizen can tick, in the order the screen shows them: the tag names the
policies' ``tags_any`` use (``kiosk/data/policies.json``)."""

MATCH = "match"
MAYBE = "maybe"
OUT = "out"

OLDEST_AGE = 150  # an older "age" is a wrong date, not a person

# Area codes of GB/T 2260 the kiosk names: its own district and city, and the provinces
# (a card from elsewhere is named by its province). (Chinese, English).
AREA_NAMES: dict[str, tuple[str, str]] = {
    "511602": ("广安区", "Guang'an District"),
    "511603": ("前锋区", "Qianfeng District"),
    "511621": ("岳池县", "Yuechi County"),
    "511622": ("武胜县", "Wusheng County"),
    "511623": ("邻水县", "Linshui County"),
    "511681": ("华蓥市", "Huaying City"),
    "5116": ("广安市", "Guang'an City"),
    "11": ("北京市", "Beijing"), "12": ("天津市", "Tianjin"), "13": ("河北省", "Hebei"),
    "14": ("山西省", "Shanxi"), "15": ("内蒙古自治区", "Inner Mongolia"),
    "21": ("辽宁省", "Liaoning"), "22": ("吉林省", "Jilin"), "23": ("黑龙江省", "Heilongjiang"),
    "31": ("上海市", "Shanghai"), "32": ("江苏省", "Jiangsu"), "33": ("浙江省", "Zhejiang"),
    "34": ("安徽省", "Anhui"), "35": ("福建省", "Fujian"), "36": ("江西省", "Jiangxi"),
    "37": ("山东省", "Shandong"), "41": ("河南省", "Henan"), "42": ("湖北省", "Hubei"),
    "43": ("湖南省", "Hunan"), "44": ("广东省", "Guangdong"), "45": ("广西壮族自治区", "Guangxi"),
    "46": ("海南省", "Hainan"), "50": ("重庆市", "Chongqing"), "51": ("四川省", "Sichuan"),
    "52": ("贵州省", "Guizhou"), "53": ("云南省", "Yunnan"), "54": ("西藏自治区", "Tibet"),
    "61": ("陕西省", "Shaanxi"), "62": ("甘肃省", "Gansu"), "63": ("青海省", "Qinghai"),
    "64": ("宁夏回族自治区", "Ningxia"), "65": ("新疆维吾尔自治区", "Xinjiang"),
    "71": ("台湾地区", "Taiwan"), "81": ("香港特别行政区", "Hong Kong"),
    "82": ("澳门特别行政区", "Macao"),
}


def area_name(code: str, language: str = "zh_CN") -> str | None:
    """The most precise name the kiosk knows for an area code or prefix, else None."""
    for length in (6, 4, 2):
        names = AREA_NAMES.get(code[:length]) if len(code) >= length else None
        if names is not None:
            return names[0] if language.startswith("zh") else names[1]
    return None


@dataclass(frozen=True)
class Profile:
    """What is known of the citizen; None where the card was not read (or cannot tell)."""

    age: int | None = None
    gender: str | None = None  # 男 | 女
    area_code: str | None = None  # six digits
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def from_card(self) -> bool:
        """Whether any fact came from an identity (the screen then shows the profile)."""
        return self.age is not None or self.gender is not None or self.area_code is not None

    def with_tags(self, tags: Iterable[str]) -> Profile:
        """The same person with these ticked situations."""
        return Profile(self.age, self.gender, self.area_code, frozenset(tags))


def age_on(birth_date: str, today: _dt.date) -> int | None:
    """Whole years from ``birth_date`` (YYYYMMDD) to ``today``; None for a date that is not
    a date, lies in the future, or is older than anyone alive."""
    if len(birth_date) != 8 or not birth_date.isascii() or not birth_date.isdigit():
        return None
    try:
        born = _dt.date(int(birth_date[:4]), int(birth_date[4:6]), int(birth_date[6:]))
    except ValueError:
        return None
    if born > today:
        return None
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age if age <= OLDEST_AGE else None


def profile_of(*, birth_date: str = "", gender: str = "", id_number: str = "",
               tags: Collection[str] = (), today: _dt.date | None = None) -> Profile:
    """The profile of an identified person.

    A card carries birth date and gender; a typed number or an e-ID code may carry only the
    number, whose digits 7-14 are the birth date and whose 17th digit is odd for men
    (GB 11643), so those fill what is missing. The first six digits are the area code.
    Anything that does not parse stays unknown.
    """
    today = today or _dt.date.today()
    number = id_number.strip().upper() if isinstance(id_number, str) else ""
    standard = len(number) == 18 and number[:17].isascii() and number[:17].isdigit()
    age = age_on(birth_date, today) if birth_date else None
    if age is None and standard:
        age = age_on(number[6:14], today)
    sex = gender if gender in ("男", "女") else None
    if sex is None and standard:
        sex = "男" if int(number[16]) % 2 else "女"
    area = number[:6] if standard and not number.startswith("0") else None
    return Profile(age, sex, area, frozenset(tags))


def profile_of_person(person, tags: Collection[str] = (), today: _dt.date | None = None
                      ) -> Profile:
    """:func:`profile_of` an :class:`kiosk.applying.applicant.Applicant`."""
    return profile_of(birth_date=person.birth_date or "", gender=person.gender or "",
                      id_number=person.id_number or "", tags=tags, today=today)


@dataclass(frozen=True)
class PolicyMatch:
    """One policy held against one profile."""

    policy: Policy
    status: str  # MATCH | MAYBE | OUT
    checks: tuple[Check, ...]

    @property
    def reasons(self) -> tuple[Check, ...]:
        """Rules the citizen meets: why it matches."""
        return tuple(check for check in self.checks if check.state == MET)

    @property
    def missing(self) -> tuple[Check, ...]:
        """What is still to settle: the card to read, a situation to tick."""
        return tuple(check for check in self.checks if check.state in (UNKNOWN, MISSING))

    @property
    def failed(self) -> tuple[Check, ...]:
        """Rules known not to be met (why it is left out)."""
        return tuple(check for check in self.checks if check.state == NOT_MET)


@dataclass(frozen=True)
class MatchResult:
    """Policies to show, best first, and the ones left out."""

    shown: tuple[PolicyMatch, ...]
    ruled_out: tuple[PolicyMatch, ...]

    @property
    def full(self) -> tuple[PolicyMatch, ...]:
        """The policies whose every rule is met."""
        return tuple(match for match in self.shown if match.status == MATCH)


def match_policy(policy: Policy, profile: Profile) -> PolicyMatch:
    """How ``policy`` stands for ``profile``."""
    checks = tuple(policy.eligibility.explain(age=profile.age, gender=profile.gender,
                                              area_code=profile.area_code, tags=profile.tags))
    if any(check.state == NOT_MET for check in checks):
        status = OUT
    elif all(check.state == MET for check in checks):
        status = MATCH
    else:
        status = MAYBE
    return PolicyMatch(policy, status, checks)


def match_policies(policies: Iterable[Policy], profile: Profile) -> MatchResult:
    """Every policy against ``profile``: full matches first, then those that may match,
    those waiting only for the card before those that need a situation ticked, fewer open
    points first; the platform's order otherwise. Ruled-out policies come apart."""
    matches = [match_policy(policy, profile) for policy in policies]

    def order(indexed: tuple[int, PolicyMatch]) -> tuple[int, int, int]:
        index, match = indexed
        needs_tick = any(check.state == MISSING for check in match.checks)
        rank = 0 if match.status == MATCH else 2 if needs_tick else 1
        return rank, len(match.missing), index

    shown = [match for _index, match in sorted(
        ((i, m) for i, m in enumerate(matches) if m.status != OUT), key=order)]
    return MatchResult(tuple(shown), tuple(m for m in matches if m.status == OUT))
