"""Unplug and replug over real ptys: the device is online again within 3 s, no restart.

The driver opens a stable path (a symlink, as udev's /dev/serial/by-id names are); the
"replug" is a new emulator whose pty the link then points to.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from drivers.idcard.emulator import SamEmulator
from drivers.idcard.supervised import supervise_reader
from drivers.model import DeviceState
from drivers.printer.emulator import PrinterEmulator
from drivers.printer.supervised import supervise_printer
from drivers.supervisor import DeviceUnavailable


def wait_for(condition, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("not reached in time")


def plug(link: Path, emulator) -> None:
    path = emulator.start_pty()
    temporary = link.with_suffix(".new")
    os.symlink(path, temporary)
    os.replace(temporary, link)


@pytest.mark.parametrize("kind", ["idcard", "printer"])
def test_replugged_device_is_online_again_within_3_s(tmp_path: Path, kind: str):
    link = tmp_path / f"{kind}-by-id"
    make = (lambda: SamEmulator()) if kind == "idcard" else (lambda: PrinterEmulator())
    supervise = supervise_reader if kind == "idcard" else supervise_printer
    first = make()
    plug(link, first)
    supervisor = supervise(str(link), interval=0.1, backoff=(0.05, 0.5))
    supervisor.start()
    try:
        wait_for(lambda: supervisor.status.state is DeviceState.ONLINE, 3)
        with supervisor.use():
            pass
        first.stop()  # unplugged
        wait_for(lambda: supervisor.status.state is not DeviceState.ONLINE, 3)
        with pytest.raises(DeviceUnavailable), supervisor.use():
            pass
        second = make()
        plug(link, second)
        took = wait_for(lambda: supervisor.status.state is DeviceState.ONLINE, 3)
        assert took < 3
        second.stop()
    finally:
        supervisor.stop()
    states = [event.status.state for event in supervisor.channel.drain()]
    lost = next(i for i, state in enumerate(states) if state is not DeviceState.ONLINE)
    assert states[0] is DeviceState.ONLINE and DeviceState.ONLINE in states[lost:]
