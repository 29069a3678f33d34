"""file:// targets: only an existing file or device node is written; a missing one is no device."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.device_url import parse_device_url
from drivers.model import DeviceState
from drivers.printer.connect import open_printer
from drivers.printer.driver import PrinterDriver, PrinterNotReady
from drivers.printer.layout import Receipt, TextLine

RECEIPT = Receipt((TextLine("办理回执"),))


def test_missing_device_node_is_refused_and_nothing_is_created():
    path = Path("/dev/kiosk-test-missing-lp0")
    with pytest.raises(FileNotFoundError, match="device node does not exist"):
        open_printer(parse_device_url(f"file://{path}"))
    assert not path.exists()


def test_missing_folder_is_refused(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        PrinterDriver.open_file(tmp_path / "no-such-dir" / "lp0")
    assert not (tmp_path / "no-such-dir").exists()


def test_an_existing_device_node_is_written():
    with PrinterDriver.open_file("/dev/null") as driver:
        assert driver.print_receipt(RECEIPT).ready


def test_a_file_target_that_vanishes_is_no_device(tmp_path: Path):
    node = tmp_path / "lp0"
    node.touch()
    with PrinterDriver.open_file(node) as driver:
        assert driver.status().ready
        node.unlink()  # the printer was unplugged: its node went away
        with pytest.raises(PrinterNotReady) as caught:
            driver.print_receipt(RECEIPT)
    assert caught.value.status.state is DeviceState.NO_DEVICE
