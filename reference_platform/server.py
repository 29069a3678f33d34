"""Running the reference platform: one uvicorn worker on a socket we bind ourselves.

Binding the socket before uvicorn starts gives ``--port 0`` a real port to announce, and
SO_REUSEADDR lets a test restart the server on the same port at once.  The ready line
``platform listening on http://HOST:PORT/api/v1`` is printed (and flushed) only once
uvicorn has started, so whoever reads it can connect immediately; by then the admin token
is in ``<db>.admin-token`` (see :mod:`reference_platform.admin`).
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any, TextIO

import uvicorn

from reference_platform.admin import admin_token_for
from reference_platform.app import create_app
from reference_platform.faults import FaultConfig

READY_PREFIX = "platform listening on "


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it every answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def base_url(host: str, port: int) -> str:
    """``http://HOST:PORT/api/v1`` with IPv6 hosts in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/api/v1"


def serve(db: Path | str, kiosks: dict[str, bytes], *, host: str = "127.0.0.1",
          port: int = 8470, faults: FaultConfig | dict[str, Any] | None = None,
          progress_step: float = 60.0, out: TextIO | None = None) -> None:
    """Serve until SIGINT/SIGTERM; prints the ready line to ``out`` (default stdout)."""
    app = create_app(db, kiosks, faults=faults, progress_step=progress_step,
                     admin_token=admin_token_for(db))
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2, server_header=False)
    server = uvicorn.Server(config)
    line = READY_PREFIX + base_url(host, actual)
    asyncio.run(_run(server, sock, line, out or sys.stdout))


async def _run(server: uvicorn.Server, sock: socket.socket, line: str, out: TextIO) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        print(line, file=out, flush=True)
    await task
