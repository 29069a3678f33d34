"""Citizens' applications on the kiosk: accept, seal, queue; recover after a crash.

The touchscreen's submit button, ``kiosk queue add`` and the tests all come through
:meth:`ApplicationService.submit`: files first (sealed, content-addressed, durable), then one
database transaction that drafts, links and seals the application and gives it its receipt
number. When :meth:`submit` returns, a power cut can no longer lose the application, so the
receipt may be printed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.applying.receipt_numbers import make_receipt_number
from kiosk.config import KioskConfig
from offline_cache.attachments import AttachmentStore
from offline_cache.database import open_database
from offline_cache.keys import master_key_for
from offline_cache.migrations import primary_error_code
from offline_cache.outbox import Outbox

CONTENT_TYPES = ("image/jpeg", "image/png", "application/pdf")
"""What the platform accepts on PUT /attachments."""
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
DELIVERY_METHODS = ("pickup", "express")

log = logging.getLogger(__name__)


class ApplicationError(ValueError):
    """An application that cannot be accepted as given (says which part, never the data)."""


class StorageFull(ApplicationError):
    """The kiosk's disk had no room for the application; nothing of it was kept.

    Raised by :meth:`ApplicationService.submit` for SQLite's ``SQLITE_FULL`` and for
    ``ENOSPC``/``EDQUOT`` while writing a file. The transaction was rolled back and the files
    this submission wrote were removed, so submitting again once space is freed is safe and
    makes no duplicate. ``citizen_message_id`` is what the screens translate.
    """

    citizen_message_id = "submit.storage_full"


def is_storage_full(error: BaseException) -> bool:
    """True for the errors a full disk (or an exhausted quota) gives while writing."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(error, sqlite3.Error):
        return primary_error_code(error) == sqlite3.SQLITE_FULL
    return False


@dataclass(frozen=True)
class NewAttachment:
    """A document photo or file for a new application."""

    name: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class NewApplication:
    """What the citizen filled in, before it has a receipt number."""

    item_code: str
    applicant: dict[str, Any]
    form: dict[str, Any]
    delivery: dict[str, Any] = field(default_factory=lambda: {"method": "pickup"})
    attachments: tuple[NewAttachment, ...] = ()

    def check(self) -> None:
        """Refuse what the platform would refuse anyway (422), before a receipt is printed."""
        if not isinstance(self.item_code, str) or not self.item_code.strip():
            raise ApplicationError("item_code: a matter's item code is required")
        for name in ("applicant", "form", "delivery"):
            if not isinstance(getattr(self, name), dict):
                raise ApplicationError(f"{name}: must be an object")
        method = self.delivery.get("method")
        if method not in DELIVERY_METHODS:
            raise ApplicationError(f"delivery.method: must be one of {', '.join(DELIVERY_METHODS)}")
        if method == "express" and not self.delivery.get("address"):
            raise ApplicationError("delivery.address: express delivery needs an address")
        for index, attachment in enumerate(self.attachments):
            where = f"attachments[{index}]"
            if not attachment.name.strip():
                raise ApplicationError(f"{where}.name: a material name is required")
            if attachment.content_type not in CONTENT_TYPES:
                raise ApplicationError(
                    f"{where}.content_type: must be one of {', '.join(CONTENT_TYPES)}")
            if not attachment.data:
                raise ApplicationError(f"{where}: the file is empty")
            if len(attachment.data) > MAX_ATTACHMENT_BYTES:
                raise ApplicationError(f"{where}: larger than 10 MiB")


@dataclass(frozen=True)
class StartupRecovery:
    """What the start-up reconciliation found and did (for the log and the technician)."""

    resumed_uploads: int
    removed_orphan_files: int
    removed_temporaries: int
    quarantined_missing_files: int


