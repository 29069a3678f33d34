"""The kiosk's client of the provincial platform (contract: docs/platform.md, API v1).

One ``requests.Session`` per process keeps connections alive (a sync pass makes hundreds
of requests). Each request is prepared first and signed over the exact path and body bytes
that go on the wire, so nothing ``requests`` re-encodes can break the signature. Answers are
checked before they are believed: a 2xx that is not the JSON the contract promises (a
captive portal's login page, a truncated body) is a transient fault, never a success.

Failures are :class:`PlatformError` with a :class:`Failure` class that tells the sync
worker what to do (retry, quarantine the record, alert a technician). Error texts carry
status codes and the platform's error codes, never request bodies: those hold personal data.

The platform's own words are not kept either: an error's free-text ``message`` may quote the
value it refused (a name, an ID number), and the error text ends up in logs, in the outbox's
unsealed columns and on ``kiosk queue status``. Only the status, the error code and the field
name survive, and only when each is a plain ASCII token (:func:`error_detail`).

The session follows :mod:`kiosk.platform.transport`: no redirects, no proxy or CA bundle
from the environment, the configured ``ca_file`` and ``proxy`` only.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from drivers.idcard.identity import IdNumberError, mask_number, validate_id_number
from kiosk.config import is_loopback
from kiosk.platform.signing import signed_headers
from kiosk.platform.transport import harden, new_session, redirect_host

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

USER_AGENT = "gov-kiosk"
MAX_RETRY_AFTER_S = 3600
"""A Retry-After beyond an hour is treated as an hour: a kiosk must not go quiet for days."""


class Failure(StrEnum):
    """What a failed request means for the record and for the rest of the queue."""

    TRANSIENT = "transient"
    """Connection fault, timeout, 5xx, a body that is not the promised JSON: retry later."""
    RATE_LIMITED = "rate_limited"
    """429: wait Retry-After seconds, then go on."""
    AUTH = "auth"
    """401 bad_signature / replayed_nonce: a technician must check the kiosk's key."""
    CLOCK = "clock"
    """401 stale_timestamp: the kiosk's clock is off by more than 300 s."""
    MISSING_ATTACHMENT = "missing_attachment"
    """422 missing_attachment: upload the named file, then send again."""
    RECORD = "record"
    """400 / 404 / 409 / 413 / 422: this record can never pass as it is; quarantine it."""
    CONFIG = "config"
    """3xx: the platform URL (or something in between) redirects, and redirects are refused.
    A technician must fix the URL; the record stays queued and nothing is lost."""


@dataclass(frozen=True)
class PlatformError(Exception):
    """A request that did not succeed, classified."""

    failure: Failure
    detail: str
    status: int | None = None
    code: str | None = None
    field_name: str | None = None
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True)
class Acknowledgement:
    """The platform's answer to POST /applications."""

    application_no: str
    receipt_no: str
    status: str
    received_at: str
    replayed: bool
    """True when the platform already had it (200): a resend after a lost answer."""


@dataclass(frozen=True)
class Progress:
    """An application's progress (GET /applications/{no})."""

    application_no: str
    receipt_no: str
    item_code: str
    status: str
    timeline: list[dict[str, Any]] = field(default_factory=list)
    delivery_method: str = ""
    """``pickup`` or ``express`` (or "" when the platform did not say). Only the method is
    kept: the submitting kiosk also gets the address and phone, which are never needed to
    say what to do next and so are dropped as they are read."""


@dataclass(frozen=True)
class Health:
    """The platform's /health answer and the skew of the kiosk clock against it."""

    ok: bool
    server_time: datetime | None = None
    skew_s: float | None = None
    """Kiosk clock minus platform clock, in seconds (positive: the kiosk is ahead)."""


