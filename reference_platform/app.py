"""The reference platform as an ASGI application: ``create_app(db, kiosks, ...)``.

Layers, outermost first:

1. :class:`PlatformApp.__call__` - fault injection.  It sits outside every Starlette
   middleware because a *reset* or a *truncated* answer needs the raw connection (see
   :mod:`reference_platform.wire`), and an "after" fault must let the whole stack run and
   commit before the answer is thrown away.
2. :class:`reference_platform.auth.SignatureMiddleware` - headers, timestamp, declared
   size and kiosk judged before any body is read; then, within a budget of buffered
   bodies, signature, nonce and JSON well-formedness; nothing unauthenticated gets further.
3. FastAPI routing: :mod:`reference_platform.routes` (the contract) and the ``/admin``
   routes of :mod:`reference_platform.admin` (test control: loopback and a bearer token,
   hidden from the OpenAPI schema).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from reference_platform import admin, errors, routes, samples
from reference_platform.auth import API_PREFIX, Receive, Scope, Send, SignatureMiddleware
from reference_platform.faults import FaultConfig, FaultInjector, parse_faults
from reference_platform.matters import shipped_records
from reference_platform.routes import Platform, index_forms
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
               catalog_file: Path | str | None = None,
               admin_token: str | None = None) -> PlatformApp:
    """The platform over the SQLite file ``db``, accepting the kiosks in ``kiosks`` (id ->
    32-byte key).  The catalogue is seeded from the shipped file on first start only, so a
    restart keeps bumped and removed matters.  ``/admin`` needs ``admin_token`` as a bearer
    token; without one a random token nobody knows is used (admin closed)."""
    store = Store(db)
    if not store.catalog_seeded():
        store.seed_catalog(shipped_records(catalog_file) if catalog_file else shipped_records())
    if not store.faq_seeded():
        store.seed_faq(*samples.faq_seed())
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
            "and load simulation. Guides, forms, FAQ, scenarios, policies and e-licences are "
            "samples (marked 【示例】 and X-Sample-Content: true)."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.platform = state
    app.state.admin_token = admin_token or admin.new_admin_token()
    errors.install(app)
    app.include_router(routes.router)
    app.include_router(admin.router)
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
