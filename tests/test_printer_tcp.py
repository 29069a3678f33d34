"""A network printer (tcp://) over a real loopback socket to the emulator."""

from __future__ import annotations

import time

import pytest

from drivers.device_url import parse_device_url
from drivers.printer.connect import open_printer
from drivers.printer.driver import PrinterNotReady
from drivers.printer.emulator import PrinterEmulator, PrinterState
from drivers.printer.tcp_emulator import TcpPrinterEmulator
from drivers.printer.testslip import TEST_QR, printer_test_slip


def test_print_over_tcp_and_read_status():
    emulator = PrinterEmulator()
    server = TcpPrinterEmulator(emulator)
    try:
        driver, cleanup, _ = open_printer(parse_device_url(server.url))
        try:
            assert driver.status().reason == "ok"
            driver.print_receipt(printer_test_slip("511602-HALL-01"))
        finally:
            cleanup()
        deadline = time.monotonic() + 3
        while TEST_QR not in emulator.qr_payloads() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert emulator.qr_payloads() == [TEST_QR]
        assert "中文：居住证办理、户口迁移。" in emulator.lines()
    finally:
        server.close()


def test_paper_out_over_tcp_is_refused():
    server = TcpPrinterEmulator(PrinterEmulator(PrinterState(paper_out=True)))
    try:
        driver, cleanup, _ = open_printer(parse_device_url(server.url))
        try:
            with pytest.raises(PrinterNotReady) as refused:
                driver.print_receipt(printer_test_slip("x"))
            assert refused.value.reason == "paper_out"
        finally:
            cleanup()
    finally:
        server.close()
