"""The kiosk's log: JSON lines, rotation, file modes, redaction, and the command line's
one-line answer to an unexpected error (kiosk/operations/logs.py, kiosk/cli.py)."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.idcard.identity import id_check_char
from kiosk.applying.receipt_numbers import make_receipt_number
from kiosk.cli import EX_INTERRUPTED, EX_SOFTWARE, main
from kiosk.config import ConfigError, load_config
from kiosk.operations.logs import (
    ID_MASK,
    PERSONAL_MASK,
    PHONE_MASK,
    personal,
    redact,
    setup_logging,
)
from tests.kiosk_files import KIOSK_ID, application_document, citizen, write_config

REPO = Path(__file__).resolve().parent.parent
KIOSK = [sys.executable, "-m", "kiosk"]


def read_records(folder: Path) -> list[dict]:
    """Every record of every log file in ``folder``, oldest first (``kiosk.log.2``,
    ``kiosk.log.1``, ``kiosk.log``); each line must be one JSON object."""
    def age(path: Path) -> tuple[str, int]:
        stem, _, number = path.name.partition(".log")
        return stem, -int(number.lstrip(".") or 0)

    records = []
    for path in sorted(folder.glob("*.log*"), key=age):
        for line in path.read_text(encoding="utf-8").splitlines():
            records.append(json.loads(line))
    return records


def run_kiosk(config: Path, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("KIOSK_CONFIG", None)
    return subprocess.run([*KIOSK, "--config", str(config), *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120, **kwargs)


# ----------------------------------------------------------------------------- redaction

TEST_IDENTITIES = [
    "110101199003078013", "11010119900307803X", "110101199003078015", "511602198511110029",
    "51160219491001002X", "810000199408230021", "830000199201300022", "931100198505050021",
    "TST110080010100", "110101900307801",
] + [citizen(index)["id_number"] for index in range(0, 60, 7)]
PHONES = ["13800000000", "13912345678", "+86 138 0013 8000", "138-1234-5678", "008613800138000",
          "19991399001"]


@pytest.mark.parametrize("secret", TEST_IDENTITIES + PHONES)
def test_test_identities_and_phones_are_masked_in_any_text(secret: str) -> None:
    for text in (secret, f"身份证号{secret}。", f"card {secret} read", f"id={secret},",
                 f"电话：{secret}", f'{{"id_number": "{secret}"}}', f"{secret.lower()}"):
        masked = redact(text)
        assert secret not in masked and secret.lower() not in masked, masked
        assert ID_MASK in masked or PHONE_MASK in masked


def catalogue_codes() -> set[str]:
    document = json.loads((REPO / "kiosk" / "data" / "matters_guangan.json").read_text("utf-8"))
    codes = set()
    for matter in document["matters"]:
        for key, value in matter.items():
            if key.endswith("code") and isinstance(value, str):
                codes.add(value)
    return codes


def test_receipt_application_and_item_codes_and_times_survive() -> None:
    kept = [
        make_receipt_number(KIOSK_ID, date(2026, 11, 27), 1),
        make_receipt_number("511602-HALL-01", date(1990, 3, 7), 999_999),
        "51160220261127000001",  # the platform's application number: 511602 + day + 6 digits
        "2026-11-27T18:16:18.123Z", "1764267378", "1764267378123", "0.13812345678",
        "511602000000", "K511602-HALL-01-20261127-000123-7",
        *catalogue_codes(),
    ]
    assert len(kept) > 100
    for text in kept:
        assert redact(text) == text
        assert redact(f"application {text} acknowledged") == f"application {text} acknowledged"


id_numbers = st.builds(
    lambda region, day, sequence: f"{region}{day:%Y%m%d}{sequence:03d}",
    st.integers(110000, 999999), st.dates(date(1900, 1, 1), date(2099, 12, 31)),
    st.integers(0, 999),
).map(lambda first17: first17 + id_check_char(first17))
around = st.text(max_size=30)


@given(number=id_numbers, before=around, after=around)
def test_any_valid_id_number_in_any_text_is_masked(number: str, before: str, after: str) -> None:
    # a digit right beside it makes a longer number, which is not an ID number
    before = before.rstrip("0123456789")
    after = after.lstrip("0123456789")
    masked = redact(before + number + after)
    assert number not in masked and ID_MASK in masked


@given(kiosk=st.from_regex(r"[1-9][0-9]{5}-[A-Z]{2,8}-[0-9]{2}", fullmatch=True),
       day=st.dates(date(2020, 1, 1), date(2099, 12, 31)), sequence=st.integers(1, 999_999),
       before=around, after=around)
def test_receipt_numbers_in_any_text_survive(kiosk: str, day: date, sequence: int,
                                             before: str, after: str) -> None:
    receipt = make_receipt_number(kiosk, day, sequence)
    after = after.lstrip("0123456789")
    assert receipt in redact(before + " " + receipt + after)


# --------------------------------------------------------------------------- the file


@pytest.fixture()
def logged(tmp_path: Path):
    """The kiosk's logging set up for a test configuration; put back afterwards."""
    config = load_config(write_config(tmp_path, extra="\n[logging]\nlevel = debug\n"),
                         environ={})
    setup = setup_logging(config, console=False)
    yield setup
    setup.close()