class PersonAnswer(dict[str, str]):
    """The answer to POST /identity/ecode: a plain dict of the person's card fields whose
    repr shows only the masked number (a dict slipping into a log must not leak a name)."""

    def __repr__(self) -> str:
        return f"PersonAnswer(id_number={mask_number(self.get('id_number', ''))!r})"

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class Licence:
    """An electronic licence the platform holds for a person (POST /licences/lookup).

    ``fields`` holds what the licence says (names, numbers, addresses: personal data), so
    the repr shows the type and the field names only."""

    type: str
    number: str
    issuer: str
    valid_to: str
    fields: dict[str, Any] = field(default_factory=dict, hash=False)

    def __repr__(self) -> str:
        return f"Licence(type={self.type!r}, fields={sorted(self.fields)!r})"

    __str__ = __repr__


STATUSES = ("received", "accepted", "in_review", "needs_material", "approved", "rejected",
            "completed")


# ------------------------------------------------------------------------------- parsing


def classify_failure(status: int, body: bytes, retry_after: str | None = None, *,
                     location: str | None = None, url: str = "") -> PlatformError:
    """Turn an error answer (status and raw body) into a classified :class:`PlatformError`.

    The body should be the contract's ``{"error", "message", "field"?}``; anything else
    (HTML from a proxy, garbage) still gives a clear error classified by the status alone.
    The message is never read: see :func:`error_detail`. A 3xx (``location`` is its
    Location header, ``url`` the request's) is a refused redirect.
    """
    if 300 <= status < 400:
        return PlatformError(
            Failure.CONFIG, f"platform answered with a redirect to "
            f"{redirect_host(url, location)}; redirects are refused", status)
    code, field_name = _error_fields(body)
    detail = error_detail(status, code, field_name)
    if status == 429:
        return PlatformError(Failure.RATE_LIMITED, detail, status, code, field_name,
                             parse_retry_after(retry_after))
    if status >= 500:
        wait = parse_retry_after(retry_after) if retry_after is not None else None
        return PlatformError(Failure.TRANSIENT, detail, status, code, field_name, wait)
    if status == 401:
        kind = Failure.CLOCK if code == "stale_timestamp" else Failure.AUTH
        return PlatformError(kind, detail, status, code, field_name)
    if status == 422 and code == "missing_attachment" and field_name:
        return PlatformError(Failure.MISSING_ATTACHMENT, detail, status, code, field_name)
    if status in (400, 404, 409, 413, 422):
        return PlatformError(Failure.RECORD, detail, status, code, field_name)
    # 403, 408, other 4xx the contract does not name: nothing proves the record is bad
    return PlatformError(Failure.TRANSIENT, detail, status, code, field_name)


_CODE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)
_FIELD_RE = re.compile(r"[A-Za-z0-9_.\[\]-]{1,128}", re.ASCII)
_DIGEST_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
_DIGIT_RUN_RE = re.compile(r"[0-9]{5,}")
"""Five digits in a row could be part of an ID number, a phone number or a postcode."""


