"""The ID card reader under a :class:`~drivers.supervisor.DeviceSupervisor`.

The reader keeps the reference's reply deadlines (its defaults): shorter ones make a slow but
healthy reader look dead and its late replies confuse the next command. The probe is the SAM
status, plus find while a refused card waits to be taken away, since only find sees cards.
"""

from __future__ import annotations

from drivers.idcard.reader import IdCardReader, ReaderError, ReaderUnavailable
from drivers.model import DeviceEvent, DeviceStatus, EventChannel
from drivers.supervisor import DeviceSupervisor, OpenFailed


def supervise_reader(path: str, channel: EventChannel | None = None, *, baudrate: int = 115200,
                     **kwargs: float) -> DeviceSupervisor[IdCardReader]:
    """A supervisor that keeps the reader at ``path`` open; probes with the SAM status.

    ``path`` is a device path or pyserial URL (``socket://HOST:PORT`` for a serial server).

    An open that reaches the reader and fails says why (SAM self-test failure: hardware
    error, maintenance; no answer: offline) instead of "no device". The card being lifted
    after a refusal is published as ``media_removed`` on the supervisor's channel.
    """

    def open_reader() -> IdCardReader:
        reader = IdCardReader(path, baudrate=baudrate)
        try:
            reader.open()
        except ReaderUnavailable:
            raise
        except ReaderError as error:
            raise OpenFailed(str(error), error.status, error.action) from error
        return reader

    def probe(reader: IdCardReader) -> DeviceStatus:
        waiting = reader.awaiting_removal
        try:
            status = reader.check_status()
        except ReaderError as error:
            return error.status
        if waiting and not reader.awaiting_removal:
            supervisor.channel.publish(
                DeviceEvent(supervisor.name, "media_removed", status, "card removed"))
        return status

    supervisor = DeviceSupervisor("idcard", open_reader, probe, IdCardReader.close, channel,
                                  **kwargs)
    return supervisor
