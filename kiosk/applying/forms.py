"""Application forms (FORM of the platform contract): parsed, checked, pre-filled.

A FORM comes from outside the machine, so :func:`parse_form` trusts nothing: any document
that is not a usable form raises :class:`FormError` naming the part (``fields[3].pattern``),
never repeating data. Keys the contract may add later are ignored.

:func:`check_value` is what the form screen calls on every change; it never raises, and
answers with an English message id in plain words (listed in :data:`VALIDATION_MESSAGES`)
that the screen translates. :func:`prefill` fills what the kiosk already knows from the ID
card, the e-ID or the platform's e-licences, so the citizen types as little as possible;
a known value that would not pass the form's own checks is left for the citizen instead.
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from drivers.idcard.identity import LONG_TERM
from kiosk.applying.applicant import (
    Applicant,
    check_typed_number,
    normalize_typed_number,
    usable_text,
)

__all__ = [
    "FIELD_TYPES",
    "IDCARD_FIELDS",
    "MAX_FIELDS",
    "MAX_VALUE_LENGTH",
    "VALIDATION_MESSAGES",
    "Form",
    "FormError",
    "FormField",
    "LicenceLike",
    "Prefilled",
    "check_value",
    "normalize_value",
    "parse_form",
    "prefill",
]

FIELD_TYPES = ("text", "number", "date", "phone", "id_number", "choice", "address", "checkbox")
IDCARD_FIELDS = ("name", "gender", "nation", "birth_date", "address", "id_number", "issuer",
                 "valid_from", "valid_to")
"""What ``idcard.FIELD`` may name."""

MAX_FIELDS = 100
MAX_CHOICES = 100
MAX_NAME_LENGTH = 64
MAX_LABEL_LENGTH = 200
MAX_PATTERN_LENGTH = 500
MAX_DECLARED_LENGTH = 10_000
MAX_VALUE_LENGTH = 10_000
"""Longer input is refused before any pattern runs on it."""

CHECKED = "1"
"""The value of a ticked checkbox (an unticked one is "")."""

MOBILE = re.compile(r"1[3-9][0-9]{9}")
_DIGITS = re.compile(r"[0-9]+")
_DATE_DASHED = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_PLAIN = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")

MSG_REQUIRED = "This field is required"
MSG_TICK_REQUIRED = "Please tick this box to continue"
MSG_TICK_ONLY = "This box can only be ticked or left empty"
MSG_TOO_LONG = "This text is too long: please shorten it"
MSG_BAD_CHARACTERS = "This text contains characters that cannot be used"
MSG_DIGITS_ONLY = "Please enter digits only"
MSG_DATE_FORMAT = "Please enter the date as year-month-day, for example 1990-03-07"
MSG_DATE_UNREAL = "This date does not exist: please check it"
MSG_MOBILE = "Please enter an 11-digit mobile number starting with 1"
MSG_PHONE_FORMAT = "Please check the phone number"
MSG_ID_INCOMPLETE = "An ID number has 18 characters"
MSG_CHOICE = "Please choose one of the options"
MSG_FORMAT = "This does not match the required format: please check it"
MSG_UNCHECKABLE = "This field cannot be checked: please ask staff"

VALIDATION_MESSAGES = (
    MSG_REQUIRED, MSG_TICK_REQUIRED, MSG_TICK_ONLY, MSG_TOO_LONG, MSG_BAD_CHARACTERS,
    MSG_DIGITS_ONLY, MSG_DATE_FORMAT, MSG_DATE_UNREAL, MSG_MOBILE, MSG_PHONE_FORMAT,
    MSG_ID_INCOMPLETE, MSG_CHOICE, MSG_FORMAT, MSG_UNCHECKABLE,
)
"""Every message id :func:`check_value` returns, besides the ID-number messages of
:data:`kiosk.applying.applicant.ENTRY_MESSAGES` (for fields of type ``id_number``)."""


class FormError(ValueError):
    """A FORM document that cannot be used; the message says which part (no data)."""


@dataclass(frozen=True)
class FormField:
    """One field of a form, as the contract describes it."""

    name: str
    label_zh: str
    label_en: str
    type: str
    required: bool = False
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    prefill: str | None = None

    def label(self, language: str) -> str:
        """The label in ``language`` ("zh_CN", "en", ...), or the other one when missing."""
        first, second = ((self.label_zh, self.label_en) if language.startswith("zh")
                         else (self.label_en, self.label_zh))
        return first or second

    def keyboard(self) -> str:
        """Which on-screen keyboard the field needs: "numeric", "text" or "none"."""
        if self.type in ("number", "phone", "id_number", "date"):
            return "numeric"
        if self.type in ("choice", "checkbox"):
            return "none"
        return "text"


@dataclass(frozen=True)
class Form:
    """A matter's application form."""

    form_id: str
    title: str
    fields: tuple[FormField, ...]
    version: int
    face_presence: bool = False

    def field(self, name: str) -> FormField | None:
        """The field called ``name``, or None."""
        return next((item for item in self.fields if item.name == name), None)


