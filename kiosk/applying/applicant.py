"""Who applies: the person identified at the kiosk, by card, by e-ID code or by typing.

An :class:`Applicant` is personal data from end to end: its ``repr`` and ``str`` show only
the masked number (first 3 + last 4), and no error raised here ever carries the number or
the name, because errors end up in logs. Messages are English message ids in plain words
that the screens translate.

:func:`check_typed_number` runs on every keystroke of a manual entry, so that the citizen
learns of a wrong character, an impossible birth date or a wrong check character at the
moment it is typed, not after the eighteenth character.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from drivers.idcard.identity import (
    Identity,
    IdNumberError,
    id_check_char,
    mask_number,
    validate_id_number,
)

# mask_number is re-exported: the screens show numbers masked and may not import drivers
__all__ = [
    "ENTRY_MESSAGES",
    "ENTRY_STATUSES",
    "ID_NUMBER_LENGTH",
    "NAME_MAX_LENGTH",
    "SOURCES",
    "Applicant",
    "EntryCheck",
    "EntryError",
    "check_name",
    "check_typed_number",
    "mask_number",
    "normalize_typed_number",
    "usable_text",
]

ID_NUMBER_LENGTH = 18
NAME_MAX_LENGTH = 30
SOURCES = ("card", "manual", "ecode")
"""How an applicant was identified: ID card on the reader, typed, or e-ID QR code."""

#: The earliest birth year accepted in a typed number: older than any living person, so
#: nobody real is refused, while a typo such as 0990 or 1690 is caught at once.
EARLIEST_BIRTH_YEAR = 1870

MIDDLE_DOT = "\u00b7"
#: Dots that people and input methods type between the parts of a name (阿依古丽·买买提):
#: all are stored as U+00B7, the form the public-security system uses.
_DOT_VARIANTS = {"\u00b7", "\u2022", "\u2027", "\u30fb", "\uff65", "\u2219", "\u22c5", "\u0387"}

# as-typed feedback on an ID number
MSG_ONLY_DIGITS = "Only digits can be typed here, and X as the last character"
MSG_X_NOT_LAST = "X can only be the last character of an ID number"
MSG_STARTS_WITH_ZERO = "An ID number cannot start with 0: please check the number"
MSG_BAD_DATE = "Characters 7 to 14 must be a real date of birth: please check the number"
MSG_BAD_CHECK = "The last character does not match: please check the number"
MSG_TOO_LONG = "Too many characters: an ID number has 18"
MSG_INCOMPLETE = "An ID number has 18 characters"
# names
MSG_NAME_EMPTY = "Please type the name"
MSG_NAME_TOO_LONG = "A name has at most 30 characters"
MSG_NAME_CHARACTERS = "A name has Chinese characters or letters only, with · between parts"
# the e-ID answer of the platform
MSG_ECODE_UNUSABLE = "The electronic ID could not be used: please try again or use your ID card"

ENTRY_STATUSES = ("ok", "incomplete", "bad_char", "bad_area", "bad_date", "bad_check",
                  "too_long")
ENTRY_MESSAGES = (
    MSG_ONLY_DIGITS, MSG_X_NOT_LAST, MSG_STARTS_WITH_ZERO, MSG_BAD_DATE, MSG_BAD_CHECK,
    MSG_TOO_LONG, MSG_INCOMPLETE, MSG_NAME_EMPTY, MSG_NAME_TOO_LONG, MSG_NAME_CHARACTERS,
    MSG_ECODE_UNUSABLE,
)
"""Every English message id this module produces (the screens translate them)."""


class EntryError(ValueError):
    """Typed or received identity data that cannot be used.

    ``message`` is an English message id for the screens; ``field`` says which part
    ("id_number", "name" or "ecode"). Neither ever holds the data itself.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class EntryCheck:
    """What the screen says about the ID number typed so far.

    ``status`` is one of :data:`ENTRY_STATUSES`; ``message`` is an English message id when
    something is wrong (``None`` when all is fine so far, including ``incomplete``).
    """

    status: str
    message: str | None
    typed: int
    expected_length: int = ID_NUMBER_LENGTH

    @property
    def ok(self) -> bool:
        """A complete number that passes every check."""
        return self.status == "ok"

    @property
    def is_problem(self) -> bool:
        """Something typed is wrong (as opposed to merely unfinished)."""
        return self.message is not None

    @property
    def remaining(self) -> int:
        """How many characters are still to type (0 when complete or too long)."""
        return max(0, self.expected_length - self.typed)


