"""The reference platform as a real subprocess, for end-to-end tests of anything that talks
to the platform (the kiosk's sync worker, the platform's own tests).

    with PlatformServer(tmp_path, kiosks={"511602-HALL-03": key_path}) as server:
        session = server.session("511602-HALL-03")        # signs every request
        session.get("/catalog")                           # relative to server.base_url
        server.set_faults({"reset_rate": 1.0, "phase": "after",
                           "paths": ["/api/v1/applications"], "max_faults": 1})
        server.stats()["duplicate_receipts"] == 0
        server.restart()                                  # same database, same port

API (all that a test needs; keep it small):

* ``PlatformServer(tmp_path, kiosks=None, faults=None, progress_step=60.0, start=True)``;
  ``kiosks`` maps kiosk id -> key file path (created, mode 0600, if missing).
* ``.base_url`` (``http://127.0.0.1:PORT/api/v1``), ``.root_url``, ``.db``, ``.log``
* ``.session(kiosk_id) -> SignedSession``; ``signed_session(base_url, kiosk_id, key)``
* ``.set_faults(dict) -> dict``, ``.stats() -> dict``, ``.receipt_numbers() -> list[str]``
* ``.admin(method, path, **kwargs) -> requests.Response`` for any other ``/admin`` route;
  ``.admin_token`` (read from ``<db>.admin-token`` after each start: the server makes a
  new one each time) and ``.admin_headers()`` for hand-made requests
* ``.start()``, ``.stop()`` (terminate, wait), ``.kill()`` (SIGKILL), ``.restart()``
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from kiosk.platform.signing import load_or_create_key_file, signed_headers
from reference_platform.admin import ADMIN_TOKEN_ENV, admin_token_path

REPO = Path(__file__).resolve().parent.parent
READY = "platform listening on "
START_TIMEOUT_S = 30.0


class PlatformAuth(requests.auth.AuthBase):
    """Signs a prepared request exactly as sent: its path with query and its body bytes."""

    def __init__(self, kiosk_id: str, key: bytes) -> None:
        self.kiosk_id = kiosk_id
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        request.headers.update(signed_headers(self.kiosk_id, self.key, request.method or "GET",
                                              request.path_url, body))
        return request


class SignedSession(requests.Session):
    """A ``requests.Session`` that signs every request; a URL starting with ``/`` is taken
    relative to the platform's base URL (``/catalog`` -> ``.../api/v1/catalog``)."""

    def __init__(self, base_url: str, kiosk_id: str, key: bytes) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.auth = PlatformAuth(kiosk_id, key)

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, *args, **kwargs)


def signed_session(base_url: str, kiosk_id: str, key: bytes) -> SignedSession:
    """A signing session for any platform base URL."""
    return SignedSession(base_url, kiosk_id, key)


def install_key(source: Path, target: Path) -> None:
    """Give a kiosk folder the platform's key for it, private (0600) as the kiosk demands:
    a key file others can read is refused before anything is signed with it."""
    target.write_bytes(source.read_bytes())
    target.chmod(0o600)


class PlatformServer:
    """``sys.executable -m kiosk platform serve --port 0`` in a subprocess."""

    def __init__(self, tmp_path: Path, kiosks: dict[str, Path] | None = None,
                 faults: dict[str, Any] | None = None, progress_step: float = 60.0,
                 start: bool = True) -> None:
        self.folder = Path(tmp_path)
        self.db = self.folder / "platform.db"
        self.log = self.folder / "platform.log"
        self.kiosks = {kiosk_id: Path(path) for kiosk_id, path in (kiosks or {}).items()}
        self.keys = {kiosk_id: load_or_create_key_file(path)
                     for kiosk_id, path in self.kiosks.items()}
        self.faults = faults
        self.progress_step = progress_step
        self.port = 0
        self.base_url = ""
        self.root_url = ""
        self.admin_token = ""
        self.process: subprocess.Popen[str] | None = None
        if start:
            self.start()

    # -- lifecycle ------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The server's command line."""
        args = [sys.executable, "-m", "kiosk", "platform", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--db", str(self.db),
                "--progress-step", repr(float(self.progress_step))]
        for kiosk_id, path in self.kiosks.items():
            args += ["--kiosk", f"{kiosk_id}={path}"]
        if self.faults:
            args += ["--faults", json.dumps(self.faults)]
        return args

    def start(self) -> None:
        """Start the server and wait for its ready line (raises with its log if it dies)."""
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        env.pop("KIOSK_CONFIG", None)
        env.pop(ADMIN_TOKEN_ENV, None)  # the server makes its token and writes it for us
        with self.log.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                cwd=REPO, env=env, text=True,
            )
        line = self._ready_line()
        self.base_url = line[len(READY):].strip()
        self.root_url = self.base_url.removesuffix("/api/v1")
        self.port = int(self.root_url.rsplit(":", 1)[1])
        self.admin_token = admin_token_path(self.db).read_text(encoding="ascii").strip()

    def _ready_line(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                line = self.process.stdout.readline()
                if line.startswith(READY):
                    return line
                if not line and self.process.poll() is not None:
                    break
            elif self.process.poll() is not None:
                break
        self.kill()
        raise RuntimeError(f"the platform did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Terminate (SIGTERM) and wait; the database stays for a restart."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._close()

    def kill(self) -> None:
        """SIGKILL: the server dies mid-whatever, as in a power cut."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self._close()

    def _close(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same database and (if still free) the same port.
        Fault switches go back to the ones given to the constructor."""
        self.stop()
        try:
            self.start()
        except RuntimeError:
            self.port = 0
            self.start()

    def __enter__(self) -> PlatformServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    # -- use and control ------------------------------------------------------------------

    def session(self, kiosk_id: str) -> SignedSession:
        """A session signing as a kiosk given to the constructor."""
        return SignedSession(self.base_url, kiosk_id, self.keys[kiosk_id])

    def admin_headers(self) -> dict[str, str]:
        """The header every ``/admin`` request needs."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to ``/admin{path}`` with the admin token (the answer as it came)."""
        headers = self.admin_headers() | dict(kwargs.pop("headers", None) or {})
        kwargs.setdefault("timeout", 10)
        return requests.request(method, self.root_url + "/admin" + path, headers=headers,
                                **kwargs)

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.admin(method, path, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def set_faults(self, faults: dict[str, Any]) -> dict[str, Any]:
        """Replace the fault switches (``{}`` turns them off); returns the switches in force."""
        return dict(self._admin("PUT", "/faults", json=faults))

    def stats(self) -> dict[str, Any]:
        """Counts: applications, application_posts, attachments, duplicate_receipts (always 0),
        appointments, evaluations, heartbeats, requests, faults_injected, catalog_version."""
        return dict(self._admin("GET", "/stats"))

    def receipt_numbers(self) -> list[str]:
        """Receipt numbers of the stored applications, in arrival order."""
        return list(self._admin("GET", "/applications")["receipt_numbers"])
