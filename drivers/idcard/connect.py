"""Open an ID card reader from the kiosk's device URL.

``serial:///dev/ttyUSB0?baudrate=115200`` opens the real reader; ``emulator://idcard`` starts
the emulator on a new pty in this process and opens that, so the kiosk, the tests and a
technician use the same driver code for both. Query parameters of the emulator URL:
``card`` (a key of ``SAMPLE_CARDS``, default ``resident``; ``none`` for an empty reader)
and ``baudrate`` (pace the emulator like a real UART).
"""

from __future__ import annotations

from collections.abc import Callable

from drivers.device_url import DeviceURL, DeviceURLError
from drivers.idcard.emulator import SAMPLE_CARDS, SamEmulator
from drivers.idcard.reader import IdCardReader
from drivers.model import EventChannel


def start_emulator(url: DeviceURL) -> SamEmulator:
    """An emulator configured by the ``emulator://idcard?...`` URL, not yet on a pty."""
    card_key = url.params.get("card", "resident")
    if card_key != "none" and card_key not in SAMPLE_CARDS:
        raise DeviceURLError(str(url), f"unknown card {card_key!r}; use one of "
                             f"{', '.join(SAMPLE_CARDS)} or none")
    baudrate = int(url.params["baudrate"]) if "baudrate" in url.params else None
    emulator = SamEmulator(baudrate=baudrate)
    if card_key != "none":
        emulator.present(card_key)
    return emulator


def open_reader(
    url: DeviceURL, channel: EventChannel | None = None
) -> tuple[IdCardReader, Callable[[], None]]:
    """A reader for ``url`` and the function that releases everything it started."""
    if url.scheme == "emulator":
        emulator = start_emulator(url)
        path = emulator.start_pty()
        reader = IdCardReader(path, channel)

        def cleanup() -> None:
            reader.close()
            emulator.stop()

        return reader, cleanup
    if url.scheme == "serial":
        baudrate = int(url.params.get("baudrate", "115200"))
        reader = IdCardReader(url.target, channel, baudrate=baudrate)
        return reader, reader.close
    raise DeviceURLError(str(url), "the ID card reader is driven over serial:// or emulator://")
