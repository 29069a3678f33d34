"""ID card reads under the reference's slowest allowed reader (hardware-protocols.md §1.3).

The emulator on a pty thinks as long as the reference lets a reader think: 0.5 s for find
and for select, 2 s for the text-and-photo read (``30 01``), 3 s for the read with
fingerprints (``30 10``), and sends at 115200 baud. The read goes through the supervised
reader, as in the kiosk, with its probe running. Every read must give the card's identity,
sent once each: a deadline shorter than the reference would time out, resend or go offline.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

from bench.common import BenchResult

READS = 5
SLOWEST = {"find": 0.5, "select": 0.5, "read": 2.0, "fingerprint read": 3.0}
BAUD = 115200


def _timed_reads(fingerprint: bool, reads: int) -> list[float]:
    """``reads`` full reads (card placed anew each time); seconds from find to identity."""
    from drivers.idcard.codec import Command
    from drivers.idcard.emulator import SAMPLE_CARDS, SamEmulator
    from drivers.idcard.supervised import supervise_reader
    from drivers.model import DeviceState

    card = replace(SAMPLE_CARDS["rare_name"], fingerprint=bytes(range(256)) * 4)
    read = Command.READ_BASE_FP if fingerprint else Command.READ_BASE
    emulator = SamEmulator(baudrate=BAUD, delays={
        Command.FIND_CARD: SLOWEST["find"], Command.SELECT_CARD: SLOWEST["select"],
        read: SLOWEST["fingerprint read" if fingerprint else "read"]})
    supervisor = supervise_reader(emulator.start_pty())
    supervisor.start()
    seconds: list[float] = []
    try:
        deadline = time.monotonic() + 10
        while supervisor.status.state is not DeviceState.ONLINE:
            if time.monotonic() > deadline:
                raise RuntimeError(f"reader not online: {supervisor.status}")
            time.sleep(0.02)
        for _ in range(reads):
            emulator.remove()
            emulator.present(card)
            sent_before = sum(1 for r in emulator.requests if (r.cmd, r.para) == read.value)
            with supervisor.use() as reader:
                started = time.perf_counter()
                identity = reader.read_card(fingerprint=fingerprint)
                seconds.append(time.perf_counter() - started)
            sent = sum(1 for r in emulator.requests if (r.cmd, r.para) == read.value)
            if identity != card.identity or sent != sent_before + 1:
                raise AssertionError(f"wrong read: {identity!r}, {sent - sent_before} requests")
            if fingerprint and identity.fingerprint != card.fingerprint:
                raise AssertionError("fingerprint templates differ")
        if supervisor.status.state is not DeviceState.ONLINE:
            raise AssertionError(f"reader left online: {supervisor.status}")
    finally:
        supervisor.stop()
        emulator.stop()
    return seconds


def run(reads: int = READS) -> list[BenchResult]:
    """Max time of a full read with and without fingerprints at the slowest timings."""
    results = []
    for fingerprint, reply_bytes in ((False, 1295), (True, 2321)):
        seconds = _timed_reads(fingerprint, reads)
        thinking = SLOWEST["find"] + SLOWEST["select"] + SLOWEST[
            "fingerprint read" if fingerprint else "read"]
        floor = thinking + 10 * (reply_bytes + 15 + 19) / BAUD
        label = "30 10 (fingerprints)" if fingerprint else "30 01"
        results.append(BenchResult(
            f"ID card: supervised read {label} at the slowest reference timings, max of {reads}",
            max(seconds), "s", goal=floor + 0.5,
            detail=f"median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s; "
            f"reader's own time {floor:.3f} s; right identity every time",
        ))
    return results


if __name__ == "__main__":
    for result in run():
        print(f"{result.name}: {result.value:.3f} {result.unit} {result.detail}")