@dataclass(frozen=True, repr=False)
class Prefilled:
    """A value the kiosk already knew, and where from: "idcard", "ecode", "licence" or
    "citizen" (typed by the citizen while identifying). The repr hides the value."""

    value: str
    source: str

    def __repr__(self) -> str:
        return f"Prefilled(source={self.source!r}, value=<{len(self.value)} characters>)"


class LicenceLike(Protocol):
    """What :func:`prefill` reads of an e-licence (``kiosk.platform.client.Licence``)."""

    type: str
    fields: Mapping[str, Any]


# --- parsing ------------------------------------------------------------------------------


def parse_form(document: Any) -> Form:
    """A :class:`Form` from a FORM document; :class:`FormError` when it is not usable."""
    if not isinstance(document, dict):
        raise FormError("the form must be a JSON object")
    form_id = document.get("form_id")
    if isinstance(form_id, int) and not isinstance(form_id, bool):
        form_id = str(form_id)
    if not isinstance(form_id, str) or not form_id.strip() or len(form_id) > MAX_NAME_LENGTH:
        raise FormError("form_id: must be a non-empty text of at most 64 characters")
    title = _text(document.get("title"), "title", MAX_LABEL_LENGTH)
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise FormError("version: must be a whole number of 0 or more")
    face_presence = document.get("face_presence", False)
    if not isinstance(face_presence, bool):
        raise FormError("face_presence: must be true or false")
    items = document.get("fields")
    if not isinstance(items, list):
        raise FormError("fields: must be a list")
    if len(items) > MAX_FIELDS:
        raise FormError(f"fields: more than {MAX_FIELDS} fields")
    fields = tuple(_parse_field(item, f"fields[{index}]") for index, item in enumerate(items))
    names = [item.name for item in fields]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise FormError(f"fields[{index}].name: used by an earlier field too")
    return Form(form_id, title, fields, version, face_presence)


def _text(value: Any, where: str, limit: int, *, optional: bool = False) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise FormError(f"{where}: must be text")
    if len(value) > limit:
        raise FormError(f"{where}: longer than {limit} characters")
    return value


