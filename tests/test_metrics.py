"""The Prometheus exporter with real parts: a SQLite outbox in tmp_path with records in
several states, the emulated devices under the device hub, the reference platform for the
sync errors. Each test scrapes the page over HTTP and reads it with Prometheus' own parser.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from drivers.idcard.emulator import SAMPLE_CARDS
from drivers.printer.layout import Cut, KeyValue, Receipt, TextLine, Title
from kiosk.applying.applications import (
    ApplicationService,
    OutboxStorage,
    parse_application_document,
)
from kiosk.config import KioskConfig
from kiosk.devices.hub import DeviceHub
from kiosk.operations import metrics
from kiosk.operations.metrics import Exporter, Sources, Tally
from kiosk.platform.client import Failure
from tests.kiosk_files import KIOSK_ID, application_document, citizen, make_config
from tests.test_device_hub import devices
from tests.waiting import wait_until

NOW = 1_800_000_000.0  # the collector's clock: ages are exact
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(exporter: Exporter) -> tuple[str, Samples]:
    """The page's text and its samples by (name, labels), as Prometheus reads them."""
    response = requests.get(exporter.url, timeout=5)
    response.raise_for_status()
    text = response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def submit(service: ApplicationService, tmp_path: Path, index: int) -> str:
    return service.submit(parse_application_document(application_document(index), tmp_path))


@pytest.fixture()
def outbox(tmp_path: Path) -> Iterator[tuple[KioskConfig, OutboxStorage]]:
    """Seven applications: 3 sealed (one two hours old), 1 retry_later, 1 uploading,
    1 acknowledged and 1 quarantined (both very old: they must not count as unsent)."""
    config = make_config(tmp_path)
    storage = OutboxStorage(config, durable=False)
    service = ApplicationService(storage)
    outbox = storage.outbox
    ids = [outbox.find(submit(service, tmp_path, index)).local_id for index in range(7)]
    outbox.start_upload(ids[3])
    outbox.retry_later(ids[3], "platform 503", 60)
    outbox.start_upload(ids[4])
    outbox.start_upload(ids[5])
    outbox.acknowledge(ids[5], "SQ-1")
    outbox.start_upload(ids[6])
    outbox.quarantine(ids[6], "platform 422 code=unknown_item")
    ages = {ids[0]: 7200, ids[1]: 60, ids[2]: 5, ids[3]: 600, ids[4]: 30,
            ids[5]: 999_999, ids[6]: 999_999}
    for local_id, age in ages.items():
        storage.conn.execute("UPDATE applications SET created_at = ? WHERE local_id = ?",
                             (NOW - age, local_id))
    try:
        yield config, storage
    finally:
        storage.close()


@pytest.fixture()
def hub() -> Iterator[DeviceHub]:
    hub = DeviceHub(devices(), probe_interval=0.1, card_interval=0.05)
    hub.start()
    try:
        wait_until(lambda: hub.states()["idcard"] == "online"
                   and hub.states()["printer"] == "online", 10, "devices online")
        yield hub
    finally:
        hub.stop()


@pytest.fixture()
def exporter(outbox, hub: DeviceHub) -> Iterator[Exporter]:
    config, _storage = outbox
    sources = Sources(KIOSK_ID, config.storage.database, hub, online=lambda: True,
                      clock_skew=lambda: -2.5, clock=lambda: NOW)
    exporter = Exporter(sources, 0)
    exporter.start()
    try:
        yield exporter
    finally:
        exporter.stop()


def test_queue_depth_per_state_and_the_oldest_unsent_age(exporter: Exporter):
    _text, samples = scrape(exporter)
    per_state = {state: value(samples, "kiosk_outbox_applications", state=state)
                 for state in metrics.OUTBOX_STATES}
    assert per_state == {"draft": 0, "sealed": 3, "uploading": 1, "retry_later": 1,
                         "acknowledged": 1, "status_synced": 0, "quarantined": 1,
                         "purgeable": 0}
    assert value(samples, "kiosk_outbox_unsent") == 5
    # the two-hour-old sealed one; the older acknowledged and quarantined ones are not unsent
    assert value(samples, "kiosk_outbox_oldest_unsent_age_seconds") == 7200
    assert value(samples, "kiosk_outbox_readable") == 1
    assert value(samples, "kiosk_platform_online") == 1
    assert value(samples, "kiosk_platform_clock_skew_seconds") == -2.5
    from kiosk import __version__

    assert value(samples, "kiosk_build_info", version=__version__, kiosk_id=KIOSK_ID) == 1


