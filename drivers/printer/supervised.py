"""The receipt printer under a :class:`~drivers.supervisor.DeviceSupervisor`.

The supervisor publishes a status event only when the *state* changes, and without a message
or action; paper running low keeps the printer ONLINE, so on its own it would go unnoticed.
The driver therefore shares the supervisor's channel: it adds the error events (cover open:
CLEAR, with a message for the technician) and the ``supply_threshold`` events (paper low, out,
refilled), and leaves state changes to the supervisor so none is published twice.
"""

from __future__ import annotations

from pathlib import Path

from drivers.model import DeviceStatus, EventChannel
from drivers.printer.driver import PrinterDriver
from drivers.printer.layout import Codec
from drivers.supervisor import DeviceSupervisor


def supervise_printer(url: str, channel: EventChannel | None = None, *,
                      codec: Codec = "gb18030", font: tuple[Path, int] | None = None,
                      **kwargs: float) -> DeviceSupervisor[PrinterDriver]:
    """A supervisor that keeps the serial printer at ``url`` open; probes with DLE EOT."""
    channel = channel if channel is not None else EventChannel()

    def open_driver() -> PrinterDriver:
        return PrinterDriver.open_serial(url, channel=channel, codec=codec, font=font,
                                         status_events=False)

    def probe(driver: PrinterDriver) -> DeviceStatus:
        return driver.status().status

    return DeviceSupervisor("printer", open_driver, probe, PrinterDriver.close, channel,
                            **kwargs)
