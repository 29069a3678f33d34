"""Reference platform memory under stalled uploads: RSS idle and with 20 stalled bodies.

Each case starts a fresh ``kiosk platform serve`` (tests/platform_server.py), reads the
server process's resident set (``VmRSS`` in /proc/PID/status) once idle, then opens 20
raw connections that each claim a 10 MiB attachment (``Content-Length``), send all of it
but the last byte and stall.  Case "unknown kiosk": an id the server does not know with a
fresh timestamp, which the server can refuse from the headers alone.  Case "known kiosk":
a real kiosk id and a fresh timestamp with a signature that cannot be checked before the
body has arrived, so only the server's limit on buffered bodies bounds it.  The figure is
the RSS growth over idle while the 20 connections hang; ``answered`` counts the
connections that got an HTTP answer within 2 s (an early refusal).

Run: ``python -m bench.bench_platform_security`` (Linux: reads /proc).
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import BenchResult

KIOSK = "511602-HALL-03"
CONNECTIONS = 20
CLAIMED = 10 * 1024 * 1024
GROWTH_GOAL_MB = 64.0
"""At most this much RSS growth with 20 stalled 10 MiB uploads (the server buffers at
most 32 MiB of bodies at once; the rest is allocator slack)."""


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (10^6 bytes), from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmRSS line")


@dataclass
class Stalled:
    """One raw connection that sent headers and most of a body, then stopped."""

    sock: socket.socket
    sent: int = 0
    answer: bytes = b""


def stall_upload(port: int, kiosk_id: str, send_bytes: int) -> Stalled:
    """Claim a 10 MiB attachment, send ``send_bytes`` of it (as far as the server reads),
    then stop sending; keep whatever answer arrives within 2 s."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    digest = secrets.token_hex(32)
    head = (f"PUT /api/v1/attachments/{digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/pdf\r\nContent-Length: {CLAIMED}\r\n"
            f"X-Kiosk-Id: {kiosk_id}\r\nX-Timestamp: {int(time.time())}\r\n"
            f"X-Nonce: {secrets.token_hex(16)}\r\nX-Signature: {'0' * 64}\r\n\r\n")
    stalled = Stalled(sock)
    sock.sendall(head.encode())
    chunk = b"\0" * 65536
    try:
        while stalled.sent < send_bytes:
            piece = chunk[:min(len(chunk), send_bytes - stalled.sent)]
            stalled.sent += sock.send(piece)
    except OSError:  # the server answered early and stopped reading (or closed)
        pass
    with contextlib.suppress(OSError):
        stalled.answer = sock.recv(4096)
    return stalled


def measure(kiosk_id: str | None) -> tuple[float, float, int, int]:
    """(idle RSS MB, RSS MB with 20 stalled uploads, answered, bytes accepted) on a fresh
    server; ``kiosk_id`` None means an id the server does not know."""
    from tests.platform_server import PlatformServer

    with tempfile.TemporaryDirectory() as folder, \
            PlatformServer(Path(folder), kiosks={KIOSK: Path(folder) / "k.key"}) as server:
        assert server.process is not None
        pid = server.process.pid
        with server.session(KIOSK) as session:
            for _ in range(3):
                session.get("/scenarios").raise_for_status()
        time.sleep(0.5)
        idle = rss_mb(pid)
        results: list[Stalled] = []
        lock = threading.Lock()

        def one() -> None:
            stalled = stall_upload(server.port, kiosk_id or "511602-NOBODY-99", CLAIMED - 1)
            with lock:
                results.append(stalled)

        threads = [threading.Thread(target=one) for _ in range(CONNECTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(1.0)
        loaded = rss_mb(pid)
        for stalled in results:
            stalled.sock.close()
        answered = sum(1 for stalled in results if stalled.answer.startswith(b"HTTP/1.1"))
        return idle, loaded, answered, sum(stalled.sent for stalled in results)


def run() -> list[BenchResult]:
    """Both cases, each on its own fresh server."""
    results = []
    for label, kiosk_id in (("unknown kiosk", None), ("known kiosk, unsigned", KIOSK)):
        idle, loaded, answered, sent = measure(kiosk_id)
        results.append(BenchResult(
            f"platform RSS growth, {CONNECTIONS} stalled 10 MiB uploads ({label})",
            loaded - idle, "MB", goal=GROWTH_GOAL_MB,
            detail=(f"idle {idle:.0f} MB, loaded {loaded:.0f} MB; {answered}/{CONNECTIONS} "
                    f"answered within 2 s; clients got {sent / 1e6:.0f} MB sent in all")))
    return results


if __name__ == "__main__":
    for result in run():
        print(f"{result.name}: {result.value:.1f} {result.unit} ({result.detail})")
