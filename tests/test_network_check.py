"""The diagnostics' network panel against real servers: the reference platform, a TLS
server whose private CA the kiosk does not trust (then does), and a port nobody serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.config import load_config
from kiosk.operations.network_check import check_network
from kiosk.platform.signing import load_or_create_key_file
from tests.kiosk_files import KIOSK_ID, write_config
from tests.platform_server import PlatformServer
from tests.test_security_client import base, pki, serve  # noqa: F401 - pki is a fixture


def kiosk_config(folder: Path, url: str, extra: str = ""):
    config = load_config(write_config(folder, url=url, extra=extra), environ={})
    load_or_create_key_file(config.platform.key_file)
    return config


def test_the_reference_platform_is_healthy_with_round_trips_and_skew(tmp_path: Path):
    (tmp_path / "platform").mkdir()
    with PlatformServer(tmp_path / "platform",
                        kiosks={KIOSK_ID: tmp_path / "platform.key"}) as server:
        report = check_network(kiosk_config(tmp_path, server.base_url))
    assert report.healthy and (report.answered, report.asked) == (3, 3)
    assert len(report.rtt_ms) == 3 and 0 < report.median_ms < 3000
    assert report.skew_s is not None and abs(report.skew_s) < 5
    assert report.skew_level == "ok" and not report.key_problems


def test_an_untrusted_certificate_is_named_with_the_setting_that_fixes_it(
        tmp_path: Path, pki: dict[str, Any]):  # noqa: F811 - the fixture
    with serve(tls=pki["server"]) as platform:
        url = base(platform, "https")
        report = check_network(kiosk_config(tmp_path / "a", url), probes=1)
        assert not report.healthy and report.problem == "certificate"
        assert "certificate not trusted: set [platform] ca_file" in report.explanation
        trusted = check_network(kiosk_config(tmp_path / "b", url,
                                             f"ca_file = {pki['ca_file']}\n"), probes=2)
    assert trusted.healthy and trusted.answered == 2
    # the test server's clock is fixed at 2026-11-27 12:00 UTC: far off, named as refused
    # (or, on a machine whose clock is near that, within limits)
    assert trusted.skew_level in ("refused", "corrected", "ok")


def test_no_server_is_no_connection_and_a_readable_key_is_a_key_problem(tmp_path: Path):
    config = kiosk_config(tmp_path, "http://127.0.0.1:9/api/v1")
    config.platform.key_file.chmod(0o644)
    report = check_network(config, probes=2, timeout=1.0)
    assert (report.answered, report.problem) == (0, "no_connection")
    assert "check the network cable" in report.explanation
    assert len(report.key_problems) == 1
    assert str(config.platform.key_file) in report.key_problems[0]
