"""The kiosk's HTTP side under hostile networks, against real servers on 127.0.0.1.

Every server here is real: the reference platform as a process (tests/platform_server.py),
or a small ``http.server`` on a thread playing a redirecting platform, a proxy, a captive
portal or a platform behind a private certificate authority (a throwaway CA made with
``cryptography`` in ``tmp_path``). What each test proves:

- a 3xx is refused by the sync client and the probe; the redirect target hears nothing;
- proxies and CA bundles from the environment are ignored; the configured ones are used;
- the platform's error message, which may quote a citizen's name and ID number, reaches
  no log record, no exception text, no outbox column and no ``kiosk queue status`` line.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import select
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import kiosk.cli
from kiosk.applying.applications import (
    ApplicationService,
    OutboxStorage,
    parse_application_document,
)
from kiosk.config import ConfigError, load_config
from kiosk.platform.client import Failure, PlatformClient, PlatformError, classify_failure
from kiosk.platform.connectivity import ConnectivityMonitor, probe_health
from kiosk.platform.signing import load_or_create_key_file
from kiosk.platform.sync import OUTBOX_ONLY, Backoff, SyncWorker, make_client
from offline_cache.outbox import State
from tests.kiosk_files import KIOSK_ID, application_document, citizen, write_config
from tests.platform_server import PlatformServer

KEY = bytes(range(32))
RECEIPT = "K511602-TEST-01-20261127-000001-X"
PERSON = citizen(7)
"""The invented citizen whose data a careless platform quotes back."""
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                   "all_proxy")


# ------------------------------------------------------------------------- local servers


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with ``answer(handler)`` and records (method, path, body)."""

    protocol_version = "HTTP/1.1"

    def handle_one(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, body))  # type: ignore[attr-defined]
        status, headers, payload = self.server.answer(self)  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = handle_one

    def log_message(self, *args: Any) -> None:
        pass


def health_ok(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"status": "ok", "time": "2026-11-27T12:00:00+00:00"}).encode()
    return 200, {"Content-Type": "application/json"}, body


