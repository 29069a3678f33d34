"""Accepting applications: validation of the JSON of ``kiosk queue add``, sealing, recovery."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.applying.applications import (
    ApplicationError,
    ApplicationService,
    NewApplication,
    NewAttachment,
    OutboxStorage,
    parse_application_document,
    read_application_file,
)
from kiosk.applying.receipt_numbers import parse_receipt_number
from kiosk.cli import main
from kiosk.platform.signing import create_key_file
from offline_cache.outbox import State
from tests.kiosk_files import (
    KIOSK_ID,
    application_document,
    make_config,
    write_application,
    write_config,
)


@pytest.fixture()
def storage(tmp_path: Path):
    opened = OutboxStorage(make_config(tmp_path))
    yield opened
    opened.close()


def test_submit_seals_with_a_receipt_number_of_this_kiosk(storage, tmp_path: Path):
    application = parse_application_document(application_document(1), tmp_path)
    receipt_no = ApplicationService(storage).submit(application)
    assert parse_receipt_number(receipt_no).kiosk_id == KIOSK_ID
    record = storage.outbox.find(receipt_no)
    assert record.state is State.SEALED
    payload = storage.outbox.payload(record.local_id)
    assert payload["applicant"]["name"] == "测试者00001"
    assert payload["created_at"].endswith(("+00:00", "+08:00")) or "+" in payload["created_at"]


def test_attachments_are_stored_sealed_and_listed(storage, tmp_path: Path):
    path = write_application(tmp_path / "in", 2, files=2)
    receipt_no = ApplicationService(storage).submit(read_application_file(path))
    record = storage.outbox.find(receipt_no)
    listed = storage.outbox.payload(record.local_id)["attachments"]
    assert [a["name"] for a in listed] == ["材料0", "材料1"]
    for attachment in listed:
        data = storage.store.get(attachment["sha256"])
        assert len(data) == attachment["size"]
        assert data not in storage.store.path(attachment["sha256"]).read_bytes()


def test_preflight_refusal_stops_before_anything_is_stored(storage, tmp_path: Path):
    def refuse() -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        ApplicationService(storage, preflight=refuse).submit(
            parse_application_document(application_document(3), tmp_path))
    assert storage.outbox.counts() == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("item_code"), "item_code"),
        (lambda d: d.update(receipt_no="K1"), "unknown key"),
        (lambda d: d.update(delivery={"method": "drone"}), "delivery.method"),
        (lambda d: d.update(delivery={"method": "express"}), "delivery.address"),
        (lambda d: d.update(applicant="张三"), "applicant"),
        (lambda d: d.update(attachments=[{"name": "a", "path": "none.jpg",
                                          "content_type": "image/jpeg"}]), "cannot read"),
        (lambda d: d.update(attachments=[{"name": "a", "path": "x", "content_type": "text/x"}]),
         "content_type"),
        (lambda d: d.update(attachments={"a": 1}), "attachments"),
    ],
)
def test_bad_documents_say_which_part(tmp_path: Path, change, message):
    document = application_document(4)
    (tmp_path / "x").write_bytes(b"data")
    change(document)
    with pytest.raises(ApplicationError, match=message) as caught:
        parse_application_document(document, tmp_path)
    assert "测试者" not in str(caught.value) and "110101" not in str(caught.value)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(
                        st.sampled_from(["item_code", "applicant", "form", "attachments",
                                         "delivery", "method", "name", "path",
                                         "content_type", "x"]), c, max_size=5),
                    max_leaves=15))
def test_any_json_document_is_accepted_or_refused_clearly(tmp_path: Path, document):
    try:
        application = parse_application_document(document, tmp_path)
    except ApplicationError:
        return
    assert isinstance(application, NewApplication)
    application.check()


def test_oversized_or_empty_attachment_is_refused():
    big = NewApplication("C", {}, {}, attachments=(
        NewAttachment("a", b"x" * (10 * 1024 * 1024 + 1), "image/png"),))
    with pytest.raises(ApplicationError, match="10 MiB"):
        big.check()
    with pytest.raises(ApplicationError, match="empty"):
        NewApplication("C", {}, {}, attachments=(NewAttachment("a", b"", "image/png"),)).check()


def test_recovery_resumes_uploads_and_removes_only_old_orphans(storage, tmp_path: Path):
    service = ApplicationService(storage)
    receipt_no = service.submit(read_application_file(write_application(tmp_path / "in", 5)))
    record = storage.outbox.find(receipt_no)
    storage.outbox.start_upload(record.local_id)  # then the kiosk "crashes"
    old_orphan = storage.store.put(b"orphan from a crash")
    fresh_orphan = storage.store.put(b"another process is about to commit this")
    past = time.time() - 7200
    os.utime(storage.store.path(old_orphan), (past, past))
    found = storage.recover()
    assert found.resumed_uploads == 1 and found.removed_orphan_files == 1
    assert storage.outbox.get(record.local_id).state is State.RETRY_LATER
    assert not storage.store.path(old_orphan).exists()
    assert storage.store.path(fresh_orphan).exists()


def test_recovery_quarantines_a_record_whose_file_vanished(storage, tmp_path: Path):
    receipt_no = ApplicationService(storage).submit(
        read_application_file(write_application(tmp_path / "in", 6)))
    record = storage.outbox.find(receipt_no)
    digest = storage.outbox.attachments(record.local_id)[0][0]
    storage.store.path(digest).unlink()
    found = storage.recover()
    assert found.quarantined_missing_files == 1
    after = storage.outbox.get(record.local_id)
    assert after.state is State.QUARANTINED and "file-not-found" in after.quarantine_reason


# -- the command line ------------------------------------------------------------------


def test_queue_add_status_and_retry_commands(tmp_path: Path, capsys):
    config = write_config(tmp_path)
    create_key_file(tmp_path / "platform.key")  # queue add runs the Apply gates (keys)
    path = write_application(tmp_path / "in", 7, files=2)
    assert main(["--config", str(config), "queue", "add", str(path)]) == 0
    receipt_no = capsys.readouterr().out.strip()
    parse_receipt_number(receipt_no)
    assert main(["--config", str(config), "queue", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["sealed"] == 1 and status["pending"] == 1
    assert status["records"][0]["receipt_no"] == receipt_no
    assert "测试者" not in json.dumps(status, ensure_ascii=False)
    assert main(["--config", str(config), "queue", "retry", receipt_no]) == 1
    assert "only quarantined or deferred" in capsys.readouterr().err
    assert main(["--config", str(config), "queue", "status"]) == 0
    assert "sealed 1" in capsys.readouterr().out


def test_queue_add_refuses_a_bad_file_clearly(tmp_path: Path, capsys):
    config = write_config(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"item_code": 5, "applicant": {}}')
    assert main(["--config", str(config), "queue", "add", str(bad)]) == 2
    assert "item_code" in capsys.readouterr().err
    bad.write_bytes(b"\xff\xfe")
    assert main(["--config", str(config), "queue", "add", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err


def test_queue_retry_refuses_a_malformed_number(tmp_path: Path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "queue", "retry", "K1-2026"]) == 2
    assert "not a receipt number" in capsys.readouterr().err
