"""systemd notifications (kiosk/operations/watchdog.py) on real unix datagram sockets, and
``kiosk run`` telling systemd it is ready and alive, then stopping on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.operations.watchdog import Notifier, start_watchdog, watchdog_interval
from tests.kiosk_files import write_config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def listener(tmp_path: Path):
    """The socket systemd would listen on; yields (path, socket)."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10)
    yield str(path), sock
    sock.close()


def test_ready_and_ping_reach_the_socket(listener) -> None:
    path, sock = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("first frame after 1.2 s")
    assert sock.recv(4096) == b"READY=1\nSTATUS=first frame after 1.2 s"
    assert notifier.ping() and sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping() and sock.recv(4096) == b"STOPPING=1"


def test_abstract_socket_names_work() -> None:
    name = f"kiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ping()
        assert sock.recv(64) == b"WATCHDOG=1"


def test_outside_systemd_nothing_is_sent(tmp_path: Path, caplog) -> None:
    assert not Notifier({}).enabled and not Notifier({}).ping()
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert not gone.ping() and not gone.ping()
    assert caplog.text.count("cannot notify systemd") == 1  # said once, not every 15 s
    assert not Notifier({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled


def test_watchdog_interval_is_half_the_timeout_for_this_process() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, pid=2) == 0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "2"}, pid=2) == 15
    assert watchdog_interval({}) == 0 and watchdog_interval({"WATCHDOG_USEC": "x"}) == 0


def test_pings_come_from_the_scheduled_callback(listener) -> None:
    path, sock = listener
    scheduled = []  # what Kivy's Clock.schedule_interval would keep calling
    environ = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}
    interval = start_watchdog(lambda call, every: scheduled.append((call, every)),
                              Notifier(environ), environ)
    assert interval == 1.0 and [every for _call, every in scheduled] == [1.0]
    scheduled[0][0](1.0)
    assert sock.recv(64) == b"WATCHDOG=1"


def test_kiosk_run_is_ready_after_its_first_frame_pings_and_stops_on_sigterm(
        tmp_path: Path, listener) -> None:
    """The real app offscreen: READY=1 once a frame is drawn, WATCHDOG=1 from Kivy's clock
    every WATCHDOG_USEC/2, and SIGTERM (systemctl stop) ends it with exit code 0 even in
    kiosk lockdown, which refuses a window close."""
    path, sock = listener
    config = write_config(tmp_path, extra="\n[metrics]\nport = 0\n")
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy",
               KIVY_NO_ARGS="1", NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    env.pop("KIOSK_CONFIG", None)
    started = time.monotonic()
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:  # a file, not a pipe nobody reads while it runs
        process = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", "-m", "kiosk", "--config", str(config), "run"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        sock.settimeout(60)
        messages = []
        ready_after = None
        while ready_after is None or messages.count("WATCHDOG=1") < 3:
            message = sock.recv(4096).decode()
            messages.append(message)
            if message.startswith("READY=1"):
                ready_after = time.monotonic() - started
        print(f"READY=1 {ready_after:.2f} s after the process started")
        stopping = time.monotonic()
        process.terminate()
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # faulthandler prints where every thread is
            process.wait(timeout=30)
            pytest.fail("kiosk run did not stop on SIGTERM:\n" + errors.read_text()[-6000:])
        assert code == 0
        assert time.monotonic() - stopping < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in errors.read_text()
    assert ready_after < 60