@contextmanager
def serve(answer: Any = health_ok, handler: type[BaseHTTPRequestHandler] = Recorder,
          tls: ssl.SSLContext | None = None) -> Iterator[ThreadingHTTPServer]:
    """A threaded HTTP(S) server on 127.0.0.1; ``.seen`` lists what it received."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.seen = []  # type: ignore[attr-defined]
    httpd.answer = answer  # type: ignore[attr-defined]
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def port(httpd: ThreadingHTTPServer) -> int:
    return int(httpd.server_address[1])


def base(httpd: ThreadingHTTPServer, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{port(httpd)}/api/v1"


def application_body() -> bytes:
    return json.dumps({"receipt_no": RECEIPT, "applicant": PERSON}, ensure_ascii=False).encode()


# -------------------------------------------------------------------------- 1. redirects


def test_a_redirect_is_refused_and_its_target_receives_nothing():
    with serve() as elsewhere:
        target = f"http://127.0.0.1:{port(elsewhere)}/collect?from=kiosk"

        def redirect(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
            if handler.path.endswith("/health"):
                return health_ok(handler)
            return 307, {"Location": target}, b""

        with serve(redirect) as platform:
            client = PlatformClient(base(platform), KIOSK_ID, KEY, timeout=5)
            with pytest.raises(PlatformError) as caught:
                client.post_application(RECEIPT, application_body())
            client.close()
    error = caught.value
    assert elsewhere.seen == []  # the signed body with the ID number went nowhere
    assert [seen[0] for seen in platform.seen] == ["POST"]
    assert (error.failure, error.status) == (Failure.CONFIG, 307)
    assert str(error) == ("platform answered with a redirect to 127.0.0.1; "
                          "redirects are refused")


def test_the_probe_does_not_follow_a_captive_portal(tmp_path: Path):
    with serve() as portal:  # answers {"status": "ok"} to anything
        login = f"http://127.0.0.1:{port(portal)}/login"
        with serve(lambda handler: (302, {"Location": login}, b"")) as hall_network:
            monitor = ConnectivityMonitor(base(hall_network), interval=5, timeout=2)
            assert monitor.check_now() is False
            client = PlatformClient(base(hall_network), KIOSK_ID, KEY, timeout=5)
            assert client.health().ok is False
            client.close()
    assert portal.seen == []


def test_a_redirect_keeps_the_application_queued_and_alerts(tmp_path: Path):
    def redirect(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if handler.path.endswith("/health"):
            return health_ok(handler)
        return 308, {"Location": "http://198.51.100.7/api/v1/applications"}, b""

    with serve(redirect) as platform:
        storage, receipt = queued_application(tmp_path, base(platform))
        worker = SyncWorker(storage, make_client(storage.config), schedule=OUTBOX_ONLY)
        report = worker.sync_once(progress=False)
        worker.client.close()
    record = storage.outbox.find(receipt)
    storage.close()
    assert record.state is State.RETRY_LATER and report.stopped == "config"
    assert record.last_error == ("platform answered with a redirect to 198.51.100.7; "
                                 "redirects are refused")
    assert any("check [platform] url" in alert for alert in report.alerts)


# ---------------------------------------------------------------------------- 2. proxies


@pytest.fixture()
def env_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadingHTTPServer]:
    """A listening "proxy" named by every proxy variable of the environment."""
    with serve(lambda handler: (502, {}, b"proxy")) as proxy:
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, f"http://127.0.0.1:{port(proxy)}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        yield proxy


def test_environment_proxies_never_see_the_kiosk_traffic(tmp_path: Path,
                                                         env_proxy: ThreadingHTTPServer):
    key_file = tmp_path / "platform.key"
    with PlatformServer(tmp_path, kiosks={KIOSK_ID: key_file}) as server:
        client = PlatformClient(server.base_url, KIOSK_ID, load_or_create_key_file(key_file),
                                timeout=5)
        assert client.health().ok is True
        assert client.catalog()["version"] >= 1  # a signed request reached the platform
        client.close()
        assert ConnectivityMonitor(server.base_url, interval=5, timeout=2).check_now() is True
    assert env_proxy.seen == []


class TunnelProxy(BaseHTTPRequestHandler):
    """An HTTP CONNECT proxy: records the tunnels it opens and relays their bytes."""

    def do_CONNECT(self) -> None:
        self.server.seen.append(("CONNECT", self.path, b""))  # type: ignore[attr-defined]
        host, _, number = self.path.rpartition(":")
        upstream = socket.create_connection((host, int(number)), timeout=5)
        self.send_response(200, "Connection established")
        self.end_headers()
        ends = [self.connection, upstream]
        try:
            while True:
                ready, _, _ = select.select(ends, [], [], 5)
                if not ready:
                    return
                for end in ready:
                    data = end.recv(65536)
                    if not data:
                        return
                    (upstream if end is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()

    def do_GET(self) -> None:  # a proxied plain-http request: refuse it, but record it
        self.server.seen.append(("GET", self.path, b""))  # type: ignore[attr-defined]
        self.send_error(502)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_configured_proxy_carries_https_only(tmp_path: Path, pki: dict[str, Any]):
    with serve(tls=pki["server"]) as platform, serve(handler=TunnelProxy) as proxy:
        proxy_url = f"http://127.0.0.1:{port(proxy)}"
        client = PlatformClient(base(platform, "https"), KIOSK_ID, KEY, timeout=5,
                                ca_file=pki["ca_file"], proxy=proxy_url)
        assert client.health().ok is True
        client.close()
        monitor = ConnectivityMonitor(base(platform, "https"), 5, 2, ca_file=pki["ca_file"],
                                      proxy=proxy_url)
        assert monitor.check_now() is True
        assert [seen[:2] for seen in proxy.seen] == [("CONNECT", f"127.0.0.1:{port(platform)}")] * 2
        proxy.seen.clear()
        with serve() as loopback:  # plain http to this machine never goes through it
            local = PlatformClient(base(loopback), KIOSK_ID, KEY, timeout=5, proxy=proxy_url)
            assert local.health().ok is True
            local.close()
        assert proxy.seen == []


@pytest.mark.parametrize(("url", "complaint"), [
    ("http://10.0.0.5:8470/api/v1", "plain http is only allowed to this machine"),
    ("http://127.0.0.1.example.com/api/v1", "plain http is only allowed to this machine"),
    ("http://[::ffff:10.0.0.5]/api/v1", "plain http is only allowed to this machine"),
])
def test_plain_http_off_the_machine_is_refused_by_config_and_client(tmp_path: Path, url: str,
                                                                    complaint: str):
    with pytest.raises(ConfigError, match=complaint):
        load_config(write_config(tmp_path, url=url), environ={})
    with pytest.raises(ValueError, match="loopback"):
        PlatformClient(url, KIOSK_ID, KEY)


# ------------------------------------------------------------------- 3. a private CA


@pytest.fixture()
def pki(tmp_path: Path) -> dict[str, Any]:
    """A throwaway CA, a server certificate for 127.0.0.1 it signed, and a TLS context."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Hall Private CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    folder = tmp_path / "pki"
    folder.mkdir()
    ca_file = folder / "hall-ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(chain)
    return {"ca_file": ca_file, "server": server, "folder": folder}


def test_a_private_ca_is_trusted_only_through_ca_file(tmp_path: Path, pki: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch):
    # the environment names the right CA: neither the sender nor the probe may use it
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["ca_file"]))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(pki["ca_file"]))
    with serve(tls=pki["server"]) as platform:
        url = base(platform, "https")
        client = PlatformClient(url, KIOSK_ID, KEY, timeout=5)
        assert client.health().ok is False
        with pytest.raises(PlatformError, match="SSLError"):
            client.catalog()
        client.close()
        assert ConnectivityMonitor(url, interval=5, timeout=2).check_now() is False

        config = load_config(write_config(
            tmp_path / "kiosk", url=url, extra=f"ca_file = {pki['ca_file']}\n"), environ={})
        assert config.platform.ca_file == pki["ca_file"]
        load_or_create_key_file(config.platform.key_file)
        client = make_client(config)
        assert client.health().ok is True
        client.close()
        monitor = ConnectivityMonitor(url, interval=5, timeout=2,
                                      ca_file=config.platform.ca_file)
        assert monitor.check_now() is True
    assert [seen[1] for seen in platform.seen] == ["/api/v1/health"] * 2


