"""The ``/admin`` routes: test and demo control of a running reference platform.

They can reset the server, inject faults and change the catalogue and the FAQ, so they need
more than "the caller is on this machine": every request must also carry the server's admin token as
``Authorization: Bearer TOKEN``.  The token is made fresh at each start (or given in
``PLATFORM_ADMIN_TOKEN``) and written, mode 0600, next to the database as
``<db>.admin-token``, where the tests' helper (tests/platform_server.py) and an operator on
the same machine can read it and another local user cannot.  The routes stay hidden from
the OpenAPI schema: they are not part of the platform contract.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from reference_platform.errors import ApiError
from reference_platform.faults import FaultConfig, FaultConfigError, parse_faults
from reference_platform.routes import Platform, index_forms, platform
from reference_platform.samples import MARK

ADMIN_TOKEN_ENV = "PLATFORM_ADMIN_TOKEN"
"""Environment variable that fixes the admin token instead of making one (then no file is
written)."""
MIN_TOKEN_CHARS = 16


def admin_token_path(db: Path | str) -> Path:
    """Where the server started on database ``db`` writes its admin token."""
    return Path(f"{db}.admin-token")


def new_admin_token() -> str:
    """A fresh random token (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def write_admin_token(db: Path | str, token: str) -> Path:
    """Write ``token`` to :func:`admin_token_path` atomically with mode 0600.

    A temporary file is created exclusively (``O_EXCL``, so nobody can have prepared it
    with looser permissions or as a symlink), filled, synced and renamed over the old
    token of a previous start; a reader never sees a half-written token."""
    path = admin_token_path(db)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(token + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def admin_token_for(db: Path | str) -> str:
    """The token a server on ``db`` uses: ``PLATFORM_ADMIN_TOKEN`` when set, else a new one
    written to ``<db>.admin-token``."""
    given = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
    if given:
        if len(given) < MIN_TOKEN_CHARS:
            raise ValueError(f"{ADMIN_TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} characters")
        return given
    token = new_admin_token()
    write_admin_token(db, token)
    return token


def admin_only(request: Request) -> None:
    """A loopback client with the right bearer token; anyone else learns nothing (404 off
    the machine) or only that a token is needed (401)."""
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ApiError(404, "not_found", "no such resource")
    expected: str = request.app.state.admin_token
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8", "replace"), expected.encode()):
        raise ApiError(401, "unauthorized", "the admin routes need Authorization: Bearer "
                       "<the token in the server's DB.admin-token file>",
                       headers={"WWW-Authenticate": "Bearer"})


Ctx = Annotated[Platform, Depends(platform)]
router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(admin_only)])


@router.get("/faults")
async def get_faults(ctx: Ctx) -> dict[str, Any]:
    """The current fault switches and how many faults of each kind were injected."""
    return ctx.injector.config.to_json() | {"injected": dict(ctx.injector.injected)}


