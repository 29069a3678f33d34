"""``samemu://CARD`` pyserial URLs: the reader emulator in this process, no pty, no thread.

pyserial looks up ``protocol_<scheme>`` modules in the packages listed in
``serial.protocol_handler_packages``; :mod:`drivers.idcard` adds itself there, so
``serial.serial_for_url("samemu://rare_name")`` gives a port whose writes go straight into
a :class:`~drivers.idcard.emulator.SamEmulator` and whose reads return its replies. Fast
and deterministic, for unit tests of the reader and for demos; the pty route tests the real
serial stack. The URL's host is a sample card key (``none`` for an empty reader).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import serial
from serial.serialutil import PortNotOpenError, SerialBase

from drivers.idcard.emulator import SAMPLE_CARDS, SamEmulator


class Serial(SerialBase):
    """A pyserial port backed by an in-process SAM emulator."""

    emulator: SamEmulator | None = None

    def open(self) -> None:
        if self._port is None:
            raise serial.SerialException("samemu:// needs a card, e.g. samemu://resident")
        card = urlsplit(self._port).netloc or "resident"
        if card != "none" and card not in SAMPLE_CARDS:
            raise serial.SerialException(
                f"samemu://{card}: unknown card; use one of {', '.join(SAMPLE_CARDS)} or none")
        self.emulator = SamEmulator()
        if card != "none":
            self.emulator.present(card)
        self._pending = bytearray()
        self.is_open = True

    def close(self) -> None:
        self.is_open = False
        self.emulator = None

    def _reconfigure_port(self, force_update: bool = False) -> None:
        """Nothing to configure: there is no line."""

    def _check(self) -> SamEmulator:
        if not self.is_open or self.emulator is None:
            raise PortNotOpenError()
        return self.emulator

    @property
    def in_waiting(self) -> int:
        self._check()
        return len(self._pending)

    def write(self, data: bytes) -> int:
        self._pending += self._check().respond(bytes(data))
        return len(data)

    def read(self, size: int = 1) -> bytes:
        self._check()
        chunk = bytes(self._pending[:size])
        del self._pending[:size]
        return chunk

    def reset_input_buffer(self) -> None:
        self._check()
        self._pending.clear()

    def reset_output_buffer(self) -> None:
        self._check()
