"""Request authentication at the ASGI level, before FastAPI parses anything.

The signature covers the exact path and query *as sent* and the exact body bytes, so the
check has to run on the raw ASGI scope (``raw_path`` + ``query_string``) and on the body
before any framework re-encodes or parses it.  Doing it here also means an unauthenticated
request never reaches validation: it gets 401, whatever its body looks like.

The middleware buffers the body once (bounded), checks it, and replays it to the app.
It also rejects bodies that are not JSON with 400 ``malformed`` for JSON endpoints, with
the same strictness as the kiosk (no NaN/Infinity, no absurd nesting), so the framework
only ever sees parseable JSON.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from kiosk.platform.signing import (
    HEADER_KIOSK,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    MAX_SKEW_S,
    NONCE_TTL_S,
    signature_matches,
)
from reference_platform.store import Store

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIX = "/api/v1"
OPEN_PATHS = frozenset({API_PREFIX + "/health"})
"""The one path that needs no signature (a load balancer or the kiosk's reachability probe)."""

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_JSON_BYTES = 1024 * 1024
MAX_READ_BYTES = MAX_ATTACHMENT_BYTES + 64 * 1024
"""Bodies beyond this are drained and answered 413 without keeping them in memory."""

_NONCE = re.compile(r"[0-9A-Za-z_-]{8,128}")
_TIMESTAMP = re.compile(r"-?[0-9]{1,15}")


async def send_error(send: Send, status: int, code: str, message: str,
                     field: str | None = None, headers: list[tuple[bytes, bytes]] | None = None
                     ) -> None:
    """Answer with the contract's error body from plain ASGI code."""
    body = error_body(code, message, field)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *(headers or []),
        ],
    })
    await send({"type": "http.response.body", "body": body})


def error_body(code: str, message: str, field: str | None = None) -> bytes:
    """The bytes of ``{"error", "message", "field"?}``."""
    document: dict[str, str] = {"error": code, "message": message}
    if field is not None:
        document["field"] = field
    return json.dumps(document, ensure_ascii=False).encode()


def header(scope: Scope, name: str) -> str | None:
    """One request header (first occurrence), decoded as Latin-1 like HTTP says."""
    wanted = name.lower().encode()
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


def path_with_query(scope: Scope) -> str:
    """The request target exactly as the client sent it (what the client signed)."""
    raw = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    target = bytes(raw) + (b"?" + bytes(query) if query else b"")
    return target.decode("latin-1")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def json_problem(body: bytes) -> str | None:
    """Why ``body`` is not acceptable JSON, or None when it is."""
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
        # a "\ud800" escape decodes to a lone surrogate, which no UTF-8 text (nor SQLite)
        # can hold: refuse it here rather than fail later while storing or answering
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    except UnicodeEncodeError:
        return "the JSON holds an invalid Unicode escape (lone surrogate)"
    except RecursionError:
        return "the JSON is nested too deeply"
    except ValueError as error:  # JSONDecodeError, huge integers, NaN
        return f"the body is not valid JSON: {error}"
    return None


class SignatureMiddleware:
    """Checks the four authentication headers of every ``/api/v1`` request but health."""

    def __init__(self, app: ASGIApp, store: Store, keys: dict[str, bytes],
                 clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.store = store
        self.keys = keys
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        body, too_large, disconnected = await _read_body(receive)
        if disconnected:
            return
        if too_large:
            await send_error(send, 413, "too_large", "the body is larger than 10 MiB")
            return
        if path not in OPEN_PATHS:
            problem = self.authenticate(scope, body)
            if problem is not None:
                code, message = problem
                await send_error(send, 401, code, message)
                return
        upload = path.startswith(API_PREFIX + "/attachments/")
        limit = MAX_ATTACHMENT_BYTES if upload else MAX_JSON_BYTES
        if len(body) > limit:
            await send_error(send, 413, "too_large", f"the body is larger than {limit} bytes")
            return
        if body and scope["method"] in ("POST", "PUT", "PATCH") and not upload:
            problem_text = json_problem(body)
            if problem_text is not None:
                await send_error(send, 400, "malformed", problem_text)
                return
        await self.app(scope, _replay(body, receive), send)

    def authenticate(self, scope: Scope, body: bytes) -> tuple[str, str] | None:
        """None when the request is signed, fresh and new; else (error code, message)."""
        kiosk_id = header(scope, HEADER_KIOSK)
        timestamp = header(scope, HEADER_TIMESTAMP)
        nonce = header(scope, HEADER_NONCE)
        claimed = header(scope, HEADER_SIGNATURE)
        if not (kiosk_id and timestamp and nonce and claimed):
            return "bad_signature", "X-Kiosk-Id, X-Timestamp, X-Nonce and X-Signature are required"
        key = self.keys.get(kiosk_id)
        if key is None or not _NONCE.fullmatch(nonce) or not _TIMESTAMP.fullmatch(timestamp):
            return "bad_signature", "unknown kiosk or malformed authentication headers"
        if not signature_matches(key, scope["method"], path_with_query(scope), timestamp, nonce,
                                 body, claimed):
            return "bad_signature", "the signature does not match the request"
        now = self.clock()
        if abs(now - int(timestamp)) > MAX_SKEW_S:
            return "stale_timestamp", f"X-Timestamp is more than {MAX_SKEW_S} s from server time"
        if not self.store.remember_nonce(kiosk_id, nonce, now, NONCE_TTL_S):
            return "replayed_nonce", "this nonce was used in the last 10 minutes"
        scope.setdefault("state", {})["kiosk_id"] = kiosk_id
        return None


async def _read_body(receive: Receive) -> tuple[bytes, bool, bool]:
    """(body, too large, client disconnected); drains but does not keep oversize bodies."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", False, True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_READ_BYTES:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if size > MAX_READ_BYTES:
        return b"", True, False
    return b"".join(chunks), False, False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