@router.put("/faults")
async def put_faults(ctx: Ctx, document: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Replace the switches (an empty object turns every fault off)."""
    try:
        ctx.injector.configure(parse_faults(document))
    except FaultConfigError as error:
        raise ApiError(422, "validation", str(error), "faults") from None
    return ctx.injector.config.to_json()


@router.get("/stats")
async def stats(ctx: Ctx) -> dict[str, Any]:
    """What the server holds and saw; ``duplicate_receipts`` must always be 0."""
    return ctx.store.counts() | {
        "application_posts": ctx.counters["application_posts"],
        "requests": ctx.counters["requests"],
        "faults_injected": dict(ctx.injector.injected),
        "catalog_version": ctx.store.catalog_version(),
    }


@router.get("/applications")
async def stored_applications(ctx: Ctx) -> dict[str, list[str]]:
    """The receipt numbers stored, in arrival order."""
    return {"receipt_numbers": ctx.store.receipt_numbers()}


@router.post("/reset")
async def reset(ctx: Ctx) -> dict[str, bool]:
    """Forget every application, attachment and booking; faults off; counters 0.  The seen
    nonces are kept: forgetting them would let every request of the last ten minutes be
    replayed."""
    ctx.store.reset()
    ctx.injector.configure(FaultConfig())
    ctx.injector.injected = dict.fromkeys(ctx.injector.injected, 0)
    ctx.counters.update(dict.fromkeys(ctx.counters, 0))
    return {"ok": True}


@router.post("/catalog/{item_code}")
async def bump_matter(ctx: Ctx, item_code: str,
                      changes: Annotated[dict[str, Any] | None, Body()] = None) -> dict[str, int]:
    """Give a matter a new version (optionally changing name, department, ...)."""
    allowed = {"name", "department", "group", "task_type", "task_type_name"}
    extra = set(changes or {}) - allowed
    if extra:
        raise ApiError(422, "validation", f"cannot change {sorted(extra)[0]}", sorted(extra)[0])
    version = ctx.store.change_matter(item_code, changes)
    if version is None:
        raise ApiError(404, "not_found", "no such matter", "item_code")
    ctx.forms = index_forms(ctx.store)
    return {"version": version}


@router.delete("/catalog/{item_code}")
async def remove_matter(ctx: Ctx, item_code: str) -> dict[str, int]:
    """Remove a matter: it leaves the catalogue and appears in ``removed`` of later deltas."""
    version = ctx.store.change_matter(item_code, None, remove=True)
    if version is None:
        raise ApiError(404, "not_found", "no such matter", "item_code")
    ctx.forms = index_forms(ctx.store)
    return {"version": version}


@router.post("/faq/{entry_id}")
async def change_faq_entry(ctx: Ctx, entry_id: str,
                           changes: Annotated[dict[str, Any] | None, Body()] = None
                           ) -> dict[str, int]:
    """Give an FAQ entry a new version, optionally changing ``questions``, ``answer`` or
    ``item_codes``; an unknown id with all three adds an entry. The answer is marked as
    sample content whatever the caller sent, and every item code must be a live matter."""
    changes = dict(changes or {})
    extra = set(changes) - {"questions", "answer", "item_codes"}
    if extra:
        raise ApiError(422, "validation", f"cannot change {sorted(extra)[0]}", sorted(extra)[0])
    _check_faq_changes(ctx, changes)
    version = ctx.store.change_faq(entry_id, changes)
    if version is None:
        raise ApiError(404, "not_found", "no such entry (a new one needs questions, answer "
                       "and item_codes)", "id")
    return {"version": version}


@router.delete("/faq/{entry_id}")
async def remove_faq_entry(ctx: Ctx, entry_id: str) -> dict[str, int]:
    """Remove an entry: it appears in ``removed`` of later deltas."""
    version = ctx.store.change_faq(entry_id, None, remove=True)
    if version is None:
        raise ApiError(404, "not_found", "no such entry", "id")
    return {"version": version}


@router.put("/kiosks/{kiosk_id}/profile")
async def put_site_profile(ctx: Ctx, kiosk_id: str,
                           document: Annotated[dict[str, Any], Body()],
                           check: bool = True) -> dict[str, int]:
    """Keep a site profile for a kiosk (checked as strictly as a kiosk checks its file);
    the heartbeat's ``config_version`` changes, so the kiosk fetches it. ``check=false``
    keeps it unchecked: a platform that sends a broken profile, for the kiosk's tests."""
    from kiosk.finding.site_profile import ProfileError, profile_from_json

    try:
        if check:
            profile_from_json(document, strict=True, where="profile")
    except ProfileError as error:
        raise ApiError(422, "validation", str(error), "profile") from None
    return {"config_version": ctx.store.set_site_profile(kiosk_id, document)}


@router.delete("/kiosks/{kiosk_id}/profile")
async def remove_site_profile(ctx: Ctx, kiosk_id: str) -> dict[str, int]:
    """Drop a kiosk's profile: it gets 404 and goes back to its own file."""
    return {"config_version": ctx.store.set_site_profile(kiosk_id, None)}


def _check_faq_changes(ctx: Platform, changes: dict[str, Any]) -> None:
    questions = changes.get("questions", ["unchanged"])
    if not isinstance(questions, list) or not questions or not all(
            isinstance(q, str) and q for q in questions):
        raise ApiError(422, "validation", "questions must be a list of texts", "questions")
    if "answer" in changes:
        answer = changes["answer"]
        if not isinstance(answer, str) or not answer:
            raise ApiError(422, "validation", "answer must be a text", "answer")
        changes["answer"] = answer if answer.startswith(MARK) else MARK + answer
    codes = changes.get("item_codes", [])
    if not isinstance(codes, list) or not all(
            isinstance(code, str) and ctx.store.matter(code) for code in codes):
        raise ApiError(422, "validation", "item_codes must list live matters", "item_codes")