def _token(value: Any, pattern: re.Pattern[str]) -> str | None:
    """``value`` when it is a plain ASCII token with no run of five digits, else None."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        return None
    return None if _DIGIT_RUN_RE.search(value) else value


def _error_fields(body: bytes) -> tuple[str | None, str | None]:
    """The error code and field name of a contract error body, each only if it is a plain
    token (a field may also be an attachment's SHA-256, which ``missing_attachment`` names).
    The ``message`` is not read at all."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    field_value = data.get("field")
    if isinstance(field_value, str) and _DIGEST_RE.fullmatch(field_value):
        return _token(data.get("error"), _CODE_RE), field_value
    return _token(data.get("error"), _CODE_RE), _token(field_value, _FIELD_RE)


def error_detail(status: int, code: str | None, field_name: str | None) -> str:
    """The one text an error answer becomes, e.g. ``platform 422 validation field=form.phone``.

    Built from the status and the two tokens only: it goes to logs, to the outbox's unsealed
    ``last_error`` and quarantine reason, and to ``kiosk queue status``, so it must never
    carry what the platform may quote back (a name, an ID number).
    """
    detail = f"platform {status}"
    if code:
        detail += f" {code}"
    if field_name:
        shown = "sha256" if _DIGEST_RE.fullmatch(field_name) else field_name
        detail += f" field={shown}"
    return detail


def parse_retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds; a date or junk gives 1 s)."""
    if value is None:
        return 1.0
    try:
        seconds = float(value.strip())
    except ValueError:
        return 1.0
    if seconds != seconds or seconds < 0:  # NaN or negative
        return 1.0
    return min(seconds, MAX_RETRY_AFTER_S)


def parse_json_object(body: bytes, what: str) -> dict[str, Any]:
    """A JSON object from a 2xx body, or a TRANSIENT error (captive portal, truncation)."""
    data = _parse_json(body, what)
    if not isinstance(data, dict):
        raise _bad_answer(what, "not a JSON object")
    return data


def parse_json_list(body: bytes, what: str) -> list[Any]:
    """A JSON array from a 2xx body, or a TRANSIENT error."""
    data = _parse_json(body, what)
    if not isinstance(data, list):
        raise _bad_answer(what, "not a JSON array")
    return data


def _parse_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad_answer(what, "not JSON (a captive portal or a cut-off answer?)") from None


def _bad_answer(what: str, why: str) -> PlatformError:
    return PlatformError(Failure.TRANSIENT, f"unexpected answer to {what}: {why}")


def _text(data: Mapping[str, Any], name: str, what: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise _bad_answer(what, f"{name} missing or not a string")
    return value


def parse_acknowledgement(body: bytes, receipt_no: str, replayed: bool) -> Acknowledgement:
    """Check the answer to POST /applications belongs to ``receipt_no`` and is complete."""
    what = "POST /applications"
    data = parse_json_object(body, what)
    answer = Acknowledgement(
        application_no=_text(data, "application_no", what),
        receipt_no=_text(data, "receipt_no", what),
        status=_text(data, "status", what),
        received_at=_text(data, "received_at", what),
        replayed=replayed,
    )
    if answer.receipt_no != receipt_no:
        raise _bad_answer(what, "the answer names another receipt number")
    return answer


def parse_progress(body: bytes) -> Progress:
    """A PROGRESS object; an unknown status is refused rather than shown to a citizen."""
    what = "GET /applications/{no}"
    data = parse_json_object(body, what)
    status = _text(data, "status", what)
    if status not in STATUSES:
        raise _bad_answer(what, "a status the contract does not list")
    timeline = data.get("timeline", [])
    if not isinstance(timeline, list) or not all(isinstance(s, dict) for s in timeline):
        raise _bad_answer(what, "timeline is not a list of objects")
    return Progress(
        application_no=_text(data, "application_no", what),
        receipt_no=_text(data, "receipt_no", what),
        item_code=_text(data, "item_code", what),
        status=status,
        timeline=timeline,
    )


MAX_APPLICATIONS = 500
"""More applications than this for one person is no answer the kiosk believes."""
_NUMBER_RE = re.compile(r"[0-9A-Za-z*-]{1,64}", re.ASCII)
"""A receipt or application number: no dot, slash or percent can reach the URL."""
_ITEM_CODE_RE = re.compile(r"[0-9A-Za-z_.-]{1,128}", re.ASCII)
MAX_NOTE = 500
DELIVERY_METHODS = ("pickup", "express")


def check_progress(data: Any, what: str, where: str = "progress") -> Progress:
    """One PROGRESS object checked to the letter, for a citizen's eyes: the numbers and the
    item code plain ASCII tokens, the status and every timeline step's status listed in the
    contract, every step's time ISO 8601 with an offset, its note a short printable text,
    the delivery an object whose method (if any) is pickup or express. Anything else is a
    TRANSIENT bad answer whose message names the part, never a value."""
    if not isinstance(data, dict):
        raise _bad_answer(what, f"{where} is not an object")
    texts = {}
    for name, pattern in (("application_no", _NUMBER_RE), ("receipt_no", _NUMBER_RE),
                          ("item_code", _ITEM_CODE_RE)):
        value = data.get(name)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise _bad_answer(what, f"{where}: {name} missing or not a plain number")
        texts[name] = value
    status = data.get("status")
    if status not in STATUSES:
        raise _bad_answer(what, f"{where}: a status the contract does not list")
    raw_timeline = data.get("timeline")
    if not isinstance(raw_timeline, list) or len(raw_timeline) > 50:
        raise _bad_answer(what, f"{where}: timeline is not a list (of at most 50 steps)")
    timeline = []
    for index, step in enumerate(raw_timeline):
        if not isinstance(step, dict):
            raise _bad_answer(what, f"{where}: timeline step {index} is not an object")
        if step.get("status") not in STATUSES:
            raise _bad_answer(what, f"{where}: timeline step {index}: unlisted status")
        at, note = step.get("at"), step.get("note", "")
        if not isinstance(at, str) or not _has_offset(at):
            raise _bad_answer(what, f"{where}: timeline step {index}: at is no ISO 8601 time"
                                    " with an offset")
        if note is None:
            note = ""
        if not isinstance(note, str) or len(note) > MAX_NOTE or not note.isprintable():
            raise _bad_answer(what, f"{where}: timeline step {index}: note is not a short "
                                    "printable text")
        timeline.append({"status": step["status"], "at": at, "note": note})
    delivery = data.get("delivery", {})
    if delivery is None:
        delivery = {}
    if not isinstance(delivery, dict):
        raise _bad_answer(what, f"{where}: delivery is not an object")
    method = delivery.get("method", "")
    if method not in ("", *DELIVERY_METHODS):
        raise _bad_answer(what, f"{where}: a delivery method the contract does not list")
    return Progress(status=status, timeline=timeline, delivery_method=method, **texts)


def _has_offset(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def parse_progress_strict(body: bytes) -> Progress:
    """The answer to GET /applications/{no}, checked as :func:`check_progress` says."""
    what = "GET /applications/{no}"
    return check_progress(parse_json_object(body, what), what)


def parse_applications(body: bytes) -> list[Progress]:
    """The answer to POST /applications/lookup: a list of PROGRESS, every one complete and
    at most :data:`MAX_APPLICATIONS`, or the whole answer is refused (TRANSIENT) rather than
    half shown to a citizen."""
    what = "POST /applications/lookup"
    entries = parse_json_list(body, what)
    if len(entries) > MAX_APPLICATIONS:
        raise _bad_answer(what, "more applications than any one person has")
    return [check_progress(entry, what, f"application {index}")
            for index, entry in enumerate(entries)]


ECODE_REQUIRED = ("name", "id_number", "gender", "birth_date")
ECODE_OPTIONAL = ("nation", "address", "valid_to")
_ECODE_LIMITS = {"name": 64, "id_number": 32, "gender": 16, "birth_date": 16, "nation": 32,
                 "address": 200, "valid_to": 16}


def parse_ecode_answer(body: bytes) -> PersonAnswer:
    """The person behind an e-ID code: all seven keys of the contract's answer as strings
    (an absent or null optional key becomes ""), the ID number checked (format, date, check
    character) and written with a capital X. Anything else is a TRANSIENT bad answer whose
    message names the field but never its value."""
    what = "POST /identity/ecode"
    data = parse_json_object(body, what)
    answer = PersonAnswer()
    for name in ECODE_REQUIRED + ECODE_OPTIONAL:
        value = data.get(name)
        if value is None and name in ECODE_OPTIONAL:
            value = ""
        if not isinstance(value, str):
            raise _bad_answer(what, f"{name} missing or not a string")
        if len(value) > _ECODE_LIMITS[name] or not value.isprintable():
            raise _bad_answer(what, f"{name} too long or not printable")
        answer[name] = value
    if not answer["name"]:
        raise _bad_answer(what, "name is empty")
    try:
        answer["id_number"] = validate_id_number(answer["id_number"])
    except IdNumberError:
        raise _bad_answer(what, "id_number is not a valid ID number") from None
    return answer


def parse_licences(body: bytes) -> list[Licence]:
    """The answer to POST /licences/lookup: every entry must be a complete licence, or the
    whole answer is refused (TRANSIENT) rather than half believed."""
    what = "POST /licences/lookup"
    result = []
    for position, entry in enumerate(parse_json_list(body, what)):
        if not isinstance(entry, dict):
            raise _bad_answer(what, f"licence {position} is not an object")
        texts = {}
        for name in ("type", "number", "issuer", "valid_to"):
            value = entry.get(name)
            if not isinstance(value, str) or (name in ("type", "number") and not value):
                raise _bad_answer(what, f"licence {position}: {name} missing or not a string")
            texts[name] = value
        fields = entry.get("fields")
        if not isinstance(fields, dict):
            raise _bad_answer(what, f"licence {position}: fields is not an object")
        result.append(Licence(fields=fields, **texts))
    return result


# -- FAQ, life-event scenarios, policies (cached for offline use, see catalog_sync) --------

ELIGIBILITY_KEYS = ("age_min", "age_max", "gender", "area_prefix", "tags_any")


@dataclass(frozen=True)
class FaqDelta:
    """The answer to GET /faq (all entries, or with ``since`` the changed ones and the ids
    removed). Entries are plain dicts in the contract's shape, checked, ready to cache."""

    version: int
    entries: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _texts(value: Any, what: str, where: str, *, allow_empty: bool = False) -> list[str]:
    """A list of non-empty strings (``allow_empty``: the list itself may be empty)."""
    if not isinstance(value, list) or (not value and not allow_empty):
        raise _bad_answer(what, f"{where} is not a {'' if allow_empty else 'non-empty '}list")
    for position, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise _bad_answer(what, f"{where}[{position}] is not a non-empty string")
    return list(value)


