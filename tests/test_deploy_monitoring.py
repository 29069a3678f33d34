"""The monitoring files in deploy/: the alert rules load and behave as their unit tests say
(promtool, when installed), and every metric they and the Grafana dashboard use is one the
kiosk's exporter really serves (scraped from a running exporter, not read from a list).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from kiosk.devices.hub import DeviceHub
from kiosk.operations.metrics import Exporter, Sources, Tally
from tests.kiosk_files import KIOSK_ID, make_config
from tests.test_device_hub import devices
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "deploy" / "prometheus" / "kiosk-alerts.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "kiosk-alerts.test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "kiosk-fleet.json"
FROM_PROMETHEUS = {"up"}
"""Series Prometheus makes itself for every target, not served by the exporter."""


def promtool() -> str:
    """promtool from $PROMTOOL or the PATH (Debian's ``prometheus`` package ships it)."""
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not found:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus, or "
                    "set $PROMTOOL to a promtool binary)")
    return found


def rule_expressions() -> list[str]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule["expr"] for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def dashboard_expressions() -> list[str]:
    board = dashboard()
    found = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            found.append(re.sub(r"^label_values\((\w+),.*\)$", r"\1",
                                variable["query"]["query"]))
    return found


_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
             "or", "unless", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The series names an expression reads: label matchers, strings, ranges, grouping
    clauses and function names are removed first."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end():].lstrip()
        if rest.startswith("(") or match.group(0).lower() in _KEYWORDS:
            continue
        names.add(match.group(0))
    return names


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[set[str]]:
    """Every sample name a kiosk with all its parts serves: outbox, devices, platform
    state and one of each event."""
    from kiosk.applying.applications import OutboxStorage

    config = make_config(tmp_path_factory.mktemp("kiosk"))
    OutboxStorage(config, durable=False).close()  # the database with its tables
    tally = Tally()
    tally.visit_started()
    tally.visit_ended("finished")
    tally.screen_shown("home", 0.1)
    tally.count_receipt(None)
    tally.count_sync_error("transient")
    hub = DeviceHub(devices(), probe_interval=0.1)
    hub.start()
    exporter = Exporter(Sources(KIOSK_ID, config.storage.database, hub, online=lambda: True,
                                clock_skew=lambda: 1.0), 0, tally=tally)
    try:
        wait_until(lambda: hub.states()["printer"] == "online", 10, "printer online")
        exporter.start()
        text = requests.get(exporter.url, timeout=5).text
    finally:
        exporter.stop()
        hub.stop()
    yield {sample.name for family in text_string_to_metric_families(text)
           for sample in family.samples}


def test_the_rules_and_their_tests_load_as_yaml():
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    names = [rule["alert"] for group in rules["groups"] for rule in group["rules"]]
    assert {"KioskExporterDown", "KioskDeviceDown", "KioskPaperLow", "KioskPaperOut",
            "KioskUnsentApplicationOverAnHour", "KioskClockSkew"} <= set(names)
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    assert tests["rule_files"] == [RULES.name]
    tested = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"]}
    assert tested == set(names), "every alert has a promtool unit test"


def test_the_dashboard_is_valid_grafana_json():
    board = dashboard()
    assert board["uid"] and board["title"] and board["panels"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    variables = {variable["name"] for variable in board["templating"]["list"]}
    assert {"datasource", "instance"} <= variables
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert 'instance=~"$instance"' in target["expr"], panel["title"]


def test_the_metric_name_finder_finds_names_and_skips_the_rest():
    assert metric_names('histogram_quantile(0.95, sum by (le, screen) (rate('
                        'kiosk_screen_latency_seconds_bucket{instance=~"$instance"}[10m])))'
                        ) == {"kiosk_screen_latency_seconds_bucket"}
    assert metric_names('count(up{job="kiosk"} == 0) or vector(0)') == {"up"}


def test_every_metric_in_the_rules_and_the_dashboard_is_exported(exposed: set[str]):
    used = set()
    for expr in rule_expressions() + dashboard_expressions():
        used |= metric_names(expr)
    assert {"kiosk_device_up", "kiosk_printer_paper", "kiosk_outbox_oldest_unsent_age_seconds",
            "kiosk_platform_clock_skew_seconds", "kiosk_screen_latency_seconds_bucket"} <= used
    assert used - FROM_PROMETHEUS <= exposed, sorted(used - FROM_PROMETHEUS - exposed)


def test_promtool_checks_the_rules():
    tool = promtool()
    result = subprocess.run([tool, "check", "rules", str(RULES)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_runs_the_rule_unit_tests():
    tool = promtool()
    result = subprocess.run([tool, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_parses_every_dashboard_query(tmp_path: Path):
    """Each panel's PromQL, with the template variable filled in, as a recording rule:
    ``promtool check rules`` parses it as Prometheus would."""
    tool = promtool()
    rules = [{"record": f"dashboard:query{index}", "expr": expr.replace("$instance", ".*")}
             for index, expr in enumerate(dashboard_expressions())]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}),
                    encoding="utf-8")
    result = subprocess.run([tool, "check", "rules", str(path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
