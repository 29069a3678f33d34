"""The kiosk's keys and SQLite storage at rest: private files, keys never replaced in silence.

Real parts only: key files and SQLite databases in temporary folders, the ``kiosk`` command as
a real process where a traceback could show, two real processes racing to create a key, the
reference platform as a real process for the tampered-record test.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.applying.applications import ApplicationService, OutboxStorage
from kiosk.applying.applications import parse_application_document as parse_document
from kiosk.cli import main
from kiosk.commands.diagnose import check_keys
from kiosk.platform.signing import KeyFileError as SigningKeyError
from kiosk.platform.signing import create_key_file, read_key_file
from kiosk.platform.sync import OUTBOX_ONLY, Backoff, SyncWorker, make_client
from kiosk.services import open_master_key
from offline_cache.database import open_database
from offline_cache.migrations import MIGRATIONS
from offline_cache.outbox import Outbox, PayloadSealBroken, State
from offline_cache.reasons import clear_reason
from offline_cache.sealing import KeyFileError, MasterKeyMissing, load_or_create_master_key, seal
from tests.kiosk_files import JOURNEY_MATTER as JOURNEY_ITEM
from tests.kiosk_files import (
    KIOSK_ID,
    application_document,
    citizen,
    make_config,
    write_application,
    write_config,
)
from tests.platform_server import PlatformServer, install_key

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "SDL_AUDIODRIVER": "dummy",
       "KIVY_NO_ARGS": "1", "PYTHONPATH": str(REPO)}


def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    """The ``kiosk`` command as a real process (so a traceback would show on stderr)."""
    return subprocess.run([sys.executable, "-m", "kiosk", *args], capture_output=True,
                          text=True, cwd=REPO, env=ENV, timeout=120)


def queued_kiosk(tmp_path: Path, applications: int = 2) -> Path:
    """A configured kiosk with ``applications`` sealed in its outbox; returns the INI."""
    config = write_config(tmp_path)
    create_key_file(tmp_path / "platform.key")
    for index in range(applications):
        path = write_application(tmp_path / "in", index, files=1)
        assert main(["--config", str(config), "queue", "add", str(path)]) == 0
    return config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- 1. a signing key others can read is refused ------------------------------------------


def test_platform_key_readable_by_others_is_refused_naming_the_file_and_fix(tmp_path: Path):
    key = tmp_path / "platform.key"
    create_key_file(key)
    for loose in (0o644, 0o604, 0o620, 0o640):
        key.chmod(loose)
        with pytest.raises(SigningKeyError) as refused:
            read_key_file(key)
        assert f"chmod 600 {key}" in str(refused.value) and str(key) in str(refused.value)
    key.chmod(0o600)
    assert len(read_key_file(key)) == 32


def test_sync_refuses_an_open_platform_key_in_one_line(tmp_path: Path):
    config = write_config(tmp_path)
    create_key_file(tmp_path / "platform.key")
    (tmp_path / "platform.key").chmod(0o644)
    with pytest.raises(SigningKeyError):
        make_client(make_config(tmp_path))  # the sync worker signs with nothing
    ran = kiosk("--config", str(config), "sync", "--once")
    assert ran.returncode != 0
    assert f"chmod 600 {tmp_path / 'platform.key'}" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_diagnose_fails_on_an_open_key(tmp_path: Path):
    config = make_config(tmp_path)
    create_key_file(tmp_path / "platform.key")
    assert check_keys(config).ok
    (tmp_path / "platform.key").chmod(0o644)
    check = check_keys(config)
    assert not check.ok and "chmod 600" in check.detail


def test_open_master_key_ends_in_one_message_not_a_traceback(tmp_path: Path):
    config = queued_kiosk(tmp_path, applications=1)
    master = tmp_path / "data" / "master.key"
    master.chmod(0o644)
    for command in (("sync", "--once"), ("queue", "add", str(tmp_path / "in" /
                                                              "application-0.json"))):
        ran = kiosk("--config", str(config), *command)
        assert ran.returncode != 0, command
        assert f"chmod 600 {master}" in ran.stderr, (command, ran.stderr)
        assert "Traceback" not in ran.stderr, command


def test_app_start_up_logs_the_refusal_without_a_traceback(tmp_path: Path, caplog):
    from kiosk.services import KioskServices

    queued_kiosk(tmp_path, applications=1)
    (tmp_path / "data" / "master.key").chmod(0o644)
    services = KioskServices.create(make_config(tmp_path))
    try:
        with caplog.at_level("ERROR"):
            assert services.refusal() == "preflight.unavailable"
    finally:
        services.catalog.close()
    messages = [record for record in caplog.records if "chmod 600" in record.getMessage()]
    assert messages and all(record.exc_info is None for record in messages)


# -- 2. a missing master key is an alarm, never a new key ---------------------------------


def test_missing_master_key_with_sealed_records_is_refused_not_recreated(tmp_path: Path):
    config = queued_kiosk(tmp_path, applications=3)
    master = tmp_path / "data" / "master.key"
    master.unlink()

    status = kiosk("--config", str(config), "queue", "status")
    assert not master.exists()  # a read-only command made no key
    assert status.returncode == 1 and "Traceback" not in status.stderr
    assert "missing" in status.stderr and "restore" in status.stderr
    assert "sealed 3" in status.stdout  # the queue is still shown

    add = kiosk("--config", str(config), "queue", "add",
                str(tmp_path / "in" / "application-0.json"))
    assert add.returncode == 1 and "Traceback" not in add.stderr
    assert not master.exists()
    # 3 applications + 3 attachment files need the key
    assert "6 sealed records" in add.stderr and "restore" in add.stderr

    with pytest.raises(MasterKeyMissing) as alarm:
        open_master_key(make_config(tmp_path), create=True)  # the touchscreen's way in
    assert alarm.value.records == 6 and not master.exists()
    from kiosk.services import _make_worker

    with pytest.raises(MasterKeyMissing):  # the app's sync thread: "sync is off: ..."
        _make_worker(make_config(tmp_path), None, None, None)  # type: ignore[arg-type]
    assert not master.exists()


def test_queued_ratings_alone_keep_a_lost_key_from_being_remade(tmp_path: Path):
    """A rating's comment is sealed: a new key would open none of them (all quarantined)."""
    from offline_cache.database import open_database
    from offline_cache.evaluations import EvaluationQueue
    from offline_cache.keys import sealed_records

    config = make_config(tmp_path)
    key = open_master_key(config, create=True)
    conn = open_database(config.storage.database)
    queue = EvaluationQueue(conn, key)
    for _ in range(2):
        queue.enqueue(JOURNEY_ITEM, {"item_code": JOURNEY_ITEM, "score": 1, "tags": [],
                                     "comment": "太慢了"})
    assert sealed_records(conn, config.storage.attachments_dir) == 2
    conn.close()
    config.storage.master_key_file.unlink()
    with pytest.raises(MasterKeyMissing) as alarm:
        open_master_key(config, create=True)
    assert alarm.value.records == 2 and not config.storage.master_key_file.exists()