def normalize_typed_number(text: str) -> str:
    """Full-width digits to ASCII, spaces removed, a lower-case x made upper-case."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split()).upper()


def check_typed_number(partial: str) -> EntryCheck:
    """Judge an ID number while it is typed; see :class:`EntryCheck`.

    The checks run in the order a person types: a character that can never be right, a
    leading 0 (no area code starts with 0), the birth date (characters 7-14) as soon as its
    digits make a date impossible, a number longer than 18, then the check character once
    all 18 are there. The message never repeats the number.
    """
    text = normalize_typed_number(partial)
    typed = len(text)
    for index, char in enumerate(text):
        if char == "X":
            if index != ID_NUMBER_LENGTH - 1:
                return EntryCheck("bad_char", MSG_X_NOT_LAST, typed)
        elif not ("0" <= char <= "9"):
            return EntryCheck("bad_char", MSG_ONLY_DIGITS, typed)
    if text.startswith("0"):
        return EntryCheck("bad_area", MSG_STARTS_WITH_ZERO, typed)
    if typed > 6 and not _birth_date_possible(text[6:14], _dt.date.today()):
        return EntryCheck("bad_date", MSG_BAD_DATE, typed)
    if typed > ID_NUMBER_LENGTH:
        return EntryCheck("too_long", MSG_TOO_LONG, typed)
    if typed < ID_NUMBER_LENGTH:
        return EntryCheck("incomplete", None, typed)
    if id_check_char(text[:17]) != text[17]:
        return EntryCheck("bad_check", MSG_BAD_CHECK, typed)
    return EntryCheck("ok", None, typed)


def _birth_date_possible(prefix: str, today: _dt.date) -> bool:
    """Whether some completion of ``prefix`` (up to 8 digits of YYYYMMDD) is a real date
    between :data:`EARLIEST_BIRTH_YEAR` and ``today``."""
    year_text = prefix[:4]
    if len(year_text) < 4:
        low = int(year_text.ljust(4, "0"))
        high = int(year_text.ljust(4, "9"))
        return low <= today.year and high >= EARLIEST_BIRTH_YEAR
    year = int(year_text)
    if not EARLIEST_BIRTH_YEAR <= year <= today.year:
        return False
    last_month = today.month if year == today.year else 12
    month_text = prefix[4:6]
    if not month_text:
        return True
    if len(month_text) == 1:
        first = int(month_text)
        return (first == 0) or (first == 1 and last_month >= 10)
    month = int(month_text)
    if not 1 <= month <= last_month:
        return False
    day_text = prefix[6:8]
    if not day_text:
        return True
    smallest_day = max(1, int(day_text[0]) * 10) if len(day_text) == 1 else int(day_text)
    try:
        return _dt.date(year, month, smallest_day) <= today
    except ValueError:
        return False


def check_name(text: str) -> str:
    """A typed name made tidy (dots unified, spaces trimmed), or raise :class:`EntryError`.

    1 to 30 characters; Chinese characters or letters, with a middle dot between parts
    (阿依古丽·买买提) and, for names in Latin letters, single spaces between words.
    """
    name = "".join(MIDDLE_DOT if char in _DOT_VARIANTS else char
                   for char in unicodedata.normalize("NFC", text))
    name = " ".join(name.split())
    name = MIDDLE_DOT.join(part.strip() for part in name.split(MIDDLE_DOT))
    if not name:
        raise EntryError("name", MSG_NAME_EMPTY)
    if len(name) > NAME_MAX_LENGTH:
        raise EntryError("name", MSG_NAME_TOO_LONG)
    for part in name.replace(" ", MIDDLE_DOT).split(MIDDLE_DOT):
        if not part or not all(_name_character(char) for char in part):
            raise EntryError("name", MSG_NAME_CHARACTERS)
    if unicodedata.category(name[0]).startswith("M"):
        raise EntryError("name", MSG_NAME_CHARACTERS)
    return name


def _name_character(char: str) -> bool:
    """A letter or mark; or a rare character that this Python's Unicode tables cannot
    name: private use (local systems encode rare name characters there) or unassigned in
    the CJK planes 2 and 3 (extensions newer than the tables)."""
    category = unicodedata.category(char)
    if category.startswith(("L", "M")) or category == "Co":
        return True
    return category == "Cn" and 0x20000 <= ord(char) <= 0x3FFFF


def usable_text(text: str) -> bool:
    """No control, format, surrogate or line/paragraph separator characters: text that can
    be shown and stored as it is (rare characters in private use or new CJK planes pass)."""
    return not any(unicodedata.category(char) in _UNUSABLE for char in text)


_UNUSABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


@dataclass(frozen=True, repr=False)
class Applicant:
    """A person identified at the kiosk; repr/str show only the masked number.

    ``birth_date``, ``valid_from`` and ``valid_to`` are YYYYMMDD as on the card
    (``valid_to`` may be 长期). A typed applicant has only a name and a number.
    """

    name: str
    id_number: str
    source: str  # "card" | "manual" | "ecode"
    gender: str = ""
    nation: str = ""
    birth_date: str = ""
    address: str = ""
    issuer: str = ""
    valid_from: str = ""
    valid_to: str = ""

    def __repr__(self) -> str:
        """Source and masked number only: a repr lands in logs and tracebacks."""
        return f"Applicant(source={self.source!r}, id_number={self.masked_number()!r})"

    def __str__(self) -> str:
        return self.masked_number()

    @classmethod
    def from_card(cls, identity: Identity) -> Applicant:
        """The card holder as read from the chip (already checked by the reader)."""
        return cls(
            name=identity.name or identity.english_name,
            id_number=identity.id_number,
            source="card",
            gender=identity.gender,
            nation=identity.nation,
            birth_date=identity.birth_date,
            address=identity.address,
            issuer=identity.issuer,
            valid_from=identity.valid_from,
            valid_to=identity.valid_to,
        )

    @classmethod
    def from_ecode(cls, answer: Any) -> Applicant:
        """The person of a ``POST /identity/ecode`` answer; :class:`EntryError` (field
        "ecode") for anything unusable, since the answer comes from outside the machine."""
        if not isinstance(answer, dict):
            raise EntryError("ecode", MSG_ECODE_UNUSABLE)
        name = answer.get("name")
        number = answer.get("id_number")
        if not isinstance(name, str) or not isinstance(number, str):
            raise EntryError("ecode", MSG_ECODE_UNUSABLE)
        name = " ".join(name.split())
        if not name or len(name) > 64 or not usable_text(name):
            raise EntryError("ecode", MSG_ECODE_UNUSABLE)
        try:
            number = validate_id_number(number)
        except IdNumberError:
            raise EntryError("ecode", MSG_ECODE_UNUSABLE) from None
        return cls(
            name=name,
            id_number=number,
            source="ecode",
            gender=_optional_text(answer, "gender", 16),
            nation=_optional_text(answer, "nation", 16),
            birth_date=_optional_date(answer.get("birth_date")),
            address=_optional_text(answer, "address", 200),
            valid_to=_optional_date(answer.get("valid_to"), long_term=True),
        )

    @classmethod
    def typed(cls, id_number: str, name: str) -> Applicant:
        """A person who typed number and name; raise :class:`EntryError` when either is
        wrong (field "id_number" or "name", with the message the screen shows)."""
        check = check_typed_number(id_number)
        if not check.ok:
            raise EntryError("id_number", check.message or MSG_INCOMPLETE)
        number = validate_id_number(normalize_typed_number(id_number))
        return cls(name=check_name(name), id_number=number, source="manual")

    def masked_number(self) -> str:
        """The number as it may be shown: first 3 and last 4 characters."""
        return mask_number(self.id_number)

    def wire(self) -> dict[str, str]:
        """The contract's applicant (or agent) object: name, id_number, and gender, nation,
        birth_date, address when known."""
        result = {"name": self.name, "id_number": self.id_number}
        for key in ("gender", "nation", "birth_date", "address"):
            value = getattr(self, key)
            if value:
                result[key] = value
        return result


def _optional_text(answer: dict[str, Any], key: str, limit: int) -> str:
    """An optional text of the e-ID answer: kept when it is sensible text, else dropped."""
    value = answer.get(key)
    if not isinstance(value, str):
        return ""
    value = " ".join(value.split())
    return value if len(value) <= limit and usable_text(value) else ""


def _optional_date(value: Any, *, long_term: bool = False) -> str:
    """YYYYMMDD from YYYYMMDD or YYYY-MM-DD; 长期 kept where allowed; anything else "".

    Optional parts are dropped rather than refused: a missing birth date only means the
    citizen types it in the form.
    """
    if not isinstance(value, str):
        return ""
    if long_term and value == "长期":
        return value
    digits = value.replace("-", "") if len(value) == 10 and value[4::3] == "--" else value
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return ""
    try:
        _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return ""
    return digits

