"""What every device's background thread shares: start, stop, and status reports.

The camera's capture thread and the reader / printer supervisor each run one daemon thread
that owns a device and publishes its status; this base class keeps that in one place.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from drivers.model import DeviceEvent, DeviceState, DeviceStatus, ErrorAction, EventChannel


class DeviceThread(ABC):
    """A named daemon thread running :meth:`_run` until :meth:`stop`; reports on a channel."""

    def __init__(self, name: str, channel: EventChannel | None = None) -> None:
        self.name = name
        self.channel = channel or EventChannel()
        self.status = DeviceStatus(DeviceState.STARTING)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; a second call does nothing."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end and wait for it (at most 5 s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @abstractmethod
    def _run(self) -> None:
        """The thread's loop; it must return soon after ``self._stop`` is set."""

    def _report(self, status: DeviceStatus, message: str = "",
                action: ErrorAction | None = None) -> None:
        """Keep ``status``; publish an event only when the state changed."""
        changed = status.state != self.status.state
        self.status = status
        if changed:
            kind = "error" if action else "status"
            self.channel.publish(DeviceEvent(self.name, kind, status, message, action))