def _parse_field(item: Any, where: str) -> FormField:
    if not isinstance(item, dict):
        raise FormError(f"{where}: must be an object")
    name = _text(item.get("name"), f"{where}.name", MAX_NAME_LENGTH)
    if not name.strip():
        raise FormError(f"{where}.name: must not be empty")
    label = item.get("label")
    if not isinstance(label, dict):
        raise FormError(f"{where}.label: must be an object with zh and en")
    label_zh = _text(label.get("zh"), f"{where}.label.zh", MAX_LABEL_LENGTH, optional=True)
    label_en = _text(label.get("en"), f"{where}.label.en", MAX_LABEL_LENGTH, optional=True)
    if not label_zh.strip() and not label_en.strip():
        raise FormError(f"{where}.label: has neither zh nor en text")
    kind = item.get("type")
    if kind not in FIELD_TYPES:
        shown = repr(kind)[:40] if isinstance(kind, str) else "a non-text value"
        raise FormError(f"{where}.type: unknown field type {shown} "
                        f"(known: {', '.join(FIELD_TYPES)})")
    required = item.get("required", False)
    if not isinstance(required, bool):
        raise FormError(f"{where}.required: must be true or false")
    pattern = item.get("pattern")
    if pattern is not None:
        pattern = _text(pattern, f"{where}.pattern", MAX_PATTERN_LENGTH)
        try:
            _compiled(pattern)
        except (re.error, RecursionError, OverflowError, ValueError):
            raise FormError(f"{where}.pattern: not a valid regular expression") from None
    choices = _choices(item.get("choices"), f"{where}.choices")
    if kind == "choice" and not choices:
        raise FormError(f"{where}.choices: a choice field needs at least one choice")
    max_length = item.get("max_length")
    if max_length is not None and (not isinstance(max_length, int)
                                   or isinstance(max_length, bool)
                                   or not 1 <= max_length <= MAX_DECLARED_LENGTH):
        raise FormError(f"{where}.max_length: must be a whole number from 1 to "
                        f"{MAX_DECLARED_LENGTH}")
    source = item.get("prefill")
    if source is not None:
        source = _text(source, f"{where}.prefill", MAX_LABEL_LENGTH)
        if not _known_source(source):
            # a source this kiosk does not know yet (a later contract) only means that the
            # citizen types the value: the form stays usable
            source = None
    return FormField(name, label_zh, label_en, kind, required, pattern, choices, max_length,
                     source)


