"""Device figures: ID card read over the pty emulator at 115200 baud; receipt rendering.

A pty moves bytes at memory speed, so the emulator paces its replies like a 115200-baud
UART (10 bits a byte); the serial floor of the 1,295-byte read reply is then about 0.11 s,
and everything above it is our driver's cost.
"""

from __future__ import annotations

import statistics
import time

from bench.common import BenchResult, percentile
from drivers.device_url import parse_device_url

READS = 20
REPLY_BYTES = 1295


def card_reads() -> list[BenchResult]:
    """find + select + read to a parsed Identity, READS times (card re-presented each time)."""
    from drivers.idcard.connect import start_emulator
    from drivers.idcard.reader import IdCardReader

    emulator = start_emulator(parse_device_url("emulator://idcard?baudrate=115200"))
    path = emulator.start_pty()
    reader = IdCardReader(path)
    reader.open()
    seconds = []
    try:
        for _ in range(READS):
            emulator.remove()
            reader.read_card()  # the reader sees the card gone
            emulator.present("resident")
            started = time.perf_counter()
            identity = reader.read_card()
            seconds.append(time.perf_counter() - started)
            assert identity is not None
    finally:
        reader.close()
        emulator.stop()
    floor = REPLY_BYTES * 10 / 115200
    return [BenchResult(
        f"ID card: find + select + read to a parsed identity, p95 of {READS}",
        percentile(seconds, 95), "s", goal=0.3,
        detail=f"median {statistics.median(seconds):.3f} s; serial floor of the read reply "
        f"{floor:.3f} s",
    )]


def receipt_rendering() -> list[BenchResult]:
    """A typical receipt (title, rows, Chinese lines, QR, cut) to ESC/POS bytes."""
    from drivers.printer.render import render
    from drivers.printer.testslip import printer_test_slip

    receipt = printer_test_slip("511602-HALL-01")
    render(receipt)  # python-escpos loads its printer profiles on first use
    milliseconds = []
    for _ in range(1000):
        started = time.perf_counter()
        render(receipt)
        milliseconds.append((time.perf_counter() - started) * 1000)
    median = statistics.median(milliseconds)
    return [BenchResult("receipt rendered to ESC/POS bytes, p95 of 1,000",
                        percentile(milliseconds, 95), "ms", goal=10,
                        detail=f"median {median:.3f} ms")]


def run() -> list[BenchResult]:
    """All device figures."""
    return card_reads() + receipt_rendering()


if __name__ == "__main__":
    for result in run():
        print(f"{result.name}: {result.value:.3f} {result.unit} {result.detail}")
