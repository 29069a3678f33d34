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


TECHNICIAN_STATES: dict[str, Callable[[object], None]] = {
    "technician-pin": lambda app: _pin(app, Entry("ready", tries_left=3), typed=4),
    "technician-pin-wrong": lambda app: _pin(app, Entry("wrong", tries_left=2)),
    "technician-pin-locked": lambda app: _pin(app, Entry("locked", tries_left=0,
                                                         locked_for=287)),
    "technician-pin-none": lambda app: _pin(app, Entry("no_pin")),
    "diagnostics": _diagnostics,
    "diagnostics-problems": _problems,
}
"""State name -> how to reach it from the attract screen."""
