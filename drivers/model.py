"""One device model for every device class (ID card reader, printer, camera).

State names follow XFS4IoT so that a technician who knows bank terminals reads them at once;
health-check levels follow UnifiedPOS. Drivers publish changes through one thread-safe
:class:`EventChannel`; the UI layer drains it on its own thread.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class DeviceState(StrEnum):
    """Whether the device can serve a citizen now."""

    STARTING = "starting"
    ONLINE = "online"
    OFFLINE = "offline"
    POWER_OFF = "powerOff"
    NO_DEVICE = "noDevice"
    HARDWARE_ERROR = "hardwareError"
    USER_ERROR = "userError"
    BUSY = "deviceBusy"


class MediaState(StrEnum):
    """Card in the reader, slip in the printer's mouth."""

    UNKNOWN = "unknown"
    PRESENT = "present"
    NOT_PRESENT = "notPresent"
    JAMMED = "jammed"
    ENTERING = "entering"  # being placed or fed: a card seen but not yet read, a slip printing
    LATCHED = "latched"  # held by the device until an action releases it


class SupplyState(StrEnum):
    """Consumables such as receipt paper."""

    UNKNOWN = "unknown"
    FULL = "full"
    LOW = "low"
    OUT = "out"
    JAMMED = "jammed"
    NOT_SUPPORTED = "notSupported"


PAPER_LEVELS: dict[SupplyState, str] = {
    SupplyState.FULL: "ok", SupplyState.LOW: "low", SupplyState.OUT: "out",
    SupplyState.JAMMED: "out"}
"""Receipt paper in the kiosk's words: a jam stops printing as an empty roll does."""


def paper_level(supply: SupplyState | str | None) -> str:
    """``ok`` / ``low`` / ``out`` for a paper sensor's state (or its value), else ``unknown``:
    one reading for the diagnostics screen, ``kiosk diagnose`` and the metrics."""
    try:
        return PAPER_LEVELS.get(SupplyState(supply), "unknown")
    except ValueError:
        return "unknown"


class ErrorAction(StrEnum):
    """What it takes to clear an error: who must do what."""

    RETRY = "retry"
    RESET = "reset"
    CLEAR = "clear"  # a person clears it: remove the card, close the cover, load paper
    MAINTENANCE = "maintenance"
    CONFIGURATION = "configuration"
    SUSPEND = "suspend"  # stop using the device for now; it recovers by itself (overheating)
    SOFTWARE_ERROR = "softwareError"  # a fault of the kiosk's software: report it, restart


class HealthLevel(StrEnum):
    """UnifiedPOS CheckHealth levels."""

    INTERNAL = "internal"  # no physical change
    EXTERNAL = "external"  # may move media or print
    INTERACTIVE = "interactive"  # needs a technician at the device


@dataclass(frozen=True)
class DeviceStatus:
    """A snapshot of one device; cheap to read, refreshed by the driver.

    Truly immutable, supplies included (a read-only mapping): one snapshot is handed to
    several threads and listeners, and none may change what the others see.
    """

    state: DeviceState
    media: MediaState = MediaState.UNKNOWN
    supplies: Mapping[str, SupplyState] = field(default_factory=dict)
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "supplies", MappingProxyType(dict(self.supplies)))

    def __hash__(self) -> int:
        return hash((self.state, self.media, tuple(sorted(self.supplies.items())), self.detail))


@dataclass(frozen=True)
class Capabilities:
    """What a device class can do, so the kiosk offers only what works (XFS capabilities)."""

    device_class: str  # "IDC" card reader, "PTR" printer, "CAM" camera (XFS class names)
    features: tuple[str, ...]
    model: str = ""
    firmware: str = ""


@dataclass(frozen=True)
class DeviceEvent:
    """Something a listener should know: a status change or an error with its action."""

    device: str
    kind: str  # one of EVENT_KINDS
    status: DeviceStatus
    message: str = ""
    action: ErrorAction | None = None


EVENT_KINDS = frozenset({
    "status",  # the state changed
    "error",  # something failed; ``action`` says who must do what
    "media_inserted",  # a card placed on the reader, a slip taken into the printer
    "media_removed",  # the card lifted, the receipt taken
    "supply_threshold",  # a supply crossed a threshold (paper low, paper out, refilled)
})
"""The kinds of :class:`DeviceEvent` (XFS4IoT's status, media and supply events)."""


class EventChannel:
    """The one thread-safe path from driver threads to whoever listens (the UI, the CLI)."""

    def __init__(self, maxsize: int = 1000) -> None:
        self._queue: queue.Queue[DeviceEvent] = queue.Queue(maxsize)

    def publish(self, event: DeviceEvent) -> None:
        """Queue ``event``; when nobody drains the queue the oldest event is dropped."""
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()

    def drain(self) -> list[DeviceEvent]:
        """Every event queued so far, oldest first, without blocking."""
        events = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events