def _version(value: Any, what: str, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _bad_answer(what, f"{where} is not a non-negative integer")
    return value


def _object(value: Any, what: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad_answer(what, f"{where} is not an object")
    return value


def _unique(ids: list[str], what: str, where: str) -> None:
    if len(set(ids)) != len(ids):
        raise _bad_answer(what, f"{where} repeats an id")


def check_faq(data: Any, what: str = "GET /faq") -> FaqDelta:
    """Validate a decoded FAQ answer. Every entry needs an id, at least one question, an
    answer and a list of item codes (possibly empty); a bad entry refuses the whole answer,
    so a half-right delta is never applied (the next pass asks again)."""
    document = _object(data, what, "the answer")
    version = _version(document.get("version"), what, "version")
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list):
        raise _bad_answer(what, "entries is not a list")
    removed = _texts(document.get("removed", []), what, "removed", allow_empty=True)
    entries = []
    for position, raw in enumerate(raw_entries):
        where = f"entries[{position}]"
        entry = _object(raw, what, where)
        entries.append({
            "id": _text(entry, "id", what),
            "questions": _texts(entry.get("questions"), what, f"{where}.questions"),
            "answer": _text(entry, "answer", what),
            "item_codes": _texts(entry.get("item_codes"), what, f"{where}.item_codes",
                                 allow_empty=True),
        })
    _unique([entry["id"] for entry in entries], what, "entries")
    return FaqDelta(version, entries, removed)


def check_scenarios(data: Any, what: str = "GET /scenarios") -> list[dict[str, Any]]:
    """Validate decoded life-event bundles. A ``when`` must name a question of the same
    scenario and one of its choices: a condition that can never hold is a broken answer,
    not a matter to hide silently."""
    if not isinstance(data, list):
        raise _bad_answer(what, "not a JSON array")
    result = []
    for index, raw in enumerate(data):
        where = f"scenario {index}"
        scenario = _object(raw, what, where)
        raw_questions = scenario.get("questions")
        if not isinstance(raw_questions, list):
            raise _bad_answer(what, f"{where}: questions is not a list")
        questions = []
        for number, raw_question in enumerate(raw_questions):
            question = _object(raw_question, what, f"{where}: question {number}")
            questions.append({
                "id": _text(question, "id", what), "text": _text(question, "text", what),
                "choices": _texts(question.get("choices"), what,
                                  f"{where}: question {number}.choices")})
        choices = {question["id"]: question["choices"] for question in questions}
        if len(choices) != len(questions):
            raise _bad_answer(what, f"{where}: questions repeat an id")
        raw_matters = scenario.get("matters")
        if not isinstance(raw_matters, list):
            raise _bad_answer(what, f"{where}: matters is not a list")
        matters = []
        for number, raw_matter in enumerate(raw_matters):
            matter = _object(raw_matter, what, f"{where}: matter {number}")
            entry: dict[str, Any] = {"item_code": _text(matter, "item_code", what)}
            when = matter.get("when")
            if when is not None:
                for question_id, choice in _object(when, what, f"{where}: when").items():
                    if choice not in choices.get(question_id, ()):
                        raise _bad_answer(what, f"{where}: matter {number} has a condition "
                                                "on an unknown question or choice")
                if when:
                    entry["when"] = dict(when)
            matters.append(entry)
        result.append({"id": _text(scenario, "id", what),
                       "title": _text(scenario, "title", what),
                       "questions": questions, "matters": matters})
    _unique([scenario["id"] for scenario in result], what, "scenarios")
    return result


def check_policies(data: Any, what: str = "GET /policies") -> list[dict[str, Any]]:
    """Validate decoded policies. Eligibility keys are the contract's five, typed; a key
    the kiosk does not know refuses the answer, because matching a citizen while ignoring
    a rule would promise a benefit the rule excludes."""
    if not isinstance(data, list):
        raise _bad_answer(what, "not a JSON array")
    result = []
    for index, raw in enumerate(data):
        where = f"policy {index}"
        policy = _object(raw, what, where)
        rules = _object(policy.get("eligibility"), what, f"{where}: eligibility")
        unknown = set(rules) - set(ELIGIBILITY_KEYS)
        if unknown:
            raise _bad_answer(what, f"{where}: eligibility has a key the contract does not "
                                    "list")
        eligibility: dict[str, Any] = {}
        for name in ("age_min", "age_max"):
            if rules.get(name) is not None:
                eligibility[name] = _version(rules[name], what, f"{where}: {name}")
        for name in ("gender", "area_prefix"):
            if rules.get(name) is not None:
                if not isinstance(rules[name], str):
                    raise _bad_answer(what, f"{where}: {name} is not a string")
                eligibility[name] = rules[name]
        if rules.get("tags_any") is not None:
            eligibility["tags_any"] = _texts(rules["tags_any"], what, f"{where}: tags_any",
                                             allow_empty=True)
        if eligibility.get("age_min", 0) > eligibility.get("age_max", 1 << 62):
            raise _bad_answer(what, f"{where}: age_min is above age_max")
        if "item_code" not in policy:
            raise _bad_answer(what, f"{where}: item_code missing (null when none)")
        item_code = policy["item_code"]
        if item_code is not None and (not isinstance(item_code, str) or not item_code):
            raise _bad_answer(what, f"{where}: item_code is not a string or null")
        entry = {name: _text(policy, name, what)
                 for name in ("id", "title", "department", "summary", "benefit")}
        entry.update(eligibility=eligibility, item_code=item_code,
                     version=_version(policy.get("version"), what, f"{where}: version"))
        result.append(entry)
    _unique([policy["id"] for policy in result], what, "policies")
    return result


def parse_faq(body: bytes) -> FaqDelta:
    """The raw answer to GET /faq (see :func:`check_faq`); a bad one is TRANSIENT."""
    return check_faq(_parse_json(body, "GET /faq"))


def parse_scenarios(body: bytes) -> list[dict[str, Any]]:
    """The raw answer to GET /scenarios (see :func:`check_scenarios`)."""
    return check_scenarios(_parse_json(body, "GET /scenarios"))


def parse_policies(body: bytes) -> list[dict[str, Any]]:
    """The raw answer to GET /policies (see :func:`check_policies`)."""
    return check_policies(_parse_json(body, "GET /policies"))


def parse_health(body: bytes, local_now: float) -> Health:
    """The /health answer; ``time`` (ISO 8601 with offset) gives the clock skew."""
    data = parse_json_object(body, "GET /health")
    if data.get("status") != "ok":
        return Health(False)
    raw = data.get("time")
    if not isinstance(raw, str):
        return Health(True)
    try:
        server_time = datetime.fromisoformat(raw)
    except ValueError:
        return Health(True)
    if server_time.tzinfo is None:
        return Health(True)
    return Health(True, server_time, local_now - server_time.timestamp())


# -------------------------------------------------------------------------------- client


class PlatformClient:
    """Signed requests to one platform base URL, on one keep-alive session."""

    def __init__(self, base_url: str, kiosk_id: str, key: bytes, timeout: float = 10.0,
                 *, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time, ca_file: Path | None = None,
                 proxy: str = "") -> None:
        import requests

        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("the platform URL must be http:// or https://")
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            raise ValueError("plain http is allowed only to this machine (loopback)")
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self._key = key
        self.timeout = timeout
        self.clock = clock
        self.clock_correction_s = 0.0
        """Added to the kiosk clock when signing (set by the sync worker from /health)."""
        if session is None:
            self.http = new_session(ca_file, proxy)
        else:  # a session handed in is hardened too: the rules hold whoever made it
            self.http = harden(session, ca_file, proxy)
        self.http.headers["User-Agent"] = USER_AGENT
        self._requests = requests

    def close(self) -> None:
        """Close pooled connections."""
        self.http.close()

    # -- transport ----------------------------------------------------------------------
    def request(self, method: str, path: str, *, body: bytes = b"",
                content_type: str = "application/json", params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None,
                signed: bool = True) -> requests.Response:
        """Send one request; returns a 2xx response or raises :class:`PlatformError`."""
        requests = self._requests
        prepared = requests.Request(
            method, self.base_url + path, params=params, data=body or None,
            headers={"Content-Type": content_type, **(headers or {})} if body else
            dict(headers or {})).prepare()
        if signed:
            sent = prepared.body or b""
            if isinstance(sent, str):
                sent = sent.encode()
            prepared.headers.update(signed_headers(
                self.kiosk_id, self._key, method, prepared.path_url, sent,
                now=self.clock() + self.clock_correction_s))
        try:
            response = self.http.send(prepared, timeout=(min(5.0, self.timeout), self.timeout),
                                      allow_redirects=False)
            content = response.content  # read the whole body now: truncation shows here
        except requests.RequestException as error:
            raise PlatformError(Failure.TRANSIENT,
                                f"{method} {path}: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise classify_failure(response.status_code, content,
                                   response.headers.get("Retry-After"),
                                   location=response.headers.get("Location"),
                                   url=prepared.url or self.base_url)
        return response

    def _json(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> bytes:
        body = b"" if payload is None else canonical_json(payload)
        return self.request(method, path, body=body, **kwargs).content

    # -- endpoints ----------------------------------------------------------------------
    def health(self) -> Health:
        """GET /health (unsigned); a failure is an offline answer, never an exception.

        A redirect is offline too, but logged: "offline" alone would hide a wrong URL."""
        try:
            response = self.request("GET", "/health", signed=False)
            return parse_health(response.content, self.clock())
        except PlatformError as error:
            if error.failure is Failure.CONFIG:
                log.warning("%s: check [platform] url", error)
            return Health(False)

    def put_attachment(self, digest: str, data: bytes, content_type: str) -> bool:
        """PUT /attachments/{sha256}; True when the platform stored it now (201)."""
        response = self.request("PUT", f"/attachments/{digest}", body=data,
                                content_type=content_type)
        return response.status_code == 201

    def post_application(self, receipt_no: str, body: bytes) -> Acknowledgement:
        """POST /applications with the receipt number as Idempotency-Key."""
        response = self.request("POST", "/applications", body=body,
                                headers={"Idempotency-Key": receipt_no})
        return parse_acknowledgement(response.content, receipt_no,
                                     replayed=response.status_code == 200)

    def progress(self, number: str) -> Progress:
        """GET /applications/{receipt_no or application_no}."""
        return parse_progress(self.request("GET", f"/applications/{number}").content)

    def progress_of(self, number: str) -> Progress:
        """GET /applications/{number} for a citizen's eyes (:func:`parse_progress_strict`).
        The number must be a plain token (a receipt or application number): nothing else
        goes into a URL. Unknown: a PlatformError with status 404."""
        if not _NUMBER_RE.fullmatch(number):
            raise ValueError("not a receipt or application number")
        return parse_progress_strict(self.request("GET", f"/applications/{number}").content)

    def lookup_applications(self, id_number: str) -> list[Progress]:
        """POST /applications/lookup: the person's applications (the number in the body,
        never in the URL); an empty list when the platform holds none."""
        return parse_applications(self._json("POST", "/applications/lookup",
                                             {"id_number": id_number}))

    def catalog(self, since: int | None = None) -> dict[str, Any]:
        """GET /catalog (all) or GET /catalog?since=N (the delta)."""
        params = {"since": since} if since is not None else None
        return parse_json_object(self.request("GET", "/catalog", params=params).content,
                                 "GET /catalog")

    def faq(self, since: int | None = None) -> FaqDelta:
        """GET /faq (all) or GET /faq?since=N (the entries changed and the ids removed)."""
        params = {"since": since} if since is not None else None
        return parse_faq(self.request("GET", "/faq", params=params).content)

    def scenarios(self) -> list[dict[str, Any]]:
        """GET /scenarios: the life-event bundles, checked (see :func:`check_scenarios`)."""
        return parse_scenarios(self.request("GET", "/scenarios").content)

    def policies(self) -> list[dict[str, Any]]:
        """GET /policies: the benefit policies, checked (see :func:`check_policies`)."""
        return parse_policies(self.request("GET", "/policies").content)

    def document(self, path: str) -> Any:
        """A cacheable document: a guide, a form, the scenarios or the policies."""
        return _parse_json(self.request("GET", path).content, f"GET {path}")

    def resolve_ecode(self, code: str) -> PersonAnswer:
        """POST /identity/ecode: who the e-ID QR code stands for (see
        :func:`parse_ecode_answer`). An unknown or expired code is a PlatformError with
        status 404 and code ``unknown_code`` (Failure.RECORD: ask for a fresh code)."""
        return parse_ecode_answer(self._json("POST", "/identity/ecode", {"code": code}))

    def lookup_licences(self, id_number: str) -> list[Licence]:
        """POST /licences/lookup: the person's e-licences (the number goes in the body,
        never in the URL); an empty list when the platform holds none."""
        return parse_licences(self._json("POST", "/licences/lookup", {"id_number": id_number}))

    def site_profile(self) -> bytes:
        """GET /kiosks/{id}/profile: the raw SITE PROFILE, checked by the core
        (:func:`kiosk.finding.site_profile.parse_profile`), which names a bad field. The
        platform keeping none is a PlatformError with status 404."""
        return self.request("GET", f"/kiosks/{self.kiosk_id}/profile").content

    def heartbeat(self, report: Mapping[str, Any]) -> dict[str, Any]:
        """POST /kiosks/{id}/heartbeat with device states and queue depth."""
        return parse_json_object(
            self._json("POST", f"/kiosks/{self.kiosk_id}/heartbeat", dict(report)),
            "POST heartbeat")


def canonical_json(payload: Any) -> bytes:
    """The one serialisation the kiosk sends: same data, same bytes (idempotent resends)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")
