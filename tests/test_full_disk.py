"""A really full disk at submit: nothing half-written, earlier applications intact and syncable.

The kiosk's data folder is put on a small tmpfs that is then filled to the last byte, so the
errors are the kernel's ENOSPC and SQLite's SQLITE_FULL, not a stand-in. Mounting needs
privileges; in this order:

1. ``mount -t tmpfs -o size=600k`` when running as root and mounting is permitted (the test
   body runs in this process, the tmpfs is unmounted afterwards);
2. otherwise ``unshare --user --map-root-user --mount``: the test body runs in a child
   process (this file run as ``python -m tests.test_full_disk BODY FOLDER SIZE ARGS``) that
   mounts the tmpfs in its own mount namespace, where it vanishes with the child;
3. otherwise the test is skipped, saying why.

``KIOSK_TEST_FULL_DISK=mount|unshare`` forces one way (to check the other on a root machine).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import io
import json
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SMALL = "1m"
"""Room for the schema (every migration adds pages) and a few applications; each test
fills it to the last byte anyway."""
FORCE = os.environ.get("KIOSK_TEST_FULL_DISK", "")
KIOSK_IDS = {"submit": "511602-FULL-01", "cli": "511602-FULL-02"}

Body = Callable[..., None]


# ------------------------------------------------------------------------- small file systems


def _mount(folder: Path, size: str) -> bool:
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                             str(folder)], capture_output=True, text=True, check=False)
    return result.returncode == 0


def _unmount(folder: Path) -> None:
    if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


@functools.cache
def _unshare_works() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                           capture_output=True, check=False)
    return probe.returncode == 0


def run_on_small_disk(tmp_path: Path, body: Body, size: str = SMALL, **kwargs: Any) -> None:
    """Run ``body(folder, **kwargs)`` with ``folder`` a fresh tmpfs of ``size``."""
    folder = tmp_path / "small"
    folder.mkdir()
    root = os.geteuid() == 0 and shutil.which("mount") is not None
    if FORCE != "unshare" and root and _mount(folder, size):
        try:
            body(folder, **kwargs)
        finally:
            _unmount(folder)
        return
    if FORCE != "mount" and _unshare_works():
        command = ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-m",
                   "tests.test_full_disk", body.__name__, str(folder), size, json.dumps(kwargs)]
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                                timeout=600, check=False)
        assert result.returncode == 0, f"test body failed in the child:\n{result.stderr}"
        return
    pytest.skip("cannot mount a small tmpfs: not root with mount rights, and unprivileged "
                "user namespaces (unshare --user --map-root-user --mount) are not available")


def _child_main(argv: list[str]) -> int:
    """In the unshare child: mount the tmpfs in this mount namespace, run the body."""
    name, folder, size, kwargs = argv[0], Path(argv[1]), argv[2], json.loads(argv[3])
    if not _mount(folder, size):
        print(f"mount -t tmpfs failed in the user namespace on {folder}", file=sys.stderr)
        return 3
    try:
        globals()[name](folder, **kwargs)
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def fill(path: Path) -> None:
    """Write ``path`` until the file system has not one byte left."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 16, 1 << 12, 1 << 9, 1 << 6, 1):
            block = b"\0" * chunk
            while True:
                try:
                    os.write(handle, block)
                except OSError as error:
                    assert error.errno == errno.ENOSPC, error
                    break
    finally:
        os.close(handle)
    assert os.statvfs(path.parent).f_bavail == 0


def leave_free(path: Path, free_bytes: int) -> None:
    """Shrink the filler ``path`` until the file system has about ``free_bytes`` free."""
    stats = os.statvfs(path.parent)
    free = stats.f_bavail * stats.f_frsize
    os.truncate(path, max(0, path.stat().st_size - (free_bytes - free)))


def integrity(database: Path) -> str:
    """``PRAGMA integrity_check`` of the kiosk database through a connection of its own."""
    import sqlite3

    conn = sqlite3.connect(database)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def cli(*args: str) -> tuple[int, str, str]:
    """``kiosk ARGS`` in this process: (exit code, stdout, stderr). A traceback would raise."""
    from kiosk.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------- the bodies


