"""The receipt printer under a :class:`~drivers.supervisor.DeviceSupervisor`."""

from __future__ import annotations

from drivers.model import DeviceStatus, EventChannel
from drivers.printer.driver import PrinterDriver
from drivers.supervisor import DeviceSupervisor


def supervise_printer(url: str, channel: EventChannel | None = None,
                      **kwargs: float) -> DeviceSupervisor[PrinterDriver]:
    """A supervisor that keeps the serial printer at ``url`` open; probes with DLE EOT."""

    def probe(driver: PrinterDriver) -> DeviceStatus:
        return driver.status().status

    return DeviceSupervisor("printer", lambda: PrinterDriver.open_serial(url), probe,
                            PrinterDriver.close, channel, **kwargs)
