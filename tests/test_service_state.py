"""The paper counter and the out-of-service state: real SQLite files, restarts included."""

from __future__ import annotations

from pathlib import Path

from kiosk.config import load_config
from kiosk.operations.diagnosis import Finding, Status
from kiosk.operations.paper import PaperCounter, low_reason
from kiosk.operations.service_state import (
    BLOCKING_CHECKS,
    OutOfService,
    ServiceMonitor,
    ServiceState,
    blocking_findings,
)
from kiosk.operations.technician import TechnicianAccess
from offline_cache.database import open_database
from offline_cache.migrations import LATEST_VERSION, current_version


def test_the_count_survives_a_restart_and_a_refill_resets_it_audited(tmp_path: Path):
    database = tmp_path / "kiosk.db"
    counter = PaperCounter(database, roll_slips=10, clock=lambda: 1_700_000_000.0)
    for _ in range(7):
        counter.printed()
    assert counter.state("ok").slips == 7 and not counter.state("ok").low
    again = PaperCounter(database, roll_slips=10)  # a new process: the roll is not new
    assert again.printed() == 8
    state = again.state("ok")
    assert (state.low, state.reason, state.left, state.warn_at) == (True, "count", 2, 8)
    counter.refilled("wang.li")
    state = counter.state("ok")
    assert (state.slips, state.low, state.refilled_at) == (0, False, 1_700_000_000.0)
    row = TechnicianAccess(database).audit(limit=1)[0]
    assert (row.who, row.what, row.detail) == ("wang.li", "paper_refilled",
                                                "8 slips printed on the old roll")
    with open_database(database) as conn:
        assert current_version(conn) == LATEST_VERSION >= 11


def test_low_paper_comes_from_the_sensor_or_the_count_whichever_first():
    assert low_reason(10, 250, "ok") == ""
    assert low_reason(10, 250, "low") == "sensor"  # the sensor before the count
    assert low_reason(199, 250, "ok") == ""
    assert low_reason(200, 250, "ok") == "count"  # 80 % before the sensor
    assert low_reason(200, 250, "out") == "out"
    assert low_reason(3, 250, None) == ""


def test_the_manual_switch_survives_a_restart_and_is_audited(tmp_path: Path):
    database = tmp_path / "kiosk.db"
    assert not ServiceState(database).now().active
    ServiceState(database).switch(True, "wang.li")
    state = ServiceState(database).now()  # another process after a restart
    assert state == OutOfService(manual=True, manual_by="wang.li")
    assert state.active
    ServiceState(database).switch(False, "wang.li")
    assert not ServiceState(database).now().active
    audit = [(r.what, r.detail) for r in TechnicianAccess(database).audit(limit=2)]
    assert audit == [("out_of_service", "switched off"), ("out_of_service", "switched on")]


def _down(name: str) -> Finding:
    return Finding(name, Status.DOWN, "gone", "fix it")


def test_monitor_sets_after_two_down_rounds_and_lifts_at_the_first_good(tmp_path: Path):
    config = load_config(None, environ={"XDG_DATA_HOME": str(tmp_path)})
    findings: list[Finding] = [_down("catalogue")]
    seen: list[OutOfService] = []
    monitor = ServiceMonitor(config, seen.append, checks=lambda _c: list(findings))
    assert not monitor.round().automatic  # one bad moment does not turn citizens away
    state = monitor.round()
    assert state.automatic and state.reason == "catalogue" and state.active
    assert ServiceState(config.storage.database).now().automatic  # stored
    findings.clear()
    assert not monitor.round().active
    assert [s.active for s in seen] == [False, True, False]


def test_automatic_lift_leaves_the_manual_switch_on(tmp_path: Path):
    config = load_config(None, environ={"XDG_DATA_HOME": str(tmp_path)})
    findings = [_down("storage")]
    monitor = ServiceMonitor(config, lambda _s: None, checks=lambda _c: list(findings),
                             confirm=1)
    ServiceState(config.storage.database).switch(True, "demo")
    assert monitor.round().automatic
    findings.clear()
    state = monitor.round()
    assert state.manual and not state.automatic and state.active


def test_a_kiosk_without_catalogue_is_down_for_the_monitor(tmp_path: Path):
    config = load_config(None, environ={"XDG_DATA_HOME": str(tmp_path)})
    names = {finding.name for finding in blocking_findings(config)}
    assert "catalogue" in names and names <= set(BLOCKING_CHECKS)


def test_a_new_kiosk_before_its_first_application_is_not_down(tmp_path: Path):
    """No master key yet and nothing sealed: the app makes the key with the first
    application, so neither diagnose's outbox nor the monitor may call the kiosk down (it
    did: the outbox's pre-flight saw the key file missing, and a fresh kiosk went out of
    service before its first citizen)."""
    from kiosk.operations.diagnosis import check_keys, check_outbox
    from kiosk.platform.signing import create_key_file

    data = tmp_path / "data"
    config_file = tmp_path / "kiosk.ini"
    config_file.write_text(f"[storage]\ndata_dir = {data}\n[platform]\nkey_file = "
                           f"{tmp_path / 'platform.key'}\n", encoding="utf-8")
    create_key_file(tmp_path / "platform.key")
    config = load_config(config_file)
    open_database(config.storage.database).close()  # the outbox tables, no application
    assert not config.storage.master_key_file.exists()
    assert check_keys(config).status is Status.OK
    outbox = check_outbox(config)
    assert outbox.status is Status.OK, outbox.detail
    assert "outbox" not in {finding.name for finding in blocking_findings(config)}


def test_metrics_export_the_paper_count_and_out_of_service(tmp_path: Path):
    from kiosk.operations.metrics import KioskCollector, Sources, Tally

    database = tmp_path / "kiosk.db"
    open_database(database).close()

    def gauges() -> dict[str, float]:
        collector = KioskCollector(Sources("511602-TEST-01", database), Tally())
        return {family.name: family.samples[0].value for family in collector.collect()
                if family.name in ("kiosk_paper_slips_since_refill", "kiosk_out_of_service")}

    assert gauges() == {"kiosk_paper_slips_since_refill": 0.0, "kiosk_out_of_service": 0.0}
    for _ in range(3):
        PaperCounter(database, 250).printed()
    ServiceState(database).set_automatic(True, "catalogue")
    assert gauges() == {"kiosk_paper_slips_since_refill": 3.0, "kiosk_out_of_service": 1.0}
