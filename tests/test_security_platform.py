"""Hardening of the reference platform, from the outside: a real server process on loopback.

* Unauthenticated uploads are refused from their headers, before any body is read, and the
  bodies the server must buffer (a known kiosk's, whose signature needs the body) are
  bounded all together: 20 stalled 10 MiB uploads cannot grow the server by 200 MB.
* Progress: delivery address and phone only for the kiosk that submitted the application.
* ``/admin`` needs the per-start bearer token as well as a loopback client.
* ``/admin/reset`` keeps the seen nonces (no replays after a reset).
* Nonces are the contract's 32 hex characters.
* An unknown kiosk and a wrong signature get the same answer (no enumeration of kiosk ids).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import socket
import stat
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.applying.receipt_numbers import make_receipt_number
from kiosk.platform.client import parse_progress
from kiosk.platform.signing import signed_headers
from reference_platform.admin import admin_token_path
from reference_platform.auth import BODY_BUDGET_BYTES, read_body
from reference_platform.matters import shipped_records

try:  # tests/ is a package in some checkouts, a plain folder on sys.path in others
    from tests.platform_server import PlatformServer
except ModuleNotFoundError:  # pragma: no cover
    from platform_server import PlatformServer  # type: ignore[no-redef]

KIOSK = "511602-HALL-03"
OTHER = "511602-HALL-04"
STRANGER = "511602-NOBODY-99"
ITEM = shipped_records()[0]["item_code"]
TEN_MIB = 10 * 1024 * 1024
STALLED = 20
ADDRESS = "测试省测试市模拟路9号"
PHONE = "13900000009"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("platform")
    with PlatformServer(folder, kiosks={KIOSK: folder / "a.key", OTHER: folder / "b.key"},
                        progress_step=0.25) as running:
        yield running


# -- raw HTTP helpers ---------------------------------------------------------------------


def head(kiosk_id: str, *, length: int, timestamp: float | None = None,
         path: str = f"/api/v1/attachments/{'0' * 64}", method: str = "PUT") -> bytes:
    """Request line and headers of an upload whose signature cannot be right."""
    stamp = int(time.time() if timestamp is None else timestamp)
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/pdf\r\nContent-Length: {length}\r\n"
            f"X-Kiosk-Id: {kiosk_id}\r\nX-Timestamp: {stamp}\r\n"
            f"X-Nonce: {secrets.token_hex(16)}\r\nX-Signature: {'0' * 64}\r\n\r\n").encode()


def open_stalled(server: PlatformServer, request_head: bytes, body: int = 1024
                 ) -> socket.socket:
    """Send the headers and ``body`` bytes of the body, then stop sending."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(request_head)
    chunk, sent = b"\0" * 65536, 0
    try:
        while sent < body:
            sent += sock.send(chunk[:min(len(chunk), body - sent)])
    except OSError:  # refused early: the server closed its side
        pass
    return sock


def _complete(received: bytes) -> bool:
    """Whether ``received`` holds a whole answer (headers and Content-Length bytes)."""
    top, found, body = received.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in top.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def read_answer(sock: socket.socket, wait_s: float = 3.0) -> bytes:
    """The server's answer, or what came of it in ``wait_s`` (b"" if silent)."""
    sock.settimeout(wait_s)
    received = b""
    deadline = time.monotonic() + wait_s
    try:
        while time.monotonic() < deadline and not _complete(received):
            part = sock.recv(65536)
            if not part:
                break
            received += part
    except (TimeoutError, OSError):
        pass
    return received


