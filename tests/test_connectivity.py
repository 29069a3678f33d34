"""The online / offline probe against real HTTP servers on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from kiosk.platform.connectivity import ConnectivityMonitor


class Health(BaseHTTPRequestHandler):
    status = 200
    body: ClassVar[object] = {"status": "ok", "time": "2026-11-23T08:00:00+08:00"}

    def do_GET(self) -> None:
        payload = json.dumps(self.body).encode()
        self.send_response(self.status if self.path == "/api/v1/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/api/v1"


def test_online_when_health_answers_ok(server):
    monitor = ConnectivityMonitor(url(server), interval=5, timeout=2)
    heard: list[bool] = []
    monitor.add_listener(heard.append)
    assert monitor.check_now() is True
    assert monitor.check_now() is True
    assert heard == [True]  # listeners hear changes only


def test_offline_on_500_bad_body_or_no_server(server, monkeypatch):
    monitor = ConnectivityMonitor(url(server), interval=5, timeout=2)
    monkeypatch.setattr(Health, "status", 500)
    assert monitor.check_now() is False
    monkeypatch.setattr(Health, "status", 200)
    monkeypatch.setattr(Health, "body", ["not", "an", "object"])
    assert monitor.check_now() is False
    server.shutdown()
    server.server_close()
    assert ConnectivityMonitor(url(server), 5, 1).check_now() is False


def test_background_thread_reports_and_stops(server):
    monitor = ConnectivityMonitor(url(server), interval=0.05, timeout=1)
    changed = threading.Event()
    monitor.add_listener(lambda online: changed.set())
    monitor.start()
    assert changed.wait(5)
    monitor.stop()
    assert monitor.online is True and monitor._thread is None