def _choices(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FormError(f"{where}: must be a list of texts")
    if len(value) > MAX_CHOICES:
        raise FormError(f"{where}: more than {MAX_CHOICES} choices")
    result = tuple(_text(choice, f"{where}[{index}]", MAX_LABEL_LENGTH)
                   for index, choice in enumerate(value))
    if any(not choice.strip() for choice in result):
        raise FormError(f"{where}: a choice is empty")
    return result


def _known_source(source: str) -> bool:
    parts = source.split(".")
    if parts[0] == "idcard":
        return len(parts) == 2 and parts[1] in IDCARD_FIELDS
    return parts[0] == "licence" and len(parts) == 3 and all(parts[1:])


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    # The pattern is the platform's: Python's FutureWarning about constructs that may change
    # meaning one day ("[a--b]") says nothing a citizen or technician could act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile(pattern)


# --- checking -----------------------------------------------------------------------------


def check_value(field: FormField, value: str) -> str | None:
    """None when ``value`` is fine for ``field``, else an English message id.

    Surrounding spaces do not count. Never raises, whatever the text or the field.
    """
    try:
        return _check(field, value)
    except Exception:  # a field built by hand may hold anything, e.g. a broken pattern
        return MSG_UNCHECKABLE


def _check(field: FormField, value: str) -> str | None:
    if not isinstance(value, str):
        return MSG_UNCHECKABLE
    text = value.strip()
    if not text:
        if field.required:
            return MSG_TICK_REQUIRED if field.type == "checkbox" else MSG_REQUIRED
        return None
    if len(text) > MAX_VALUE_LENGTH or (field.max_length is not None
                                        and len(text) > field.max_length):
        return MSG_TOO_LONG
    if not usable_text(text):
        return MSG_BAD_CHARACTERS
    problem = _check_type(field, text)
    if (problem is None and field.pattern is not None and field.type != "phone"
            and _compiled(field.pattern).fullmatch(text) is None):
        problem = MSG_FORMAT
    return problem


def _check_type(field: FormField, text: str) -> str | None:
    kind = field.type
    if kind == "checkbox":
        return None if text == CHECKED else MSG_TICK_ONLY
    if kind == "number":
        return None if _DIGITS.fullmatch(text) else MSG_DIGITS_ONLY
    if kind == "date":
        return _check_date(text)
    if kind == "phone":
        if field.pattern is not None:
            return None if _compiled(field.pattern).fullmatch(text) else MSG_PHONE_FORMAT
        return None if MOBILE.fullmatch(text) else MSG_MOBILE
    if kind == "id_number":
        check = check_typed_number(text)
        if check.ok:
            return None
        return check.message or MSG_ID_INCOMPLETE
    if kind == "choice":
        return None if text in field.choices else MSG_CHOICE
    return None  # text, address: length and characters are checked above


def _check_date(text: str) -> str | None:
    match = _DATE_DASHED.fullmatch(text) or _DATE_PLAIN.fullmatch(text)
    if match is None:
        return MSG_DATE_FORMAT
    try:
        _dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return MSG_DATE_UNREAL
    return None


def normalize_value(field: FormField, value: str) -> str:
    """The value as sent to the platform: spaces trimmed, a date as YYYY-MM-DD (unless the
    form's own pattern asks for another writing), an ID number as
    :func:`~kiosk.applying.applicant.check_typed_number` read it (x as X, no spaces)."""
    text = value.strip()
    if field.type == "date" and field.pattern is None:
        match = _DATE_PLAIN.fullmatch(text)
        if match is not None:
            return "-".join(match.groups())
    if field.type == "id_number":
        return normalize_typed_number(text)
    return text


# --- pre-filling --------------------------------------------------------------------------


_CARD_SOURCE = {"card": "idcard", "ecode": "ecode"}
_TYPED_FIELDS = ("name", "id_number")
"""What a citizen identifying by typing has already given."""
_DATE_FIELDS = ("birth_date", "valid_from", "valid_to")


def prefill(form: Form, applicant: Applicant | None,
            licences: Sequence[LicenceLike] = ()) -> dict[str, Prefilled]:
    """Field name -> the value the kiosk already knows, for every field with a ``prefill``
    source it can answer; values that fail :func:`check_value` are left out."""
    result: dict[str, Prefilled] = {}
    for item in form.fields:
        if item.prefill is None:
            continue
        found = _lookup(item.prefill, applicant, licences)
        if found is None:
            continue
        value = _fit(item, found.value)
        if value and check_value(item, value) is None:
            result[item.name] = Prefilled(value, found.source)
    return result


def _lookup(source: str, applicant: Applicant | None,
            licences: Sequence[LicenceLike]) -> Prefilled | None:
    parts = source.split(".")
    if parts[0] == "idcard" and len(parts) == 2 and applicant is not None:
        key = parts[1]
        if key not in IDCARD_FIELDS:
            return None
        origin = _CARD_SOURCE.get(applicant.source)
        if origin is None:
            if key not in _TYPED_FIELDS:
                return None
            origin = "citizen"
        value = getattr(applicant, key)
        if key in _DATE_FIELDS:
            value = _dashed_date(value)
        return Prefilled(value, origin)
    if parts[0] == "licence" and len(parts) == 3:
        for licence in licences:
            if getattr(licence, "type", None) != parts[1]:
                continue
            fields = getattr(licence, "fields", None)
            value = fields.get(parts[2]) if isinstance(fields, Mapping) else None
            if isinstance(value, str) or (isinstance(value, int)
                                          and not isinstance(value, bool)):
                return Prefilled(str(value), "licence")
    return None


def _dashed_date(value: str) -> str:
    """YYYYMMDD as the card writes it -> YYYY-MM-DD as forms show dates; 长期 unchanged."""
    if value == LONG_TERM:
        return value
    match = _DATE_PLAIN.fullmatch(value)
    return "-".join(match.groups()) if match else value


def _fit(item: FormField, value: str) -> str:
    """A known value in the form's own words: a card's nation 汉 is the choice 汉族."""
    value = value.strip()
    if item.type == "choice" and value not in item.choices and value + "族" in item.choices:
        return value + "族"
    return value