def test_probe_ignores_the_environment_whatever_session_it_gets(pki: dict[str, Any],
                                                               monkeypatch: pytest.MonkeyPatch):
    import requests

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["ca_file"]))
    with serve(tls=pki["server"]) as platform, requests.Session() as plain:
        assert probe_health(plain, base(platform, "https"), timeout=2) is False


@pytest.mark.parametrize(("content", "complaint"), [
    (None, "no such file"),
    (b"", "not a PEM bundle"),
    (b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
     "cannot be read"),
])
def test_ca_file_is_checked_when_the_config_loads(tmp_path: Path, content: bytes | None,
                                                  complaint: str):
    ca_file = tmp_path / "ca.pem"
    if content is not None:
        ca_file.write_bytes(content)
    with pytest.raises(ConfigError, match=complaint) as caught:
        load_config(write_config(tmp_path, extra=f"ca_file = {ca_file}\n"), environ={})
    assert "[platform] ca_file" in str(caught.value)


# --------------------------------------------------------- 4. the platform's words


def quoting(status: int) -> tuple[int, dict[str, str], bytes]:
    """An error answer whose message quotes the applicant back, as careless platforms do."""
    body = {"error": "invalid_field", "field": "form.phone",
            "message": f"申请人 {PERSON['name']} 的证件号 {PERSON['id_number']} 与电话不符"}
    return status, {"Content-Type": "application/json"}, json.dumps(
        body, ensure_ascii=False).encode()


def test_classified_errors_keep_only_status_code_and_field():
    status, _, body = quoting(422)
    error = classify_failure(status, body)
    assert str(error) == error.detail == "platform 422 invalid_field field=form.phone"
    # a code or field that is not a plain token (or hides a number) is dropped, not quoted
    hostile = json.dumps({"error": PERSON["id_number"], "field": PERSON["name"],
                          "message": PERSON["address"]}).encode()
    assert str(classify_failure(422, hostile)) == "platform 422"
    digest = "0123456789" * 6 + "abcd"
    error = classify_failure(422, json.dumps({"error": "missing_attachment",
                                              "field": digest}).encode())
    assert error.failure is Failure.MISSING_ATTACHMENT and error.field_name == digest
    assert str(error) == "platform 422 missing_attachment field=sha256"


def queued_application(tmp_path: Path, url: str) -> tuple[OutboxStorage, str]:
    """A kiosk configuration for ``url`` with PERSON's application sealed in its outbox."""
    config = load_config(write_config(tmp_path / "kiosk", url=url), environ={})
    load_or_create_key_file(config.platform.key_file)
    storage = OutboxStorage(config, durable=False)
    receipt = ApplicationService(storage).submit(
        parse_application_document(application_document(7), tmp_path))
    return storage, receipt


def test_a_quoting_platform_leaves_no_personal_data_anywhere(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]):
    state = {"status": 503}

    def platform(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if handler.path.endswith("/health"):
            return health_ok(handler)
        return quoting(state["status"])

    caplog.set_level(logging.DEBUG)
    with serve(platform) as server:
        storage, receipt = queued_application(tmp_path, base(server))
        worker = SyncWorker(storage, make_client(storage.config),
                            backoff=Backoff(0.001, 0.002), schedule=OUTBOX_ONLY)
        first = worker.sync_once(progress=False)  # 503: deferred, last_error stored
        assert first.deferred == 1
        deferred = storage.outbox.find(receipt)
        assert deferred.last_error == "platform 503 invalid_field field=form.phone"
        state["status"] = 422
        time.sleep(0.05)
        second = worker.sync_once(progress=False)  # 422: quarantined with its reason
        with pytest.raises(PlatformError) as caught:
            worker.client.post_application(receipt, application_body())
        worker.client.close()
    quarantined = storage.outbox.find(receipt)
    storage.close()
    assert second.quarantined == 1 and quarantined.state is State.QUARANTINED
    assert quarantined.quarantine_reason == "platform 422 invalid_field field=form.phone"

    assert kiosk.cli.main(["--config", str(tmp_path / "kiosk" / "kiosk.ini"),
                           "queue", "status", "--limit", "5"]) == 0
    status_output = capsys.readouterr().out
    assert "QUARANTINED" in status_output

    database = storage.config.storage.database
    with sqlite3.connect(database) as conn:
        columns = conn.execute(
            "SELECT last_error, quarantine_reason FROM applications").fetchall()
    raw = b"".join(path.read_bytes() for path in database.parent.glob("kiosk.db*"))
    texts = {
        "exception": str(caught.value) + repr(caught.value.args),
        "log": "\n".join(record.getMessage() for record in caplog.records),
        "alerts": " ".join(first.alerts + second.alerts),
        "columns": repr(columns),
        "queue status": status_output,
    }
    for secret in (PERSON["name"], PERSON["id_number"]):
        for where, text in texts.items():
            assert secret not in text, where
        assert secret.encode() not in raw, "database file"