def test_devices_online_then_paper_out_then_reader_unplugged(exporter: Exporter,
                                                              hub: DeviceHub):
    _text, samples = scrape(exporter)
    assert value(samples, "kiosk_device_up", device="idcard") == 1
    assert value(samples, "kiosk_device_state", device="printer", state="online") == 1
    assert value(samples, "kiosk_device_state", device="camera", state="standby") == 1
    assert value(samples, "kiosk_printer_paper", level="ok") == 1

    hub.emulators.set_paper("out")

    def paper_out() -> bool:
        return value(scrape(exporter)[1], "kiosk_printer_paper", level="out") == 1

    wait_until(paper_out, 10, "paper out on the metrics page")
    samples = scrape(exporter)[1]
    assert value(samples, "kiosk_printer_paper", level="ok") == 0
    assert value(samples, "kiosk_device_up", device="printer") == 0  # a citizen gets no slip

    hub.emulators.unplug("idcard")

    def reader_down() -> bool:
        return value(scrape(exporter)[1], "kiosk_device_up", device="idcard") == 0

    wait_until(reader_down, 10, "the unplugged reader down on the metrics page")
    samples = scrape(exporter)[1]
    state = hub.states()["idcard"]
    assert state != "online"
    assert value(samples, "kiosk_device_state", device="idcard", state=state) == 1
    assert sum(value(samples, "kiosk_device_state", device="idcard", state=s)
               for s in metrics.DEVICE_STATES) == 1


RECEIPT = Receipt((Title("受理回执"), KeyValue("申请人", "测试甲"), TextLine("请凭此回执领取。"),
                   Cut(partial=True)))


def test_receipts_are_counted_by_outcome_where_they_are_printed(exporter: Exporter,
                                                                hub: DeviceHub):
    before = scrape(exporter)[1]
    assert hub.print_receipt(RECEIPT).printed
    hub.emulators.set_paper("out")
    assert hub.print_receipt(RECEIPT).problem == "paper_out"
    after = scrape(exporter)[1]
    for outcome in ("printed", "paper_out"):
        assert (value(after, "kiosk_receipts_total", outcome=outcome)
                - value(before, "kiosk_receipts_total", outcome=outcome)) == 1, outcome


def test_sync_errors_are_counted_by_class_in_the_worker(tmp_path: Path):
    """A matter the platform does not know: 422, the record is quarantined, class record."""
    from kiosk.platform.sync import OUTBOX_ONLY, SyncWorker, make_client
    from tests.platform_server import PlatformServer, install_key

    key_file = tmp_path / "platform.key"
    (tmp_path / "platform").mkdir()
    with PlatformServer(tmp_path / "platform", kiosks={KIOSK_ID: key_file}) as server:
        config = make_config(tmp_path / "kiosk", url=server.base_url)
        install_key(key_file, tmp_path / "kiosk" / "platform.key")
        storage = OutboxStorage(config, durable=False)
        ApplicationService(storage).submit(parse_application_document(
            application_document(1, item_code="NO-SUCH-MATTER"), tmp_path))
        exporter = Exporter(Sources(KIOSK_ID, config.storage.database), 0,
                            process_metrics=False)
        exporter.start()
        try:
            before = scrape(exporter)[1]
            report = SyncWorker(storage, make_client(config), schedule=OUTBOX_ONLY).sync_once()
            after = scrape(exporter)[1]
        finally:
            exporter.stop()
            storage.close()
    assert report.quarantined == 1
    assert (value(after, "kiosk_sync_errors_total", **{"class": "record"})
            - value(before, "kiosk_sync_errors_total", **{"class": "record"})) == 1
    assert value(after, "kiosk_outbox_applications", state="quarantined") == 1


