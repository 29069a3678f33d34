"""Call staff with real parts: executable hooks in tmp_path, an HTTP pager on loopback, and
the reference platform process receiving the heartbeat that says "calling".

Nothing here sleeps for a fixed time: every wait is on a listener event or a server event,
with a deadline so that a broken hook fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kiosk.assistance.staff_call import StaffCall, StaffCallEvent
from kiosk.config import KioskSection, StaffCallSection
from kiosk.platform.sync import NEVER, Schedule, SyncWorker
from kiosk.platform.sync_thread import SyncEvent, SyncThread
from tests.platform_server import PlatformServer
from tests.test_sync_e2e import Kiosk, free_port

WAIT_S = 10.0
HALL = KioskSection(id="511602-HALL-07", hall="广安区政务服务中心")
DOCUMENTED_ENV = {"KIOSK_ID", "KIOSK_HALL", "KIOSK_EVENT", "KIOSK_SCREEN"}
DOCUMENTED_JSON = {"event", "kiosk_id", "hall", "screen", "at"}


# -- helpers --------------------------------------------------------------------------------

class Events:
    """A listener that keeps what it hears, for waiting on the hook thread's progress."""

    def __init__(self) -> None:
        self.heard: queue.Queue[StaffCallEvent] = queue.Queue()

    def __call__(self, event: StaffCallEvent) -> None:
        self.heard.put(event)

    def next(self, *kinds: str) -> StaffCallEvent:
        """The next event of one of ``kinds`` (others are skipped)."""
        deadline = time.monotonic() + WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.heard.get(timeout=left)
            except queue.Empty:
                break
            if event.kind in kinds:
                return event
        raise AssertionError(f"no {kinds} event within {WAIT_S} s")

    def hook(self) -> StaffCallEvent:
        """The next hook result, ok or failed."""
        return self.next("hook_ok", "hook_failed")


class Pager(BaseHTTPRequestHandler):
    """A hall pager gateway: records each POSTed JSON body, answers ``server.status``."""

    server: PagerServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.bodies.put(json.loads(self.rfile.read(length)))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class PagerServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Pager)
        self.status = 204
        self.bodies: queue.Queue[dict[str, Any]] = queue.Queue()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/page"

    def received(self) -> list[dict[str, Any]]:
        """Every body received so far (the hook results were already awaited)."""
        bodies = []
        while not self.bodies.empty():
            bodies.append(self.bodies.get_nowait())
        return bodies


