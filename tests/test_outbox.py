"""The outbox state machine on a real SQLite file, with sealed personal data."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path

import pytest

from kiosk.applying.receipt_numbers import make_receipt_number, parse_receipt_number
from offline_cache.database import open_database
from offline_cache.outbox import ALLOWED, InvalidTransition, Outbox, State

KEY = bytes(range(32))
CITIZEN = {
    "applicant": {"name": "测试乙", "id_number": "110101199003078015", "phone": "13800000000"},
    "form": {"address": "测试市测试路1号"},
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def outbox(tmp_path: Path):
    conn = open_database(tmp_path / "kiosk.db")
    box = Outbox(conn, KEY, partial(make_receipt_number, "511602-HALL-03"), clock=Clock())
    yield box
    conn.close()


def test_full_lifecycle(outbox):
    local_id = outbox.create_draft("ITEM-1", CITIZEN)
    assert outbox.get(local_id).state is State.DRAFT
    receipt = outbox.seal_application(local_id, day=date(2026, 11, 23))
    assert parse_receipt_number(receipt).sequence == 1
    assert [a.local_id for a in outbox.due()] == [local_id]
    outbox.start_upload(local_id)
    assert outbox.due() == []
    outbox.acknowledge(local_id, "GA-2026-0001")
    outbox.mark_status_synced(local_id)
    record = outbox.get(local_id)
    assert (record.state, record.application_no, record.receipt_no) == (
        State.STATUS_SYNCED, "GA-2026-0001", receipt)
    assert outbox.payload(local_id) == CITIZEN


def test_receipt_sequences_count_per_day(outbox):
    numbers = []
    for day in (date(2026, 11, 23), date(2026, 11, 23), date(2026, 11, 24)):
        numbers.append(outbox.seal_application(outbox.create_draft("I", {}), day=day))
    assert [parse_receipt_number(n).sequence for n in numbers] == [1, 2, 1]


def test_retry_later_waits_for_its_time_and_counts_attempts(outbox):
    local_id = outbox.create_draft("I", CITIZEN)
    outbox.seal_application(local_id)
    outbox.start_upload(local_id)
    outbox.retry_later(local_id, "platform 503", delay=30)
    assert outbox.due() == []
    outbox.clock.now += 31
    [due] = outbox.due()
    assert (due.attempts, due.last_error) == (1, "platform 503")


def test_quarantine_keeps_the_rest_flowing_and_can_be_released(outbox):
    bad, good = (outbox.create_draft("I", CITIZEN) for _ in range(2))
    for local_id in (bad, good):
        outbox.seal_application(local_id)
    outbox.start_upload(bad)
    outbox.quarantine(bad, "422 validation: phone")
    assert [a.local_id for a in outbox.due()] == [good]
    assert outbox.get(bad).quarantine_reason == "422 validation: phone"
    outbox.release(bad)
    assert {a.local_id for a in outbox.due()} == {bad, good}


def test_invalid_transitions_are_refused(outbox):
    local_id = outbox.create_draft("I", CITIZEN)
    with pytest.raises(InvalidTransition, match="it is draft"):
        outbox.acknowledge(local_id, "X")
    with pytest.raises(InvalidTransition, match="no such application"):
        outbox.start_upload("missing")
    assert outbox.get(local_id).state is State.DRAFT
    assert all(target in State for targets in ALLOWED.values() for target in targets)


def test_crash_in_uploading_is_recovered_at_start(outbox):
    local_id = outbox.create_draft("I", CITIZEN)
    outbox.seal_application(local_id)
    outbox.start_upload(local_id)
    assert outbox.recover_interrupted() == 1
    assert outbox.get(local_id).state is State.RETRY_LATER
    assert [a.local_id for a in outbox.due()] == [local_id]


def test_no_personal_data_in_the_database_files(outbox, tmp_path: Path):
    for _ in range(5):
        outbox.seal_application(outbox.create_draft("I", CITIZEN))
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("kiosk.db*"))
    assert raw, "the database and WAL were read"
    for secret in ("110101199003078015", "13800000000", "测试乙", "测试路"):
        assert secret.encode() not in raw
    assert outbox.counts() == {"sealed": 5}