class OutboxStorage:
    """The kiosk database's outbox and the attachment folder, opened for one thread.

    SQLite connections belong to the thread that opened them, so the touchscreen and the
    sync worker each open their own; WAL lets them work side by side.
    """

    def __init__(self, config: KioskConfig, *, durable: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        # a key is made only while nothing is sealed; a missing key with sealed records is
        # MasterKeyMissing (restore it from backup), never a new key that cannot open them
        storage = config.storage
        master_key = master_key_for(storage.master_key_file, storage.database,
                                    storage.attachments_dir, create=True)
        assert master_key is not None  # create=True: a key or MasterKeyMissing
        self.master_key = master_key
        self.conn: sqlite3.Connection = open_database(config.storage.database, durable=durable)
        self.store = AttachmentStore(config.storage.attachments_dir, self.master_key)
        kiosk_id = config.kiosk.id
        self.outbox = Outbox(self.conn, self.master_key,
                             lambda day, sequence: make_receipt_number(kiosk_id, day, sequence),
                             clock)

    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()

    def recover(self, min_file_age_s: float = 3600.0) -> StartupRecovery:
        """Pass over every crash window of the outbox; call it holding the sync lock.

        - a record left in ``uploading``: back to retry (the platform deduplicates);
        - a temporary file or a file no record references: removed;
        - a record whose file is gone and was never acknowledged: quarantined, so that a
          technician sees it instead of the queue retrying it forever.
        """
        resumed = self.outbox.recover_interrupted()
        found = self.store.reconcile(self.outbox.referenced_attachments(), min_file_age_s)
        quarantined = sum(
            self.outbox.quarantine_waiting_on(digest, f"file-not-found: attachment {digest[:12]}")
            for digest in found.missing)
        return StartupRecovery(resumed, len(found.removed_orphans), found.removed_temporaries,
                               quarantined)


class ApplicationService:
    """Accepts applications into the outbox (the touchscreen thread's side)."""

    def __init__(self, storage: OutboxStorage,
                 preflight: Callable[[], None] | None = None,
                 on_submitted: Callable[[], None] | None = None) -> None:
        """``preflight()`` raises when the kiosk must not accept applications now;
        ``on_submitted()`` is called after each sealed submission (wakes the sync thread).
        """
        self.storage = storage
        self.preflight = preflight
        self.on_submitted = on_submitted

    def submit(self, application: NewApplication) -> str:
        """Seal ``application`` durably and return its receipt number.

        All or nothing: when the disk is full (:class:`StorageFull`) or anything else fails
        before the commit, the transaction is rolled back and the attachment files that this
        call wrote and no application references are removed again, so the outbox holds
        exactly what it held before and the earlier applications keep syncing.
        """
        application.check()
        if self.preflight is not None:
            self.preflight()
        store, outbox = self.storage.store, self.storage.outbox
        written: list[str] = []
        try:
            described, linked = self._store_files(application, written)
            created_at = datetime.fromtimestamp(outbox.clock()).astimezone()
            payload = {
                "applicant": application.applicant,
                "form": application.form,
                "delivery": application.delivery,
                "attachments": described,
                "created_at": created_at.isoformat(timespec="seconds"),
            }
            _local_id, receipt_no = outbox.enqueue(application.item_code, payload, linked)
        except (OSError, sqlite3.Error) as error:
            self._undo(written)
            if is_storage_full(error):
                raise StorageFull(
                    "storage full: the kiosk's disk has no room left, so the application was"
                    " not saved and nothing of it was kept; free space under"
                    f" {self.storage.config.storage.data_dir}") from None
            raise
        except BaseException:
            self._undo(written)
            raise
        # A file of identical content may have been purged by retention between put() (which
        # found it present) and the commit; now that the row references it, nothing deletes
        # it any more, so writing it again closes that window.
        for attachment, (digest, _kind, _size) in zip(application.attachments, linked,
                                                      strict=True):
            if not store.path(digest).exists():
                try:
                    store.put(attachment.data)
                except OSError as error:
                    # The application is sealed and numbered: failing now would make the
                    # citizen apply twice. Start-up recovery quarantines it for a technician.
                    log.error("sealed application lacks attachment %s: %s", digest[:12],
                              error.strerror or type(error).__name__)
        if self.on_submitted is not None:
            self.on_submitted()
        return receipt_no

    def _store_files(self, application: NewApplication, written: list[str]
                     ) -> tuple[list[dict[str, Any]], list[tuple[str, str, int]]]:
        """Write the attachments (durable before any row points at them).

        ``written`` collects the digests of files that did not exist before, as they are
        made, so that a failure half-way knows which files are this submission's own.
        """
        store = self.storage.store
        described = []
        linked = []
        for attachment in application.attachments:
            digest = hashlib.sha256(attachment.data).hexdigest()
            existed = store.path(digest).exists()
            store.put(attachment.data)
            if not existed:
                written.append(digest)
            size = len(attachment.data)
            described.append({"name": attachment.name, "sha256": digest, "size": size,
                              "content_type": attachment.content_type})
            linked.append((digest, attachment.content_type, size))
        return described, linked

    def _undo(self, written: list[str]) -> None:
        """After a failed submission: no open transaction, none of its orphan files.

        A file is kept when some application references it (another submission of the same
        photo committed meanwhile); one that a concurrent submission is about to commit and
        that is removed here is written again by that submission after its commit.
        """
        conn = self.storage.conn
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        if not written:
            return
        try:
            referenced = self.storage.outbox.referenced_attachments()
        except sqlite3.Error:
            return  # cannot tell: start-up reconciliation removes true orphans later
        for digest in written:
            if digest not in referenced:
                with contextlib.suppress(OSError):
                    self.storage.store.delete(digest)


def application_body(receipt_no: str, kiosk_id: str, item_code: str,
                     payload: dict[str, Any]) -> dict[str, Any]:
    """The contract's POST /applications body of a sealed record (same every time)."""
    return {
        "receipt_no": receipt_no,
        "kiosk_id": kiosk_id,
        "item_code": item_code,
        "applicant": payload["applicant"],
        "form": payload["form"],
        "attachments": payload["attachments"],
        "delivery": payload["delivery"],
        "created_at": payload["created_at"],
    }


def read_application_file(path: Path) -> NewApplication:
    """An application described in JSON (``kiosk queue add``), with its local files read.

    The JSON is the contract's POST /applications body without receipt_no, kiosk_id and
    created_at; each attachment is ``{"name", "path", "content_type"}`` of a local file
    (a relative path is taken from the JSON file's folder).
    """
    import json

    try:
        document = json.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ApplicationError(f"{path}: no such file") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise ApplicationError(f"{path}: not JSON in UTF-8 ({type(error).__name__})") from None
    return parse_application_document(document, Path(path).parent)


_DOCUMENT_KEYS = {"item_code", "applicant", "form", "attachments", "delivery"}


def parse_application_document(document: Any, base: Path) -> NewApplication:
    """Validate the JSON document of :func:`read_application_file` and read its files."""
    if not isinstance(document, dict):
        raise ApplicationError("the application must be a JSON object")
    unknown = sorted(set(document) - _DOCUMENT_KEYS)
    if unknown:
        shown = ", ".join(str(name)[:40] for name in unknown[:5])
        raise ApplicationError(
            f"unknown key(s): {shown} (allowed: {', '.join(sorted(_DOCUMENT_KEYS))};"
            " receipt_no, kiosk_id and created_at are made by the kiosk)")
    attachments_spec = document.get("attachments", [])
    if not isinstance(attachments_spec, list):
        raise ApplicationError("attachments: must be a list")
    attachments = tuple(_read_attachment(spec, index, base)
                        for index, spec in enumerate(attachments_spec))
    application = NewApplication(
        item_code=document.get("item_code"),  # type: ignore[arg-type]
        applicant=document.get("applicant"),  # type: ignore[arg-type]
        form=document.get("form", {}),
        delivery=document.get("delivery", {"method": "pickup"}),
        attachments=attachments,
    )
    application.check()
    return application


def _read_attachment(spec: Any, index: int, base: Path) -> NewAttachment:
    where = f"attachments[{index}]"
    if not isinstance(spec, dict) or set(spec) != {"name", "path", "content_type"}:
        raise ApplicationError(f'{where}: must be {{"name", "path", "content_type"}}')
    if not all(isinstance(spec[key], str) for key in spec):
        raise ApplicationError(f"{where}: name, path and content_type must be strings")
    file = base / spec["path"]
    try:
        size = file.stat().st_size
        if size > MAX_ATTACHMENT_BYTES:
            raise ApplicationError(f"{where}: {spec['path'][:80]} is larger than 10 MiB")
        data = file.read_bytes()
    except OSError as error:
        raise ApplicationError(
            f"{where}: cannot read {spec['path'][:80]}: {error.strerror or error}") from None
    return NewAttachment(spec["name"], data, spec["content_type"])
