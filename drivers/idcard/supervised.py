"""The ID card reader under a :class:`~drivers.supervisor.DeviceSupervisor`."""

from __future__ import annotations

from drivers.idcard.reader import IdCardReader, ReaderError
from drivers.model import DeviceStatus, EventChannel
from drivers.supervisor import DeviceSupervisor


def supervise_reader(path: str, channel: EventChannel | None = None,
                     **kwargs: float) -> DeviceSupervisor[IdCardReader]:
    """A supervisor that keeps the reader at ``path`` open; probes with the SAM status."""

    def open_reader() -> IdCardReader:
        reader = IdCardReader(path, command_timeout=0.3, read_timeout=1.0)
        reader.open()
        return reader

    def probe(reader: IdCardReader) -> DeviceStatus:
        try:
            return reader.check_status()
        except ReaderError as error:
            return error.status

    return DeviceSupervisor("idcard", open_reader, probe, IdCardReader.close, channel,
                            **kwargs)