def test_error_classes_are_the_clients_failures_and_local():
    assert set(metrics.SYNC_ERROR_CLASSES) == {f.value for f in Failure} | {"local"}


def test_visits_and_screen_latency_histogram():
    tally = Tally()
    tally.visit_started()
    tally.visit_started()
    tally.visit_ended("finished")
    tally.visit_ended("timeout")
    for seconds in (0.04, 0.12, 0.12, 0.6, 9.0):
        tally.screen_shown("home", seconds)
    exporter = Exporter(Sources(KIOSK_ID), 0, tally=tally, process_metrics=False)
    exporter.start()
    try:
        _text, samples = scrape(exporter)
    finally:
        exporter.stop()
    assert value(samples, "kiosk_visits_started_total") == 2
    assert value(samples, "kiosk_visits_ended_total", reason="finished") == 1
    assert value(samples, "kiosk_visits_ended_total", reason="timeout") == 1
    buckets = {le: value(samples, "kiosk_screen_latency_seconds_bucket", screen="home", le=le)
               for le in ("0.05", "0.1", "0.2", "0.75", "5.0", "+Inf")}
    assert buckets == {"0.05": 1, "0.1": 1, "0.2": 3, "0.75": 4, "5.0": 4, "+Inf": 5}
    assert value(samples, "kiosk_screen_latency_seconds_count", screen="home") == 5
    assert value(samples, "kiosk_screen_latency_seconds_sum", screen="home") == \
        pytest.approx(9.88)


def personal_data() -> list[str]:
    """The test citizens' names, ID numbers, phones and addresses (cards and forms)."""
    found = []
    for card in SAMPLE_CARDS.values():
        identity = card.identity
        found += [identity.name, identity.id_number, identity.address]
    for index in range(7):
        person = citizen(index)
        found += [person["name"], person["id_number"], person["phone"], person["address"]]
    return [text for text in found if text]


def test_no_label_carries_the_test_citizens_data(exporter: Exporter, hub: DeviceHub):
    """Outbox rows of real citizens, a card read, a receipt with a name, and callers that
    pass personal data where a word belongs: none of it reaches the page."""
    assert "110101199003078013" in personal_data()
    hub.emulators.card_on("resident")
    read = []
    hub.watch_cards(lambda event: read.append(event) if event.kind == "read" else None)
    wait_until(lambda: read, 10, "the resident's card read")
    hub.stop_watching_cards()
    hub.print_receipt(RECEIPT)
    metrics.count_sync_error("110101199003078013")
    metrics.count_receipt("测试甲")
    metrics.screen_shown("identify 110101199003078013", 0.1)
    metrics.screen_shown("测试甲", 0.1)
    metrics.visit_ended("13900000001")
    text, samples = scrape(exporter)
    for secret in personal_data():
        assert secret not in text, secret
    for (_name, labels), _value in samples.items():
        for label, label_value in labels:
            assert not any(ch.isdigit() for ch in label_value) or label in (
                "version", "kiosk_id", "le"), (label, label_value)
    assert value(samples, "kiosk_sync_errors_total", **{"class": "other"}) >= 1


def test_the_exporter_listens_on_loopback_only(exporter: Exporter):
    assert exporter._server.server_address[0] == "127.0.0.1"
    other = _non_loopback_address()
    if other is None:
        pytest.skip("this machine has no address besides loopback")
    with pytest.raises(OSError), socket.create_connection((other, exporter.port), timeout=2):
        pass


