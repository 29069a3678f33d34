"""Carrying out a fault decision on the wire, below HTTP.

A 503 is easy; the faults that matter for exactly-once delivery are the ones where no
usable answer arrives at all.  Those need the connection itself: the server's transport
is reached through uvicorn's ``send`` (a bound method of its request/response cycle, which
holds the asyncio transport).  A *reset* sets SO_LINGER to 0 and aborts, so the kernel
sends RST and the client sees "connection reset"; a *truncated* answer sends headers with
the full Content-Length and half the body, then closes.  Under a server without that
attribute the wire faults degrade to a 503 (documented; uvicorn is what ``serve`` runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from reference_platform.auth import Message, Receive, Send, error_body
from reference_platform.faults import Decision, FaultConfig


def transport_of(send: Send) -> asyncio.Transport | None:
    """The connection's asyncio transport behind uvicorn's ``send``, if reachable."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    return transport if isinstance(transport, asyncio.BaseTransport) else None


async def drain(receive: Receive) -> None:
    """Read the request body to its end, so the connection is in a clean state."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def reset(send: Send) -> bool:
    """Drop the connection with RST and no HTTP answer; False if the transport is unknown."""
    transport = transport_of(send)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await asyncio.sleep(0)  # let the server notice the disconnect before the app returns
    await asyncio.sleep(0)
    return True


def synthetic(config: FaultConfig, kind: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, headers and body of an injected error answer."""
    if kind == "rate_limit":
        body = error_body("rate_limited", "too many requests (injected fault)")
        extra = [(b"retry-after", str(config.retry_after_s).encode())]
        status = 429
    else:
        body = error_body("unavailable", "the platform is unavailable (injected fault)")
        extra = []
        status = config.error_status
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), *extra]
    return status, headers, body


async def send_whole(send: Send, status: int, headers: list[tuple[bytes, bytes]],
                     body: bytes) -> None:
    """A complete answer."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_truncated(send: Send, status: int, headers: list[tuple[bytes, bytes]],
                         body: bytes) -> bool:
    """Headers promising the whole body, half of it, then the connection closes."""
    transport = transport_of(send)
    if transport is None:
        return False
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    full = body if len(body) >= 2 else body + b" " * (2 - len(body))
    headers.append((b"content-length", str(len(full)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": full[: len(full) // 2], "more_body": True})
    transport.close()  # flushes what was written, then FIN: the client reads too few bytes
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return True


async def send_slowly(send: Send, status: int, headers: list[tuple[bytes, bytes]],
                      body: bytes, seconds: float) -> None:
    """The whole answer, its body trickled out in pieces over ``seconds``."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    pieces = max(1, min(10, len(body)))
    size = -(-len(body) // pieces) if body else 0
    for index in range(pieces):
        await asyncio.sleep(seconds / pieces)
        chunk = body[index * size:(index + 1) * size]
        await send({"type": "http.response.body", "body": chunk, "more_body": index < pieces - 1})


class Recorder:
    """A ``send`` that keeps the handler's answer instead of sending it."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.chunks.append(bytes(message.get("body", b"")))

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def deliver(decision: Decision, config: FaultConfig, recorded: Recorder | None,
                  send: Send) -> None:
    """Send the client what the decision says, given the handler's answer (if it ran)."""
    kind = decision.kind
    if recorded is None:  # "before": the handler never ran
        assert kind is not None
        status, headers, body = synthetic(config, "error" if kind in ("reset", "truncate")
                                          else kind)
    else:
        status, headers, body = recorded.status, recorded.headers, recorded.body
        if kind in ("error", "rate_limit"):
            status, headers, body = synthetic(config, kind)
    if kind == "reset" and await reset(send):
        return
    if kind == "truncate" and await send_truncated(send, status, headers, body):
        return
    if kind == "slow_body":
        await send_slowly(send, status, headers, body, config.slow_body_s)
        return
    if kind in ("reset", "truncate"):  # no transport to break: fall back to an error
        status, headers, body = synthetic(config, "error")
    await send_whole(send, status, headers, body)

