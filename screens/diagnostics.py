"""The technician's diagnostics screen: the devices and the outbox, behind a PIN.

Reached only from the PIN screen (screens/technician_pin.py) with a technician's name; a
screen shown without one goes straight back to the attract screen, so no citizen's visit
can land here. Exit, or :data:`IDLE_SECONDS` without a touch, returns to the attract
screen and forgets the technician: the next visit needs the PIN again.

- Devices: reader, printer and camera with their state, the printer's paper, the last
  error and what it needs; a test print, a card read test (the number masked: first 3 and
  last 4 characters), and Reconnect per device. The hub's events arrive on its own thread
  and are handed to the UI thread with Clock; the statuses are also read once a second.
- Outbox: counts per state, how old the oldest unsent application is, how many are
  quarantined, and "Sync now", which wakes the sync thread.

Every action is audited through kiosk.operations.technician (who, what, a short detail).
"""

from __future__ import annotations

import os
import threading
import time

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.operations.device_checks import (
    DEVICES,
    CardReadTest,
    DeviceRow,
    device_rows,
    reconnect,
    test_slip,
)
from kiosk.operations.technician import TechnicianAccess
from screens import widgets  # noqa: F401 - registers KButton, Header and the shared kv rules
from screens.i18n import tr

IDLE_SECONDS = 120.0
"""Left alone this long, the screen closes by itself (a technician called away)."""

OUTBOX_EVERY = 5.0
"""Seconds between two readings of the outbox counts while the screen is open."""


def open_diagnostics(app, who: str) -> None:
    """Show the diagnostics screen for technician ``who`` (after a right PIN)."""
    screen = app.screen("diagnostics")
    screen.who = who
    app.show("diagnostics", remember=False)


def device_name(device: str) -> str:
    """The device's name in the current language."""
    return {"idcard": tr._("ID card reader"), "printer": tr._("Receipt printer"),
            "camera": tr._("Camera")}[device]


def state_words(state: str) -> str:
    """A device state (XFS4IoT name) in plain words, with the name for the manuals."""
    words = {
        "online": tr._("Working"), "standby": tr._("Ready, closed until a screen needs it"),
        "starting": tr._("Starting"), "offline": tr._("Not answering"),
        "powerOff": tr._("Switched off"), "noDevice": tr._("Not connected"),
        "hardwareError": tr._("Hardware fault"), "userError": tr._("Needs attention"),
        "deviceBusy": tr._("Busy"),
    }.get(state, state)
    return f"{words} ({state})"


def paper_words(paper: str) -> str:
    """The paper sensor in plain words."""
    return tr._("Paper: {state}").format(state={
        "ok": tr._("Enough"), "low": tr._("Low, replace the roll soon"), "out": tr._("Out"),
    }.get(paper, tr._("Unknown")))


def action_words(action: str) -> str:
    """What the technician does about a device (kiosk.operations.device_checks.ACTIONS)."""
    return {
        "none": "",
        "wait": tr._("Wait a moment: it is starting or busy."),
        "reconnect": tr._("Check its cable and power, then tap Reconnect."),
        "load_paper": tr._("Load a new paper roll."),
        "clear": tr._("Clear it: close the cover, take away the card or paper."),
        "maintenance": tr._("Call maintenance: the device reports a fault."),
        "configuration": tr._("Fix this device's setting in the configuration ([devices])."),
        "restart": tr._("Restart the kiosk software."),
    }.get(action, action)


