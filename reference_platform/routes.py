"""The endpoints of platform API v1 (contract: docs/platform.md and the shared API text).

Handlers are ``async`` and do their SQLite work without awaiting in between, so on the
server's single event loop two requests never interleave inside a transaction; the
UNIQUE constraints in :mod:`reference_platform.store` back that up.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from kiosk.applying.receipt_numbers import ReceiptNumberError, parse_receipt_number
from reference_platform import models, progress, samples
from reference_platform.auth import MAX_ATTACHMENT_BYTES
from reference_platform.errors import ApiError
from reference_platform.faults import FaultInjector
from reference_platform.matters import form_id_of, matter_json
from reference_platform.store import Store, canonical_hash


@dataclass
class Platform:
    """Everything the handlers share: the database, kiosk keys, faults and the clock."""

    store: Store
    keys: dict[str, bytes]
    injector: FaultInjector
    progress_step: float
    clock: Callable[[], float]
    counters: dict[str, int] = field(default_factory=lambda: {"requests": 0,
                                                               "application_posts": 0})
    forms: dict[str, str] = field(default_factory=dict)
    catalog_cache: dict[int, bytes] = field(default_factory=dict)


def platform(request: Request) -> Platform:
    """The platform state of the app serving ``request``."""
    return request.app.state.platform  # type: ignore[no-any-return]


def kiosk_of(request: Request) -> str:
    """The authenticated kiosk (set by the signature middleware)."""
    return str(request.scope["state"]["kiosk_id"])


Ctx = Annotated[Platform, Depends(platform)]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", description="the receipt number (applications) or any unique key")]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": models.ErrorBody} for status in (400, 401, 404, 409, 413, 422, 429, 503)
}

router = APIRouter(prefix="/api/v1", responses=_ERRORS)
SAMPLE = "Generated sample content: every text carries 【示例】; header X-Sample-Content: true."


def _sample(content: Any) -> JSONResponse:
    """Sample content as sent: marked by header, and written as generated (optional keys
    absent rather than null, ``item_code: null`` kept), so the response model only
    documents it."""
    return JSONResponse(content, headers=samples.SAMPLE_HEADER)


def _live_records(ctx: Platform) -> list[dict[str, Any]]:
    return [record for record, _ in ctx.store.catalog_since(0)[0]]


# -- health and fleet ---------------------------------------------------------------------


@router.get("/health", response_model=models.Health, summary="Liveness (no signature)")
async def health(ctx: Ctx) -> dict[str, str]:
    """The only endpoint without authentication: the kiosk's reachability probe."""
    return {"status": "ok", "time": progress.iso(ctx.clock())}


@router.post("/kiosks/{kiosk_id}/heartbeat", response_model=models.HeartbeatOut,
             summary="Kiosk heartbeat")
async def heartbeat(request: Request, ctx: Ctx, body: models.HeartbeatIn,
                    kiosk_id: Annotated[str, Path(max_length=32)]) -> dict[str, Any]:
    """Keeps the kiosk's latest state; the path's kiosk must be the signing kiosk."""
    if kiosk_id != kiosk_of(request):
        raise ApiError(401, "bad_signature", "the path's kiosk id is not the signing kiosk")
    now = ctx.clock()
    ctx.store.heartbeat(kiosk_id, body.model_dump(), now)
    return {"config_version": int(ctx.store.meta("config_version", "1") or 1),
            "server_time": progress.iso(now)}


@router.get("/kiosks/{kiosk_id}/profile", summary="Site profile of a kiosk")
async def site_profile(request: Request, ctx: Ctx,
                       kiosk_id: Annotated[str, Path(max_length=32)]) -> JSONResponse:
    """What this kiosk offers and shows where it stands (bank, post office, hall); 404 when
    none is kept for it. Stored with ``PUT /admin/kiosks/{id}/profile``."""
    if kiosk_id != kiosk_of(request):
        raise ApiError(401, "bad_signature", "the path's kiosk id is not the signing kiosk")
    profile = ctx.store.site_profile(kiosk_id)
    if profile is None:
        raise ApiError(404, "not_found", "no site profile for this kiosk")
    return JSONResponse(profile)


