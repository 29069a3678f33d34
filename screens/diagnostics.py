"""The technician's diagnostics screen: the devices and the outbox, behind a PIN.

Reached only from the PIN screen (screens/technician_pin.py) with a technician's name; a
screen shown without one goes straight back to the attract screen, so no citizen's visit
can land here. Exit, or :data:`IDLE_SECONDS` without a touch, returns to the attract
screen and forgets the technician: the next visit needs the PIN again.

- Devices: reader, printer and camera with their state, the printer's paper, the last
  error and what it needs; a test print, a card read test (the number masked: first 3 and
  last 4 characters), and Reconnect per device. The hub's events arrive on its own thread
  and are handed to the UI thread with Clock; the statuses are also read once a second.
- Outbox: counts per state in words, how old the oldest unsent application is, and
  "Sync now", which wakes the sync thread; each quarantined application (receipt number,
  reason, attempts) with Retry, and the last few applications with Reprint, which prints
  through the app's DeviceHub (the port stays the hub's) after unsealing on a worker
  thread (kiosk.operations.outbox_actions, shared with ``kiosk queue retry/reprint``).
- Paper: slips printed since the last refill, low at 80 % of a roll or when the sensor
  says so (kiosk.operations.paper), and "Paper refilled".
- Network and platform: /health asked three times on a worker thread (round trips, clock
  skew, a failure in words, key problems: kiosk.operations.network_check).
- Out of service: the technician's switch and the automatic state (service_state).
- Export: the diagnostic bundle to a USB stick when one is mounted, else data_dir/exports.
- Recent log lines (already redacted when written), errors / warnings / all.

Every action is audited through kiosk.operations.technician (who, what, a short detail).
"""

from __future__ import annotations

import os
import threading
import time
from urllib.parse import urlsplit

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from kiosk.operations.device_checks import (
    DEVICES,
    CardReadTest,
    DeviceRow,
    device_rows,
    reconnect,
    test_slip,
)
from kiosk.operations.log_tail import recent_lines
from kiosk.operations.technician import TechnicianAccess
from screens import widgets  # noqa: F401 - registers KButton, Header and the shared kv rules
from screens.i18n import tr

IDLE_SECONDS = 120.0
"""Left alone this long, the screen closes by itself (a technician called away)."""

OUTBOX_EVERY = 5.0
"""Seconds between two readings of the outbox counts while the screen is open."""

QUARANTINE_ROWS = 10
"""Quarantined applications listed with Retry; the rest are counted (kiosk queue status)."""

RECENT_ROWS = 5
"""The latest applications listed with Reprint (a jammed slip is a recent one)."""


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


def outbox_state_words(state: str) -> str:
    """An outbox state (offline_cache.outbox.State) in plain words; the key stays the key
    in ``kiosk queue status``."""
    return {
        "draft": tr._("being filled in"),
        "sealed": tr._("waiting to send"),
        "uploading": tr._("sending"),
        "retry_later": tr._("to be sent again later"),
        "acknowledged": tr._("received by the platform"),
        "status_synced": tr._("delivered, progress known"),
        "quarantined": tr._("held back, needs a technician"),
        "purgeable": tr._("done, to be deleted"),
    }.get(state, state)


def reason_words(reason: str | None) -> str:
    """Why an application was held back, in words, with the stored reason (already cleared
    of personal data by offline_cache.reasons) for a support ticket."""
    text = reason or ""
    if text.startswith("file-not-found"):
        words = tr._("An attached file is missing or damaged on this kiosk.")
    elif text.startswith("local-processing-error") or "SealBroken" in text:
        words = tr._("This kiosk could not prepare it for sending.")
    elif text.startswith("platform "):
        words = tr._("The platform refused it.")
    else:
        words = tr._("Held back.")
    return f"{words} ({text})" if text else words


