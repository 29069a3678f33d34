"""Configuration loading: defaults, file choice, path resolution, errors, the config command."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kiosk.cli
from drivers.device_url import DeviceURL
from kiosk.commands import config as cmd
from kiosk.config import (
    ENV_VAR,
    ConfigError,
    KioskConfig,
    config_to_ini,
    default_config_text,
    load_config,
    write_default_config,
)

HOME = "/home/kiosk"
ENV = {"HOME": HOME}
DEFAULT_DATA = Path(HOME, ".local/share/gov-kiosk")
CONFIG_SECTIONS = tuple(name for name in KioskConfig.__dataclass_fields__ if name != "source")
"""Every section of the configuration, taken from the code so that a new one is checked."""


def write(directory: Path, text: str, name: str = "kiosk.ini") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=ENV if environ is None else environ)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    return message


# ---------------------------------------------------------------------------- defaults


def test_defaults_without_any_file() -> None:
    config = load_config(None, environ=ENV)
    assert config.source is None
    assert config.kiosk.id == "511602-HALL-01"
    assert config.kiosk.language == "zh_CN"
    assert config.kiosk.orientation == "portrait"
    assert (config.kiosk.idle_timeout, config.kiosk.idle_warning) == (90, 30)
    assert config.kiosk.large_font_scale == 1.4
    assert config.kiosk.hall == "广安区政务服务中心"
    assert config.storage.data_dir == DEFAULT_DATA
    assert config.storage.database == DEFAULT_DATA / "kiosk.db"
    assert config.platform.url == "http://127.0.0.1:8470/api/v1"
    assert config.platform.key_file == DEFAULT_DATA / "platform.key"
    assert (config.platform.timeout, config.platform.health_interval) == (10.0, 15)
    assert str(config.devices.idcard) == "emulator://idcard"
    assert config.devices.printer == DeviceURL("emulator", "printer")
    assert str(config.devices.camera) == "emulator://camera"
    display = config.display
    assert (display.developer, display.fullscreen, display.rotation, display.maxfps) == (
        False,
        True,
        0,
        30,
    )
    assert display.lockdown and not display.windowed
    assert config.window_size == (1080, 1920)


def test_dataclass_defaults_match_loader_defaults() -> None:
    assert KioskConfig() == load_config(None, environ=os.environ)


def test_xdg_data_home_is_honoured_when_absolute() -> None:
    config = load_config(None, environ={**ENV, "XDG_DATA_HOME": "/var/lib/xdg"})
    assert config.storage.data_dir == Path("/var/lib/xdg/gov-kiosk")
    assert config.platform.key_file == Path("/var/lib/xdg/gov-kiosk/platform.key")
    relative = load_config(None, environ={**ENV, "XDG_DATA_HOME": "rel"})
    assert relative.storage.data_dir == DEFAULT_DATA


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    config = load_config(path, environ=ENV)
    assert config == load_config(None, environ=ENV)
    assert config.source == path


def test_window_size_follows_orientation_unless_set(tmp_path: Path) -> None:
    landscape = write(tmp_path, "[kiosk]\norientation = landscape\n")
    assert load_config(landscape, environ=ENV).window_size == (1920, 1080)
    sized = write(tmp_path, "[display]\nwidth = 540\nheight = 960\ndeveloper = yes\n")
    config = load_config(sized, environ=ENV)
    assert config.window_size == (540, 960)
    assert config.display.windowed and not config.display.lockdown


# ------------------------------------------------------------------------ choosing the file


def test_argument_beats_environment_beats_defaults(tmp_path: Path) -> None:
    from_arg = write(tmp_path, "[kiosk]\nid = FROM-ARG\n", "arg.ini")
    from_env = write(tmp_path, "[kiosk]\nid = FROM-ENV\n", "env.ini")
    environ = {**ENV, ENV_VAR: str(from_env)}
    assert load_config(from_arg, environ=environ).kiosk.id == "FROM-ARG"
    assert load_config(None, environ=environ).kiosk.id == "FROM-ENV"
    assert load_config(None, environ=environ).source == from_env
    assert load_config(None, environ=ENV).kiosk.id == "511602-HALL-01"
    assert load_config(None, environ={**ENV, ENV_VAR: ""}).source is None


def test_path_may_be_str_or_pathlike(tmp_path: Path) -> None:
    path = write(tmp_path, "[kiosk]\nid = A-1\n")
    assert load_config(str(path), environ=ENV) == load_config(path, environ=ENV)


def test_relative_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    path = write(etc, "[storage]\ndata_dir = ../data\n")
    monkeypatch.chdir(tmp_path.parent)
    config = load_config(Path(os.path.relpath(path)), environ=ENV)
    assert config.storage.data_dir == tmp_path / "data"
    assert config.storage.database == tmp_path / "data" / "kiosk.db"
    assert config.platform.key_file == tmp_path / "data" / "platform.key"
    assert config.source == path


def test_key_file_is_relative_to_config_dir_not_data_dir(tmp_path: Path) -> None:
    path = write(tmp_path, "[storage]\ndata_dir = /srv/kiosk\n[platform]\nkey_file = keys/p.key\n")
    config = load_config(path, environ=ENV)
    assert config.storage.data_dir == Path("/srv/kiosk")
    assert config.platform.key_file == tmp_path / "keys" / "p.key"


def test_tilde_uses_home_from_environ(tmp_path: Path) -> None:
    path = write(tmp_path, "[storage]\ndata_dir = ~/kioskdata\n")
    assert load_config(path, environ=ENV).storage.data_dir == Path(HOME, "kioskdata")


# ---------------------------------------------------------------------------- good values


@pytest.mark.parametrize(
    ("word", "value"),
    [
        *[("1", True), ("yes", True), ("TRUE", True), ("on", True)],
        *[("0", False), ("no", False), ("false", False), ("Off", False)],
    ],
)
def test_booleans_accept_configparser_words(tmp_path: Path, word: str, value: bool) -> None:
    path = write(tmp_path, f"[display]\ndeveloper = {word}\nfullscreen = {word}\n")
    config = load_config(path, environ=ENV)
    assert config.display.developer is value
    assert config.display.fullscreen is value


@pytest.mark.parametrize(
    ("url", "effective"),
    [
        ("http://127.0.0.1:8470/api/v1", "http://127.0.0.1:8470/api/v1"),
        ("http://127.8.9.10/api/", "http://127.8.9.10/api"),
        ("http://localhost:8470", "http://localhost:8470"),
        ("http://[::1]:8470/api/v1", "http://[::1]:8470/api/v1"),
        ("https://zwfw.example.gov.cn/api/v1", "https://zwfw.example.gov.cn/api/v1"),
        ("HTTPS://10.0.0.5:8443/api", "HTTPS://10.0.0.5:8443/api"),
    ],
)
def test_platform_urls_accepted(tmp_path: Path, url: str, effective: str) -> None:
    path = write(tmp_path, f"[platform]\nurl = {url}\n")
    assert load_config(path, environ=ENV).platform.url == effective


def test_file_may_have_bom_crlf_comments_and_odd_key_case(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.ini"
    text = "# 配置\r\n[kiosk]\r\n; note\r\nIdle_Timeout = 120\r\nhall = 前锋区政务服务中心\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    config = load_config(path, environ=ENV)
    assert config.kiosk.idle_timeout == 120
    assert config.kiosk.hall == "前锋区政务服务中心"


def test_devices_switch_from_emulator_to_hardware_with_one_url(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[devices]\n"
        "idcard = serial:///dev/ttyUSB0?baudrate=115200\n"
        "printer = usb://0416:5011\n"
        "camera = 0\n",
    )
    devices = load_config(path, environ=ENV).devices
    assert devices.idcard == DeviceURL("serial", "/dev/ttyUSB0", {"baudrate": "115200"})
    assert str(devices.printer) == "usb://0x0416:0x5011"
    assert str(devices.camera) == "0"


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            "[kiosk]\nidle_timout = 90\n",
            [':2: [kiosk] unknown key "idle_timout"', 'did you mean "idle_timeout"?'],
        ),
        (
            "[kiosk]\nidle_timeout = 9o\n",
            [':2: [kiosk] idle_timeout = "9o": not a whole number of seconds (15..3600)'],
        ),
        ("[kiosk]\nidle_timeout = 14\n", ['idle_timeout = "14"', "15..3600"]),
        ("[kiosk]\nidle_timeout = ９０\n", ["idle_timeout", "not a whole number"]),
        ("[kiosk]\n\n\nidle_warning = 19\n", [":4:", 'idle_warning = "19"', "WCAG 2.2.1"]),
        ("[kiosk]\nlanguage = zh_TW\n", ['[kiosk] language = "zh_TW"', "zh_CN or en"]),
        ("[kiosk]\norientation = upright\n", ["orientation", "portrait or landscape"]),
        ("[kiosk]\nid = 511602 HALL\n", ["[kiosk] id", "letters, digits or hyphens"]),
        ("[kiosk]\nid = " + "A" * 33 + "\n", ["[kiosk] id", "1..32"]),
        ("[kiosk]\nlarge_font_scale = 2.5\n", ["large_font_scale", "1.1..2"]),
        ("[kiosk]\nlarge_font_scale = big\n", ["large_font_scale", "not a number"]),
        ("[kiosk]\nhall =\n", ["[kiosk] hall", "1..64"]),
        ("[kiosk]\nhall = 广安区\n  政务服务中心\n", ["[kiosk] hall", "one line"]),
        ("[kisok]\nid = X\n", [":1: unknown section [kisok]", "did you mean [kiosk]?"]),
        ("[kiosk]\n[network]\n", [":2: unknown section [network]", "sections: kiosk, storage"]),
        ("[DEFAULT]\nid = X\n", ["unknown section [DEFAULT]"]),
        ("[kiosk]\ndata_dir = /srv\n", ['[kiosk] unknown key "data_dir"', "belongs in [storage]"]),
        ("[storage]\ndata_dir =\n", ["[storage] data_dir", "empty"]),
        (
            "[platform]\nurl = http://zwfw.example.gov.cn/api\n",
            ["[platform] url", "plain http is only allowed", "127.0.0.0/8, ::1, localhost"],
        ),
        ("[platform]\nurl = http://10.0.0.1/api\n", ["[platform] url", "https://"]),
        ("[platform]\nurl = ftp://127.0.0.1/api\n", ["[platform] url", "https://"]),
        ("[platform]\nurl = https://\n", ["[platform] url", "no host"]),
        ("[platform]\nurl = https://h:99999/\n", ["[platform] url", "not a valid URL"]),
        ("[platform]\nurl = https://h/api?x=1\n", ["[platform] url", "base URL"]),
        ("[platform]\ntimeout = 0.5\n", ["[platform] timeout", "1..120 seconds"]),
        ("[platform]\ntimeout = inf\n", ["[platform] timeout", "not a number"]),
        ("[platform]\nhealth_interval = 1\n", ["[platform] health_interval", "5..600"]),
        (
            "[devices]\nprinter = tcp://192.168.1.50:0\n",
            ['[devices] printer = "tcp://192.168.1.50:0"', "1..65535"],
        ),
        ("[devices]\nidcard = bluetooth://r\n", ["[devices] idcard", "unknown scheme"]),
        ("[devices]\ncamera = tcp://cam:554\n", ["[devices] camera", "not used for the camera"]),
        ("[devices]\nidcard = 0\n", ["[devices] idcard", "camera index is not used"]),
        ("[display]\ndeveloper = maybe\n", ["[display] developer", "true or false"]),
        ("[display]\nrotation = 45\n", ["[display] rotation", "0, 90, 180 or 270"]),
        ("[display]\nmaxfps = 240\n", ["[display] maxfps", "10..120"]),
        ("[display]\nwidth = 100\n", ["[display] width", "320..7680"]),
        ("[kiosk]\nid = A\nid = B\n", [":3:", '[kiosk] key "id" appears twice']),
        ("[kiosk]\nid = A\n[kiosk]\n", [":3:", "section [kiosk] appears twice"]),
        ("[kiosk]\nid = A\nthis is not ini\n", [":3:", 'cannot read "this is not ini"']),
        ("id = A\n", [":1:", "before any [section]"]),
    ],
)
def test_errors_name_file_line_section_and_key(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    message = error_for(write(tmp_path, text))
    assert message.startswith(f"{tmp_path / 'kiosk.ini'}")
    for fragment in fragments:
        assert fragment in message


def test_error_names_the_file_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "[kiosk]\nidle_timeout = 9o\n")
    monkeypatch.chdir(tmp_path)
    assert error_for(Path("kiosk.ini")) == (
        'kiosk.ini:2: [kiosk] idle_timeout = "9o": not a whole number of seconds (15..3600)'
    )


def test_password_in_platform_url_is_not_echoed(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, "[platform]\nurl = https://kiosk:s3cret@h.gov.cn/api\n"))
    assert "s3cret" not in message
    assert "[platform] url" in message and "key_file" in message


def test_missing_file_named_explicitly(tmp_path: Path) -> None:
    message = error_for(tmp_path / "absent.ini")
    assert message == f"{tmp_path / 'absent.ini'}: no such file"


def test_missing_file_from_environment_says_so(tmp_path: Path) -> None:
    missing = str(tmp_path / "absent.ini")
    with pytest.raises(ConfigError, match=r"absent\.ini \(from \$KIOSK_CONFIG\): no such file"):
        load_config(None, environ={**ENV, ENV_VAR: missing})


def test_directory_is_not_a_config_file(tmp_path: Path) -> None:
    assert "is a directory" in error_for(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[kiosk]\n")
    path.chmod(0)
    try:
        assert error_for(path) == f"{path}: permission denied"
    finally:
        path.chmod(0o600)


def test_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.ini"
    path.write_bytes("[kiosk]\nid = A\nhall = 广安区政务服务中心\n".encode("gb18030"))
    message = error_for(path)
    assert message.startswith(f"{path}:3: not UTF-8")
    assert "GBK" in message


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.ini"
    path.write_bytes(b"# x\n" * 300_000)
    assert "not a configuration file" in error_for(path)


def test_empty_file_name_is_an_error() -> None:
    with pytest.raises(ConfigError, match="empty"):
        load_config("", environ=ENV)


# ---------------------------------------------------------------------- writing and showing


def test_default_config_text_round_trips_to_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, default_config_text())
    for environ in (ENV, {**ENV, "XDG_DATA_HOME": "/xdg"}):
        assert load_config(path, environ=environ) == load_config(None, environ=environ)


def test_default_config_text_documents_every_key() -> None:
    lines = default_config_text().split("\n")
    key_lines = {
        index: match.group(1)
        for index, line in enumerate(lines)
        if (match := re.match(r"(?:# )?([a-z_]+) = ", line))
    }
    keys = set(key_lines.values())
    defaults = load_config(None, environ=ENV)
    for section in CONFIG_SECTIONS:
        assert set(getattr(defaults, section).__dataclass_fields__) <= keys
    every_key = [key for section in CONFIG_SECTIONS
                 for key in getattr(defaults, section).__dataclass_fields__]
    assert len(key_lines) == len(every_key)  # each key of each section written once
    assert keys == set(every_key)  # and nothing else
    for index in key_lines:
        comment = lines[index - 1]
        assert comment.startswith("# ") and not re.match(r"# [a-z_]+ = ", comment), comment


def test_docs_describe_every_key() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text(
        encoding="utf-8"
    )
    defaults = load_config(None, environ=ENV)
    for section in CONFIG_SECTIONS:
        assert f"## `[{section}]`" in docs
        for key in getattr(defaults, section).__dataclass_fields__:
            assert f"| `{key}` |" in docs, key


def test_write_default_config_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.ini"
    write_default_config(path)
    assert path.read_text(encoding="utf-8") == default_config_text()
    path.write_text("[kiosk]\n", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write_default_config(path)
    assert path.read_text(encoding="utf-8") == "[kiosk]\n"
    write_default_config(path, force=True)
    assert path.read_text(encoding="utf-8") == default_config_text()


def test_config_to_ini_loads_back_to_the_same_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[kiosk]\nid = GA-02\nlanguage = en\nlarge_font_scale = 1.75\n"
        "[storage]\ndata_dir = data\n"
        "[platform]\nurl = https://zwfw.example.gov.cn/api/v1/\ntimeout = 2.5\n"
        "ca_file = ca.pem\nproxy = http://proxy.hall.example:3128\n"
        "[devices]\nprinter = tcp://192.168.1.50:9100\ncamera = v4l2:///dev/video2\n"
        "[display]\ndeveloper = on\nrotation = 90\n",
    )
    write_ca(tmp_path / "ca.pem")
    config = load_config(path, environ=ENV)
    assert config.platform.ca_file == tmp_path / "ca.pem"
    shown = write(tmp_path, config_to_ini(config), "shown.ini")
    assert load_config(shown, environ={"HOME": "/elsewhere"}) == config


# ------------------------------------------------------------------------------ the command


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk")
    parser.add_argument("--config")
    cmd.register(parser.add_subparsers(dest="command", required=True))
    return parser


def run(argv: list[str]) -> int:
    args = make_parser().parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_every_action_has_help() -> None:
    parser = make_parser()
    config_parser = parser._subparsers._group_actions[0].choices["config"]  # type: ignore[union-attr]
    actions = config_parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert set(actions.choices) == {"show", "check", "init"}
    helps = {choice.dest: choice.help for choice in actions._choices_actions}
    assert all(helps[name] for name in ("show", "check", "init"))


def test_show_prints_effective_ini_and_only_the_key_path(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = clean_env / "platform.key"
    key.write_text("SECRET-PLATFORM-KEY\n", encoding="utf-8")
    path = write(clean_env, f"[platform]\nkey_file = {key.name}\n[kiosk]\nid = SHOW-1\n")
    assert run(["--config", str(path), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "SECRET-PLATFORM-KEY" not in out
    assert f"key_file = {key}" in out
    assert "id = SHOW-1" in out
    assert load_config(write(clean_env, out, "shown.ini")).kiosk.id == "SHOW-1"


def test_show_uses_the_environment_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(clean_env, "[kiosk]\nid = FROM-ENV\n")
    monkeypatch.setenv(ENV_VAR, str(path))
    assert run(["config", "show"]) == 0
    assert "id = FROM-ENV" in capsys.readouterr().out


def test_check_ok_and_failure(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(clean_env, "[kiosk]\nid = OK-1\n", "good.ini")
    bad = write(clean_env, "[kiosk]\nidle_timeout = 9o\n", "bad.ini")
    assert run(["config", "check", str(good)]) == 0
    assert capsys.readouterr().out == f"ok: {good}\n"
    assert run(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:2: [kiosk] idle_timeout")
    assert run(["--config", str(good), "config", "check"]) == 0
    assert capsys.readouterr().out == f"ok: {good}\n"
    assert run(["config", "check"]) == 0
    assert capsys.readouterr().out.startswith("ok: built-in defaults")


def test_init_writes_defaults_and_refuses_to_overwrite(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = clean_env / "new.ini"
    assert run(["config", "init", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == default_config_text()
    path.write_text("[kiosk]\nid = EDITED\n", encoding="utf-8")
    capsys.readouterr()
    assert run(["config", "init", str(path)]) == 1
    assert "--force" in capsys.readouterr().err
    assert "EDITED" in path.read_text(encoding="utf-8")
    assert run(["config", "init", "--force", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == default_config_text()
    assert run(["config", "init", str(clean_env / "no" / "dir" / "x.ini")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_through_kiosk_main(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kiosk.cli, "COMMANDS", ("kiosk.commands.config",))
    bad = write(clean_env, "[kiosk]\nlanguag = en\n")
    assert kiosk.cli.main(["--config", str(bad), "config", "show"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kiosk: configuration error: ")
    assert 'did you mean "language"?' in err
    assert kiosk.cli.main(["config", "check", str(bad)]) == 2
    assert kiosk.cli.main(["config", "show"]) == 0


# ------------------------------------------------------------------------------ properties

KEYS = [
    "id", "language", "orientation", "idle_timeout", "idle_warning", "large_font_scale", "hall",
    "data_dir", "url", "key_file", "timeout", "health_interval", "idcard", "printer", "camera",
    "developer", "fullscreen", "width", "height", "rotation", "maxfps", "master_key_file",
    "sync_interval", "retention_days", "min_free_mb", "max_pending", "max_pending_age_days",
]  # fmt: skip
SECTIONS = ["kiosk", "storage", "platform", "outbox", "devices", "display", "DEFAULT", "Kiosk"]
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["90", "0", "-1", "1.5", "yes", "zh_CN", "landscape", "emulator://x", "~"]),
    st.sampled_from(["http://127.0.0.1/", "https://[::1", "http://u:p@localhost", "rel/dir"]),
    st.integers().map(str),
    st.floats().map(str),
)
LINES = st.one_of(
    st.sampled_from(SECTIONS).map(lambda s: f"[{s}]"),
    st.tuples(
        st.sampled_from(KEYS) | st.text(max_size=10), st.sampled_from(["=", ":", " = "]), VALUES
    ).map("".join),
    st.text(max_size=20),
    st.sampled_from(["", "# comment", "  continued", "[", "[]", "=", "\t"]),
)
INI_TEXT = st.lists(LINES, max_size=12).map("\n".join)


def load_or_config_error(path: Path) -> None:
    try:
        config = load_config(path, environ=ENV)
    except ConfigError as error:
        message = str(error)
        assert len(message.splitlines()) == 1, message
        assert message.startswith(str(path)), message
    else:
        assert isinstance(config, KioskConfig)
        again = load_config(write(path.parent, config_to_ini(config), "again.ini"), environ=ENV)
        assert again == config


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(), INI_TEXT))
def test_any_text_loads_or_raises_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kiosk.ini"
    path.write_bytes(text.encode("utf-8"))
    load_or_config_error(path)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(), INI_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_any_bytes_load_or_raise_config_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "kiosk.ini"
    path.write_bytes(data)
    load_or_config_error(path)


@pytest.mark.parametrize(("text", "complaint"), [
    ("[staff_call]\ncommand = notify 'unclosed\n", "cannot be split into words"),
    ("[staff_call]\nurl = ftp://pager.hall/call\n", "must be http://HOST/"),
    ("[staff_call]\nurl = http://duty:secret@pager.hall/call\n", "no user name or password"),
    ("[staff_call]\nrepeat_chime = 5\n", "must be 0 (chime once) or 10..600 seconds"),
    ("[speech]\nrate = 20\n", "must be 80..300 words per minute"),
    ("[speech]\nheadset = maybe\n", "must be true or false"),
])
def test_assist_sections_reject_bad_values(tmp_path: Path, text: str, complaint: str) -> None:
    assert complaint in error_for(write(tmp_path, text))


def test_assist_sections_load(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, (
        "[staff_call]\ncommand = /usr/local/bin/page-duty --kiosk 3\n"
        "url = http://192.168.10.5:8080/call\nrepeat_chime = 0\n"
        "[speech]\nenabled = no\nheadset = yes\nrate = 120\n")), environ=ENV)
    assert config.staff_call.command == "/usr/local/bin/page-duty --kiosk 3"
    assert config.staff_call.url == "http://192.168.10.5:8080/call"
    assert config.staff_call.repeat_chime == 0
    assert (config.speech.enabled, config.speech.headset, config.speech.rate) == (False, True, 120)


# ------------------------------------------------------------- [platform] ca_file and proxy


def write_ca(path: Path, ca: bool = True) -> Path:
    """A self-signed CA certificate in PEM (made with cryptography, thrown away after);
    ``ca=False`` makes an end-entity certificate instead."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_ca_file_and_proxy_default_to_none_and_direct() -> None:
    platform = load_config(None, environ=ENV).platform
    assert (platform.ca_file, platform.proxy) == (None, "")


