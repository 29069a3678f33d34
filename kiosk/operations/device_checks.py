"""What the diagnostics screen shows and does with the devices, without widgets.

The screen (screens/diagnostics.py) knows no drivers: it gets each device's state in plain
values from :func:`device_rows`, the test slip from :func:`test_slip`, a card read test
that hands back only the masked number (:class:`CardReadTest`), and :func:`reconnect`.

Threads: :class:`CardReadTest` reports on the hub's ``card-watch`` thread (or a timer's);
the screen hands what it gets to the UI thread with Kivy's Clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from drivers.idcard.identity import mask_number
from drivers.model import DeviceState, DeviceStatus, ErrorAction, paper_level
from drivers.printer.layout import Receipt
from drivers.printer.testslip import printer_test_slip
from kiosk.devices.hub import CardEvent, DeviceHub

DEVICES = ("idcard", "printer", "camera")
"""The devices of the panel, in the order a citizen meets them."""


ACTIONS = ("none", "wait", "reconnect", "load_paper", "clear", "maintenance",
           "configuration", "restart")
"""What a device needs, as the screen words it: nothing; wait (opening, busy, cooling);
check the cable and power, then Reconnect; load paper; clear it (close the cover, take the
card); call maintenance; fix the configuration; restart the kiosk software."""

_ERROR_ACTIONS = {
    ErrorAction.RETRY: "reconnect", ErrorAction.RESET: "reconnect",
    ErrorAction.CLEAR: "clear", ErrorAction.MAINTENANCE: "maintenance",
    ErrorAction.CONFIGURATION: "configuration", ErrorAction.SUSPEND: "wait",
    ErrorAction.SOFTWARE_ERROR: "restart",
}

CARD_TEST_SECONDS = 20.0
"""How long the card read test waits for a card before it says none was placed."""


@dataclass(frozen=True)
class DeviceRow:
    """One device as the panel shows it: plain values, nothing personal."""

    device: str
    state: str  # DeviceState value, or "standby" for a closed camera that was fine
    ok: bool
    paper: str | None  # printer only: ok, low, out, unknown
    error: str  # the last error's message (or the status detail), "" when fine
    action: str  # one of ACTIONS


def device_rows(hub: DeviceHub, errors: dict[str, tuple[str, ErrorAction | None]]
                ) -> list[DeviceRow]:
    """The panel's rows from the hub's statuses and the last ``errors`` seen per device
    (``device -> (message, action)``, from the hub's error events)."""
    statuses = hub.statuses()
    states = hub.states()
    return [row_for(name, statuses[name], states[name], errors.get(name))
            for name in DEVICES]


def row_for(device: str, status: DeviceStatus, state: str,
            error: tuple[str, ErrorAction | None] | None) -> DeviceRow:
    """One row: the state, the paper, the last error and the action that clears it."""
    paper = None
    if device == "printer":
        paper = paper_level(status.supplies.get("paper"))
    ok = state in (DeviceState.ONLINE.value, "standby")
    message, error_action = error if error else ("", None)
    if ok:
        message, error_action = "", None  # an error that has cleared is not the state now
    action = needed_action(status.state, paper, error_action) if not ok or paper in (
        "low", "out") else "none"
    return DeviceRow(device, state, ok and paper != "out", paper,
                     message or (status.detail if not ok else ""), action)


def needed_action(state: DeviceState, paper: str | None, action: ErrorAction | None) -> str:
    """What it takes to make the device serve again."""
    if paper in ("low", "out"):
        return "load_paper"
    if action is not None:
        return _ERROR_ACTIONS.get(action, "maintenance")
    if state in (DeviceState.STARTING, DeviceState.BUSY):
        return "wait"
    if state in (DeviceState.NO_DEVICE, DeviceState.OFFLINE, DeviceState.POWER_OFF):
        return "reconnect"
    if state is DeviceState.USER_ERROR:
        return "clear"
    if state is DeviceState.HARDWARE_ERROR:
        return "maintenance"
    return "none"


def test_slip(terminal: str, when: datetime | None = None) -> Receipt:
    """The printer test slip (Chinese text, rare characters, a QR code, a cut)."""
    return printer_test_slip(terminal, when)


class CardReadTest:
    """Reads one card placed on the reader and reports only its masked number.

    ``on_result(kind, text)`` is called once: ``read`` with the masked number (first 3 and
    last 4 characters), ``failed`` with the problem (reposition, unreadable, reader_down)
    or ``timeout``. The identity itself goes no further than this class.
    """

    def __init__(self, hub: DeviceHub, on_result: Callable[[str, str], None],
                 seconds: float = CARD_TEST_SECONDS) -> None:
        self.hub = hub
        self.on_result = on_result
        self.seconds = seconds
        self._done = threading.Event()
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        """Watch for a card (replacing any other card watch) for at most ``seconds``."""
        self._timer = threading.Timer(self.seconds, self._finish, ("failed", "timeout"))
        self._timer.daemon = True
        self._timer.start()
        self.hub.watch_cards(self._on_event)

    def stop(self) -> None:
        """End the test without a result (the screen was left)."""
        self._done.set()
        self._end()

    def _on_event(self, event: CardEvent) -> None:
        if event.kind == "read" and event.identity is not None:
            self._finish("read", mask_number(event.identity.id_number))
        elif event.kind in ("failed", "unavailable"):
            self._finish("failed", event.problem or "reader_down")

    def _finish(self, kind: str, text: str) -> None:
        if self._done.is_set():
            return
        self._done.set()
        self._end()
        self.on_result(kind, text)

    def _end(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.hub.stop_watching_cards()


def reconnect(hub: DeviceHub, device: str) -> None:
    """Close ``device`` and let it open again (:meth:`DeviceHub.reconnect`); may wait for a
    print or read under way, so the screen calls it from a worker thread."""
    hub.reconnect(device)
