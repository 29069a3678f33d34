"""Configuration keys for the offline outbox: master key, sync pace, retention, refusal limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import (
    ConfigError,
    KioskConfig,
    OutboxSection,
    config_to_ini,
    default_config_text,
    load_config,
)
from tests.test_config import DEFAULT_DATA, ENV, write


def error_for(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=ENV)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    return message


def test_defaults() -> None:
    config = load_config(None, environ=ENV)
    assert config.storage.master_key_file == DEFAULT_DATA / "master.key"
    assert config.storage.attachments_dir == DEFAULT_DATA / "attachments"
    assert config.platform.sync_interval == 10
    assert config.outbox == OutboxSection(
        retention_days=30, min_free_mb=200, max_pending=1000, max_pending_age_days=7
    )
    assert KioskConfig().outbox == config.outbox


def test_master_key_and_attachments_follow_data_dir(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[storage]\ndata_dir = /srv/kiosk\n"), environ=ENV)
    assert config.storage.master_key_file == Path("/srv/kiosk/master.key")
    assert config.storage.attachments_dir == Path("/srv/kiosk/attachments")
    xdg = load_config(None, environ={**ENV, "XDG_DATA_HOME": "/xdg"})
    assert xdg.storage.master_key_file == Path("/xdg/gov-kiosk/master.key")


def test_master_key_file_set_on_its_own_is_relative_to_the_config_dir(tmp_path: Path) -> None:
    path = write(tmp_path, "[storage]\ndata_dir = /srv/kiosk\nmaster_key_file = keys/m.key\n")
    config = load_config(path, environ=ENV)
    assert config.storage.master_key_file == tmp_path / "keys" / "m.key"
    assert config.storage.attachments_dir == Path("/srv/kiosk/attachments")


def test_outbox_values_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[platform]\nsync_interval = 2\n"
        "[outbox]\nretention_days = 3650\nmin_free_mb = 10\nmax_pending = 1\n"
        "max_pending_age_days = 365\n",
    )
    config = load_config(path, environ=ENV)
    assert config.platform.sync_interval == 2
    assert config.outbox == OutboxSection(3650, 10, 1, 365)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[platform]\nsync_interval = 1\n", [":2: [platform] sync_interval", "2..3600 seconds"]),
        ("[platform]\nsync_interval = 3601\n", ["sync_interval", "2..3600"]),
        ("[platform]\nsync_interval = 1.5\n", ["sync_interval", "not a whole number of seconds"]),
        ("[outbox]\nretention_days = 0\n", [":2: [outbox] retention_days", "1..3650 days"]),
        ("[outbox]\n\nmin_free_mb = 9\n", [":3: [outbox] min_free_mb", "10..100000 MB"]),
        ("[outbox]\nmax_pending = 100001\n", ["[outbox] max_pending", "1..100000"]),
        ("[outbox]\nmax_pending_age_days = 366\n", ["max_pending_age_days", "1..365 days"]),
        ("[outbox]\nmax_pending = lots\n", ["max_pending", "not a whole number"]),
        ("[storage]\nmaster_key_file =\n", ["[storage] master_key_file", "empty"]),
        (
            "[outbox]\nretension_days = 30\n",
            ['[outbox] unknown key "retension_days"', 'did you mean "retention_days"?'],
        ),
        ("[outbx]\n", ["unknown section [outbx]", "did you mean [outbox]?"]),
        ("[outbox]\nsync_interval = 5\n", ['"sync_interval" belongs in [platform]']),
        ("[platform]\nmax_pending = 5\n", ['"max_pending" belongs in [outbox]']),
    ],
)
def test_errors(tmp_path: Path, text: str, fragments: list[str]) -> None:
    message = error_for(write(tmp_path, text))
    for fragment in fragments:
        assert fragment in message, message


def test_default_text_shows_new_keys_and_keeps_machine_paths_commented() -> None:
    text = default_config_text()
    assert "\n[outbox]\n" in text
    assert "# master_key_file = ~/.local/share/gov-kiosk/master.key\n" in text
    assert "\nsync_interval = 10\n" in text.split("[platform]")[1].split("[outbox]")[0]
    outbox = text.split("[outbox]")[1].split("[devices]")[0]
    for line in ("retention_days = 30", "min_free_mb = 200", "max_pending = 1000"):
        assert f"\n{line}\n" in outbox
    assert "\nmax_pending_age_days = 7\n" in outbox


def test_show_prints_master_key_path_only_and_loads_back(tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    key.write_bytes(b"SECRET-MASTER-KEY")
    path = write(tmp_path, f"[storage]\nmaster_key_file = {key.name}\n[outbox]\nmax_pending = 5\n")
    config = load_config(path, environ=ENV)
    shown = config_to_ini(config)
    assert "SECRET-MASTER-KEY" not in shown
    assert f"master_key_file = {key}" in shown
    assert "# attachments_dir = " in shown
    assert load_config(write(tmp_path, shown, "shown.ini"), environ={"HOME": "/x"}) == config
