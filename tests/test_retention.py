"""Retention purge on a real SQLite outbox and a real sealed attachment folder."""

from __future__ import annotations

import sqlite3
from datetime import date
from functools import partial
from pathlib import Path

import pytest

import offline_cache.retention as retention
from kiosk.applying.receipt_numbers import make_receipt_number
from offline_cache.attachments import AttachmentStore
from offline_cache.database import open_database
from offline_cache.outbox import Outbox, State
from offline_cache.retention import DAY, PurgeReport, purge_expired

KEY = bytes(range(32))
T0 = 1_800_000_000.0
CITIZEN = {"applicant": {"name": "测试乙", "id_number": "110101199003078015"}}
NEVER_PURGED = ("draft", "sealed", "uploading", "retry_later", "quarantined")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Kiosk:
    """An outbox and attachment store sharing one data folder and one clock."""

    def __init__(self, data_dir: Path) -> None:
        self.clock = Clock()
        self.conn = open_database(data_dir / "kiosk.db")
        self.store = AttachmentStore(data_dir / "attachments", KEY)
        self.outbox = Outbox(self.conn, KEY, partial(make_receipt_number, "K1"), clock=self.clock)

    def application(self, state: str, at: float = T0, photos: tuple[bytes, ...] = ()) -> str:
        """A record brought to ``state`` through the Outbox API, every step at time ``at``."""
        saved, self.clock.now = self.clock.now, at
        try:
            local_id = self.outbox.create_draft("ITEM-1", CITIZEN)
            for photo in photos:
                self.outbox.add_attachment(local_id, self.store.put(photo), "image/jpeg", 1)
            self._advance(local_id, State(state))
        finally:
            self.clock.now = saved
        return local_id

    def _advance(self, local_id: str, state: State) -> None:
        if state is State.DRAFT:
            return
        self.outbox.seal_application(local_id, day=date(2027, 1, 15))
        if state is State.SEALED:
            return
        self.outbox.start_upload(local_id)
        if state is State.RETRY_LATER:
            self.outbox.retry_later(local_id, "platform 503", delay=60)
        elif state is State.QUARANTINED:
            self.outbox.quarantine(local_id, "422 validation")
        elif state in (State.ACKNOWLEDGED, State.STATUS_SYNCED, State.PURGEABLE):
            self.outbox.acknowledge(local_id, "GA-1")
            if state is State.STATUS_SYNCED:
                self.outbox.mark_status_synced(local_id)
            if state is State.PURGEABLE:  # no Outbox method yet: the allowed move, by hand
                self.conn.execute(
                    "UPDATE applications SET state = ? WHERE local_id = ?",
                    (State.PURGEABLE, local_id),
                )

    def purge(self, days: int = 30, **options: int) -> PurgeReport:
        return purge_expired(self.conn, self.store, days, self.clock, **options)

    def ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT local_id FROM applications")}

    def link_rows(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM application_attachments").fetchone()[0]


@pytest.fixture()
def kiosk(tmp_path: Path):
    kiosk = Kiosk(tmp_path / "data")
    yield kiosk
    kiosk.conn.close()


def test_expired_records_go_with_their_links_and_files(kiosk: Kiosk) -> None:
    acked = kiosk.application("acknowledged", photos=(b"front of ID", b"back of ID"))
    synced = kiosk.application("status_synced", photos=(b"household register",))
    kiosk.clock.now = T0 + 30 * DAY + 1
    report = kiosk.purge(30)
    assert report == PurgeReport(
        applications=2, attachment_rows=3, files=3, batches=1, cutoff=T0 + 1
    )
    assert acked not in kiosk.ids() and synced not in kiosk.ids()
    assert kiosk.link_rows() == 0
    assert kiosk.store.digests() == set()
    assert kiosk.purge(30).applications == 0  # a second pass finds nothing


def test_records_within_retention_are_kept(kiosk: Kiosk) -> None:
    kept = kiosk.application("acknowledged", photos=(b"photo",))
    kiosk.clock.now = T0 + 30 * DAY  # exactly 30 days: not older than the window yet
    assert kiosk.purge(30).applications == 0
    assert kiosk.ids() == {kept}
    assert len(kiosk.store.digests()) == 1


@pytest.mark.parametrize("state", NEVER_PURGED)
def test_no_other_state_is_ever_deleted(kiosk: Kiosk, state: str) -> None:
    old = kiosk.application(state, at=T0 - 3650 * DAY, photos=(b"ten-year-old photo",))
    expired = kiosk.application("acknowledged", at=T0 - 3650 * DAY, photos=(b"other",))
    kiosk.clock.now = T0
    report = kiosk.purge(1)
    assert report.applications == 1
    assert kiosk.ids() == {old}
    assert kiosk.outbox.get(old).state == state
    assert kiosk.outbox.payload(old) == CITIZEN
    [(digest, _, _)] = kiosk.outbox.attachments(old)
    assert kiosk.store.digests() == {digest}
    assert expired not in kiosk.ids()


def test_every_state_is_covered_by_the_tests() -> None:
    assert {*NEVER_PURGED, *retention.EXPIRING, State.PURGEABLE} == set(State)


def test_a_file_shared_with_a_kept_record_stays(kiosk: Kiosk) -> None:
    kiosk.application("acknowledged", at=T0 - 40 * DAY, photos=(b"same photo", b"only old"))
    kept = kiosk.application("sealed", photos=(b"same photo",))
    report = kiosk.purge(30)
    assert (report.applications, report.attachment_rows, report.files) == (1, 2, 1)
    [(shared, _, _)] = kiosk.outbox.attachments(kept)
    assert kiosk.store.digests() == {shared}
    assert kiosk.store.get(shared) == b"same photo"


def test_retention_counts_from_the_acknowledgement_not_the_last_update(kiosk: Kiosk) -> None:
    local_id = kiosk.application("acknowledged", at=T0 - 31 * DAY)
    kiosk.outbox.record_status(local_id, "in_review")  # updated_at is now T0
    assert kiosk.conn.execute(
        "SELECT updated_at FROM applications WHERE local_id = ?", (local_id,)
    ).fetchone() == (T0,)
    assert kiosk.purge(30).applications == 1


def test_without_acknowledged_at_the_last_update_counts(kiosk: Kiosk) -> None:
    """Records acknowledged before schema 4 have no acknowledged_at: updated_at is later."""
    local_id = kiosk.application("acknowledged", at=T0 - 31 * DAY)
    kiosk.conn.execute("UPDATE applications SET acknowledged_at = NULL, updated_at = ?", (T0,))
    assert kiosk.purge(30).applications == 0
    kiosk.clock.now = T0 + 30 * DAY + 1
    assert kiosk.purge(30).applications == 1
    assert local_id not in kiosk.ids()


def test_records_already_purgeable_are_deleted_whatever_their_age(kiosk: Kiosk) -> None:
    local_id = kiosk.application("purgeable", photos=(b"photo",))
    report = kiosk.purge(30)
    assert (report.applications, report.files) == (1, 1)
    assert local_id not in kiosk.ids()


def test_large_purges_run_in_batches(kiosk: Kiosk) -> None:
    for number in range(5):
        kiosk.application("acknowledged", at=T0 - 40 * DAY, photos=(b"p%d" % number,))
    kept = kiosk.application("acknowledged")
    report = kiosk.purge(30, batch_size=2)
    assert (report.applications, report.batches, report.files) == (5, 3, 5)
    assert kiosk.ids() == {kept}


def test_a_failing_batch_rolls_back_whole(kiosk: Kiosk) -> None:
    local_id = kiosk.application("acknowledged", at=T0 - 40 * DAY, photos=(b"photo",))
    kiosk.conn.execute(
        "CREATE TEMP TRIGGER fail_delete BEFORE DELETE ON applications"
        " BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        kiosk.purge(30)
    assert kiosk.outbox.get(local_id).state is State.ACKNOWLEDGED  # not left purgeable
    assert kiosk.link_rows() == 1 and len(kiosk.store.digests()) == 1


def test_crash_before_the_files_leaves_orphans_for_reconcile(
    kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk.application("acknowledged", at=T0 - 40 * DAY, photos=(b"photo",))
    kept = kiosk.application("sealed", photos=(b"kept photo",))

    def power_cut(*args: object) -> int:
        raise SystemExit("power cut after the commit")

    monkeypatch.setattr(retention, "_delete_unreferenced_files", power_cut)
    with pytest.raises(SystemExit):
        kiosk.purge(30)
    assert kiosk.ids() == {kept}
    assert len(kiosk.store.digests()) == 2  # the orphan is still on disk
    result = kiosk.store.reconcile(kiosk.outbox.referenced_attachments())
    assert len(result.removed_orphans) == 1 and result.missing == ()
    [(digest, _, _)] = kiosk.outbox.attachments(kept)
    assert kiosk.store.digests() == {digest}


def test_a_file_already_gone_is_not_counted(kiosk: Kiosk) -> None:
    kiosk.application("acknowledged", at=T0 - 40 * DAY, photos=(b"photo",))
    for digest in kiosk.store.digests():
        kiosk.store.delete(digest)
    report = kiosk.purge(30)
    assert (report.applications, report.attachment_rows, report.files) == (1, 1, 0)


@pytest.mark.parametrize(("days", "batch"), [(0, 10), (-1, 10), (30, 0)])
def test_nonsense_limits_are_refused(kiosk: Kiosk, days: int, batch: int) -> None:
    kiosk.application("acknowledged", at=T0 - 40 * DAY)
    with pytest.raises(ValueError):
        kiosk.purge(days, batch_size=batch)
    assert len(kiosk.ids()) == 1