def test_sync_command_with_a_missing_master_key_makes_no_key(tmp_path: Path):
    config = queued_kiosk(tmp_path, applications=1)
    master = tmp_path / "data" / "master.key"
    master.unlink()
    sync = kiosk("--config", str(config), "sync", "--once")
    assert not master.exists()
    assert "restore" in sync.stderr and "Traceback" not in sync.stderr


def test_only_a_fresh_kiosk_makes_a_key_and_status_never_does(tmp_path: Path):
    config = write_config(tmp_path)
    master = tmp_path / "data" / "master.key"
    assert kiosk("--config", str(config), "queue", "status").returncode == 0
    assert not master.exists()
    assert check_keys(make_config(tmp_path)).detail.count("not made yet") == 1
    create_key_file(tmp_path / "platform.key")
    path = write_application(tmp_path / "in", 1)
    assert main(["--config", str(config), "queue", "add", str(path)]) == 0
    assert master.exists() and mode(master) == 0o600


# -- 3. two processes creating the key together -------------------------------------------

RACER = r"""
import sys, os
from pathlib import Path
kind, key, folder = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
if kind == "master":
    from offline_cache.sealing import load_or_create_master_key as make
else:
    from kiosk.platform.signing import load_or_create_key_file as make
(folder / f"ready-{os.getpid()}").touch()
while not (folder / "go").exists():
    pass
try:
    print("KEY", make(key).hex())
except Exception as error:
    print("ERROR", type(error).__name__, error)
"""