def test_records_are_json_lines_with_time_level_logger_message(logged) -> None:
    person = citizen(3)
    log = logging.getLogger("kiosk.test")
    log.info("card read: %s, %s, phone %s", person["id_number"], personal(person["name"]),
             person["phone"])
    log.debug("address %(address)s", {"address": personal(person["address"])})
    message = f"bad form field: {person['name']} {person['id_number']}"
    try:
        raise ValueError(message)
    except ValueError:
        log.exception("form rejected")
    for handler in logged.handlers:
        handler.flush()
    text = logged.path.read_text(encoding="utf-8")
    for secret in person.values():
        assert secret not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["message"] for r in records] == [
        f"card read: {ID_MASK}, {PERSONAL_MASK}, phone {PHONE_MASK}",
        f"address {PERSONAL_MASK}", "form rejected"]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert records[0]["time"].endswith("Z") and records[0]["level"] == "INFO"
    assert records[0]["logger"] == "kiosk.test"
    error = records[2]["exception"]
    assert error["type"] == "ValueError"
    assert error["frames"][-1]["function"] == "test_records_are_json_lines_with_time_level_" \
        "logger_message"
    assert "bad form field" not in text  # the message of an exception is never written


def test_kivy_messages_go_through_the_same_filter(logged) -> None:
    from kivy.logger import Logger  # KIVY_LOG_MODE=PYTHON (tests/conftest.py, cmd_run)

    Logger.warning("IdCard: card 110101199003078013 phone 13800000000")
    for handler in logged.handlers:
        handler.flush()
    text = logged.path.read_text(encoding="utf-8")
    assert "IdCard" in text and "110101199003078013" not in text and "13800000000" not in text


def test_folder_0700_files_0600_whatever_the_umask(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path), environ={})
    folder = config.storage.data_dir / "logs"
    folder.mkdir(parents=True, mode=0o755)
    os.chmod(folder, 0o755)
    (folder / "kiosk.log").write_text("", encoding="utf-8")
    os.chmod(folder / "kiosk.log", 0o644)
    old = os.umask(0)
    try:
        setup = setup_logging(config, console=False)
        logging.getLogger("kiosk.test").warning("hello")
        setup.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "kiosk.log").stat().st_mode) == 0o600


def test_rotation_bounds_the_size(tmp_path: Path) -> None:
    config = load_config(write_config(
        tmp_path, extra="\n[logging]\nmax_bytes = 65536\nbackups = 2\n"), environ={})
    setup = setup_logging(config, console=False)
    log = logging.getLogger("kiosk.test")
    try:
        for index in range(3000):
            log.info("record %d %s", index, "x" * 150)
        log.info("huge %s", "y" * 100_000)
    finally:
        setup.close()
    folder = config.storage.data_dir / "logs"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"]
    for path in folder.iterdir():
        assert path.stat().st_size <= 65536 + 4200, path.name
    records = read_records(folder)
    assert records[-1]["message"].startswith("huge ") and records[-1]["truncated"] == 100_005
    assert len(records[-1]["message"]) == 4000


def test_logging_settings_are_checked(tmp_path: Path) -> None:
    defaults = load_config(write_config(tmp_path), environ={}).logging
    assert (defaults.level, defaults.max_bytes, defaults.backups) == ("info", 5 << 20, 5)
    for line, words in (("level = verbose", "debug, info, warning, error"),
                        ("max_bytes = 100", "65536..1073741824"),
                        ("backups = 0", "1..100")):
        with pytest.raises(ConfigError, match=words):
            load_config(write_config(tmp_path, extra=f"\n[logging]\n{line}\n"), environ={})


# ------------------------------------------------------------------- the command line