def split(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers without Date, body) of a raw HTTP answer."""
    top, _, body = raw.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() != "date":
            headers[name.lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# -- 1. nothing is buffered before the headers are judged --------------------------------


def test_stalled_uploads_with_unknown_kiosk_or_stale_time_are_refused_at_once(server):
    started = time.monotonic()
    strangers = [open_stalled(server, head(STRANGER, length=TEN_MIB)) for _ in range(STALLED)]
    stale = [open_stalled(server, head(KIOSK, length=TEN_MIB, timestamp=time.time() - 3600))
             for _ in range(STALLED)]
    answers = [split(read_answer(sock)) for sock in strangers + stale]
    elapsed = time.monotonic() - started
    for sock in strangers + stale:
        sock.close()
    for status, _, body in answers[:STALLED]:
        assert status == 401 and json.loads(body)["error"] == "bad_signature"
    for status, _, body in answers[STALLED:]:
        assert status == 401 and json.loads(body)["error"] == "stale_timestamp"
    assert elapsed < 10  # a server waiting for the bodies would answer nothing at all


def test_a_declared_size_over_the_limit_is_refused_before_the_body(server):
    json_path = "/api/v1/applications"
    for request_head in (head(KIOSK, length=TEN_MIB + 1),
                         head(KIOSK, length=2 * 1024 * 1024, path=json_path, method="POST")):
        sock = open_stalled(server, request_head, body=10)
        status, _, body = split(read_answer(sock))
        sock.close()
        assert status == 413 and json.loads(body)["error"] == "too_large"


def test_a_body_without_content_length_is_refused(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    request_head = head(KIOSK, length=0).replace(b"Content-Length: 0",
                                                 b"Transfer-Encoding: chunked")
    sock.sendall(request_head + b"10\r\n")
    status, _, body = split(read_answer(sock))
    sock.close()
    assert status == 400 and json.loads(body)["error"] == "malformed"


def _stall_full(server: PlatformServer, kiosk_id: str, out: list[socket.socket]) -> None:
    out.append(open_stalled(server, head(kiosk_id, length=TEN_MIB), body=TEN_MIB - 1))


def test_stalled_uploads_of_a_known_kiosk_are_bounded_in_memory(server):
    """A known kiosk's unsigned upload must be read before it can be refused; 20 of them
    stalled one byte short hold at most the server's body budget, the rest get 429."""
    assert server.process is not None
    pid = server.process.pid
    session = server.session(KIOSK)
    assert session.get("/scenarios").status_code == 200
    idle = rss_mb(pid)
    data = secrets.token_bytes(TEN_MIB // 2)
    digest = hashlib.sha256(data).hexdigest()
    sockets: list[socket.socket] = []
    threads = [threading.Thread(target=_stall_full, args=(server, KIOSK, sockets))
               for _ in range(STALLED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    time.sleep(0.5)
    grown = rss_mb(pid) - idle
    answers = [read_answer(sock, 0.5) for sock in sockets]
    limited = [split(raw) for raw in answers if raw]
    try:
        assert grown < 80, f"the server grew by {grown:.0f} MiB"
        within_budget = BODY_BUDGET_BYTES // TEN_MIB
        assert len(limited) >= STALLED - within_budget
        for status, headers, body in limited:
            assert status == 429 and json.loads(body)["error"] == "rate_limited"
            assert int(headers["retry-after"]) >= 1
        # the stalled clients hold their room while connected ...
        answer = session.put(f"/attachments/{digest}", data=data,
                             headers={"Content-Type": "application/pdf"})
        assert answer.status_code == 429
    finally:
        for sock in sockets:
            sock.close()
    # ... and give it back when they go away
    deadline = time.monotonic() + 5
    while True:
        answer = session.put(f"/attachments/{digest}", data=data,
                             headers={"Content-Type": "application/pdf"})
        if answer.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer.status_code == 201


def test_a_body_that_stops_arriving_is_given_up():
    async def silent() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    with pytest.raises(TimeoutError):
        asyncio.run(read_body(silent, 100, 0.05))


# -- 2. progress: personal details only for the submitting kiosk -------------------------


def _submit_express(server: PlatformServer) -> str:
    session = server.session(KIOSK)
    receipt_no = make_receipt_number(KIOSK, date(2026, 11, 27), secrets.randbelow(900_000) + 1)
    body = {"receipt_no": receipt_no, "kiosk_id": KIOSK, "item_code": ITEM,
            "applicant": {"name": "测试乙", "id_number": "110101199003078013",
                          "phone": PHONE},
            "form": {}, "attachments": [],
            "delivery": {"method": "express", "address": ADDRESS, "phone": PHONE},
            "created_at": "2026-11-27T10:00:00+08:00"}
    answer = session.post("/applications", json=body, headers={"Idempotency-Key": receipt_no})
    assert answer.status_code == 201, answer.text
    return receipt_no


def test_progress_shows_delivery_details_only_to_the_submitting_kiosk(server):
    receipt_no = _submit_express(server)
    mine = server.session(KIOSK).get(f"/applications/{receipt_no}")
    assert mine.json()["delivery"] == {"method": "express", "address": ADDRESS, "phone": PHONE}
    number = mine.json()["application_no"]
    for asked in (receipt_no, number):
        theirs = server.session(OTHER).get(f"/applications/{asked}")
        assert theirs.status_code == 200
        assert theirs.json()["delivery"] == {"method": "express"}
        assert ADDRESS not in theirs.text and PHONE not in theirs.text
        assert theirs.json()["status"] == mine.json()["status"]
        parsed = parse_progress(theirs.content)  # the kiosk's own parser takes it
        assert parsed.receipt_no == receipt_no and parsed.application_no == number
    looked_up = server.session(OTHER).post("/applications/lookup",
                                           json={"id_number": "110101199003078013"})
    assert receipt_no in looked_up.text and ADDRESS not in looked_up.text
    assert PHONE not in looked_up.text


# -- 3. admin token ------------------------------------------------------------------------


def test_admin_needs_the_bearer_token(server):
    url = server.root_url + "/admin/stats"
    assert requests.get(url, timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer " + secrets.token_urlsafe(32)}
    assert requests.get(url, headers=wrong, timeout=5).status_code == 401
    basic = {"Authorization": "Basic " + server.admin_token}
    assert requests.get(url, headers=basic, timeout=5).status_code == 401
    refused = requests.post(server.root_url + "/admin/reset", timeout=5)
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert requests.get(url, headers=server.admin_headers(), timeout=5).status_code == 200


def test_the_admin_token_file_is_private_and_new_at_each_start(tmp_path: Path):
    with PlatformServer(tmp_path, kiosks={KIOSK: tmp_path / "k.key"}) as running:
        path = admin_token_path(running.db)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        first = running.admin_token
        assert len(first) >= 40 and path.read_text().strip() == first
        running.restart()
        assert running.admin_token != first
        answer = requests.get(running.root_url + "/admin/stats", timeout=5,
                              headers={"Authorization": f"Bearer {first}"})
        assert answer.status_code == 401
        assert "applications" in running.stats()
        assert not list(tmp_path.glob("*.tmp"))


# -- 4. reset keeps the nonces ---------------------------------------------------------------


def test_a_request_cannot_be_replayed_after_an_admin_reset(server):
    signed = signed_headers(KIOSK, server.keys[KIOSK], "GET", "/api/v1/scenarios", b"")
    assert requests.get(server.base_url + "/scenarios", headers=signed,
                        timeout=5).status_code == 200
    server.admin("POST", "/reset").raise_for_status()
    replay = requests.get(server.base_url + "/scenarios", headers=signed, timeout=5)
    assert replay.status_code == 401 and replay.json()["error"] == "replayed_nonce"


# -- 5. nonces are 32 hex characters -------------------------------------------------------


@pytest.mark.parametrize("nonce", ["0123456789abcdef", "a" * 31, "a" * 33, "g" * 32,
                                   "0123456789abcdef0123456789abcde-", "A" * 64])
def test_nonces_other_than_32_hex_characters_are_refused(server, nonce: str):
    signed = signed_headers(KIOSK, server.keys[KIOSK], "GET", "/api/v1/scenarios", b"",
                            nonce=nonce)
    answer = requests.get(server.base_url + "/scenarios", headers=signed, timeout=5)
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"


def test_a_32_hex_character_nonce_is_accepted(server):
    for nonce in (secrets.token_hex(16), secrets.token_hex(16).upper()):
        signed = signed_headers(KIOSK, server.keys[KIOSK], "GET", "/api/v1/scenarios", b"",
                                nonce=nonce)
        answer = requests.get(server.base_url + "/scenarios", headers=signed, timeout=5)
        assert answer.status_code == 200


# -- 6. no enumeration of kiosk ids ----------------------------------------------------------


def _raw(server: PlatformServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        return read_answer(sock)


def test_unknown_kiosk_and_bad_signature_get_the_same_answer(server):
    get = b"GET /api/v1/catalog HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    body = b'{"id_number": "110101199003078013"}'
    post = (b"POST /api/v1/licences/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body))
    for start, payload in ((get, b""), (post, body)):
        answers = []
        for kiosk_id in (STRANGER, KIOSK):
            stamp, nonce = int(time.time()), secrets.token_hex(16)
            request = start + (f"X-Kiosk-Id: {kiosk_id}\r\nX-Timestamp: {stamp}\r\n"
                               f"X-Nonce: {nonce}\r\nX-Signature: {'0' * 64}\r\n\r\n"
                               ).encode() + payload
            answers.append(split(_raw(server, request)))
        assert answers[0] == answers[1]
        status, headers, _ = answers[0]
        assert status == 401 and set(headers) == {"content-type", "content-length"}
