"""Sealed, content-addressed attachment files and the start-up reconciliation."""

from __future__ import annotations

import hashlib
from datetime import date
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.applying.receipt_numbers import make_receipt_number
from offline_cache.attachments import AttachmentMissing, AttachmentStore
from offline_cache.database import open_database
from offline_cache.outbox import InvalidTransition, Outbox

KEY = bytes(range(32))
PHOTO = b"\xff\xd8\xff\xe0 photo of ID 110101199003078015 \xff\xd9" * 200


@pytest.fixture()
def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "attachments", KEY)


def test_put_get_is_content_addressed_and_sealed(store):
    digest = store.put(PHOTO)
    assert digest == hashlib.sha256(PHOTO).hexdigest()
    assert store.put(PHOTO) == digest  # storing again is free
    assert store.get(digest) == PHOTO
    raw = store.path(digest).read_bytes()
    assert b"110101199003078015" not in raw and PHOTO[:4] not in raw
    assert not list(store.directory.glob("*.tmp"))


@settings(max_examples=25)
@given(st.binary(min_size=1, max_size=5000))
def test_any_content_round_trips(tmp_path_factory, data):
    store = AttachmentStore(tmp_path_factory.mktemp("a"), KEY)
    assert store.get(store.put(data)) == data


def test_damaged_or_swapped_files_are_missing_not_wrong(store):
    first, second = store.put(b"first page"), store.put(b"second page")
    store.path(first).write_bytes(store.path(second).read_bytes())  # swapped on disk
    with pytest.raises(AttachmentMissing):
        store.get(first)
    with pytest.raises(AttachmentMissing):
        store.get("0" * 64)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def test_reconcile_every_crash_window(tmp_path: Path, store):
    conn = open_database(tmp_path / "kiosk.db")
    outbox = Outbox(conn, KEY, partial(make_receipt_number, "K1"))
    draft = outbox.create_draft("I", {})
    kept = store.put(b"linked page")
    outbox.add_attachment(draft, kept, "image/jpeg", 11)
    orphan = store.put(b"crash before the row was committed")
    (store.directory / "abc.tmp").write_bytes(b"crash before the rename")
    lost = hashlib.sha256(b"disk lost it").hexdigest()
    outbox.add_attachment(draft, lost, "image/jpeg", 12)

    result = store.reconcile(outbox.referenced_attachments())
    assert result.removed_orphans == (orphan,)
    assert result.missing == (lost,)
    assert result.removed_temporaries == 1
    assert store.digests() == {kept}
    conn.close()


def test_attachments_only_on_drafts(tmp_path: Path, store):
    conn = open_database(tmp_path / "kiosk.db")
    outbox = Outbox(conn, KEY, partial(make_receipt_number, "K1"))
    draft = outbox.create_draft("I", {})
    digest = store.put(PHOTO)
    outbox.add_attachment(draft, digest, "image/jpeg", len(PHOTO))
    outbox.add_attachment(draft, digest, "image/jpeg", len(PHOTO))  # idempotent
    assert outbox.attachments(draft) == [(digest, "image/jpeg", len(PHOTO))]
    outbox.seal_application(draft, day=date(2026, 11, 23))
    with pytest.raises(InvalidTransition, match="it is sealed"):
        outbox.add_attachment(draft, digest, "image/jpeg", len(PHOTO))
    conn.close()