def age_words(seconds: float) -> str:
    """``3 h 5 min``, ``12 min`` or ``40 s``."""
    seconds = int(seconds)
    if seconds >= 3600:
        return tr._("{hours} h {minutes} min").format(hours=seconds // 3600,
                                                      minutes=seconds % 3600 // 60)
    if seconds >= 60:
        return tr._("{minutes} min").format(minutes=seconds // 60)
    return tr._("{seconds} s").format(seconds=seconds)


class DeviceCard(BoxLayout):
    """One device: name, state, paper (printer), last error, action, and Reconnect."""

    device = StringProperty("")
    title = StringProperty("")
    state_text = StringProperty("")
    paper_text = StringProperty("")
    error_text = StringProperty("")
    action_text = StringProperty("")
    ok = BooleanProperty(True)  # the device serves citizens (paper out counts against it)
    state_ok = BooleanProperty(True)  # the device itself answers

    def show(self, row: DeviceRow) -> None:
        """Put ``row`` on the card in the current language."""
        self.title = device_name(row.device)
        self.state_text = state_words(row.state)
        self.ok = row.ok
        self.state_ok = row.state in ("online", "standby")
        self.paper_text = paper_words(row.paper) if row.paper else ""
        self.error_text = tr._("Last error: {error}").format(error=row.error[:160]) \
            if row.error else ""
        self.action_text = action_words(row.action)


class DiagnosticsScreen(Screen):
    """Devices and outbox for a technician; every action audited."""

    who = StringProperty("")
    print_result = StringProperty("")
    card_result = StringProperty("")
    outbox_text = StringProperty("")
    sync_result = StringProperty("")
    testing_card = BooleanProperty(False)
    technician_actions = ("diag_exit", "language", "large_text")
    """What the accessibility audit expects on this screen instead of the citizens' bar."""

    def __init__(self, **kwargs) -> None:
        # set before the kv rule runs: on_kv_post fills the cards
        self.errors: dict[str, tuple[str, object]] = {}  # device -> last (message, action)
        self.cards: dict[str, DeviceCard] = {}
        super().__init__(**kwargs)
        self._idle = Clock.create_trigger(lambda _dt: self.exit("idle"), IDLE_SECONDS)
        self._refresh = Clock.create_trigger(lambda _dt: self.refresh_devices())
        self._polls: list = []
        self._card_test: CardReadTest | None = None
        self._printer = None

    def on_kv_post(self, base_widget) -> None:
        super().on_kv_post(base_widget)
        for device in DEVICES:
            card = DeviceCard(device=device)
            button = card.ids.reconnect
            button.automation_id = f"diag_reconnect_{device}"
            button.bind(on_release=lambda _b, name=device: self.reconnect(name))
            self.cards[device] = card
            self.ids.diag_devices.add_widget(card)

    # -- life cycle --------------------------------------------------------------------
    def on_pre_enter(self, *args) -> None:
        if not self.who:  # not reached through the PIN screen: never shown
            Clock.schedule_once(lambda _dt: App.get_running_app().end_session())
            return
        if self._polls:  # shown again while open: already watching
            self.refresh_devices()
            return
        app = App.get_running_app()
        app.idle.disarm()
        app.services.devices.add_listener(self._on_device_event)
        Window.bind(on_touch_down=self._touched)
        self._idle()
        self.refresh_devices()
        self.refresh_outbox()
        self._polls = [Clock.schedule_interval(lambda _dt: self.refresh_devices(), 1.0),
                       Clock.schedule_interval(lambda _dt: self.refresh_outbox(), OUTBOX_EVERY)]

    def on_leave(self, *args) -> None:
        app = App.get_running_app()
        app.services.devices.remove_listener(self._on_device_event)
        Window.unbind(on_touch_down=self._touched)
        self._idle.cancel()
        for poll in self._polls:
            poll.cancel()
        self._polls = []
        self._stop_card_test()
        if self._printer is not None:
            self._printer.forget()
        self.who = ""
        self.print_result = self.card_result = self.sync_result = ""


    def on_language(self, _language: str) -> None:
        """Re-word the cards and the outbox in the new language."""
        if self.who:
            self.refresh_devices()
            self.refresh_outbox()

    def _touched(self, *_args) -> None:
        self._idle.cancel()
        self._idle()

    def exit(self, how: str = "exit") -> None:
        """Exit (or two idle minutes): audited, then the attract screen."""
        app = App.get_running_app()
        if app.manager.current != self.name:
            return
        self.audit("diagnostics_closed", "idle" if how == "idle" else "exit")
        app.end_session()

    def audit(self, what: str, detail: str = "") -> None:
        """One audit row for this technician's action (never citizen data)."""
        services = App.get_running_app().services
        TechnicianAccess(services.config.storage.database).record(self.who or "-", what, detail)

    # -- devices -----------------------------------------------------------------------
    def _on_device_event(self, event) -> None:
        # on the hub's device-events thread: hand it to the UI thread
        Clock.schedule_once(lambda _dt: self._device_event(event))

    def _device_event(self, event) -> None:
        if event.kind == "error":
            self.errors[event.device] = (event.message, event.action)
        self._refresh()

    def refresh_devices(self) -> None:
        """Read the hub's statuses onto the three cards."""
        hub = App.get_running_app().services.devices
        for row in device_rows(hub, self.errors):  # type: ignore[arg-type]
            self.cards[row.device].show(row)

    def test_print(self) -> None:
        """Print the test slip on a worker thread; the outcome comes back by Clock."""
        from screens.slip_printing import SlipPrinter

        app = App.get_running_app()
        if self._printer is None:
            self._printer = SlipPrinter(app.services.devices, self._printed, "print-test")
        if self._printer.printing:
            return
        self.print_result = tr._("Printing the test slip...")
        self._printer.print(test_slip(app.services.config.kiosk.id))

    def _printed(self, outcome) -> None:
        if outcome.printed:
            self.print_result = tr._("The test slip was printed.") + (
                " " + tr._("The paper is low.") if outcome.paper_low else "")
            detail = "printed" + (", paper low" if outcome.paper_low else "")
        else:
            self.print_result = tr._("The test slip was not printed: {problem}").format(
                problem={"paper_out": tr._("the paper is out"),
                         "cover_open": tr._("the cover is open"),
                         "offline": tr._("the printer is not connected")}.get(
                    outcome.problem or "", tr._("the printer failed")))
            detail = f"not printed: {outcome.problem}"
        self.audit("test_print", detail)
        self.refresh_devices()

    def card_read_test(self) -> None:
        """Wait for a card on the reader and show its number masked."""
        self._stop_card_test()
        self.testing_card = True
        self.card_result = tr._("Place an ID card on the reader...")
        self._card_test = CardReadTest(
            App.get_running_app().services.devices,
            lambda kind, text: Clock.schedule_once(lambda _dt: self._card_done(kind, text)))
        self._card_test.start()

    def _card_done(self, kind: str, text: str) -> None:
        if not self.testing_card:
            return
        self.testing_card = False
        self._card_test = None
        if kind == "read":
            self.card_result = tr._("Card read: {number}").format(number=text)
            self.audit("card_read_test", "card read")
        else:
            self.card_result = tr._("No card was read: {problem}").format(problem={
                "timeout": tr._("no card was placed"),
                "reposition": tr._("the card moved; place it again"),
                "unreadable": tr._("this card cannot be read"),
                "reader_down": tr._("the reader is not connected"),
            }.get(text, text))
            self.audit("card_read_test", f"failed: {text}")

    def _stop_card_test(self) -> None:
        test, self._card_test = self._card_test, None
        self.testing_card = False
        if test is not None:
            test.stop()

    def reconnect(self, device: str) -> None:
        """Close the device and let it open again (on a worker thread: it may wait for a
        print under way)."""
        hub = App.get_running_app().services.devices
        self.audit("reconnect", device)
        self.errors.pop(device, None)

        def run() -> None:
            reconnect(hub, device)
            Clock.schedule_once(lambda _dt: self.refresh_devices())

        threading.Thread(target=run, name="reconnect", daemon=True).start()

    # -- outbox --------------------------------------------------------------------------
    def refresh_outbox(self) -> None:
        """Counts per state, the oldest unsent application's age, quarantined records."""
        from kiosk.commands.queue import queue_status

        app = App.get_running_app()
        try:
            summary = queue_status(app.services.config, limit=0)
        except Exception as error:  # a database busy or full: say so, keep the screen
            self.outbox_text = tr._("The outbox cannot be read: {error}").format(
                error=type(error).__name__)
            return
        counts = ", ".join(f"{name} {count}" for name, count in summary["counts"].items()
                           if count) or tr._("none")
        age = summary["oldest_pending_age_s"]
        lines = [
            tr._("Applications per state: {counts}").format(counts=counts),
            tr._("Not yet sent: {count}").format(count=summary["pending"]) + (
                "  " + tr._("(oldest waiting {age})").format(age=age_words(age))
                if age is not None else ""),
            tr._("Quarantined: {count}").format(count=len(summary["quarantined"])),
        ]
        self.outbox_text = "\n".join(lines)

    def sync_now(self) -> None:
        """Wake the sync thread for a pass now; the counts follow."""
        App.get_running_app().services.sync.wake()
        self.sync_result = tr._("A sync pass was started at {time}.").format(
            time=time.strftime("%H:%M:%S"))
        self.audit("sync_now", "sync pass asked for")
        Clock.schedule_once(lambda _dt: self.refresh_outbox(), 2.0)


Builder.load_file(os.path.join(os.path.dirname(__file__), "diagnostics.kv"))