def body_submit_on_full_disk(folder: Path, base_url: str, key_hex: str, kiosk_id: str) -> None:
    """SQLITE_FULL and ENOSPC at submit; rollback, orphan files removed, earlier ones intact."""
    from kiosk.applying.applications import (
        ApplicationService,
        NewAttachment,
        OutboxStorage,
        StorageFull,
        parse_application_document,
    )
    from kiosk.applying.receipt_numbers import parse_receipt_number
    from kiosk.config import load_config
    from kiosk.platform.sync import OUTBOX_ONLY, SyncWorker, make_client
    from offline_cache.outbox import State
    from tests.kiosk_files import application_document, write_config

    config_file = write_config(folder, url=base_url, kiosk_id=kiosk_id)
    key_file = folder / "platform.key"
    key_file.write_text(key_hex + "\n", encoding="ascii")
    key_file.chmod(0o600)
    config = load_config(config_file, environ={})
    storage = OutboxStorage(config, durable=True)
    try:
        service = ApplicationService(storage)
        base = parse_application_document(application_document(1), folder)
        photo = os.urandom(20_000)
        earlier = service.submit(dataclasses.replace(
            base, attachments=(NewAttachment("居民身份证", photo, "image/jpeg"),)))
        earlier_record = storage.outbox.find(earlier)
        earlier_payload = storage.outbox.payload(earlier_record.local_id)
        (earlier_digest, _kind, _size), = storage.outbox.attachments(earlier_record.local_id)
        files_before = sorted(p.name for p in config.storage.attachments_dir.iterdir())

        filler = folder / "filler"
        fill(filler)

        # a new photo: the attachment write fails with ENOSPC
        new_photo = dataclasses.replace(
            base, attachments=(NewAttachment("户口簿", os.urandom(30_000), "image/jpeg"),))
        with pytest.raises(StorageFull) as raised:
            service.submit(new_photo)
        assert "disk" in str(raised.value) and "测试者" not in str(raised.value)
        # a large form: the files are fine, the commit fails with SQLITE_FULL
        big_form = dataclasses.replace(base, form={"说明": "很长的说明" * 1_500})
        with pytest.raises(StorageFull):
            service.submit(big_form)
        assert not storage.conn.in_transaction
        # the earlier photo again, with a large form: its file is referenced, so it stays
        with pytest.raises(StorageFull):
            service.submit(dataclasses.replace(
                big_form, attachments=(NewAttachment("居民身份证", photo, "image/jpeg"),)))

        assert sorted(p.name for p in config.storage.attachments_dir.iterdir()) == files_before
        assert storage.outbox.counts() == {State.SEALED.value: 1}
        assert integrity(config.storage.database) == "ok"
        assert storage.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert storage.outbox.payload(earlier_record.local_id) == earlier_payload
        assert storage.store.get(earlier_digest) == photo
        assert [r.receipt_no for r in storage.outbox.due()] == [earlier]

        # space again: the same application goes through, with the next number
        filler.unlink()
        later = service.submit(big_form)
        assert parse_receipt_number(later).sequence == parse_receipt_number(earlier).sequence + 1
        newer = service.submit(new_photo)
        assert storage.outbox.counts() == {State.SEALED.value: 3}

        # every application, the earlier one first, reaches the platform
        worker = SyncWorker(storage, make_client(config), schedule=OUTBOX_ONLY)
        report = worker.sync_once(progress=False)
        assert report.acknowledged == 3, report
        for receipt_no in (earlier, later, newer):
            assert storage.outbox.find(receipt_no).application_no
        assert integrity(config.storage.database) == "ok"
    finally:
        storage.close()