# -- catalogue and sample content ---------------------------------------------------------


@router.get("/catalog", response_model=models.Catalog, summary="Catalogue of matters")
async def catalog(ctx: Ctx, since: Annotated[int | None, Query(ge=0, le=2**62)] = None
                  ) -> Response:
    """All matters, or with ``since`` only those changed after that version and the codes
    removed after it.  The full answer is cached per catalogue version (1,135 matters)."""
    version = ctx.store.catalog_version()
    if since is None and version in ctx.catalog_cache:
        return Response(ctx.catalog_cache[version], media_type="application/json")
    live, removed = ctx.store.catalog_since(since or 0)
    document = {"version": version, "matters": [matter_json(r, v) for r, v in live],
                "removed": removed if since is not None else []}
    response = JSONResponse(document)
    if since is None:
        ctx.catalog_cache.clear()
        ctx.catalog_cache[version] = bytes(response.body)
    return response


def _matter(ctx: Platform, item_code: str, *, in_body: bool = False
            ) -> tuple[dict[str, Any], int]:
    """A live matter; unknown is 404 when the code names the resource (path, query) and
    422 when it is a field of a request body (the request, not the URL, is wrong)."""
    found = ctx.store.matter(item_code)
    if found is None:
        if in_body:
            raise ApiError(422, "validation", "unknown item_code", "item_code")
        raise ApiError(404, "not_found", "no such matter", "item_code")
    return found


@router.get("/matters/{item_code}/guide", response_model=models.Guide,
            summary="Office guide of a matter (sample)", description=SAMPLE)
async def guide(ctx: Ctx, item_code: Annotated[str, Path(max_length=128)]) -> JSONResponse:
    """Generated guide: materials, steps, time limit, locations."""
    record, version = _matter(ctx, item_code)
    return _sample(samples.guide(record, version))


@router.get("/forms/{form_id}", response_model=models.Form,
            summary="Application form (sample)", description=SAMPLE)
async def form(ctx: Ctx, form_id: Annotated[str, Path(max_length=64)]) -> JSONResponse:
    """Generated form, with ID-card and e-licence prefill sources."""
    item_code = ctx.forms.get(form_id)
    found = ctx.store.matter(item_code) if item_code else None
    if found is None:
        raise ApiError(404, "not_found", "no such form", "form_id")
    return _sample(samples.form(form_id, found[0], found[1]))


@router.get("/faq", response_model=models.Faq, summary="Frequently asked questions (sample)",
            description=SAMPLE)
async def faq(ctx: Ctx, since: Annotated[int | None, Query(ge=0, le=2**62)] = None
              ) -> JSONResponse:
    """All entries, or with ``since`` only those changed after that version and the ids
    removed after it (like the catalogue)."""
    entries, removed = ctx.store.faq_since(since or 0)
    return _sample({"version": ctx.store.faq_version(), "entries": entries,
                    "removed": removed if since is not None else []})


@router.get("/scenarios", response_model=list[models.Scenario],
            summary="Life-event bundles (sample)",
            description=SAMPLE)
async def scenarios(ctx: Ctx) -> JSONResponse:
    """Bundles of matters for one life event, with the questions that select them."""
    return _sample(samples.scenarios(_live_records(ctx)))


@router.get("/policies", response_model=list[models.Policy],
            summary="Benefit policies (sample)", description=SAMPLE)
async def policies(ctx: Ctx) -> JSONResponse:
    """Policies with eligibility rules the kiosk matches against the ID card."""
    return _sample(samples.policies(_live_records(ctx)))


@router.post("/licences/lookup", response_model=list[models.Licence],
             summary="E-licences of a person (sample)", description=SAMPLE)
