"""Metrics scrape: one GET of the kiosk's Prometheus page with a realistic outbox.

The page is served by prometheus_client's own server on 127.0.0.1 and read the way a
Prometheus agent on the kiosk reads it (HTTP, text format). Each scrape reads the live state:
a read-only SQLite connection opened per scrape counts 10,000 applications by state and finds
the oldest unsent one, the device hub reports the emulated reader, printer and camera, and
the tally holds every screen's latency histogram. States are spread as on a busy kiosk after
weeks: most acknowledged, some waiting, a few quarantined.

Run: ``python -m bench.bench_metrics``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, percentile

RECORDS = 10_000
SCRAPES = 300
KIOSK_ID = "511602-BENCH-01"
SCREENS = ("attract", "home", "catalogue", "search", "ask", "bundle", "policies", "progress",
           "appointment", "ticket", "evaluate", "guide", "identify", "form", "materials",
           "capture", "review", "delivery", "done")


def fill_outbox(folder: Path) -> Path:
    """RECORDS sealed applications of invented citizens, then spread over the states."""
    from kiosk.applying.applications import ApplicationService, OutboxStorage
    from kiosk.config import load_config
    from tests.kiosk_files import application_document, write_config

    config = load_config(write_config(folder, kiosk_id=KIOSK_ID), environ={})
    storage = OutboxStorage(config, durable=False)
    service = ApplicationService(storage)
    from kiosk.applying.applications import parse_application_document

    for index in range(RECORDS):
        service.submit(parse_application_document(application_document(index), folder))
    # as weeks of use leave it: 90 % acknowledged or synced, the rest waiting or quarantined
    spread = (("status_synced", 0, 40), ("acknowledged", 40, 90), ("retry_later", 90, 94),
              ("quarantined", 94, 95))
    with storage.conn:
        for state, low, high in spread:
            storage.conn.execute(
                "UPDATE applications SET state = ? WHERE rowid % 100 >= ? AND rowid % 100 < ?",
                (state, low, high))
    storage.close()
    return config.storage.database


def run() -> list[BenchResult]:
    """Scrape SCRAPES times; p50 and p95 of the whole HTTP round trip."""
    import requests

    from kiosk.devices.hub import DeviceHub
    from kiosk.operations.metrics import Exporter, Sources, Tally
    from tests.test_device_hub import devices

    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as name:
        folder = Path(name)
        started = time.perf_counter()
        database = fill_outbox(folder)
        fill_s = time.perf_counter() - started
        tally = Tally()
        for index, screen in enumerate(SCREENS * 50):
            tally.screen_shown(screen, 0.01 * (index % 90))
        hub = DeviceHub(devices(), probe_interval=0.5)
        hub.start()
        exporter = Exporter(Sources(KIOSK_ID, database, hub, online=lambda: True,
                                    clock_skew=lambda: 0.4), 0, tally=tally)
        exporter.start()
        session = requests.Session()
        try:
            deadline = time.monotonic() + 10
            while hub.states()["printer"] != "online" and time.monotonic() < deadline:
                time.sleep(0.05)
            page = session.get(exporter.url, timeout=5).text  # warm: first import, first page
            seconds = []
            for _ in range(SCRAPES):
                begun = time.perf_counter()
                response = session.get(exporter.url, timeout=5)
                response.raise_for_status()
                seconds.append(time.perf_counter() - begun)
        finally:
            session.close()
            exporter.stop()
            hub.stop()
    ms = [s * 1000 for s in seconds]
    detail = (f"{SCRAPES} scrapes over HTTP, {RECORDS:,} applications in the outbox "
              f"(filled in {fill_s:.0f} s), 3 emulated devices, {len(SCREENS)} screen "
              f"histograms; page {len(page.encode()) / 1024:.1f} KiB")
    return [
        BenchResult("metrics scrape p50", percentile(ms, 50), "ms", detail=detail),
        BenchResult("metrics scrape p95", percentile(ms, 95), "ms", goal=50, detail=detail),
    ]


if __name__ == "__main__":
    for result in run():
        print(f"{result.name}: {result.value:.2f} {result.unit} ({result.detail})")
