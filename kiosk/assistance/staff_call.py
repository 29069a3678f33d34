"""Call staff: the state of a call and the hooks that page the hall (docs/configuration.md).

The touchscreen only chimes and shows "waiting for staff"; this module makes the call reach
people who can come. While a call is active :meth:`StaffCall.device_state` is ``"calling"``
for the platform heartbeat, and the ``[staff_call]`` hooks tell the hall's own paging system,
once when the call starts and once when it ends:

- ``command``: split like a shell would, run without one, with ``KIOSK_ID``, ``KIOSK_HALL``,
  ``KIOSK_EVENT`` (``staff_call`` | ``staff_call_ended``) and ``KIOSK_SCREEN`` added to the
  kiosk's own environment;
- ``url``: an HTTP POST of ``{"event", "kiosk_id", "hall", "screen", "at"}``.

The call carries nothing about the citizen: only the kiosk, the hall, a screen name and the
time. Hooks run on one background thread in the order of the events, so the UI thread never
waits for a pager and "ended" never overtakes "called"; a hook that fails or hangs is killed
at ``timeout``, logged and reported to listeners, and never raises into the caller.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from kiosk.config import KioskSection, StaffCallSection

log = logging.getLogger(__name__)

CALLED = "staff_call"
ENDED = "staff_call_ended"
ENDINGS = frozenset({"staff", "citizen", "visit_ended"})
"""How a call ends: staff came and closed it, the citizen cancelled, or the visit ended."""

_SCREEN_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
"""Screen names are identifiers; anything else (free text) is never sent to the hall."""


@dataclass(frozen=True)
class HookResult:
    """What one hook did for one event; ``detail`` is short and fit for a technician's screen."""

    hook: str
    """``command`` or ``url``."""
    event: str
    """``staff_call`` or ``staff_call_ended``."""
    ok: bool
    detail: str


@dataclass(frozen=True)
class StaffCallEvent:
    """What listeners hear: ``kind`` is called, ended, hook_ok or hook_failed.

    ``detail`` is the screen for ``called``, how the call ended for ``ended``, and
    ``"HOOK EVENT: reason"`` for the hook kinds, whose ``result`` is also given.
    """

    kind: str
    detail: str = ""
    result: HookResult | None = None


StaffCallListener = Callable[[StaffCallEvent], None]


@dataclass(frozen=True)
class _Job:
    event: str
    screen: str
    at: datetime
    how: str = ""


_STOP = object()


