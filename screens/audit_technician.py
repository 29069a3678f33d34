"""Accessibility audit states of the technician's PIN and diagnostics screens (added to
:data:`screens.audit.STATES`).

The screens are reached as a technician reaches them (the attract screen's hidden entry,
then the diagnostics for technician "demo"), but what they say is set here rather than
made by typing PINs or breaking devices: a state must neither lock the keypad of the kiosk
it runs on (``kiosk screenshot --config etc/demo.ini``) nor leave an emulated printer
without paper for the states after it. The diagnostics' once-a-second refresh is stopped in
the "problems" state so that the cards keep the faults written on them.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.operations.device_checks import DeviceRow
from kiosk.operations.technician import Entry


def _pin(app, entry: Entry | None = None, typed: int = 0) -> object:
    app.screen("attract").open_technician_pin()
    screen = app.screen("technician_pin")
    if entry is not None:
        screen._show(entry)
    for _ in range(typed):
        screen.on_key("1", "1")
    return screen


def _diagnostics(app) -> object:
    from screens.diagnostics import open_diagnostics

    open_diagnostics(app, "demo")
    return app.screen("diagnostics")


def _problems(app) -> None:
    from screens.i18n import tr

    screen = _diagnostics(app)
    for poll in screen._polls:  # the cards keep the faults written on them below
        poll.cancel()
    app.services.devices.remove_listener(screen._on_device_event)
    rows = (
        DeviceRow("idcard", "noDevice", False, None,
                  "[Errno 2] could not open port /dev/ttyUSB0: No such file or directory",
                  "reconnect"),
        DeviceRow("printer", "online", False, "out", "", "load_paper"),
        DeviceRow("camera", "hardwareError", False, None, "no frames for 5 s", "maintenance"),
    )
    for row in rows:
        screen.cards[row.device].show(row)
    screen.card_result = tr._("Card read: {number}").format(number="511***********1234")
    screen.print_result = tr._("The test slip was not printed: {problem}").format(
        problem=tr._("the paper is out"))
    screen.sync_result = tr._("A sync pass was started at {time}.").format(time="09:41:07")


def _panels(app) -> None:
    """The panels below the devices with something to say in each: paper low by the count,
    a certificate problem and a skewed clock, out of service by a technician, a bundle
    written, error lines of the log; scrolled to the bottom."""
    from kiosk.operations.network_check import NetworkReport
    from kiosk.operations.service_state import OutOfService
    from screens.diagnostics import LogRow
    from screens.i18n import tr

    screen = _diagnostics(app)
    for poll in screen._polls:
        poll.cancel()
    screen.show_network_report(NetworkReport(
        "https://platform.example.gov.cn/api/v1", 0, 3, (), 412.0, "certificate",
        "certificate not trusted: set [platform] ca_file to the platform's CA certificate "
        "(PEM)"))
    screen.paper_low = True
    screen.paper_text = "\n".join([
        tr._("Slips printed since the last refill: {count} of about {roll}").format(
            count=212, roll=250),
        tr._("Paper low: about {left} slips left on this roll. Bring a new roll.").format(
            left=38)])
    screen.show_service(OutOfService(manual=True, manual_by="demo"))
    screen.export_text = tr._("Written to the USB stick: {path}").format(
        path="\n/media/demo/KIOSK/\n511602-DEMO-01-20261127-094107.zip")
    box = screen.ids.diag_logs
    box.clear_widgets()
    for line in ("11-27 09:40:58  ERROR    kiosk.platform.sync: send failed: certificate "
                 "verify failed", "11-27 09:41:03  WARNING  kiosk.operations.service_state:"
                 " out of service switched on by a technician"):
        box.add_widget(LogRow(text=line, problem="ERROR" in line))
    screen.ids.diag_scroll.scroll_y = 0


def _outbox(app) -> None:
    """The outbox panel with a quarantined application (Retry) and the latest ones
    (Reprint), scrolled to it; the numbers are made for the audit, no citizen's."""
    from datetime import date

    from kivy.clock import Clock
    from kivy.metrics import dp

    from kiosk.applying.receipt_numbers import make_receipt_number
    from screens.diagnostics import outbox_state_words
    from screens.i18n import tr

    screen = _diagnostics(app)
    for poll in screen._polls:
        poll.cancel()
    numbers = [make_receipt_number("511602-DEMO-01", date(2026, 11, 27), sequence)
               for sequence in (7, 8, 9)]
    quarantined = [{"receipt_no": numbers[0], "attempts": 5,
                    "reason": "platform 422: materials missing"}]
    recent = [{"receipt_no": number, "state": state, "created_at": 1795806000 + 600 * i}
              for i, (number, state) in enumerate(zip(numbers, ("quarantined", "sealed",
                                                                "status_synced"),
                                                      strict=True))]
    screen._show_outbox_rows(quarantined, recent)
    screen.outbox_result = tr._("{receipt}: will be sent again now.").format(
        receipt=numbers[1])
    screen.outbox_text = "\n".join((
        tr._("Applications per state: {counts}").format(counts=" · ".join(
            f"{outbox_state_words(state)} {count}" for state, count in (
                ("sealed", 1), ("status_synced", 1), ("quarantined", 1)))),
        tr._("Not yet sent: {count}").format(count=1),
        tr._("Quarantined: {count}").format(count=1)))
    # once the new rows are laid out: down to the latest applications
    Clock.schedule_once(lambda _dt: screen.ids.diag_scroll.scroll_to(
        screen.ids.diag_recent, padding=dp(24), animate=False), 0.1)


def _out_of_service(app, halls: bool = False) -> None:
    """The citizens' out-of-service screen, shown directly: the app's switch stays off, so
    the states after this one start from the attract screen as usual."""
    screen = app.screen("out_of_service")
    app.show("out_of_service", remember=False)
    if halls:
        from screens.i18n import tr

        screen.elsewhere = tr._("You can also go to:") + "\n" + "\n".join((
            "• 广安区政务服务中心，广安区金安大道二段，周一至周五 9:00-17:00",
            "• 广安区政务服务中心（24小时自助区），广安区金安大道二段"))


TECHNICIAN_STATES: dict[str, Callable[[object], None]] = {
    "technician-pin": lambda app: _pin(app, Entry("ready", tries_left=3), typed=4),
    "technician-pin-wrong": lambda app: _pin(app, Entry("wrong", tries_left=2)),
    "technician-pin-locked": lambda app: _pin(app, Entry("locked", tries_left=0,
                                                         locked_for=287)),
    "technician-pin-none": lambda app: _pin(app, Entry("no_pin")),
    "diagnostics": _diagnostics,
    "diagnostics-problems": _problems,
    "diagnostics-panels": _panels,
    "diagnostics-outbox": _outbox,
    "out-of-service": _out_of_service,
    "out-of-service-halls": lambda app: _out_of_service(app, halls=True),
}
"""State name -> how to reach it from the attract screen."""
