"""Unexpected errors in the touchscreen application: counted, and when to give up and restart.

A kiosk runs for weeks with nobody at its keyboard. One bug in one screen must cost one
citizen one visit, not leave the desktop showing; but an error that comes back at once
(a corrupted cache, a device that throws on every event) would make every recovery fail
the same way, so after a few in a short time the application restarts from clean.

The tally is kept in a small JSON file in the data folder so that a technician (and the
diagnostics) can see how many there were since the kiosk was installed, across restarts.
It holds counts, times and exception type names only: an exception's message can quote a
citizen's input, so it is never written here.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

RESTART_AFTER = 3
"""This many errors within :data:`RESTART_WINDOW_S` mean recovery is not working."""
RESTART_WINDOW_S = 300.0


@dataclass
class ErrorTally:
    """Counts UI errors; :meth:`record` says whether the application should restart."""

    path: Path | None
    restart_after: int = RESTART_AFTER
    window_s: float = RESTART_WINDOW_S
    total: int = 0
    restarts: int = 0
    last_type: str = ""
    last_at: str = ""
    _recent: deque[float] = field(default_factory=deque, repr=False)

    @classmethod
    def load(cls, path: Path | None) -> ErrorTally:
        """The tally kept at ``path``; an unreadable file starts again from zero (a count
        is not worth refusing to start for)."""
        tally = cls(path)
        if path is None or not path.exists():
            return tally
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            tally.total = int(data.get("total", 0))
            tally.restarts = int(data.get("restarts", 0))
            tally.last_type = str(data.get("last_type", ""))[:80]
            tally.last_at = str(data.get("last_at", ""))[:40]
        except (OSError, ValueError, TypeError, AttributeError) as error:
            log.warning("UI error tally %s unreadable (%s): counting from zero",
                        path.name, type(error).__name__)
        return tally

    def record(self, error: BaseException, now: float | None = None) -> bool:
        """Count ``error``; True when it is the ``restart_after``-th within the window."""
        now = time.monotonic() if now is None else now
        self.total += 1
        self.last_type = type(error).__name__
        self.last_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._recent.append(now)
        while self._recent and now - self._recent[0] > self.window_s:
            self._recent.popleft()
        self.save()
        return len(self._recent) >= self.restart_after

    def forget_recent(self) -> None:
        """Start the restart window afresh without counting a restart (a fresh process
        does the same; the shared test app uses it between tests)."""
        self._recent.clear()

    def restarting(self) -> None:
        """The application is about to restart itself: count it, start the window afresh."""
        self.restarts += 1
        self.forget_recent()
        self.save()

    def save(self) -> None:
        """Write the counts (0600, replaced atomically); a full disk only costs the count."""
        if self.path is None:
            return
        data = {"total": self.total, "restarts": self.restarts, "last_type": self.last_type,
                "last_at": self.last_at}
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("UI error tally not saved: %s", type(error).__name__)