TRIALS = 24


@pytest.mark.parametrize("kind", ["master", "platform"])
def test_two_processes_creating_a_key_together_agree(tmp_path: Path, kind: str):
    failures = []
    for trial in range(TRIALS):
        folder = tmp_path / str(trial)
        folder.mkdir()
        racers = [subprocess.Popen(
            [sys.executable, "-c", RACER, kind, str(folder / "k.key"), str(folder)],
            stdout=subprocess.PIPE, text=True, cwd=REPO, env=ENV) for _ in range(2)]
        deadline = time.monotonic() + 60
        while len(list(folder.glob("ready-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        (folder / "go").touch()  # both start from the same moment
        outputs = [racer.communicate(timeout=60)[0].strip() for racer in racers]
        if not (outputs[0].startswith("KEY") and outputs[0] == outputs[1]):
            failures.append(outputs)
        assert mode(folder / "k.key") == 0o600
        assert sorted(p.name for p in folder.iterdir() if p.suffix == ".tmp") == []
    assert failures == []


# -- 4. deleted rows leave nothing behind ---------------------------------------------------


def _deleted_marker_left(conn: sqlite3.Connection, path: Path) -> bool:
    marker = b"DELETED-PAYLOAD-" * 8
    conn.execute("INSERT INTO sync_meta (name, value) VALUES ('x', ?)", (marker.decode(),))
    conn.execute("DELETE FROM sync_meta WHERE name = 'x'")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    left = marker in path.read_bytes() + Path(f"{path}-wal").read_bytes()
    conn.close()
    return left


def test_deleted_payload_is_gone_from_the_file(tmp_path: Path):
    conn = open_database(tmp_path / "a" / "kiosk.db")
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert not _deleted_marker_left(conn, tmp_path / "a" / "kiosk.db")
    # the method sees leftovers: the same steps with secure_delete off leave the bytes
    control = open_database(tmp_path / "b" / "kiosk.db")
    control.execute("PRAGMA secure_delete = OFF")
    assert _deleted_marker_left(control, tmp_path / "b" / "kiosk.db")


# -- 5. receipt number and item code are bound to the sealed payload ----------------------


def _outbox(conn: sqlite3.Connection, key: bytes) -> Outbox:
    return Outbox(conn, key, lambda day, sequence: f"K-{day:%Y%m%d}-{sequence:04d}")


def test_editing_sealed_columns_is_detected(tmp_path: Path):
    key = os.urandom(32)
    conn = open_database(tmp_path / "kiosk.db")
    outbox = _outbox(conn, key)
    first, _ = outbox.enqueue("ITEM-A", {"applicant": citizen(1)}, [])
    second, _ = outbox.enqueue("ITEM-B", {"applicant": citizen(2)}, [])
    assert outbox.payload(first)["applicant"] == citizen(1)
    raw = sqlite3.connect(tmp_path / "kiosk.db")
    raw.execute("UPDATE applications SET receipt_no = 'K-20990101-9999' WHERE local_id = ?",
                (first,))
    raw.execute("UPDATE applications SET item_code = 'ITEM-A' WHERE local_id = ?", (second,))
    raw.commit()
    for local_id in (first, second):
        with pytest.raises(PayloadSealBroken):
            outbox.payload(local_id)
    third, _ = outbox.enqueue("ITEM-C", {"applicant": citizen(3)}, [])
    raw.execute("UPDATE applications SET aad_version = 1 WHERE local_id = ?", (third,))
    raw.commit()
    with pytest.raises(PayloadSealBroken):  # no downgrade to the weaker binding
        outbox.payload(third)
    raw.close()
    conn.close()


def test_a_row_sealed_before_the_versioned_binding_still_opens(tmp_path: Path):
    path = tmp_path / "kiosk.db"
    key = os.urandom(32)
    old = open_database(path, migrations=MIGRATIONS[:4])  # the schema before AAD versions
    blob = seal(key, json.dumps({"applicant": citizen(4)}).encode(), b"application|old-1")
    old.execute("INSERT INTO applications (local_id, receipt_no, state, item_code, payload,"
                " created_at, updated_at) VALUES ('old-1', 'K-1', 'sealed', 'I', ?, 0, 0)",
                (blob,))
    old.close()
    conn = open_database(path)
    assert _outbox(conn, key).payload("old-1")["applicant"] == citizen(4)
    conn.close()


def test_a_record_whose_columns_were_edited_is_quarantined_never_sent(tmp_path: Path):
    key_file = tmp_path / "platform.key"
    (tmp_path / "platform").mkdir()
    with PlatformServer(tmp_path / "platform", kiosks={KIOSK_ID: key_file}) as server:
        config = make_config(tmp_path / "kiosk", url=server.base_url)
        install_key(key_file, tmp_path / "kiosk" / "platform.key")
        (tmp_path / "kiosk" / "platform.key").chmod(0o600)
        storage = OutboxStorage(config, durable=False)
        service = ApplicationService(storage)
        good = service.submit(parse_document(application_document(1), tmp_path))
        edited = service.submit(parse_document(application_document(2), tmp_path))
        raw = sqlite3.connect(config.storage.database)
        raw.execute("UPDATE applications SET receipt_no = ? WHERE receipt_no = ?",
                    (edited[:-1] + ("0" if edited[-1] != "0" else "1"), edited))
        raw.commit()
        raw.close()
        worker = SyncWorker(storage, make_client(config), backoff=Backoff(0.001, 0.01),
                            schedule=OUTBOX_ONLY)
        worker.sync_once(progress=False)
        quarantined = storage.outbox.listing((State.QUARANTINED,))
        assert len(quarantined) == 1
        assert "PayloadSealBroken" in (quarantined[0].quarantine_reason or "")
        assert server.receipt_numbers() == [good]
        worker.client.close()
        storage.close()


# -- 6. private folder and files ------------------------------------------------------------


def test_new_database_folder_and_files_are_private(tmp_path: Path):
    folder = tmp_path / "fresh"
    conn = open_database(folder / "kiosk.db")
    conn.execute("INSERT INTO sync_meta (name, value) VALUES ('a', 'b')")
    assert mode(folder) == 0o700
    for name in ("kiosk.db", "kiosk.db-wal", "kiosk.db-shm"):
        assert mode(folder / name) == 0o600, name
    conn.close()


def test_existing_loose_folder_and_database_are_tightened(tmp_path: Path):
    folder = tmp_path / "old"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    sqlite3.connect(folder / "kiosk.db").close()
    (folder / "kiosk.db").chmod(0o644)
    open_database(folder / "kiosk.db").close()
    assert mode(folder) == 0o700 and mode(folder / "kiosk.db") == 0o600


def test_attachments_and_keys_are_private(tmp_path: Path):
    config = queued_kiosk(tmp_path, applications=1)
    data = make_config(tmp_path).storage
    assert mode(data.data_dir) == 0o700 and mode(data.attachments_dir) == 0o700
    files = list(data.attachments_dir.iterdir())
    assert files and all(mode(path) == 0o600 for path in files)
    assert mode(data.master_key_file) == 0o600 and config.exists()


# -- 7. reasons in clear carry no personal data --------------------------------------------

ID_NUMBER = citizen(7)["id_number"]


def test_clear_reason_keeps_the_platform_words_and_drops_values():
    assert clear_reason("platform 422 invalid_field field=form.phone") == (
        "platform 422 invalid_field field=form.phone")
    cleared = clear_reason(f"422 bad id_number={ID_NUMBER} name 张三 phone 13912345678")
    assert cleared == "422 bad name phone (details removed)"
    assert len(clear_reason("word " * 100) or "") <= 200
    assert clear_reason(None) is None


def _id_numbers() -> st.SearchStrategy[str]:
    return st.integers(0, 10_000).map(lambda index: citizen(index)["id_number"])


def _cjk_names() -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
                   min_size=2, max_size=4)


@settings(max_examples=300, deadline=None)
@given(before=st.text(max_size=120), after=st.text(max_size=120),
       secret=st.one_of(_id_numbers(), _cjk_names()))
def test_no_id_number_or_chinese_name_survives(before: str, after: str, secret: str):
    cleared = clear_reason(before + secret + after) or ""
    assert secret not in cleared
    assert len(cleared) <= 200


def test_outbox_stores_reasons_cleared(tmp_path: Path):
    conn = open_database(tmp_path / "kiosk.db")
    outbox = _outbox(conn, os.urandom(32))
    local_id, _ = outbox.enqueue("ITEM", {"applicant": citizen(1)}, [])
    outbox.start_upload(local_id)
    outbox.retry_later(local_id, f"timeout for {ID_NUMBER}", 0)
    assert outbox.get(local_id).last_error == "timeout for (details removed)"
    outbox.start_upload(local_id)
    outbox.quarantine(local_id, "platform 422 invalid_field field=form.name 王小明")
    assert outbox.get(local_id).quarantine_reason == (
        "platform 422 invalid_field field=form.name (details removed)")
    conn.close()


def test_migration_clears_reasons_stored_by_older_software(tmp_path: Path):
    path = tmp_path / "kiosk.db"
    old = open_database(path, migrations=MIGRATIONS[:5])
    old.execute("INSERT INTO applications (local_id, receipt_no, state, item_code, payload,"
                " created_at, updated_at, quarantine_reason, last_error) VALUES"
                " ('a', 'K-1', 'quarantined', 'I', x'00', 0, 0, ?, ?)",
                (f"422 id_number {ID_NUMBER} 李四", "phone 13800001111 unreachable"))
    old.close()
    conn = open_database(path)
    reason, error = conn.execute(
        "SELECT quarantine_reason, last_error FROM applications").fetchone()
    conn.close()
    assert reason == "422 id_number (details removed)"
    assert error == "phone unreachable (details removed)"


def test_queue_status_shows_nothing_personal(tmp_path: Path):
    config = queued_kiosk(tmp_path, applications=1)
    person = citizen(0)
    raw = sqlite3.connect(tmp_path / "data" / "kiosk.db")  # as if written by a bad version
    raw.execute("UPDATE applications SET state = 'quarantined', quarantine_reason = ?,"
                " last_error = ?, platform_status = ?",
                (f"bad {person['id_number']} {person['name']}", person["phone"],
                 person["address"]))
    raw.commit()
    raw.close()
    for extra in ((), ("--json",)):
        shown = kiosk("--config", str(config), "queue", "status", *extra)
        assert shown.returncode == 0, shown.stderr
        for value in person.values():
            assert value not in shown.stdout + shown.stderr


def test_loading_an_existing_master_key_refuses_an_open_one(tmp_path: Path):
    key = tmp_path / "master.key"
    load_or_create_master_key(key)
    key.chmod(0o640)
    with pytest.raises(KeyFileError) as refused:
        load_or_create_master_key(key)
    assert f"chmod 600 {key}" in str(refused.value)
