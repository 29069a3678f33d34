"""Request authentication at the ASGI level, before FastAPI parses anything.

The signature covers the exact path and query *as sent* and the exact body bytes, so the
check has to run on the raw ASGI scope (``raw_path`` + ``query_string``) and on the body
before any framework re-encodes or parses it.  Doing it here also means an unauthenticated
request never reaches validation: it gets 401, whatever its body looks like.

What the headers alone can tell is checked before any body is read (see
:class:`SignatureMiddleware`); then the body is buffered once, within a server-wide
budget, checked, and replayed to the app.  It also rejects bodies that are not JSON
with 400 ``malformed`` for JSON endpoints, with the same strictness as the kiosk (no
NaN/Infinity, no absurd nesting), so the framework only ever sees parseable JSON.
"""

from __future__ import annotations

import asyncio
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
BODY_BUDGET_BYTES = 32 * 1024 * 1024
"""Bodies buffered at once, all requests together: three full attachments, or hundreds of
JSON bodies.  A request that does not fit is answered 429 before its body is read."""
BODY_IDLE_TIMEOUT_S = 20.0
"""A body that stops arriving for this long is given up (503), freeing its room."""
RETRY_AFTER_S = 1

NONCE_PATTERN = re.compile(r"[0-9a-fA-F]{32}")
"""The contract: "32 random hex characters" (the kiosk sends lowercase)."""
NOT_SIGNED = "the request is not signed by a known kiosk"
"""One message for an unknown kiosk and a wrong signature, so that the answers are the same
bytes and do not tell which kiosk ids exist."""
_TIMESTAMP = re.compile(r"-?[0-9]{1,15}")
_LENGTH = re.compile(r"[0-9]{1,15}")


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