@pytest.fixture()
def pager() -> Iterator[PagerServer]:
    httpd = PagerServer()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def executable(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture()
def env_recorder(tmp_path: Path) -> tuple[str, Path]:
    """A command line that appends, per run, the environment exactly as the kiosk passed it.

    /proc/self/environ is read rather than os.environ: Python may add variables of its own
    at start-up (LC_CTYPE coercion), which the kiosk did not send.
    """
    script = executable(tmp_path / "page-hall", (
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "raw = open('/proc/self/environ', 'rb').read().split(b'\\0')\n"
        "env = dict(v.decode().split('=', 1) for v in raw if v)\n"
        "with open(sys.argv[1], 'a', encoding='utf-8') as out:\n"
        "    out.write(json.dumps(env, ensure_ascii=False) + '\\n')\n"
    ))
    out = tmp_path / "runs.jsonl"
    return shlex.join([str(script), str(out)]), out


def runs(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def staff_call(settings: StaffCallSection) -> tuple[StaffCall, Events]:
    call = StaffCall(HALL, settings)
    events = Events()
    call.add_listener(events)
    return call, events


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie waiting for a reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return status.rsplit(")", 1)[1].split()[0] == "Z"


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {WAIT_S} s"
        time.sleep(0.01)


# -- the hooks ------------------------------------------------------------------------------

def test_call_and_end_run_the_command_and_post_exactly_the_documented_data(
        env_recorder: tuple[str, Path], pager: PagerServer):
    command, out = env_recorder
    call, events = staff_call(StaffCallSection(command=command, url=pager.url, timeout=5))
    parent = dict(os.environ)
    before = datetime.now().astimezone()
    assert call.device_state() == "idle" and not call.active and call.since is None
    call.call("guide")
    assert call.active and call.device_state() == "calling" and call.since is not None
    assert events.next("called").detail == "guide"
    assert [events.hook().kind, events.hook().kind] == ["hook_ok", "hook_ok"]
    call.end("staff")
    assert not call.active and call.device_state() == "idle" and call.since is None
    assert events.next("ended").detail == "staff"
    assert [events.hook().kind, events.hook().kind] == ["hook_ok", "hook_ok"]
    call.close()

    called, ended = runs(out)
    for env, event in ((called, "staff_call"), (ended, "staff_call_ended")):
        assert set(env) - set(parent) == DOCUMENTED_ENV  # the kiosk's own environment + four
        assert {k: v for k, v in env.items() if k not in DOCUMENTED_ENV} == {
            k: v for k, v in parent.items() if k not in DOCUMENTED_ENV}
        assert {k: env[k] for k in DOCUMENTED_ENV} == {
            "KIOSK_ID": "511602-HALL-07", "KIOSK_HALL": "广安区政务服务中心",
            "KIOSK_EVENT": event, "KIOSK_SCREEN": "guide"}

    bodies = pager.received()
    assert [b["event"] for b in bodies] == ["staff_call", "staff_call_ended"]
    for body in bodies:
        assert set(body) == DOCUMENTED_JSON
        assert body["kiosk_id"] == "511602-HALL-07" and body["hall"] == "广安区政务服务中心"
        assert body["screen"] == "guide"
        at = datetime.fromisoformat(body["at"])
        assert at.utcoffset() == timedelta(0)
        assert before - timedelta(seconds=1) <= at <= datetime.now().astimezone()
    assert call.last_results["command"].ok and call.last_results["url"].detail == "HTTP 204"


def test_a_second_tap_while_calling_pages_nobody_again(env_recorder: tuple[str, Path],
                                                        pager: PagerServer):
    command, out = env_recorder
    call, events = staff_call(StaffCallSection(command=command, url=pager.url))
    call.call("home")
    since = call.since
    call.call("search")  # the citizen taps again, or from another screen
    assert call.since == since
    call.end("citizen")
    call.end("citizen")  # already idle: nothing
    for _ in range(4):  # called: command, url; ended: command, url
        assert events.hook().kind == "hook_ok"
    call.close()
    # hooks run in order, so a second page would have come before the end
    assert [r["KIOSK_EVENT"] for r in runs(out)] == ["staff_call", "staff_call_ended"]
    assert [b["event"] for b in pager.received()] == ["staff_call", "staff_call_ended"]
    assert {r["KIOSK_SCREEN"] for r in runs(out)} == {"home"}


def test_a_new_call_after_the_end_pages_again(pager: PagerServer):
    call, events = staff_call(StaffCallSection(url=pager.url))
    call.call("home")
    call.end("visit_ended")
    call.call("guide")
    for _ in range(3):
        assert events.hook().kind == "hook_ok"
    call.close()
    assert [(b["event"], b["screen"]) for b in pager.received()] == [
        ("staff_call", "home"), ("staff_call_ended", "home"), ("staff_call", "guide")]


def test_a_hanging_command_is_killed_with_its_children_and_the_caller_never_waits(
        tmp_path: Path):
    pids = tmp_path / "pids"
    script = executable(tmp_path / "hang", (
        "#!/bin/sh\n"
        f"sleep 60 & echo $$ $! > {shlex.quote(str(pids))}\n"
        "wait\n"
    ))
    call, events = staff_call(StaffCallSection(command=str(script), timeout=0.5))
    started = time.monotonic()
    call.call("home")
    assert time.monotonic() - started < 0.2  # the UI thread is not held up
    event = events.hook()
    assert event.kind == "hook_failed" and "timed out after 0.5 s, killed" in event.detail
    assert call.last_result is not None and not call.last_result.ok
    shell, sleeper = (int(pid) for pid in pids.read_text().split())
    wait_until(lambda: gone(shell) and gone(sleeper), "killed")
    call.close()


def test_a_missing_command_says_which(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    missing = tmp_path / "no-such-pager"
    call, events = staff_call(StaffCallSection(command=f"{missing} --zone 3"))
    call.call("home")
    event = events.hook()
    call.close()
    assert event.kind == "hook_failed"
    assert event.result is not None
    assert event.result.detail == f"staff call command not found: {missing}"
    assert f"staff call command not found: {missing}" in caplog.text
    assert any(r.levelname == "WARNING" for r in caplog.records)


def test_a_failing_command_reports_its_exit_status_and_last_error_line(tmp_path: Path):
    script = executable(tmp_path / "fail", "#!/bin/sh\necho 'pager offline' >&2\nexit 3\n")
    call, events = staff_call(StaffCallSection(command=str(script)))
    call.call("home")
    event = events.hook()
    call.close()
    assert event.kind == "hook_failed" and event.detail.endswith("exit status 3: pager offline")


def test_a_server_error_is_a_failure_and_later_calls_still_page(pager: PagerServer):
    pager.status = 500
    call, events = staff_call(StaffCallSection(url=pager.url))
    call.call("home")
    event = events.hook()
    assert event.kind == "hook_failed" and event.detail == "url staff_call: HTTP 500"
    pager.status = 302
    call.end("staff")
    assert "redirects are not followed" in events.hook().detail
    pager.status = 200
    call.call("home")
    assert events.hook().kind == "hook_ok"
    call.close()


def test_a_pager_that_does_not_listen_is_a_failure(tmp_path: Path):
    call, events = staff_call(StaffCallSection(url=f"http://127.0.0.1:{free_port()}/page"))
    call.call("home")
    event = events.hook()
    call.close()
    assert event.kind == "hook_failed" and "cannot connect to 127.0.0.1" in event.detail


def test_proxy_variables_do_not_reroute_the_post(pager: PagerServer,
                                                 monkeypatch: pytest.MonkeyPatch):
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    call, events = staff_call(StaffCallSection(url=pager.url))
    call.call("home")
    event = events.hook()
    call.close()
    assert event.kind == "hook_ok", event.detail
    assert [b["event"] for b in pager.received()] == ["staff_call"]


def test_free_text_never_reaches_the_hall_as_a_screen(pager: PagerServer):
    call, events = staff_call(StaffCallSection(url=pager.url))
    call.call("张三 110101199003070016")
    assert events.hook().kind == "hook_ok"
    call.close()
    assert pager.received()[0]["screen"] == "unknown"


def test_a_broken_listener_does_not_stop_the_paging(pager: PagerServer):
    call = StaffCall(HALL, StaffCallSection(url=pager.url))

    def broken(event: StaffCallEvent) -> None:
        raise RuntimeError("listener bug")

    call.add_listener(broken)
    events = Events()
    call.add_listener(events)
    call.call("home")
    assert events.hook().kind == "hook_ok"
    call.close()


def test_without_hooks_the_call_is_still_heard_and_end_checks_how():
    call, events = staff_call(StaffCallSection())
    assert not call.pages_the_hall
    assert StaffCall(HALL, StaffCallSection(url="http://127.0.0.1:9/")).pages_the_hall
    assert StaffCall(HALL, StaffCallSection(command="/bin/true")).pages_the_hall
    call.call("home")
    assert events.next("called").detail == "home"
    with pytest.raises(ValueError):
        call.end("timeout")
    call.end("visit_ended")
    assert events.next("ended").detail == "visit_ended"
    call.close()
    assert call.last_result is None
    call.call("home")  # after close: the state still shows, the hall is not told
    assert call.active


# -- the heartbeat --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformServer]:
    folder = tmp_path_factory.mktemp("platform")
    key_file = folder / "platform.key"
    kiosks = {f"511602-CALL-{n:02d}": key_file for n in range(1, 4)}
    with PlatformServer(folder, kiosks=kiosks) as running:
        running.key_file = key_file  # type: ignore[attr-defined]
        yield running


HEARTBEAT_ONLY = Schedule(heartbeat_s=3600, catalog_s=NEVER, lists_s=NEVER, documents_s=NEVER,
                          retention_s=NEVER)
"""A heartbeat once an hour and nothing else: only a request can send a second one soon."""


def stored_heartbeat(platform: PlatformServer, kiosk_id: str) -> tuple[dict[str, Any], float]:
    """The platform's latest heartbeat of a kiosk and when it arrived, read from its database
    (the admin API counts heartbeats but does not show them)."""
    conn = sqlite3.connect(platform.db)
    try:
        row = conn.execute("SELECT body, at FROM heartbeats WHERE kiosk_id = ?",
                           (kiosk_id,)).fetchone()
    finally:
        conn.close()
    assert row is not None, f"no heartbeat of {kiosk_id}"
    return json.loads(row[0]), float(row[1])


def wire(worker: SyncWorker, call: StaffCall) -> None:
    """What kiosk/services.py does: the call's state in the heartbeat, sent at once."""
    worker.device_states = lambda: {"staff_call": call.device_state()}
    call.add_listener(lambda event: worker.request_heartbeat()
                      if event.kind in ("called", "ended") else None)


def test_request_heartbeat_sends_it_in_the_next_pass(tmp_path: Path, platform: PlatformServer):
    kiosk = Kiosk(tmp_path, platform.base_url, platform.key_file,  # type: ignore[attr-defined]
                  schedule=HEARTBEAT_ONLY, kiosk_id="511602-CALL-01")
    woken = threading.Event()
    kiosk.worker.wake = woken.set
    call, events = staff_call(StaffCallSection())
    wire(kiosk.worker, call)
    try:
        assert kiosk.worker.sync_once().housekeeping["heartbeat"] == "ok"
        first, first_at = stored_heartbeat(platform, kiosk.kiosk_id)
        assert first["devices"] == {"staff_call": "idle"}
        assert "heartbeat" not in kiosk.worker.sync_once().housekeeping  # an hour to go

        call.call("home")
        events.next("called")
        assert woken.wait(WAIT_S)
        assert kiosk.worker.sync_once().housekeeping["heartbeat"] == "ok"
        second, second_at = stored_heartbeat(platform, kiosk.kiosk_id)
        assert second["devices"] == {"staff_call": "calling"} and second_at > first_at
        assert "heartbeat" not in kiosk.worker.sync_once().housekeeping  # one request, one
    finally:
        call.close()
        kiosk.close()


def test_a_request_made_offline_is_sent_when_the_platform_answers(tmp_path: Path,
                                                                   platform: PlatformServer):
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    kiosk = Kiosk(tmp_path, url, platform.key_file,  # type: ignore[attr-defined]
                  schedule=HEARTBEAT_ONLY, kiosk_id="511602-CALL-02")
    try:
        kiosk.worker._last_run["heartbeat"] = time.monotonic()  # one was sent a moment ago
        kiosk.worker.request_heartbeat()
        assert not kiosk.worker.sync_once().online
        kiosk.worker.client.base_url = platform.base_url  # the network is back
        assert kiosk.worker.sync_once().housekeeping["heartbeat"] == "ok"
    finally:
        kiosk.close()


def test_the_sync_thread_sends_the_call_at_once(tmp_path: Path, platform: PlatformServer):
    """The wiring as in the kiosk: the sync thread sleeps for an hour between passes, yet the
    platform sees "calling" right after the tap and "idle" right after the end."""
    call = StaffCall(HALL, StaffCallSection())
    passes: queue.Queue[SyncEvent] = queue.Queue()

    def make_worker() -> SyncWorker:  # on the sync thread, which owns the SQLite connection
        kiosk = Kiosk(tmp_path, platform.base_url, platform.key_file,  # type: ignore[attr-defined]
                      schedule=HEARTBEAT_ONLY, kiosk_id="511602-CALL-03")
        wire(kiosk.worker, call)
        return kiosk.worker

    thread = SyncThread(make_worker, interval_s=3600)
    thread.listeners.append(lambda event: passes.put(event) if event.kind == "queue" else None)
    thread.start()
    try:
        passes.get(timeout=WAIT_S)  # the first pass: heartbeat "idle"
        assert stored_heartbeat(platform, "511602-CALL-03")[0]["devices"]["staff_call"] == "idle"
        call.call("home")
        passes.get(timeout=WAIT_S)
        body, _at = stored_heartbeat(platform, "511602-CALL-03")
        assert body["devices"] == {"staff_call": "calling"}
        call.end("staff")
        passes.get(timeout=WAIT_S)
        assert stored_heartbeat(platform, "511602-CALL-03")[0]["devices"]["staff_call"] == "idle"
    finally:
        thread.stop()
        call.close()