def test_ca_file_is_relative_to_the_config_and_proxy_loads(tmp_path: Path) -> None:
    write_ca(tmp_path / "hall-ca.pem")
    config = load_config(write(tmp_path, "[platform]\nca_file = hall-ca.pem\n"
                               "proxy = https://10.1.2.3:8443/\n"), environ=ENV)
    assert config.platform.ca_file == tmp_path / "hall-ca.pem"
    assert config.platform.proxy == "https://10.1.2.3:8443"


@pytest.mark.parametrize(("value", "complaint"), [
    ("missing.pem", "no such file"),
    (".", "is a directory"),
    ("der.cer", "not a PEM bundle"),
    ("damaged.pem", "a certificate in it cannot be read"),
    ("leaf.pem", "holds no CA certificate"),
])
def test_bad_ca_files_are_named(tmp_path: Path, value: str, complaint: str) -> None:
    (tmp_path / "der.cer").write_bytes(b"0\x82\x01\x0a")
    write_ca(tmp_path / "leaf.pem", ca=False)
    (tmp_path / "damaged.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", encoding="ascii")
    message = error_for(write(tmp_path, f"[platform]\nca_file = {value}\n"))
    assert f'[platform] ca_file = "{value}": {complaint}' in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_ca_file_is_named(tmp_path: Path) -> None:
    ca = write_ca(tmp_path / "ca.pem")
    ca.chmod(0)
    try:
        assert "permission denied" in error_for(write(tmp_path, "[platform]\nca_file = ca.pem\n"))
    finally:
        ca.chmod(0o600)


@pytest.mark.parametrize(("value", "complaint"), [
    ("socks5://127.0.0.1:1080", "no socks"),
    ("http://user:secret@proxy.hall:3128", "must not contain a user name or password"),
    ("http://proxy.hall", "needs a port"),
    ("http://proxy.hall:3128/path", "HOST:PORT only"),
    ("http://:3128", "no host name"),
    ("http://proxy.hall:99999", "not a valid URL"),
])
def test_bad_proxies_are_named(tmp_path: Path, value: str, complaint: str) -> None:
    message = error_for(write(tmp_path, f"[platform]\nproxy = {value}\n"))
    assert "[platform] proxy" in message and complaint in message
    assert "secret" not in message