class StaffCall:
    """The kiosk's staff call: at most one active, with its hooks run in the background.

    ``call`` and ``end`` are meant for the UI thread and return at once. ``active``,
    ``since`` and ``device_state`` may be read from any thread (the sync thread reads
    ``device_state`` for the heartbeat). Listeners are called on the hook thread.
    """

    def __init__(self, kiosk: KioskSection, settings: StaffCallSection) -> None:
        self.kiosk = kiosk
        self.settings = settings
        self.since: float | None = None
        """``time.monotonic()`` when the active call started (None when idle): the wait is
        measured on a clock that NTP or the platform's clock correction cannot move."""
        self.last_result: HookResult | None = None
        """The latest hook result of either hook."""
        self.last_results: dict[str, HookResult] = {}
        """The latest result per hook (``command``, ``url``): one failing is not hidden by
        the other succeeding."""
        self._screen = ""
        self._lock = threading.Lock()
        self._listeners: list[StaffCallListener] = []
        self._jobs: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._argv, self._argv_error = _split(settings.command)
        self._http: Any = None  # a requests.Session, made on the hook thread when first needed

    # -- state ----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether staff are being called now."""
        return self.since is not None

    @property
    def pages_the_hall(self) -> bool:
        """Whether a command or URL is configured, i.e. more than the chime and the heartbeat
        tells the hall (the waiting screen may say so; it does not say whether it worked)."""
        return self._argv is not None or bool(self._argv_error) or bool(self.settings.url)

    def device_state(self) -> str:
        """The heartbeat's ``devices.staff_call``: ``calling`` or ``idle``."""
        return "calling" if self.since is not None else "idle"

    def add_listener(self, listener: StaffCallListener) -> None:
        """Hear about calls and hook results (called on the hook thread, from any thread)."""
        with self._lock:
            self._listeners = [*self._listeners, listener]

    # -- the call -------------------------------------------------------------------------

    def call(self, screen: str) -> None:
        """Start a call from ``screen``; while one is active a second tap pages nobody again.

        ``screen`` must be a screen name (letters, digits, ``_ . : -``); anything else is sent
        as ``unknown``, so that no free text can carry a citizen's data to the hall.
        """
        if not _SCREEN_RE.fullmatch(screen):
            log.warning("staff call from a screen name that is not an identifier: sent as"
                        " 'unknown'")
            screen = "unknown"
        with self._lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
            self._screen = screen
            self._submit(_Job(CALLED, screen, datetime.now(UTC)))
        log.info("staff call started from screen %s", screen)

    def end(self, how: str) -> None:
        """End the active call (``how``: staff, citizen or visit_ended); idle: nothing."""
        if how not in ENDINGS:
            raise ValueError(f"a staff call ends by one of {sorted(ENDINGS)}, not {how!r}")
        with self._lock:
            if self.since is None:
                return
            waited = time.monotonic() - self.since
            self.since = None
            self._submit(_Job(ENDED, self._screen, datetime.now(UTC), how))
        log.info("staff call ended (%s) after %.0f s", how, waited)

    def close(self, wait_s: float | None = None) -> None:
        """Stop the hook thread after the hooks already queued (waits at most ``wait_s``,
        by default long enough for one event's two hooks). An active call is not ended:
        whether a closing kiosk should tell the hall so is the caller's decision."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._jobs.put(_STOP)
        if thread is not None:
            thread.join(2 * self.settings.timeout + 1 if wait_s is None else wait_s)

    def _submit(self, job: _Job) -> None:
        """Queue ``job`` for the hook thread (called holding the lock)."""
        if self._closed:
            log.warning("staff call %s after close(): the hall is not told", job.event)
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="staff-call", daemon=True)
            self._thread.start()
        self._jobs.put(job)

    # -- the hook thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (job := self._jobs.get()) is not _STOP:
                assert isinstance(job, _Job)
                self._handle(job)
        finally:
            if self._http is not None:
                self._http.close()

    def _handle(self, job: _Job) -> None:
        if job.event == CALLED:
            self._emit(StaffCallEvent("called", job.screen))
        else:
            self._emit(StaffCallEvent("ended", job.how))
        if self._argv is not None or self._argv_error:
            self._record(self._run_command(job))
        if self.settings.url:
            self._record(self._post(job))

    def _record(self, result: HookResult) -> None:
        self.last_result = result
        self.last_results = {**self.last_results, result.hook: result}
        detail = f"{result.hook} {result.event}: {result.detail}"
        if result.ok:
            log.info("staff call hook ok: %s", detail)
            self._emit(StaffCallEvent("hook_ok", detail, result))
        else:
            log.warning("staff call hook failed: %s", detail)
            self._emit(StaffCallEvent("hook_failed", detail, result))

    def _emit(self, event: StaffCallEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the paging
                log.exception("staff call listener failed")

    def _environment(self, job: _Job) -> dict[str, str]:
        """The kiosk's environment (PATH, LANG, HOME for the hall's script) plus exactly the
        four documented variables."""
        return {**os.environ, "KIOSK_ID": self.kiosk.id, "KIOSK_HALL": self.kiosk.hall,
                "KIOSK_EVENT": job.event, "KIOSK_SCREEN": job.screen}

    def _run_command(self, job: _Job) -> HookResult:
        """Run the command in its own process group, so a hang is killed with its children
        (a script's hanging ``curl`` would otherwise outlive the script)."""
        def result(ok: bool, detail: str) -> HookResult:
            return HookResult("command", job.event, ok, detail)

        if self._argv is None:
            return result(False, self._argv_error)
        timeout = self.settings.timeout
        try:
            process = subprocess.Popen(
                self._argv, env=self._environment(job), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except FileNotFoundError:
            return result(False, f"staff call command not found: {self._argv[0]}")
        except PermissionError:
            return result(False, f"staff call command not executable: {self._argv[0]}")
        except OSError as error:
            return result(False, f"staff call command cannot start: {error.strerror or error}")
        with process:
            try:
                _out, err = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                return result(False, f"timed out after {timeout:g} s, killed")
        if process.returncode < 0:
            return result(False, f"killed by signal {-process.returncode}")
        if process.returncode != 0:
            last = _last_line(err)
            return result(False, f"exit status {process.returncode}" + (f": {last}" if last
                                                                          else ""))
        return result(True, "exit status 0")

    def _post(self, job: _Job) -> HookResult:
        """POST the event; proxies from the environment are ignored (``trust_env=False``):
        the hall's pager is on the hall network, and a proxy meant for the platform or the
        internet must neither reroute nor see the call."""
        import requests

        def result(ok: bool, detail: str) -> HookResult:
            return HookResult("url", job.event, ok, detail)

        if self._http is None:
            from kiosk.platform.transport import new_session

            self._http = new_session()  # trust_env off, no redirect ever followed
        body = {"event": job.event, "kiosk_id": self.kiosk.id, "hall": self.kiosk.hall,
                "screen": job.screen, "at": job.at.isoformat(timespec="seconds")}
        where = urlsplit(self.settings.url).netloc
        timeout = self.settings.timeout
        try:
            with self._http.post(self.settings.url, json=body, timeout=timeout,
                                 allow_redirects=False, stream=True) as answer:
                status = answer.status_code
        except requests.Timeout:
            return result(False, f"{where} did not answer within {timeout:g} s")
        except requests.ConnectionError as error:
            reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(error))
            return result(False, f"cannot connect to {where}"
                          + (f": {reason.group(1).strip()}" if reason else ""))
        except requests.RequestException as error:
            return result(False, f"{where}: {type(error).__name__}")
        if 200 <= status < 300:
            return result(True, f"HTTP {status}")
        if 300 <= status < 400:
            return result(False, f"HTTP {status} (redirects are not followed)")
        return result(False, f"HTTP {status}")


def _split(command: str) -> tuple[list[str] | None, str]:
    """The command's argv, or None with why (empty: no hook, no reason)."""
    if not command.strip():
        return None, ""
    try:
        argv = shlex.split(command)
    except ValueError as error:
        return None, f"staff call command cannot be split into words: {error}"
    return (argv, "") if argv else (None, "")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the command's process group, then reap it; pipes held by a descendant that
    left the group are closed unread rather than waited for."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.communicate(timeout=1.0)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _last_line(output: bytes) -> str:
    """The last non-empty line of a hook's stderr, short enough for a status line."""
    lines = output.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip()[:200] if lines else ""
