"""The kiosk's three devices while the application runs: reader, printer, camera.

One :class:`DeviceHub` owns each configured device under its supervisor (the reader and the
printer under :class:`~drivers.supervisor.DeviceSupervisor`, the camera under its capture
thread), so a device unplugged and plugged back is online again within seconds, and every
operation goes through the supervisor's lock: a status probe never interleaves with a card
read or a print job.

Threads: nothing here touches the UI. Listeners and callbacks run on the hub's own threads
(``device-events`` for :meth:`DeviceHub.add_listener`, ``card-watch`` for
:meth:`DeviceHub.watch_cards`); the screens hand what they get to the UI thread with Kivy's
Clock. Callbacks must return quickly (schedule, do not work): a slow one delays the device.

Personal data: a :class:`CardEvent` carries the :class:`~drivers.idcard.identity.Identity`,
whose repr shows only the masked number; nothing here logs an identity.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from drivers.device_url import DeviceURL
from drivers.idcard.codec import Outcome
from drivers.idcard.identity import Identity
from drivers.idcard.reader import CardUnreadable, IdCardReader, ReaderError, SamError
from drivers.idcard.supervised import supervise_reader
from drivers.model import (
    DeviceEvent,
    DeviceState,
    DeviceStatus,
    ErrorAction,
    EventChannel,
    MediaState,
)
from drivers.printer.connect import url_codec
from drivers.printer.driver import PrinterDriver, PrinterError, PrinterNotReady
from drivers.printer.layout import Receipt
from drivers.supervisor import DeviceSupervisor, DeviceUnavailable, OpenFailed
from kiosk.config import DevicesSection
from kiosk.devices.emulators import EmulatorControls
from kiosk.operations import metrics

if TYPE_CHECKING:  # OpenCV and numpy load when the camera is first used, not at start
    import numpy as np

    from drivers.camera.capture import CaptureThread, LatestFrame
    from drivers.camera.sources import FrameSource

CAMERA_STANDBY = "standby"
"""The camera's state while no screen uses it: it is opened for the capture and e-ID
screens and closed when the visit ends (no lit camera light between citizens)."""

__all__ = [
    "CARD_KINDS",
    "CARD_PROBLEMS",
    "PRINT_PROBLEMS",
    "CardEvent",
    "DeviceHub",
    "PrintOutcome",
]

log = logging.getLogger(__name__)

#: What a card watch reports, in the order a citizen meets them.
CARD_KINDS = ("waiting", "found", "reading", "read", "failed", "unavailable")
#: Why a card was not read, as the citizen can act on it: ``reposition`` (the card moved or
#: was half read: move it away and place it again), ``unreadable`` (this card cannot be read
#: here: type the number or ask staff), ``reader_down`` (unplugged or not answering: type the
#: number or ask staff).
CARD_PROBLEMS = ("reposition", "unreadable", "reader_down")
#: Why a receipt was not printed: the first two a citizen or staff can clear at once.
PRINT_PROBLEMS = ("paper_out", "cover_open", "offline", "failed")

#: PrinterReport.reason -> PrintOutcome.problem
PRINT_PATIENCE_S = 3.0
"""How long a receipt waits for a printer line that does not answer (a loaded PC, a
supervisor reconnecting after a glitch) before the citizen is told it is not working."""
_UNANSWERED = frozenset({"no_reply", "bad_reply", "no_device"})

_PRINT_REASONS = {
    "paper_out": "paper_out",
    "cover_open": "cover_open",
    "offline": "offline",
    "no_reply": "offline",
    "no_device": "offline",
    "bad_reply": "offline",
}


@dataclass(frozen=True)
class CardEvent:
    """One step of reading a card.

    ``kind`` is one of :data:`CARD_KINDS`: ``waiting`` (no card: place one), ``found`` and
    ``reading`` (a card is there: hold it still), ``read`` (``identity`` is set), ``failed``
    (``problem`` says what to do), ``unavailable`` (the reader is not connected; ``problem``
    is ``reader_down``; ``waiting`` follows when it is back).
    """

    kind: str
    identity: Identity | None = None
    problem: str | None = None


@dataclass(frozen=True)
class PrintOutcome:
    """What became of one receipt: ``printed``, or the ``problem`` (:data:`PRINT_PROBLEMS`)
    that stopped it. A receipt that was not printed can be printed again once the problem is
    cleared: the caller keeps it. ``paper_low``: printed, but the roll is nearly used up."""

    printed: bool
    problem: str | None = None
    paper_low: bool = False


class FrameTask(Protocol):
    """What the hub needs of a camera task to stop it with the devices."""

    def stop(self) -> None: ...

    def join(self, timeout: float = 5.0) -> bool: ...


class _SignalledChannel(EventChannel):
    """An event channel that wakes the dispatcher thread as soon as something is published."""

    def __init__(self) -> None:
        super().__init__()
        self.wake = threading.Event()

    def publish(self, event: DeviceEvent) -> None:
        super().publish(event)
        self.wake.set()


class _Observed(EventChannel):
    """Stands in for a reader's own channel during one read, to see the card being found.

    The reader publishes BUSY with the card PRESENT right after its find command found a
    card and before it selects and reads it; that is the moment to tell the citizen "hold
    still". Events still reach the reader's own channel.
    """

    def __init__(self, inner: EventChannel, on_found: Callable[[], None]) -> None:
        super().__init__(maxsize=1)
        self.inner = inner
        self._on_found = on_found

    def publish(self, event: DeviceEvent) -> None:
        self.inner.publish(event)
        if (event.kind == "status" and event.status.state is DeviceState.BUSY
                and event.status.media is MediaState.PRESENT):
            self._on_found()


class _CardWatch:
    """Polls the reader through its supervisor while a screen waits for a card.

    A card that was read is not found again until it has been taken away (the reader's
    protection, modelled by the emulator), so one placement gives one read. A refused card
    is not tried again until it has been lifted (``IdCardReader.awaiting_removal``).

    A watch that replaces another first waits for the old thread to end, so two watches
    never poll at once; a stopped watch starts no new poll, but a read already under way
    when it was stopped is lost (the citizen places the card again).
    """

    def __init__(self, supervisor: DeviceSupervisor[IdCardReader],
                 on_event: Callable[[CardEvent], None], interval: float,
                 after: threading.Thread | None = None) -> None:
        self._supervisor = supervisor
        self._on_event = on_event
        self.interval = interval
        self._after = after
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._last: CardEvent | None = None
        self.thread = threading.Thread(target=self._run, name="card-watch", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """No callback after this returns; the thread ends after its current poll."""
        with self._lock:
            self._stopped.set()

    def _emit(self, kind: str, identity: Identity | None = None,
              problem: str | None = None) -> None:
        event = CardEvent(kind, identity, problem)
        with self._lock:
            if self._stopped.is_set():
                return
            repeated = kind in ("failed", "unavailable") and self._last is not None and (
                self._last.kind, self._last.problem) == (kind, problem)
            self._last = event
            if repeated:
                return
            try:
                self._on_event(event)
            except Exception:
                log.exception("card listener failed on a %s event", kind)

    def _run(self) -> None:
        if self._after is not None:
            self._after.join()  # the previous watch's last poll (it starts no new one)
            self._after = None
        while not self._stopped.is_set():
            pause = self.interval
            try:
                problem = self._poll()
            except Exception as error:  # the watch must survive anything a driver does
                log.error("card watch: unexpected %s", type(error).__name__)
                problem = "reader_down"
                self._emit("failed", problem=problem)
            if problem == "reader_down":
                pause = max(pause, 1.0)  # a reader that is down is not asked 4 times a second
            self._stopped.wait(pause)

    def _poll(self) -> str | None:
        """One find (and read, if a card is there); returns the problem reported, if any."""
        if self._supervisor.status.state is DeviceState.STARTING:
            return None  # not opened yet: "unavailable" would flash at every start
        try:
            with self._supervisor.use() as reader:
                if self._stopped.is_set():
                    return None  # stopped while waiting for the reader: no new find
                return self._read(reader)
        except DeviceUnavailable:
            if not (self._last and self._last.problem == "reader_down"):
                self._emit("unavailable", problem="reader_down")
            return "reader_down"

    def _read(self, reader: IdCardReader) -> str | None:
        def found() -> None:
            self._emit("found")
            self._emit("reading")

        own = reader.channel
        reader.channel = _Observed(own, found)
        try:
            identity = reader.read_card()
        except CardUnreadable:
            self._emit("failed", problem="unreadable")
            return "unreadable"
        except SamError as error:
            problem = "reposition" if error.info.outcome is Outcome.RETRY else "reader_down"
            self._emit("failed", problem=problem)
            return problem
        except ReaderError:  # timeout, line lost
            self._emit("failed", problem="reader_down")
            return "reader_down"
        finally:
            reader.channel = own
        if identity is not None:
            self._emit("read", identity=identity)
        elif reader.awaiting_removal:
            # a refused card still lies there (perhaps from before this watch began)
            if self._last is None or self._last.kind not in ("failed", "read"):
                self._emit("failed", problem="reposition")
        elif self._last is None or self._last.kind in ("failed", "unavailable"):
            # no card: say so, except after a read, when the card may still lie there
            # (the reader does not find a card it has read until it is lifted)
            self._emit("waiting")
        return None


class DeviceHub:
    """The configured reader, printer and camera, each kept connected by its supervisor.

    ``start()`` once at application start, ``stop()`` at exit. Every other method may be
    called from any thread. ``probe_interval`` is how often an idle reader or printer is
    asked for its status; ``card_interval`` how often a watched reader looks for a card.
    """

    def __init__(self, devices: DevicesSection, *, probe_interval: float = 0.5,
                 card_interval: float = 0.25) -> None:
        self.devices = devices
        self.card_interval = card_interval
        self._channel = _SignalledChannel()
        self._listeners: list[Callable[[DeviceEvent], None]] = []
        self._printed_listeners: list[Callable[[PrintOutcome], None]] = []
        self._listeners_lock = threading.Lock()
        self._lock = threading.RLock()  # start and stop
        self._watch_lock = threading.Lock()
        self._emulators = EmulatorControls.for_urls(devices.idcard, devices.printer,
                                                    devices.camera)
        self._reader = self._reader_supervisor(devices.idcard, probe_interval)
        self._printer = self._printer_supervisor(devices.printer, probe_interval)
        self._camera: CaptureThread | None = None  # opened by use_camera()
        self._camera_state: DeviceState | None = None  # as the last opened camera ended
        self._watch: _CardWatch | None = None
        self._watch_thread: threading.Thread | None = None  # the latest watch's, even stopped
        self._tasks: weakref.WeakSet[Any] = weakref.WeakSet()
        self._stopping = threading.Event()
        self._dispatcher: threading.Thread | None = None
        self._stopped = False

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the emulators (if any), the supervisors, the camera and the event thread.

        A second call does nothing; a stopped hub cannot start again (make a new one).
        """
        with self._lock:
            if self._stopped:
                raise RuntimeError("a stopped DeviceHub cannot start again; make a new one")
            if self._dispatcher is not None:
                return
            self._emulators.plug_all()
            self._dispatcher = threading.Thread(target=self._dispatch, name="device-events",
                                                daemon=True)
            self._dispatcher.start()
            self._reader.start()
            self._printer.start()

    def stop(self) -> None:
        """Stop the card watch, every camera task, the devices and the emulators; waits
        for their threads (a few seconds at most)."""
        with self._watch_lock:
            watch = self._watch
        self.stop_watching_cards()
        tasks = list(self._tasks)
        for task in tasks:
            with contextlib.suppress(Exception):
                task.stop()
        self.release_camera()
        with self._lock:
            self._stopped = True
            self._reader.stop()
            self._printer.stop()
            self._stopping.set()
            self._channel.wake.set()
            if self._dispatcher is not None:
                self._dispatcher.join(timeout=5)
                self._dispatcher = None
            self._emulators.close()
        if watch is not None:
            watch.thread.join(timeout=5)
        for task in tasks:
            with contextlib.suppress(Exception):
                task.join(timeout=5)

    def __enter__(self) -> DeviceHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- state ----------------------------------------------------------------------------
    def states(self) -> dict[str, str]:
        """``idcard`` / ``printer`` / ``camera`` -> DeviceState value, for the heartbeat; a
        closed camera that was fine when last used is :data:`CAMERA_STANDBY`."""
        states = {name: status.state.value for name, status in self.statuses().items()}
        if self._camera is None and self.camera_ok:
            states["camera"] = CAMERA_STANDBY
        return states

    def statuses(self) -> dict[str, DeviceStatus]:
        """The full status snapshots (state, media, paper, detail) for the diagnostics."""
        return {"idcard": self._reader.status, "printer": self._printer.status,
                "camera": self._camera_status()}

    def add_listener(self, listener: Callable[[DeviceEvent], None]) -> None:
        """Call ``listener`` with every DeviceEvent of the three devices (state changes,
        errors with their action, card removed, paper low/out/refilled), on the
        ``device-events`` thread."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[DeviceEvent], None]) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        with self._listeners_lock, contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _dispatch(self) -> None:
        while True:
            self._channel.wake.wait(timeout=1.0)
            self._channel.wake.clear()
            events = self._channel.drain()
            with self._listeners_lock:
                listeners = list(self._listeners)
            for event in events:
                for listener in listeners:
                    try:
                        listener(event)
                    except Exception:
                        log.exception("device listener failed on %s %s", event.device,
                                      event.kind)
            if self._stopping.is_set():
                return

    @property
    def emulators(self) -> EmulatorControls:
        """Switches for the emulated devices; the part of a real device is ``None``
        (``hub.emulators.reader is None``) and its switches raise NotEmulated.
        ``bool(hub.emulators)`` is False when every device is real."""
        return self._emulators

    # --- the ID card reader ---------------------------------------------------------------
    def watch_cards(self, on_event: Callable[[CardEvent], None]) -> None:
        """Look for a card a few times a second and report each step to ``on_event`` (on
        the ``card-watch`` thread) until :meth:`stop_watching_cards`. A second call replaces
        the first watch. Each placement is read once. Does nothing on a stopped hub."""
        if self._stopped:
            return
        with self._watch_lock:
            old, previous = self._watch, self._watch_thread
            watch = _CardWatch(self._reader, on_event, self.card_interval, after=previous)
            self._watch, self._watch_thread = watch, watch.thread
        if old is not None:
            old.stop()
        watch.start()

    def stop_watching_cards(self) -> None:
        """End the watch: no card callback runs after this returns. Never waits for I/O,
        so the UI thread may call it (a read under way finishes unreported)."""
        with self._watch_lock:
            watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()

    @property
    def watching_cards(self) -> bool:
        """Whether a card watch is on."""
        return self._watch is not None

    # --- the printer ----------------------------------------------------------------------
    def print_receipt(self, receipt: Receipt) -> PrintOutcome:
        """Print ``receipt`` under the printer supervisor's lock; never raises.

        Blocks until the slip is out (seconds on a 9600 baud line): call it from a worker
        thread, not the UI thread.
        """
        deadline = time.monotonic() + PRINT_PATIENCE_S
        while True:
            outcome, retry = self._print_once(receipt)
            if not retry or time.monotonic() >= deadline:
                metrics.count_receipt(outcome.problem)  # one count per receipt, not per try
                if outcome.printed:
                    self._tell_printed(outcome)
                return outcome
            time.sleep(0.25)  # the supervisor reconnects, a busy line answers again

    def add_printed_listener(self, listener: Callable[[PrintOutcome], None]) -> None:
        """Call ``listener`` after every slip this hub printed (receipts, test slips,
        guides), on the printing thread: the paper counter counts the roll down with it.
        A slip that was not printed is not reported (it used no paper worth counting)."""
        with self._listeners_lock:
            self._printed_listeners.append(listener)

    def remove_printed_listener(self, listener: Callable[[PrintOutcome], None]) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        with self._listeners_lock, contextlib.suppress(ValueError):
            self._printed_listeners.remove(listener)

    def _tell_printed(self, outcome: PrintOutcome) -> None:
        with self._listeners_lock:
            listeners = list(self._printed_listeners)
        for listener in listeners:
            try:
                listener(outcome)
            except Exception:  # a counter that fails must not turn a printed slip into a fault
                log.exception("printed-slip listener failed")

    def _print_once(self, receipt: Receipt) -> tuple[PrintOutcome, bool]:
        """One attempt, and whether another may follow: only when nothing was sent and the
        reason is a line that did not answer (a busy or reconnecting port), never paper or
        cover, which need a person, nor a slip that was sent (it would print twice)."""
        try:
            with self._printer.use() as driver:
                report = driver.print_receipt(receipt)
        except DeviceUnavailable:
            return PrintOutcome(False, "offline"), True
        except PrinterNotReady as error:  # nothing sent
            return (PrintOutcome(False, _PRINT_REASONS.get(error.reason, "failed")),
                    error.reason in _UNANSWERED)
        except PrinterError as error:  # PrintFailed: sent, the slip may be cut short
            return PrintOutcome(False, _PRINT_REASONS.get(error.reason, "failed")), False
        except Exception as error:  # a driver fault must not take the journey down
            log.error("printing failed: %s", type(error).__name__)
            return PrintOutcome(False, "failed"), False
        return PrintOutcome(True, None, paper_low=report.reason == "paper_low"), False

    # --- reconnecting ---------------------------------------------------------------------
    def reconnect(self, name: str) -> None:
        """Close device ``name`` (``idcard``, ``printer``, ``camera``) and let it open again,
        as pulling and replugging its cable would: a technician's first remedy for a device
        that answers wrongly without being reported lost.

        The reader and the printer are closed under their supervisor's lock, so a print or a
        read under way finishes first (this may wait seconds: call it from a worker thread);
        the supervisor opens them again on its next round, within a second. The camera is
        released and opened again at once. ValueError for any other name.
        """
        if name == "camera":
            self.release_camera()
            self.use_camera()
            return
        supervisors: dict[str, DeviceSupervisor[Any]] = {"idcard": self._reader,
                                                         "printer": self._printer}
        if name not in supervisors:
            raise ValueError(f"no device {name!r}: idcard, printer or camera")
        supervisors[name].reconnect()

    # --- the camera -----------------------------------------------------------------------
    def use_camera(self) -> None:
        """Open the camera now (the preview and every camera task call this); it stays open
        until :meth:`release_camera`. Does nothing before :meth:`start` or after stop."""
        with self._lock:
            if self._camera is not None or self._dispatcher is None or self._stopped:
                return
            from drivers.camera.capture import CaptureThread

            self._camera = CaptureThread(self._camera_opener(self.devices.camera),
                                         self._channel, name="camera")
            self._camera.start()

    def release_camera(self) -> None:
        """Close the camera (the visit ended): its light goes off, its frames are freed."""
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                task.stop()
        with self._lock:
            camera, self._camera = self._camera, None
            if camera is not None:
                self._camera_state = camera.status.state
        if camera is not None:
            camera.stop()

    def _camera_status(self) -> DeviceStatus:
        camera = self._camera
        if camera is not None:
            return camera.status
        if self._camera_state not in (None, DeviceState.ONLINE, DeviceState.STARTING):
            return DeviceStatus(self._camera_state, detail="as it was last used")
        return DeviceStatus(DeviceState.STARTING, detail="closed until a screen needs it")

    def latest(self) -> LatestFrame:
        """The newest frame with its sequence number and capture time (camera tasks use the
        sequence to skip frames they have seen); opens the camera if it is closed. The
        image is shared: do not draw on it."""
        self.use_camera()
        camera = self._camera
        if camera is None:  # the hub is not running
            from drivers.camera.capture import LatestFrame

            return LatestFrame(None, 0, None)
        return camera.latest()

    def latest_frame(self) -> np.ndarray | None:
        """The newest BGR frame for the preview, None while the camera is closed or not
        online (a frozen last frame must not look like a live picture). Read-only."""
        camera = self._camera
        if camera is None or camera.status.state is not DeviceState.ONLINE:
            return None
        return camera.latest().image

    @property
    def camera_ok(self) -> bool:
        """The camera can be used: it gives frames, is being opened, or is closed and was
        fine when last used."""
        camera = self._camera
        state = camera.status.state if camera is not None else self._camera_state
        return state in (None, DeviceState.ONLINE, DeviceState.STARTING)

    def attach(self, task: FrameTask) -> None:
        """A camera task starts: the camera opens, and :meth:`stop` (or the end of the
        visit) stops the task with it."""
        self._tasks.add(task)
        self.use_camera()

    # --- opening the devices --------------------------------------------------------------
    def _reader_supervisor(self, url: DeviceURL,
                           interval: float) -> DeviceSupervisor[IdCardReader]:
        if url.scheme == "emulator":
            return supervise_reader(self._emulators.link("idcard"), self._channel,
                                    interval=interval)
        if url.scheme in ("serial", "tcp"):
            path = url.target if url.scheme == "serial" else f"socket://{url.target}"
            baudrate = int(url.params.get("baudrate", "115200"))
            return supervise_reader(path, self._channel, baudrate=baudrate, interval=interval)
        return _unsupported("idcard", url, "serial:// or tcp:// (a serial server)",
                            self._channel)

    def _printer_supervisor(self, url: DeviceURL,
                            interval: float) -> DeviceSupervisor[PrinterDriver]:
        codec = url_codec(url)
        channel = self._channel

        def open_driver() -> PrinterDriver:
            if url.scheme == "emulator":
                return PrinterDriver.open_serial(self._emulators.link("printer"),
                                                 channel=channel, codec=codec,
                                                 status_events=False)
            if url.scheme == "serial":
                return PrinterDriver.open_serial(
                    url.target, baudrate=int(url.params.get("baudrate", "9600")),
                    channel=channel, codec=codec, status_events=False)
            if url.scheme == "tcp":
                return PrinterDriver.open_serial(f"socket://{url.target}", channel=channel,
                                                 codec=codec, status_events=False)
            if url.scheme == "usb":
                from drivers.printer.usb_port import UsbPort

                vendor, product = (int(part, 16) for part in url.target.split(":"))
                return PrinterDriver(UsbPort(vendor, product),  # type: ignore[arg-type]
                                     channel=channel, codec=codec, status_events=False)
            driver = PrinterDriver.open_file(url.target, channel=channel, codec=codec)
            driver.status_events = False  # the supervisor publishes the state changes
            return driver

        if url.scheme not in ("emulator", "serial", "tcp", "usb", "file"):
            return _unsupported("printer", url, "serial, usb, tcp or file", channel)
        return DeviceSupervisor("printer", open_driver, lambda driver: driver.status().status,
                                PrinterDriver.close, channel, interval=interval)

    def _camera_opener(self, url: DeviceURL) -> Callable[[], FrameSource]:
        scene = self._emulators.camera
        if scene is not None:
            return lambda: scene  # one scene for the whole run: switches and unplug persist
        from drivers.camera.sources import open_source

        return lambda: open_source(url)


def _unsupported(name: str, url: DeviceURL, supported: str,
                 channel: EventChannel) -> DeviceSupervisor[Any]:
    """A supervisor that reports a configuration error instead of a device."""
    detail = f"{url.scheme}:// cannot drive the {name}; use {supported}"

    def refuse() -> Any:
        raise OpenFailed(detail, DeviceStatus(DeviceState.HARDWARE_ERROR, detail=detail),
                         ErrorAction.CONFIGURATION)

    return DeviceSupervisor(name, refuse, lambda _device: DeviceStatus(DeviceState.ONLINE),
                            lambda _device: None, channel, backoff=(1.0, 30.0))