def body_queue_add_on_full_disk(folder: Path, inputs: str, kiosk_id: str) -> None:
    """``kiosk queue add``: the disk gate, then a disk that fills under it, then space again."""
    from kiosk.applying.applications import OutboxStorage
    from kiosk.config import load_config
    from kiosk.platform.signing import create_key_file
    from offline_cache.outbox import State
    from tests.kiosk_files import write_config

    config_file = write_config(folder, kiosk_id=kiosk_id, extra="\n[outbox]\nmin_free_mb = 10\n")
    create_key_file(folder / "platform.key")
    config = load_config(config_file, environ={})
    small = Path(inputs) / "small.json"
    large = Path(inputs) / "large.json"
    # the running kiosk app holds the database open, as on a real kiosk
    holder = OutboxStorage(config)
    try:
        filler = folder / "filler"
        fill(filler)
        code, out, err = cli("--config", str(config_file), "queue", "add", str(small))
        assert code == 1 and not out
        assert "not accepting applications now" in err and "free disk 0 MB < 10 MB" in err
        assert "Traceback" not in err and "测试者" not in err

        # the gate passes (10.5 MiB free), then the second 6 MiB photo finds the disk full
        leave_free(filler, 10 * (1 << 20) + (1 << 19))
        code, out, err = cli("--config", str(config_file), "queue", "add", str(large))
        assert code == 1 and not out
        assert err.startswith("kiosk queue add: storage full") and err.count("\n") == 1
        assert "Traceback" not in err and "测试者" not in err
        assert holder.outbox.counts() == {}
        assert not list(config.storage.attachments_dir.iterdir())
        assert integrity(config.storage.database) == "ok"

        filler.unlink()
        code, out, err = cli("--config", str(config_file), "queue", "add", str(large))
        assert code == 0, err
        assert holder.outbox.find(out.strip()).state is State.SEALED
    finally:
        holder.close()

    # nobody holds the database open: opening it on a full disk fails, plainly too
    fill(filler)
    for command in (["queue", "add", str(small)], ["queue", "status"]):
        code, out, err = cli("--config", str(config_file), *command)
        assert code == 1 and not out
        assert "cannot open the outbox: the disk is full" in err and "Traceback" not in err
    filler.unlink()
    assert integrity(config.storage.database) == "ok"


# ------------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    from tests.platform_server import PlatformServer

    folder = tmp_path_factory.mktemp("platform")
    key_file = folder / "platform.key"
    with PlatformServer(folder, kiosks={kiosk: key_file for kiosk in KIOSK_IDS.values()}
                        ) as running:
        running.key_file = key_file
        yield running


def test_submit_on_a_really_full_disk(tmp_path: Path, server):
    run_on_small_disk(tmp_path, body_submit_on_full_disk, base_url=server.base_url,
                      key_hex=server.key_file.read_text(encoding="ascii").strip(),
                      kiosk_id=KIOSK_IDS["submit"])


def test_queue_add_on_a_really_full_disk(tmp_path: Path):
    from tests.kiosk_files import application_document

    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "small.json").write_text(json.dumps(application_document(5), ensure_ascii=False),
                                       encoding="utf-8")
    attachments = []
    for number in range(2):
        name = f"page-{number}.jpg"
        (inputs / name).write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(6 * (1 << 20)))
        attachments.append({"name": "户口簿", "path": name, "content_type": "image/jpeg"})
    (inputs / "large.json").write_text(
        json.dumps(application_document(6, attachments), ensure_ascii=False), encoding="utf-8")
    run_on_small_disk(tmp_path, body_queue_add_on_full_disk, size="16m", inputs=str(inputs),
                      kiosk_id=KIOSK_IDS["cli"])


def test_queue_add_runs_the_apply_gates(tmp_path: Path):
    """No platform key: the kiosk was never provisioned and must not take applications."""
    from tests.kiosk_files import write_application, write_config

    config = write_config(tmp_path)
    code, out, err = cli("--config", str(config), "queue", "add",
                         str(write_application(tmp_path / "in", 1)))
    assert code == 1 and not out
    assert "not accepting applications now" in err and "platform_key" in err
    assert "missing" in err


def test_storage_full_is_an_application_error_saying_so():
    import sqlite3

    from kiosk.applying.applications import ApplicationError, StorageFull, is_storage_full

    assert issubclass(StorageFull, ApplicationError)
    assert is_storage_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_storage_full(OSError(errno.EACCES, "Permission denied"))
    conn = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.Error) as raised:
        conn.execute("SELECT * FROM nowhere")
    assert not is_storage_full(raised.value)


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