def test_a_real_flow_leaves_no_citizen_data_in_the_log(tmp_path: Path) -> None:
    """Enqueue, sync to the reference platform, list and reprint one application through
    the real ``kiosk`` command at debug level; names and addresses cannot be masked by a
    pattern, so this proves the code never hands them to a log call."""
    from tests.platform_server import PlatformServer

    (tmp_path / "platform").mkdir()
    with PlatformServer(tmp_path / "platform", kiosks={KIOSK_ID: tmp_path / "platform.key"}) \
            as server:
        config = write_config(tmp_path, url=server.base_url,
                              extra="\n[logging]\nlevel = debug\n")
        document = tmp_path / "application.json"
        document.write_text(json.dumps(application_document(41), ensure_ascii=False),
                            encoding="utf-8")
        added = run_kiosk(config, "queue", "add", str(document))
        assert added.returncode == 0, added.stderr
        receipt = added.stdout.split()[0]
        for args in (("sync", "--once"), ("queue", "status", "--json"),
                     ("queue", "reprint", receipt), ("diagnose",)):
            done = run_kiosk(config, *args)
            assert "Traceback" not in done.stderr, args
    records = read_records(tmp_path / "data" / "logs")
    # the reference platform's own log is beside its database, not in the kiosk's
    assert (tmp_path / "platform" / "logs" / "platform.log").is_file()
    assert sorted(p.name for p in (tmp_path / "data" / "logs").iterdir()) == ["kiosk.log"]
    text = json.dumps(records, ensure_ascii=False)
    assert receipt in text  # the flow's identifiers are there...
    assert any(r["logger"].startswith("urllib3") for r in records)  # ...and libraries' debug
    person = citizen(41)
    for secret in person.values():  # ...but nothing of the citizen
        assert secret not in text
        assert secret not in (tmp_path / "data" / "logs" / "kiosk.log").read_text("utf-8")


def test_an_unexpected_error_is_one_line_and_the_log_has_the_record(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    folder = tmp_path / "not-a-file.json"  # a folder where the application file should be
    folder.mkdir()
    done = run_kiosk(config, "queue", "add", str(folder))
    assert done.returncode == EX_SOFTWARE
    log_file = tmp_path / "data" / "logs" / "kiosk.log"
    assert done.stderr.splitlines() == [
        f"kiosk queue add: failed unexpectedly (IsADirectoryError); the full record is in "
        f"{log_file}"]
    last = read_records(log_file.parent)[-1]
    assert last["level"] == "CRITICAL" and last["message"] == "kiosk queue add failed " \
        "unexpectedly"
    assert last["exception"]["type"] == "IsADirectoryError"
    assert any(f["function"] == "cmd_add" for f in last["exception"]["frames"])
    assert str(folder) not in json.dumps(last)  # the message (here a path) stays out


def test_main_in_process_leaves_logging_as_it_found_it(tmp_path: Path, capsys) -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    folder = tmp_path / "dir.json"
    folder.mkdir()
    assert main(["--config", str(write_config(tmp_path)), "queue", "add", str(folder)]) == 70
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert (list(root.handlers), root.level) == before


def test_ctrl_c_exits_130_quietly(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = dict(os.environ)
    env.pop("KIOSK_CONFIG", None)
    # reading the application from a pipe that never ends: the command waits for input
    process = subprocess.Popen([*KIOSK, "--config", str(config), "queue", "add", "/dev/stdin"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    log_file = tmp_path / "data" / "logs" / "kiosk.log"
    deadline = time.monotonic() + 60
    while not (log_file.exists() and "started" in log_file.read_text("utf-8")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    # stdin stays open until the command has ended: closing it at once (communicate) could
    # hand a loaded machine's late reader an end of file instead of the interrupt
    process.wait(timeout=30)
    _out, err = process.communicate()
    assert process.returncode == EX_INTERRUPTED
    assert err == ""
    assert read_records(log_file.parent)[-1]["message"] == "kiosk queue add interrupted"


def test_help_names_the_exit_codes_and_the_log(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "70 an unexpected error" in " ".join(out.split())
    assert "130 interrupted" in " ".join(out.split()) and "logs/kiosk.log" in out


def test_without_a_log_file_the_command_says_so_and_still_answers(tmp_path: Path,
                                                                  capsys) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be", encoding="utf-8")
    folder = tmp_path / "dir.json"
    folder.mkdir()
    assert main(["--config", str(write_config(tmp_path)), "queue", "add", str(folder)]) == 70
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("WARNING kiosk.operations.logs: no log file: cannot write ")
    assert lines[1] == ("kiosk queue add: failed unexpectedly (IsADirectoryError); no log file: "
                        f"cannot write {blocker / 'logs'}: NotADirectoryError")


def test_a_full_disk_loses_records_not_the_command(tmp_path: Path, capsys) -> None:
    """/dev/full answers every write with ENOSPC, as a full data disk does."""
    config = load_config(write_config(tmp_path), environ={})
    folder = config.storage.data_dir / "logs"
    folder.mkdir(parents=True)
    (folder / "kiosk.log").symlink_to("/dev/full")
    mode = os.stat("/dev/full").st_mode
    setup = setup_logging(config, console=False)
    for index in range(50):
        logging.getLogger("kiosk.test").warning("record %d", index)
    file_handler = setup.handlers[0]
    setup.close()
    assert file_handler.dropped >= 1
    assert capsys.readouterr().err == ""  # no "--- Logging error ---" with a traceback
    assert os.stat("/dev/full").st_mode == mode  # a device the path points at is not chmod'ed