def reprint_words(outcome: str, paper_low: bool = False) -> str:
    """What became of a reprint (kiosk.operations.outbox_actions.Reprint.outcome)."""
    if outcome == "printed":
        return tr._("The receipt was printed again.") + (
            " " + tr._("The paper is low.") if paper_low else "")
    return tr._("The receipt was not printed: {problem}").format(problem={
        "paper_out": tr._("the printer is out of paper"),
        "cover_open": tr._("the printer's cover is open"),
        "offline": tr._("the printer is not connected"),
        "not_found": tr._("this kiosk no longer has that application"),
        "sealed": tr._("it cannot be unsealed with this kiosk's key"),
        "unreadable": tr._("the outbox cannot be read"),
    }.get(outcome, tr._("the printer failed")))


def network_words(report) -> str:
    """The network check's failure in the current language, by its cause and parameters
    (kiosk.operations.network_check.failure_cause); the English ``explanation`` stays for
    ``kiosk diagnose`` and the bundle, and is shown only for a cause not known here."""
    cause = report.cause or {"certificate": "certificate_untrusted"}.get(report.problem,
                                                                         report.problem)
    words = {
        "certificate_name": tr._("The platform's certificate is for another name: check [platform] url (the host name must be the one in the certificate)."),  # noqa: E501
        "certificate_dates": tr._("The platform's certificate has expired or is not yet valid: check the kiosk's clock (NTP), else the platform must renew its certificate."),  # noqa: E501
        "certificate_ca_file": tr._("The platform's certificate is not trusted by [platform] ca_file ({ca_file}): put the platform's CA certificate in that file."),  # noqa: E501
        "certificate_untrusted": tr._("The platform's certificate is not trusted: set [platform] ca_file to the platform's CA certificate (PEM)."),  # noqa: E501
        "proxy": tr._("The proxy refused or did not answer: check [platform] proxy."),
        "timeout": tr._("No answer within {timeout} s: the network is slow or drops packets (check the cable, the hall's router)."),  # noqa: E501
        "no_connection": tr._("No connection to the platform: check the network cable, then [platform] url (host and port)."),  # noqa: E501
        "other": tr._("The request failed ({error})."),
        "http": tr._("The platform answered HTTP {status}."),
        "http_redirect": tr._("The platform answered HTTP {status}, a redirect: a captive portal or a wrong url."),  # noqa: E501
        "not_json": tr._("The platform's /health answer is not JSON."),
        "unhealthy": tr._("The platform says it is not healthy."),
    }.get(cause)
    if words is None:
        return report.explanation
    return words.format(**{"ca_file": "-", "timeout": "3", "error": "-", "status": "-",
                           **(report.params or {})})


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
    quarantine_more = StringProperty("")
    outbox_result = StringProperty("")  # what Retry or Reprint did
    reprinting = StringProperty("")  # the receipt number being reprinted
    testing_card = BooleanProperty(False)
    paper_text = StringProperty("")
    paper_low = BooleanProperty(False)
    paper_result = StringProperty("")
    network_text = StringProperty("")
    network_ok = BooleanProperty(True)
    checking_network = BooleanProperty(False)
    service_text = StringProperty("")
    out_of_service = BooleanProperty(False)  # the manual switch is on
    service_down = BooleanProperty(False)  # either switch is on: citizens are turned away
    export_text = StringProperty("")
    exporting = BooleanProperty(False)
    log_level = StringProperty("errors")
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
        self._sensor = "unknown"  # the printer's paper sensor, from the last device rows
        self._network = None  # the last network check (kiosk.operations.network_check)
        self._network_round = 0  # a check's result is shown only if no newer one began
        self._outbox_rows: tuple = ()  # what the outbox rows show, rebuilt only on a change
        self._reprint_job = 0  # a reprint's outcome lands only on the visit that asked

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
        self.refresh_paper()
        self.show_service(self.watch().state)
        self.show_logs(self.log_level)
        self.check_network(audited=False)
        self._polls = [Clock.schedule_interval(lambda _dt: self.refresh_devices(), 1.0),
                       Clock.schedule_interval(lambda _dt: self.refresh_outbox(), OUTBOX_EVERY),
                       Clock.schedule_interval(lambda _dt: self.refresh_paper(), OUTBOX_EVERY)]

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
        self.paper_result = self.export_text = self.outbox_result = self.reprinting = ""
        self._reprint_job += 1


    def on_language(self, _language: str) -> None:
        """Re-word the cards and the outbox in the new language."""
        if self.who:
            self.refresh_devices()
            self._outbox_rows = ()  # the rows' words too
            self.refresh_outbox()
            self.refresh_paper()
            self.show_service(self.watch().state)
            self.show_logs(self.log_level)
            if self._network is not None:
                self._show_network(self._network)

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
            if row.device == "printer" and row.paper != self._sensor:
                self._sensor = row.paper or "unknown"
                self.refresh_paper()

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
        """Counts per state, the oldest unsent application's age, quarantined records with
        Retry, the latest applications with Reprint."""
        from kiosk.operations.outbox_summary import queue_status

        app = App.get_running_app()
        try:
            summary = queue_status(app.services.config, limit=RECENT_ROWS)
        except Exception as error:  # a database busy or full: say so, keep the screen
            self.outbox_text = tr._("The outbox cannot be read: {error}").format(
                error=type(error).__name__)
            return
        # a middle dot between states: a state's words may hold a comma themselves
        counts = " · ".join(f"{outbox_state_words(name)} {count}"
                            for name, count in summary["counts"].items()
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
        recent = [item for item in summary["records"] if item["receipt_no"]]
        self._show_outbox_rows(summary["quarantined"], recent)

    def _show_outbox_rows(self, quarantined: list[dict], recent: list[dict]) -> None:
        """Rebuild the Retry and Reprint rows when what they say changed (not every 5 s: a
        button rebuilt under a finger would lose the tap)."""
        shown = quarantined[:QUARANTINE_ROWS]
        key = (tuple((q["receipt_no"], q["reason"], q["attempts"]) for q in shown),
               len(quarantined),
               tuple((r["receipt_no"], r["state"], r.get("created_at")) for r in recent))
        if key == self._outbox_rows:
            return
        self._outbox_rows = key
        box = self.ids.diag_quarantined
        box.clear_widgets()
        for item in shown:
            row = OutboxRow(problem=True, action=tr._("Retry"), text="\n".join((
                item["receipt_no"] or "-", reason_words(item["reason"]),
                tr._("Attempts: {count}").format(count=item["attempts"]))))
            row.ids.row_button.automation_id = f"diag_retry_{item['receipt_no']}"
            row.ids.row_button.bind(
                on_release=lambda _b, number=item["receipt_no"]: self.retry(number))
            box.add_widget(row)
        more = len(quarantined) - len(shown)
        self.quarantine_more = tr._("and {count} more (kiosk queue status)").format(
            count=more) if more > 0 else ""
        box = self.ids.diag_recent
        box.clear_widgets()
        for item in reversed(recent):  # newest first: a jammed slip is the latest one
            when = time.strftime("%m-%d %H:%M", time.localtime(item["created_at"])) \
                if item.get("created_at") else ""
            row = OutboxRow(action=tr._("Reprint"), text="\n".join((
                item["receipt_no"], f"{when}  {outbox_state_words(item['state'])}")))
            row.ids.row_button.automation_id = f"diag_reprint_{item['receipt_no']}"
            row.ids.row_button.bind(
                on_release=lambda _b, number=item["receipt_no"]: self.reprint(number))
            box.add_widget(row)
        if not recent:
            box.add_widget(LogRow(text=tr._("No applications on this kiosk yet.")))

    def retry(self, receipt_no: str) -> None:
        """What ``kiosk queue retry`` does: send it again at the next pass, which starts now."""
        from kiosk.operations.outbox_actions import NotRetryable, audit_reference, retry

        app = App.get_running_app()
        try:
            retry(app.services.config, receipt_no)
        except NotRetryable:  # sent or retried meanwhile (another pass, another technician)
            self.outbox_result = tr._("{receipt}: nothing to retry, it is no longer held back.").format(receipt=receipt_no)  # noqa: E501
        except Exception as error:  # a database busy or full: say so, keep the screen
            self.outbox_result = tr._("The outbox cannot be read: {error}").format(
                error=type(error).__name__)
            return
        else:
            self.outbox_result = tr._("{receipt}: will be sent again now.").format(
                receipt=receipt_no)
            self.audit("retry", audit_reference(receipt_no))
            app.services.sync.wake()
        self.refresh_outbox()
        Clock.schedule_once(lambda _dt: self.refresh_outbox(), 2.0)

    def reprint(self, receipt_no: str) -> None:
        """Print a citizen's receipt again (a jammed slip): unsealed and printed on a worker
        thread through the app's printer; the outcome in words by Clock."""
        if self.reprinting:
            return
        from kiosk.operations.outbox_actions import reprint

        services = App.get_running_app().services
        config, devices = services.config, services.devices
        self.reprinting = receipt_no
        self.outbox_result = tr._("Printing the receipt {receipt}...").format(receipt=receipt_no)
        job = self._reprint_job

        def run() -> None:
            try:
                result = reprint(config, receipt_no, devices.print_receipt)
                outcome, low = result.outcome, result.paper_low
            except Exception:  # never a traceback on the screen; the log has it
                import logging

                logging.getLogger(__name__).exception("reprint failed")
                outcome, low = "failed", False
            Clock.schedule_once(lambda _dt: self._reprinted(job, receipt_no, outcome, low))

        threading.Thread(target=run, name="reprint", daemon=True).start()

    def on_outbox_result(self, _screen, text: str) -> None:
        """Bring what Retry or Reprint did into view: up to fifteen rows above the line can
        leave it below the fold, and the technician who tapped would see nothing happen."""
        if text:
            Clock.schedule_once(self._show_outbox_result)

    def _show_outbox_result(self, _dt: float) -> None:
        line = self.ids.diag_outbox_result
        if self.manager is not None and self.manager.current == self.name:
            self.ids.diag_scroll.scroll_to(line, padding=dp(24), animate=False)

    def _reprinted(self, job: int, receipt_no: str, outcome: str, paper_low: bool) -> None:
        if job != self._reprint_job:
            return  # the screen was left meanwhile
        from kiosk.operations.outbox_actions import audit_reference

        self.reprinting = ""
        self.outbox_result = f"{receipt_no}: {reprint_words(outcome, paper_low)}"
        self.audit("reprint", f"{audit_reference(receipt_no)}: " + (
            "printed" if outcome == "printed" else f"not printed, {outcome}"))
        self.refresh_devices()

    def sync_now(self) -> None:
        """Wake the sync thread for a pass now; the counts follow."""
        App.get_running_app().services.sync.wake()
        self.sync_result = tr._("A sync pass was started at {time}.").format(
            time=time.strftime("%H:%M:%S"))
        self.audit("sync_now", "sync pass asked for")
        Clock.schedule_once(lambda _dt: self.refresh_outbox(), 2.0)


    # -- paper ---------------------------------------------------------------------------
    def watch(self):
        """The app's paper counter and out-of-service switches (screens/service_watch)."""
        return App.get_running_app().service_watch

    def refresh_paper(self) -> None:
        """Slips since the last refill, and whether to bring a new roll."""
        try:
            state = self.watch().paper.state(self._sensor)
        except Exception as error:  # a database busy or full: say so, keep the screen
            self.paper_text = tr._("The paper count cannot be read: {error}").format(
                error=type(error).__name__)
            return
        lines = [tr._("Slips printed since the last refill: {count} of about {roll}").format(
            count=state.slips, roll=state.roll)]
        if state.refilled_at is not None:
            lines.append(tr._("Last refilled: {time}").format(
                time=time.strftime("%Y-%m-%d %H:%M", time.localtime(state.refilled_at))))
        if state.reason == "out":
            lines.append(tr._("The paper is out: load a new roll now."))
        elif state.reason == "sensor":
            lines.append(tr._("Paper low: the printer's sensor says the roll is nearly used up. Bring a new roll."))  # noqa: E501
        elif state.reason == "count":
            lines.append(tr._("Paper low: about {left} slips left on this roll. Bring a new "
                              "roll.").format(left=state.left))
        self.paper_low = state.low
        self.paper_text = "\n".join(lines)

    def refill_paper(self) -> None:
        """A new roll was loaded: the count starts again (audited by the core)."""
        self.watch().paper.refilled(self.who or "-")
        self.paper_result = tr._("Paper refilled at {time}: the count starts again.").format(
            time=time.strftime("%H:%M:%S"))
        self.refresh_paper()

    # -- network and platform ------------------------------------------------------------
    def check_network(self, audited: bool = True) -> None:
        """Ask the platform's /health three times on a worker thread; words by Clock. The
        check made on opening the screen is not audited (the opening is)."""
        if self.checking_network:
            return
        from kiosk.operations.network_check import check_network

        config = App.get_running_app().services.config
        self.checking_network = True
        self.network_text = tr._("Checking the platform...")
        self._network_round += 1
        round_ = self._network_round

        def run() -> None:
            try:
                report = check_network(config)
            except Exception as error:  # never a traceback on the screen
                report = error
            Clock.schedule_once(lambda _dt: self._network_done(report, audited, round_))

        threading.Thread(target=run, name="network-check", daemon=True).start()

    def _network_done(self, report, audited: bool = False, round_: int = 0) -> None:
        if round_ != self._network_round:
            return  # overtaken by a newer check (or a report shown directly)
        self.checking_network = False
        if isinstance(report, BaseException):
            self.network_ok = False
            self.network_text = tr._("The check failed: {error}").format(
                error=type(report).__name__)
            return
        self._network = report
        self._show_network(report)
        if self.who and audited:
            self.audit("network_check", "healthy" if report.healthy else
                       f"problem {report.problem or 'keys'}")

    def show_network_report(self, report) -> None:
        """Show ``report`` in place of any check still under way (the accessibility audit
        shows fixed problems this way)."""
        self._network_round += 1
        self.checking_network = False
        self._network = report
        self._show_network(report)

    def _show_network(self, report) -> None:
        self.network_ok = report.healthy and not report.key_problems and \
            report.skew_level in ("ok", "unknown")
        # the host only: a long path would break across lines, the technician knows it
        lines = [tr._("Platform: {url}").format(url=urlsplit(report.url).netloc or report.url)]
        if report.healthy:
            lines.append(tr._("Healthy: {answered} of {asked} answers").format(
                answered=report.answered, asked=report.asked))
        else:
            lines.append(tr._("Not healthy: {answered} of {asked} answers").format(
                answered=report.answered, asked=report.asked))
        if report.rtt_ms:
            lines.append(tr._("Round trip: {median} ms (from {low} to {high} ms)").format(
                median=round(report.median_ms), low=round(min(report.rtt_ms)),
                high=round(max(report.rtt_ms))))
        if report.skew_s is not None:
            skew = abs(report.skew_s)
            lines.append((tr._("Clock: {seconds} s ahead of the platform") if report.skew_s > 0
                          else tr._("Clock: {seconds} s behind the platform")).format(
                seconds=f"{skew:.1f}"))
            if report.skew_level == "refused":
                lines.append(tr._("The clock is over 5 minutes off: the platform refuses this kiosk's requests. Set the time (NTP)."))  # noqa: E501
            elif report.skew_level == "corrected":
                lines.append(tr._("The clock is over 30 s off: check NTP on this PC."))
        if report.explanation or report.cause:
            lines.append(tr._("Problem: {words}").format(words=network_words(report)))
        for problem in report.key_problems:
            lines.append(tr._("Key problem: {words}").format(words=problem[:240]))
        self.network_text = "\n".join(lines)

    # -- out of service ------------------------------------------------------------------
    def toggle_service(self) -> None:
        """The technician's out-of-service switch (audited by the core)."""
        self.watch().switch(not self.watch().state.manual, self.who or "-")
        self.show_service(self.watch().state)

    def show_service(self, state) -> None:
        """The switches' state in words (the service watch calls this on a change)."""
        self.out_of_service = state.manual
        self.service_down = state.active
        if state.manual:
            text = tr._("Out of service: switched on by {who}. Citizens are sent to other terminals or the counter until you switch it off.").format(who=state.manual_by or "-")  # noqa: E501
        elif state.automatic:
            text = tr._("Out of service automatically: {parts} down (see kiosk diagnose). It is lifted by itself when they are back.").format(parts=state.reason or "-")  # noqa: E501
        else:
            text = tr._("In service: citizens can start a visit.")
        if state.manual and state.automatic:
            text += "\n" + tr._("Also down: {parts}.").format(parts=state.reason or "-")
        self.service_text = text

    # -- export --------------------------------------------------------------------------
    def export_bundle(self) -> None:
        """The diagnostic bundle on a worker thread: a USB stick if one is mounted, else
        data_dir/exports; where it went comes back by Clock."""
        if self.exporting:
            return
        from dataclasses import asdict

        from kiosk.operations.export import build_bundle, default_target, usb_targets

        app = App.get_running_app()
        config = app.services.config
        rows = [asdict(row) for row in device_rows(app.services.devices, self.errors)]
        extra = {"network.json": self._network.to_dict()} if self._network else {}
        on_stick = bool(usb_targets())
        target = default_target(config)
        self.exporting = True
        self.export_text = tr._("Writing the diagnostic bundle...")

        def run() -> None:
            try:
                result = build_bundle(config, target, devices=rows, extra=extra)
            except Exception as error:  # a stick pulled out, a full disk: say so
                result = error
            Clock.schedule_once(lambda _dt: self._exported(result, on_stick))

        threading.Thread(target=run, name="export", daemon=True).start()

    def _exported(self, result, on_stick: bool) -> None:
        self.exporting = False
        if isinstance(result, BaseException):
            self.export_text = tr._("The bundle could not be written: {error}").format(
                error=type(result).__name__)
            self.audit("export", f"failed: {type(result).__name__}")
            return
        # folder and file on lines of their own: a path is one long word
        self.export_text = (tr._("Written to the USB stick: {path}") if on_stick else
                            tr._("No USB stick found. Written to: {path}")).format(
            path=f"\n{result.parent}/\n{result.name}")
        self.audit("export", "to usb stick" if on_stick else "to data folder")

    # -- recent log lines ----------------------------------------------------------------
    def show_logs(self, level: str) -> None:
        """The last 50 log records at ``level`` (errors, warnings, all), newest last."""
        from datetime import datetime

        from kiosk.operations.logs import log_path

        self.log_level = level
        box = self.ids.diag_logs
        box.clear_widgets()
        records = recent_lines(log_path(App.get_running_app().services.config), 50, level)
        if not records:
            box.add_widget(LogRow(text=tr._("No log lines at this level.")))
        for record in records:
            try:
                when = datetime.fromisoformat(record.time.replace("Z", "+00:00")) \
                    .astimezone().strftime("%m-%d %H:%M:%S")
            except ValueError:
                when = record.time[:19]
            box.add_widget(LogRow(
                text=f"{when}  {record.level:<8} {record.logger}: {record.message[:300]}",
                problem=record.level in ("ERROR", "CRITICAL")))


class OutboxRow(BoxLayout):
    """One application: its number and what to know, and Retry or Reprint (kv rule)."""

    text = StringProperty("")
    action = StringProperty("")
    problem = BooleanProperty(False)


class LogRow(Label):
    """One log record on the screen (kv rule in diagnostics.kv)."""

    problem = BooleanProperty(False)


Builder.load_file(os.path.join(os.path.dirname(__file__), "diagnostics.kv"))