async def licences(body: models.PersonLookup) -> JSONResponse:
    """Sample e-licences of the sample persons; anyone else has none."""
    return _sample(samples.licences(body.id_number))


# -- identity -----------------------------------------------------------------------------


@router.post("/identity/ecode", response_model=models.EcodePerson,
             responses={404: {"model": models.ErrorBody,
                              "description": "unknown_code: unknown, forged or expired"}},
             summary="Resolve an electronic ID code (sample)", description=SAMPLE)
async def identity_ecode(ctx: Ctx, body: models.EcodeIn) -> JSONResponse:
    """Sample codes carry their own HMAC and issue time (reference_platform.ecodes), so
    nothing is stored; a code resolves for 60 s, as often as asked in that time."""
    person = samples.resolve_ecode(body.code, ctx.clock())
    if person is None:
        raise ApiError(404, "unknown_code", "unknown or expired e-ID code", "code")
    return _sample(person)


# -- attachments and applications ---------------------------------------------------------


@router.put(
    "/attachments/{sha256}", status_code=201,
    responses={200: {"description": "already stored"}, 201: {"description": "stored"}},
    summary="Upload an attachment (idempotent)",
    openapi_extra={"requestBody": {"required": True, "content": {
        kind: {"schema": {"type": "string", "format": "binary"}}
        for kind in models.CONTENT_TYPES}}},
)
async def put_attachment(
    request: Request, ctx: Ctx,
    sha256: Annotated[str, Path(pattern=models.SHA256_PATTERN)],
) -> Response:
    """Stores the bytes under their SHA-256; 201 the first time, 200 after."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in models.CONTENT_TYPES:
        raise ApiError(422, "validation", "content type must be image/jpeg, image/png or "
                       "application/pdf", "content_type")
    data = await request.body()
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ApiError(413, "too_large", "an attachment may be at most 10 MiB")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ApiError(400, "digest_mismatch", "the bytes do not hash to the path", "sha256")
    created = ctx.store.put_attachment(sha256, content_type, data)
    return JSONResponse({"sha256": sha256, "size": len(data)}, status_code=201 if created else 200)


def _idempotency_key(key: str | None) -> str:
    if not key:
        raise ApiError(422, "validation", "the Idempotency-Key header is required",
                       "Idempotency-Key")
    if len(key) > 128:
        raise ApiError(422, "validation", "Idempotency-Key is too long", "Idempotency-Key")
    return key


@router.post("/applications", status_code=201, response_model=models.ApplicationReceipt,
             responses={200: {"model": models.ApplicationReceipt,
                              "description": "the same request again: the same answer"}},
             summary="Submit an application (exactly once)")
async def submit(request: Request, ctx: Ctx, body: models.ApplicationIn,
                 idempotency_key: IdempotencyKey = None) -> Response:
    """Stores the application once per receipt number; replays get the stored answer."""
    kiosk_id = kiosk_of(request)
    key = _idempotency_key(idempotency_key)
    if key != body.receipt_no:
        raise ApiError(422, "validation", "Idempotency-Key must equal receipt_no",
                       "Idempotency-Key")
    try:
        receipt = parse_receipt_number(body.receipt_no)
    except ReceiptNumberError as error:
        raise ApiError(422, "validation", str(error), "receipt_no") from None
    if body.receipt_no != str(receipt):
        raise ApiError(422, "validation", "receipt_no must be written in capitals", "receipt_no")
    if receipt.kiosk_id != kiosk_id.upper():
        raise ApiError(422, "validation", "the receipt number belongs to another kiosk",
                       "receipt_no")
    if body.kiosk_id != kiosk_id:
        raise ApiError(422, "validation", "kiosk_id is not the signing kiosk", "kiosk_id")
    id_number = body.applicant.get("id_number")
    if id_number is not None and not isinstance(id_number, str):
        raise ApiError(422, "validation", "applicant.id_number must be a string",
                       "applicant.id_number")
    _check_agent(body.applicant)
    body_hash = canonical_hash(await request.json())
    replay = _replay(ctx, body.receipt_no, body_hash)
    if replay is not None:
        return replay
    if ctx.store.matter(body.item_code) is None:
        raise ApiError(422, "validation", "unknown item_code", "item_code")
    digests = [attachment.sha256 for attachment in body.attachments]
    sizes = ctx.store.attachment_sizes(digests)
    for attachment in body.attachments:
        if sizes.get(attachment.sha256) != attachment.size:
            raise ApiError(422, "missing_attachment",
                           "attachment not uploaded yet (or uploaded with another size)",
                           attachment.sha256)
    now = ctx.clock()
    id_hash = ctx.store.person_hash(id_number) if id_number else None
    delivery = body.delivery.model_dump(exclude_none=True)
    try:
        answer = _insert(ctx.store, body, kiosk_id, body_hash, now, id_hash, delivery)
    except sqlite3.IntegrityError:  # a concurrent twin won: answer as a replay
        replay = _replay(ctx, body.receipt_no, body_hash)
        if replay is None:
            raise
        return replay
    return JSONResponse(answer, status_code=201)


def _check_agent(applicant: dict[str, Any]) -> None:
    """``applicant.agent``, when present, is ``{"name", "id_number", "phone"}`` (non-empty
    strings; more keys such as gender may come along). The message names no value."""
    if "agent" not in applicant:
        return
    try:
        models.Agent.model_validate(applicant["agent"])
    except ValidationError:
        raise ApiError(422, "validation", "applicant.agent must be an object with name, "
                       "id_number and phone as non-empty strings (at most 64, 64 and 32 "
                       "characters)", "applicant.agent") from None


def _replay(ctx: Platform, receipt_no: str, body_hash: str) -> Response | None:
    stored = ctx.store.application(receipt_no)
    if stored is None or stored["receipt_no"] != receipt_no:
        return None
    if stored["body_hash"] != body_hash:
        raise ApiError(409, "idempotency_conflict",
                       "this receipt number was already used for another application",
                       "receipt_no")
    return JSONResponse(stored["answer"], status_code=200)


def _insert(store: Store, body: models.ApplicationIn, kiosk_id: str, body_hash: str,
            now: float, id_hash: str | None, delivery: dict[str, Any]) -> dict[str, Any]:
    """Number and store one application in a single transaction."""
    day = datetime.fromtimestamp(now, progress.CHINA).strftime("%Y%m%d")
    with store.transaction() as conn:
        sequence = Store.next_counter(conn, f"application:{day}")
        application_no = f"511602{day}{sequence:06d}"
        answer = {"application_no": application_no, "receipt_no": body.receipt_no,
                  "status": "received", "received_at": progress.iso(now)}
        conn.execute(
            "INSERT INTO applications (application_no, receipt_no, kiosk_id, item_code, "
            "body_hash, answer, received_at, id_hash, delivery) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (application_no, body.receipt_no, kiosk_id, body.item_code, body_hash,
             json.dumps(answer), now, id_hash, json.dumps(delivery, ensure_ascii=False)),
        )
    return answer


@router.get("/applications/{number}", response_model=models.Progress,
            summary="Progress of an application by receipt or application number")
async def application_progress(request: Request, ctx: Ctx,
                               number: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """Status and timeline; the status moves on by itself (simulated processing).  The
    delivery address and phone go only to the kiosk that submitted the application."""
    stored = ctx.store.application(number.strip().upper())
    if stored is None:
        raise ApiError(404, "not_found", "no application with this number", "number")
    return progress.progress(stored, ctx.clock(), ctx.progress_step,
                             owner=stored["kiosk_id"] == kiosk_of(request))


@router.post("/applications/lookup", response_model=list[models.Progress],
             summary="Applications of a person (ID number in the body)")
async def applications_of(request: Request, ctx: Ctx, body: models.PersonLookup
                          ) -> list[dict[str, Any]]:
    """Matched by keyed hash: the server never stored the number itself.  As for a single
    application, delivery details only to the kiosk that submitted it."""
    now, kiosk_id = ctx.clock(), kiosk_of(request)
    return [progress.progress(stored, now, ctx.progress_step,
                              owner=stored["kiosk_id"] == kiosk_id)
            for stored in ctx.store.applications_of(ctx.store.person_hash(body.id_number))]


# -- appointments, tickets, evaluations ---------------------------------------------------

SLOT_CAPACITY = 4
_SESSIONS = (((9, 0), 6), ((13, 30), 7))  # (start, number of half-hour slots)
_SLOT_ID = re.compile(r"S(\d{8})(\d{4})-([01])")


def _slot(slot_day: date, hour: int, minute: int, hall: int, booked: int) -> dict[str, Any]:
    start = datetime(slot_day.year, slot_day.month, slot_day.day, hour, minute,
                     tzinfo=progress.CHINA)
    return {"slot_id": f"S{slot_day:%Y%m%d}{hour:02d}{minute:02d}-{hall}",
            "hall": samples.HALLS[hall][0], "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "remaining": max(0, SLOT_CAPACITY - booked)}


def _hall_of(item_code: str) -> int:
    return int(hashlib.sha256(item_code.encode()).hexdigest()[:4], 16) % len(samples.HALLS)


@router.get("/appointments/slots", response_model=list[models.Slot],
            summary="Free appointment slots of a day")
async def slots(ctx: Ctx, item_code: Annotated[str, Query(max_length=128)],
                day: Annotated[str, Query(alias="date", pattern=r"^\d{4}-\d{2}-\d{2}$")]
                ) -> list[dict[str, Any]]:
    """Half-hour slots in a morning and an afternoon session, on working days."""
    _matter(ctx, item_code)
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise ApiError(422, "validation", "not a calendar date", "date") from None
    if wanted.weekday() >= 5:
        return []
    hall = _hall_of(item_code)
    result = []
    for (hour, minute), count in _SESSIONS:
        for index in range(count):
            total = hour * 60 + minute + 30 * index
            result.append(_slot(wanted, total // 60, total % 60, hall, 0))
    booked = ctx.store.bookings([slot["slot_id"] for slot in result])
    for slot in result:
        slot["remaining"] = max(0, SLOT_CAPACITY - booked.get(slot["slot_id"], 0))
    return result


def _parse_slot(slot_id: str) -> tuple[date, int, int, int]:
    match = _SLOT_ID.fullmatch(slot_id)
    if match is None:
        raise ApiError(404, "not_found", "no such slot", "slot_id")
    text, hhmm, hall = match.groups()
    try:
        slot_day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ApiError(404, "not_found", "no such slot", "slot_id") from None
    hour, minute = int(hhmm[:2]), int(hhmm[2:])
    starts = {h * 60 + m + 30 * i for (h, m), count in _SESSIONS for i in range(count)}
    if hour * 60 + minute not in starts or minute % 30 or slot_day.weekday() >= 5:
        raise ApiError(404, "not_found", "no such slot", "slot_id")
    return slot_day, hour, minute, int(hall)


async def _replay_of(request: Request, ctx: Platform, kind: str, idempotency_key: str | None
                     ) -> tuple[str, str, str, Response | None]:
    """(kiosk id, key, body hash, stored answer or None) of an idempotent POST."""
    kiosk_id = kiosk_of(request)
    key = _idempotency_key(idempotency_key)
    body_hash = canonical_hash(await request.json())
    return kiosk_id, key, body_hash, _stored_answer(ctx, kind, kiosk_id, key, body_hash)


def _stored_answer(ctx: Platform, kind: str, kiosk_id: str, key: str, body_hash: str
                   ) -> Response | None:
    with ctx.store.transaction() as conn:
        row = conn.execute("SELECT body_hash, answer FROM idempotent WHERE kind = ? AND "
                           "kiosk_id = ? AND key = ?", (kind, kiosk_id, key)).fetchone()
    if row is None:
        return None
    if row[0] != body_hash:
        raise ApiError(409, "idempotency_conflict",
                       "this Idempotency-Key was already used for another request",
                       "Idempotency-Key")
    return JSONResponse(json.loads(row[1]), status_code=200)


@router.post("/appointments", status_code=201, response_model=models.AppointmentOut,
             summary="Book an appointment (idempotent)")
async def book(request: Request, ctx: Ctx, body: models.AppointmentIn,
               idempotency_key: IdempotencyKey = None) -> Response:
    """Books one place in a slot; 409 ``slot_full`` when none is left."""
    kiosk_id, key, body_hash, replay = await _replay_of(request, ctx, "appointment",
                                                        idempotency_key)
    if replay is not None:
        return replay
    _matter(ctx, body.item_code, in_body=True)
    slot_day, hour, minute, hall = _parse_slot(body.slot_id)
    now = ctx.clock()
    with ctx.store.transaction() as conn:
        booked = conn.execute("SELECT COUNT(*) FROM bookings WHERE slot_id = ?",
                              (body.slot_id,)).fetchone()[0]
        if booked >= SLOT_CAPACITY:
            raise ApiError(409, "slot_full", "this slot is fully booked", "slot_id")
        number = f"A{slot_day:%Y%m%d}{Store.next_counter(conn, 'appointment'):06d}"
        conn.execute("INSERT INTO bookings (slot_id, appointment_no, at) VALUES (?, ?, ?)",
                     (body.slot_id, number, now))
        answer = {"appointment_no": number,
                  "slot": _slot(slot_day, hour, minute, hall, booked + 1)}
        conn.execute("INSERT INTO idempotent (kind, kiosk_id, key, body_hash, answer, at) "
                     "VALUES ('appointment', ?, ?, ?, ?, ?)",
                     (kiosk_id, key, body_hash, json.dumps(answer, ensure_ascii=False), now))
    return JSONResponse(answer, status_code=201)


@router.post("/queue/tickets", status_code=201, response_model=models.TicketOut,
             summary="Take a queue ticket")
async def ticket(ctx: Ctx, body: models.TicketIn) -> dict[str, Any]:
    """A numbered ticket for a hall; ``waiting`` is simulated."""
    _matter(ctx, body.item_code, in_body=True)
    day = datetime.fromtimestamp(ctx.clock(), progress.CHINA).strftime("%Y%m%d")
    with ctx.store.transaction() as conn:
        number = Store.next_counter(conn, f"ticket:{day}:{body.hall}")
    return {"ticket_no": f"A{number:03d}", "waiting": (number * 7) % 12}


@router.post("/evaluations", status_code=201, response_model=models.EvaluationOut,
             summary="Rate a service (好差评, idempotent)")
async def evaluate(request: Request, ctx: Ctx, body: models.EvaluationIn,
                   idempotency_key: IdempotencyKey = None) -> Response:
    """Stores one evaluation per Idempotency-Key."""
    kiosk_id, key, body_hash, replay = await _replay_of(request, ctx, "evaluation",
                                                        idempotency_key)
    if replay is not None:
        return replay
    _matter(ctx, body.item_code, in_body=True)
    now = ctx.clock()
    with ctx.store.transaction() as conn:
        number = f"E{Store.next_counter(conn, 'evaluation'):08d}"
        answer = {"evaluation_no": number, "received_at": progress.iso(now)}
        conn.execute("INSERT INTO idempotent (kind, kiosk_id, key, body_hash, answer, at) "
                     "VALUES ('evaluation', ?, ?, ?, ?, ?)",
                     (kiosk_id, key, body_hash, json.dumps(answer), now))
    return JSONResponse(answer, status_code=201)


def index_forms(store: Store) -> dict[str, str]:
    """form_id -> item_code for every live matter with a form."""
    return {form_id: record["item_code"] for record, _ in store.catalog_since(0)[0]
            if (form_id := form_id_of(record["item_code"])) is not None}
