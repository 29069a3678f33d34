"""Open a receipt printer from the kiosk's device URL.

``serial:///dev/ttyS0?baudrate=9600``, ``usb://0x0416:0x5011`` and
``tcp://HOST:9100`` (a network printer, through
pyserial's ``socket://`` handler) can answer status requests; ``file:///dev/usb/lp0`` is
write-only. ``emulator://printer`` starts the ESC/POS emulator on a pty in this process;
its query parameters set the sensors: ``paper=ok|low|out``, ``cover=open``, ``silent=1``.
Every form takes ``codec=gb18030|gbk``, the printer's text code set (the emulator then has a
font ROM of that code set); lines it cannot encode are printed as images.
"""

from __future__ import annotations

from collections.abc import Callable

from drivers.device_url import DeviceURL, DeviceURLError
from drivers.model import EventChannel
from drivers.printer.driver import PrinterDriver
from drivers.printer.emulator import PrinterEmulator, PrinterState
from drivers.printer.layout import CODECS, Codec

PAPER = {"ok": {}, "low": {"paper_near_end": True}, "out": {"paper_out": True}}


def emulator_state(url: DeviceURL) -> PrinterState:
    """The sensor state an ``emulator://printer?...`` URL asks for."""
    paper = url.params.get("paper", "ok")
    if paper not in PAPER:
        raise DeviceURLError(str(url), f"paper must be one of {', '.join(PAPER)}")
    return PrinterState(
        **PAPER[paper],
        cover_open=url.params.get("cover") == "open",
        silent=url.params.get("silent") == "1",
    )


def url_codec(url: DeviceURL) -> Codec:
    """The ``codec`` parameter (default gb18030); DeviceURLError names the allowed ones."""
    codec = url.params.get("codec", "gb18030")
    if codec not in CODECS:
        raise DeviceURLError(str(url), f"codec must be one of {', '.join(CODECS)}")
    return codec  # type: ignore[return-value]


def open_printer(
    url: DeviceURL, channel: EventChannel | None = None
) -> tuple[PrinterDriver, Callable[[], None], PrinterEmulator | None]:
    """A driver for ``url``, the function that releases it, and the emulator if one runs."""
    codec = url_codec(url)
    if url.scheme == "emulator":
        emulator = PrinterEmulator(emulator_state(url), codec=codec)
        driver = PrinterDriver.open_serial(emulator.start_pty(), channel=channel, codec=codec)

        def cleanup() -> None:
            driver.close()
            emulator.stop()

        return driver, cleanup, emulator
    if url.scheme == "serial":
        baudrate = int(url.params.get("baudrate", "9600"))
        driver = PrinterDriver.open_serial(url.target, baudrate=baudrate, channel=channel,
                                           codec=codec)
    elif url.scheme == "tcp":
        driver = PrinterDriver.open_serial(f"socket://{url.target}", channel=channel,
                                           codec=codec)
    elif url.scheme == "usb":
        from drivers.printer.usb_port import UsbPort

        vendor, product = (int(part, 16) for part in url.target.split(":"))
        driver = PrinterDriver(UsbPort(vendor, product), channel=channel,  # type: ignore[arg-type]
                               codec=codec)
    elif url.scheme == "file":
        driver = PrinterDriver.open_file(url.target, channel=channel, codec=codec)
    else:
        raise DeviceURLError(str(url),
                             "a printer is driven over serial, usb, tcp, file or emulator")
    return driver, driver.close, None