def _non_loopback_address() -> str | None:
    """This machine's address on its default route (no packet is sent: UDP connect)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_a_port_in_use_is_reported_and_stop_is_clean():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exporter = Exporter(Sources(KIOSK_ID), port, process_metrics=False)
        with pytest.raises(OSError):
            exporter.start()
        exporter.start_in_background()  # logs, never raises into the app
        exporter.stop()
        assert exporter.port is None


def test_rows_added_after_the_start_show_in_the_next_scrape(tmp_path: Path):
    """The count is read at scrape time: rows added after the exporter started show up."""
    config = make_config(tmp_path)
    storage = OutboxStorage(config, durable=False)
    exporter = Exporter(Sources(KIOSK_ID, config.storage.database), 0, process_metrics=False)
    exporter.start()
    try:
        assert value(scrape(exporter)[1], "kiosk_outbox_unsent") == 0
        submit(ApplicationService(storage), tmp_path, 1)
        started = time.monotonic()
        samples = scrape(exporter)[1]
        assert time.monotonic() - started < 5
        assert value(samples, "kiosk_outbox_applications", state="sealed") == 1
    finally:
        exporter.stop()
        storage.close()


# --- the app's hooks, in the shared offscreen window -------------------------------------------
@pytest.mark.gui
def test_the_app_counts_a_visit_its_finish_and_each_screens_first_frame(kiosk):
    """A touch on the attract screen starts a visit; the home screen's first frame is
    timed from the switch; ending it soon after a touch is a finished visit."""
    app = kiosk.app
    before = metrics.TALLY.snapshot()
    window = app.root_window
    touched = time.monotonic()
    kiosk.tap_at(window.width / 2, window.height / 2)  # the real input pipeline
    kiosk.pump(3)
    assert app._last_activity >= touched  # the app saw the touch
    assert app.manager.current == "home"
    app.show("catalogue")
    kiosk.pump(3)
    app.end_session()
    kiosk.pump(2)
    after = metrics.TALLY.snapshot()
    assert after.visits_started - before.visits_started == 1
    assert after.visits_ended["finished"] - before.visits_ended["finished"] == 1
    assert after.visits_ended["timeout"] == before.visits_ended["timeout"]
    for screen in ("home", "catalogue", "attract"):
        shown = sum(after.latency[screen][:-1]) - sum(before.latency.get(screen, [0.0])[:-1])
        assert shown == 1, screen
        assert after.latency[screen][-1] > before.latency.get(screen, [0.0] * 11)[-1]


@pytest.mark.gui
def test_a_visit_left_to_the_idle_policy_is_counted_as_a_timeout(kiosk):
    from dataclasses import replace

    from screens.idle import IdleWatch
    from tests.waiting import pump_until

    app = kiosk.app
    original = app.idle
    original.disarm()
    app.idle = IdleWatch(app, replace(app.services.config.kiosk, idle_timeout=0.3,
                                      idle_warning=1))
    try:
        before = metrics.TALLY.snapshot()
        app._last_activity = time.monotonic()
        app.start_session()
        pump_until(kiosk, lambda: not app.services.session.active, 10, "the visit wiped")
        after = metrics.TALLY.snapshot()
    finally:
        app.idle.disarm()
        app.idle = original
    assert after.visits_ended["timeout"] - before.visits_ended["timeout"] == 1
    assert after.visits_ended["finished"] == before.visits_ended["finished"]


@pytest.mark.gui
def test_the_app_serves_the_metrics_page_while_it_runs(kiosk, tmp_path: Path):
    """on_start serves the page of the running kiosk ([metrics] port), on_stop ends it."""
    from dataclasses import replace

    from kiosk import __version__
    from kiosk.config import MetricsSection

    app = kiosk.app
    services = app.services
    if services.config.metrics.port == 0:  # on_start made none
        assert app.exporter is None
    else:  # on_start made it, for the configured port
        assert app.exporter is not None
        assert app.exporter.requested_port == services.config.metrics.port
    with socket.socket() as probe:  # a free port for the configuration
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = services.config
    services.config = replace(config, metrics=MetricsSection(port=port))
    try:
        exporter = metrics.serve(services)
        assert exporter is not None
        wait_until(lambda: exporter.port == port, 10, "the page served")
        _text, samples = scrape(exporter)
        assert value(samples, "kiosk_device_up", device="printer") in (0.0, 1.0)
        assert value(samples, "kiosk_build_info", version=__version__,
                     kiosk_id=config.kiosk.id) == 1
        metrics.shutdown(exporter)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        services.config = replace(config, metrics=MetricsSection(port=0))
        assert metrics.serve(services) is None
    finally:
        services.config = config
