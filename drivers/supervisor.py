"""Keeps a device connected: probes it, notices an unplug, reopens it when it returns.

A reader or printer pulled out and plugged back must be online again within seconds without
restarting the kiosk. The supervisor owns the device handle on its own thread: it probes the
device every ``interval`` seconds (a status request costs a few bytes on the wire), and when
the probe fails it closes the handle and tries to reopen it with a short growing pause.
Callers run operations through :meth:`use`, which holds the same lock, so a probe never
interleaves with a card read or a print job.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from drivers.background import DeviceThread
from drivers.model import DeviceState, DeviceStatus, ErrorAction, EventChannel

Device = TypeVar("Device")

LOST = {DeviceState.NO_DEVICE, DeviceState.OFFLINE, DeviceState.POWER_OFF}


class DeviceUnavailable(RuntimeError):
    """The device is not connected right now; its status says why."""

    def __init__(self, name: str, status: DeviceStatus) -> None:
        super().__init__(f"{name} is not available: {status.state.value} {status.detail}")
        self.status = status


class OpenFailed(Exception):
    """An open that reached the device and failed in a known way, raised by ``open_device``.

    Any other exception from opening means "no device, retry"; this one carries the status to
    report instead (a self-test failure is a hardware error needing maintenance, a present
    but silent device is offline) and the action it needs. The supervisor keeps retrying.
    """

    def __init__(self, message: str, status: DeviceStatus, action: ErrorAction | None) -> None:
        super().__init__(message)
        self.status = status
        self.action = action


class DeviceSupervisor(DeviceThread, Generic[Device]):
    """Opens, probes and reopens one device on a background thread."""

    def __init__(
        self,
        name: str,
        open_device: Callable[[], Device],
        probe: Callable[[Device], DeviceStatus],
        close_device: Callable[[Device], None],
        channel: EventChannel | None = None,
        *,
        interval: float = 0.5,
        backoff: tuple[float, float] = (0.1, 1.0),
    ) -> None:
        super().__init__(name, channel)
        self._open = open_device
        self._probe = probe
        self._close = close_device
        self.interval = interval
        self.backoff = backoff
        self._device: Device | None = None
        self._lock = threading.RLock()

    def stop(self) -> None:
        """Stop and close the device."""
        super().stop()
        with self._lock:
            self._drop()

    @contextmanager
    def use(self) -> Iterator[Device]:
        """The open device for one operation; DeviceUnavailable when it is not connected."""
        with self._lock:
            if self._device is None:
                raise DeviceUnavailable(self.name, self.status)
            yield self._device

    def reconnect(self) -> None:
        """Close the device so that the next round opens it again, as replugging its cable
        would: for a device that answers wrongly without being reported lost. An operation
        under way finishes first (the lock), so this may wait: call it from a worker
        thread. The thread opens the device again within one interval."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._device is not None:
            with contextlib.suppress(Exception):
                self._close(self._device)
            self._device = None

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            with self._lock:
                if self._device is None:
                    try:
                        self._device = self._open()
                    except OpenFailed as error:
                        failures += 1
                        self._report(error.status, str(error), error.action)
                    except Exception as error:
                        failures += 1
                        self._report(DeviceStatus(DeviceState.NO_DEVICE, detail=str(error)),
                                     str(error), ErrorAction.RETRY)
                try:
                    if self._device is not None:
                        status = self._probe(self._device)
                        failures = 0 if status.state not in LOST else failures + 1
                        self._report(status)
                        if status.state in LOST:
                            self._drop()
                except Exception as error:
                    failures += 1
                    self._report(DeviceStatus(DeviceState.OFFLINE, detail=str(error)),
                                 str(error), ErrorAction.RETRY)
                    self._drop()
            pause = self.interval if failures == 0 else min(
                self.backoff[1], self.backoff[0] * 2 ** (failures - 1))
            self._stop.wait(pause)