class BodyBudget:
    """How many bytes of request bodies the server may hold in memory at once.

    The signature covers the body, so a signed request can only be checked once its body
    has arrived, and until then it must be buffered.  Without a bound, anyone who knows a
    kiosk id (printed on every receipt) could open many uploads, send most of each and
    stall, and the server would hold all of them.  Each request reserves its declared
    ``Content-Length`` before a byte is read and gives it back when it has been answered;
    one event loop runs every request, so plain integers need no lock.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes of the budget; False (nothing taken) when they do not fit."""
        if self.used + size > self.capacity:
            return False
        self.used += size
        return True

    def release(self, size: int) -> None:
        """Give back what :meth:`reserve` took."""
        self.used = max(0, self.used - size)


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` (0 when there is no body), or None when the body's
    size is not declared (chunked) or not a number."""
    value = header(scope, "content-length")
    if value is None:
        return 0 if header(scope, "transfer-encoding") is None else None
    value = value.strip()
    if not _LENGTH.fullmatch(value):
        return None
    return int(value)


class SignatureMiddleware:
    """Checks the four authentication headers of every ``/api/v1`` request but health.

    Everything that can be judged from the headers is judged before a byte of the body is
    read: the headers' presence and form, the timestamp window, the declared size against
    the route's limit, and whether the kiosk id is known.  Only then is the body read
    (bounded by :class:`BodyBudget` and an idle timeout) and the signature checked.  The
    timestamp and size checks come before the kiosk check, so that their answers do not
    depend on whether a kiosk exists; an unknown kiosk and a wrong signature get the very
    same answer.

    An early answer leaves the unread body to uvicorn, which discards it as it arrives (no
    buffering) and closes the connection when it stalls for its keep-alive time (5 s).  The
    connection is not closed at once: a client still sending its body would then see a
    reset instead of the answer (401, 413, 429) that tells it what to do.
    """

    def __init__(self, app: ASGIApp, store: Store, keys: dict[str, bytes],
                 clock: Callable[[], float] = time.time,
                 budget: BodyBudget | None = None,
                 idle_timeout_s: float = BODY_IDLE_TIMEOUT_S) -> None:
        self.app = app
        self.store = store
        self.keys = keys
        self.clock = clock
        self.budget = budget or BodyBudget(BODY_BUDGET_BYTES)
        self.idle_timeout_s = idle_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        upload = path.startswith(API_PREFIX + "/attachments/")
        limit = MAX_ATTACHMENT_BYTES if upload else MAX_JSON_BYTES
        length = declared_length(scope)
        if length is None:
            await send_error(send, 400, "malformed", "a request body needs a Content-Length")
            return
        if length > limit:
            await send_error(send, 413, "too_large", f"the body is larger than {limit} bytes")
            return
        if path in OPEN_PATHS:  # health reads no body: hand it over untouched
            await self.app(scope, receive, send)
            return
        problem = self.check_headers(scope)
        if problem is not None:
            await send_error(send, 401, *problem)
            return
        if not self.budget.reserve(length):
            await send_error(send, 429, "rate_limited", "too many uploads at once; retry later",
                             headers=[(b"retry-after", str(RETRY_AFTER_S).encode())])
            return
        try:
            await self._checked(scope, receive, send, length, upload)
        finally:
            self.budget.release(length)

    async def _checked(self, scope: Scope, receive: Receive, send: Send, length: int,
                       upload: bool) -> None:
        """Read the body (its room is reserved), check the signature, pass it on."""
        try:
            body = await read_body(receive, length, self.idle_timeout_s)
        except TimeoutError:
            await send_error(send, 503, "body_timeout",
                             f"the body stopped arriving for {self.idle_timeout_s:g} s")
            return
        if body is None:  # the client went away
            return
        problem = self.check_signature(scope, body)
        if problem is not None:
            await send_error(send, 401, *problem)
            return
        if body and scope["method"] in ("POST", "PUT", "PATCH") and not upload:
            problem_text = json_problem(body)
            if problem_text is not None:
                await send_error(send, 400, "malformed", problem_text)
                return
        await self.app(scope, _replay(body, receive), send)

    def check_headers(self, scope: Scope) -> tuple[str, str] | None:
        """What the headers alone can tell: None when they are complete, well formed, fresh
        and name a known kiosk; else (error code, message)."""
        kiosk_id = header(scope, HEADER_KIOSK)
        timestamp = header(scope, HEADER_TIMESTAMP)
        nonce = header(scope, HEADER_NONCE)
        claimed = header(scope, HEADER_SIGNATURE)
        if not (kiosk_id and timestamp and nonce and claimed):
            return "bad_signature", "X-Kiosk-Id, X-Timestamp, X-Nonce and X-Signature are required"
        if not NONCE_PATTERN.fullmatch(nonce) or not _TIMESTAMP.fullmatch(timestamp):
            return "bad_signature", ("X-Nonce must be 32 hex characters and X-Timestamp "
                                     "Unix seconds")
        if abs(self.clock() - int(timestamp)) > MAX_SKEW_S:
            return "stale_timestamp", f"X-Timestamp is more than {MAX_SKEW_S} s from server time"
        if kiosk_id not in self.keys:
            return "bad_signature", NOT_SIGNED
        return None

    def check_signature(self, scope: Scope, body: bytes) -> tuple[str, str] | None:
        """None when the (header-checked) request is signed over ``body`` and its nonce is
        new; else (error code, message).  Records the nonce and the signing kiosk."""
        kiosk_id = header(scope, HEADER_KIOSK) or ""
        timestamp = header(scope, HEADER_TIMESTAMP) or ""
        nonce = header(scope, HEADER_NONCE) or ""
        claimed = header(scope, HEADER_SIGNATURE) or ""
        key = self.keys.get(kiosk_id)
        if key is None or not signature_matches(key, scope["method"], path_with_query(scope),
                                                timestamp, nonce, body, claimed):
            return "bad_signature", NOT_SIGNED
        if not self.store.remember_nonce(kiosk_id, nonce, self.clock(), NONCE_TTL_S):
            return "replayed_nonce", "this nonce was used in the last 10 minutes"
        scope.setdefault("state", {})["kiosk_id"] = kiosk_id
        return None


async def read_body(receive: Receive, length: int, idle_timeout_s: float) -> bytes | None:
    """The body, at most ``length`` bytes (the framing of the HTTP server guarantees it; more
    is cut off); None when the client disconnects.  Raises TimeoutError when no part of it
    arrives for ``idle_timeout_s`` (a stalled upload must not hold its room for ever)."""
    buffer = bytearray()
    while True:
        message = await asyncio.wait_for(receive(), idle_timeout_s)
        if message["type"] == "http.disconnect":
            return None
        if len(buffer) < length:
            buffer += message.get("body", b"")[:length - len(buffer)]
        if not message.get("more_body", False):
            return bytes(buffer)


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
