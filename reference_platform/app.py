"""The reference platform as an ASGI application: ``create_app(db, kiosks, ...)``.

Layers, outermost first:

1. :class:`PlatformApp.__call__` - fault injection.  It sits outside every Starlette
   middleware because a *reset* or a *truncated* answer needs the raw connection (see
   :mod:`reference_platform.wire`), and an "after" fault must let the whole stack run and
   commit before the answer is thrown away.
2. :class:`reference_platform.auth.SignatureMiddleware` - signature, timestamp, nonce,
   body size, JSON well-formedness; nothing unauthenticated gets further.
3. FastAPI routing: :mod:`reference_platform.routes` (the contract) and the loopback-only
   ``/admin`` routes below (test control, hidden from the OpenAPI schema).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi

from reference_platform import errors, routes
from reference_platform.auth import API_PREFIX, Receive, Scope, Send, SignatureMiddleware
from reference_platform.errors import ApiError
from reference_platform.faults import FaultConfig, FaultConfigError, FaultInjector, parse_faults
from reference_platform.matters import shipped_records
from reference_platform.routes import Platform, index_forms, platform
from reference_platform.store import Store
from reference_platform.wire import Recorder, deliver, drain

APPLICATIONS_PATH = API_PREFIX + "/applications"


class PlatformApp(FastAPI):
    """FastAPI with the fault switches wrapped around the whole stack."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: Platform | None = getattr(self.state, "platform", None)
        if scope["type"] != "http" or state is None:
            await super().__call__(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "")
        if path.startswith(API_PREFIX):
            state.counters["requests"] += 1
            if method == "POST" and path == APPLICATIONS_PATH:
                state.counters["application_posts"] += 1
        decision = state.injector.decide(method, path)
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        if decision.kind is None:
            await super().__call__(scope, receive, send)
        elif decision.kind != "slow_body" and decision.phase == "before":
            await drain(receive)
            await deliver(decision, state.injector.config, None, send)
        else:
            recorder = Recorder()
            await super().__call__(scope, receive, recorder)
            await deliver(decision, state.injector.config, recorder, send)


def create_app(db: Path | str, kiosks: dict[str, bytes] | None = None, *,
               faults: FaultConfig | dict[str, Any] | None = None, progress_step: float = 60.0,
               clock: Callable[[], float] = time.time,
               catalog_file: Path | str | None = None) -> PlatformApp:
    """The platform over the SQLite file ``db``, accepting the kiosks in ``kiosks`` (id ->
    32-byte key).  The catalogue is seeded from the shipped file on first start only, so a
    restart keeps bumped and removed matters."""
    store = Store(db)
    if not store.catalog_seeded():
        store.seed_catalog(shipped_records(catalog_file) if catalog_file else shipped_records())
    if isinstance(faults, dict):
        faults = parse_faults(faults)
    state = Platform(store=store, keys=dict(kiosks or {}), injector=FaultInjector(faults),
                     progress_step=progress_step, clock=clock)
    state.forms = index_forms(store)
    app = PlatformApp(
        title="Provincial platform API (reference implementation)",
        version="1",
        description=(
            "Reference server of the kiosk's platform API v1: for development, demos, tests "
            "and load simulation. Guides, forms, scenarios, policies and e-licences are "
            "generated samples (marked 【示例】 and X-Sample-Content: true)."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.platform = state
    errors.install(app)
    app.include_router(routes.router)
    app.include_router(admin)
    app.openapi = lambda: _openapi_with_signatures(app)  # type: ignore[method-assign]
    app.add_middleware(SignatureMiddleware, store=store, keys=state.keys, clock=clock)
    return app


SIGNATURE_HEADERS = ("X-Kiosk-Id", "X-Timestamp", "X-Nonce", "X-Signature")


def _openapi_with_signatures(app: FastAPI) -> dict[str, Any]:
    """The schema, with the four signature headers as a security requirement on every
    operation but health (the check itself runs below FastAPI, in the ASGI middleware)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for name in SIGNATURE_HEADERS:
            schemes[name] = {"type": "apiKey", "in": "header", "name": name,
                             "description": "HMAC-SHA256 request signature (contract, "
                                            "Authentication); all four are required"}
        requirement: list[dict[str, list[str]]] = [{name: [] for name in SIGNATURE_HEADERS}]
        for path, operations in schema["paths"].items():
            if path != API_PREFIX + "/health":
                for operation in operations.values():
                    operation["security"] = requirement
        app.openapi_schema = schema
    return app.openapi_schema


# -- loopback-only test control -----------------------------------------------------------


def loopback_only(request: Request) -> None:
    """Admin switches are for the machine the server runs on (tests, a demo operator)."""
    host = request.client.host if request.client else ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ApiError(404, "not_found", "no such resource")


Ctx = Annotated[Platform, Depends(platform)]
admin = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(loopback_only)])


@admin.get("/faults")
async def get_faults(ctx: Ctx) -> dict[str, Any]:
    """The current fault switches and how many faults of each kind were injected."""
    return ctx.injector.config.to_json() | {"injected": dict(ctx.injector.injected)}


@admin.put("/faults")
async def put_faults(ctx: Ctx, document: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Replace the switches (an empty object turns every fault off)."""
    try:
        ctx.injector.configure(parse_faults(document))
    except FaultConfigError as error:
        raise ApiError(422, "validation", str(error), "faults") from None
    return ctx.injector.config.to_json()


@admin.get("/stats")
async def stats(ctx: Ctx) -> dict[str, Any]:
    """What the server holds and saw; ``duplicate_receipts`` must always be 0."""
    return ctx.store.counts() | {
        "application_posts": ctx.counters["application_posts"],
        "requests": ctx.counters["requests"],
        "faults_injected": dict(ctx.injector.injected),
        "catalog_version": ctx.store.catalog_version(),
    }


@admin.get("/applications")
async def stored_applications(ctx: Ctx) -> dict[str, list[str]]:
    """The receipt numbers stored, in arrival order."""
    return {"receipt_numbers": ctx.store.receipt_numbers()}


@admin.post("/reset")
async def reset(ctx: Ctx) -> dict[str, bool]:
    """Forget every application, attachment, booking and nonce; faults off; counters 0."""
    ctx.store.reset()
    ctx.injector.configure(FaultConfig())
    ctx.injector.injected = dict.fromkeys(ctx.injector.injected, 0)
    ctx.counters.update(dict.fromkeys(ctx.counters, 0))
    return {"ok": True}


@admin.post("/catalog/{item_code}")
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


@admin.delete("/catalog/{item_code}")
async def remove_matter(ctx: Ctx, item_code: str) -> dict[str, int]:
    """Remove a matter: it leaves the catalogue and appears in ``removed`` of later deltas."""
    version = ctx.store.change_matter(item_code, None, remove=True)
    if version is None:
        raise ApiError(404, "not_found", "no such matter", "item_code")
    ctx.forms = index_forms(ctx.store)
    return {"version": version}
