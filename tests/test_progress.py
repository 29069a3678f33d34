"""Progress (进度查询) without a window: the client's look-ups against the reference platform
as a real process, the strict parser on any bytes, typed numbers and their check character,
plain meanings per status, and what the kiosk's own outbox knows and keeps."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.applying.applications import ApplicationService, OutboxStorage, read_application_file
from kiosk.applying.progress import (
    NumberError,
    from_outbox,
    from_platform,
    merge,
    next_step_of,
    own_progress,
    own_progress_of,
    read_number,
    remember,
)
from kiosk.applying.receipt_numbers import ALPHABET, make_receipt_number
from kiosk.platform.client import (
    Failure,
    PlatformError,
    Progress,
    parse_applications,
    parse_progress_strict,
)
from kiosk.platform.sync import OUTBOX_ONLY, SyncWorker, make_client
from offline_cache.outbox import State
from tests.kiosk_files import KIOSK_ID, citizen, make_config, write_application
from tests.platform_server import PlatformServer, install_key

KIOSK_IDS = iter(f"511602-PRG-{n:02d}" for n in range(1, 40))
"""Each kiosk of a test has its own id: receipt numbers restart with each data folder, and
the shared platform rightly refuses a reused number with another body."""


# -- against the reference platform --------------------------------------------------------


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    folder = tmp_path_factory.mktemp("platform")
    key = folder / "platform.key"
    kiosks = {f"511602-PRG-{n:02d}": key for n in range(1, 40)}
    with PlatformServer(folder, kiosks=kiosks, progress_step=0.2) as server:
        server.key_file = key
        yield server


class Kiosk:
    """A kiosk's data folder with its outbox, a service to apply and a sync worker."""

    def __init__(self, folder: Path, server: PlatformServer, url: str | None = None) -> None:
        self.folder = folder
        kiosk_id = self.kiosk_id = next(KIOSK_IDS)
        self.config = make_config(folder, url=url or server.base_url, kiosk_id=kiosk_id)
        install_key(server.key_file, folder / "platform.key")
        self.storage = OutboxStorage(self.config)
        self.outbox = self.storage.outbox
        self.client = make_client(self.config)
        self.index = 0

    def apply(self, index: int) -> str:
        path = write_application(self.folder / "in", index)
        return ApplicationService(self.storage).submit(read_application_file(path))

    def sync(self) -> None:
        SyncWorker(self.storage, self.client, schedule=OUTBOX_ONLY).sync_once(progress=False)

    def checked_at(self, receipt_no: str) -> float | None:
        return self.storage.conn.execute(
            "SELECT status_checked_at FROM applications WHERE receipt_no = ?",
            (receipt_no,)).fetchone()[0]

    def close(self) -> None:
        self.client.close()
        self.storage.close()


@pytest.fixture()
def kiosk(tmp_path: Path, platform):
    opened = Kiosk(tmp_path / "kiosk", platform)
    yield opened
    opened.close()


def test_a_number_and_a_person_are_looked_up_and_delivery_details_are_dropped(kiosk, platform):
    person = citizen(41)
    first, second = kiosk.apply(41), kiosk.apply(41)
    other = kiosk.apply(42)
    kiosk.sync()
    time.sleep(0.5)  # the platform's simulated processing moves on every 0.2 s

    by_receipt = kiosk.client.progress_of(first)
    assert by_receipt.receipt_no == first and by_receipt.status in (
        "accepted", "in_review", "needs_material", "approved", "completed")
    assert by_receipt.timeline[0]["status"] == "received"
    assert by_receipt.delivery_method == "express"
    # the platform sends the submitting kiosk the address and phone: never kept
    assert person["address"] not in repr(by_receipt) and person["phone"] not in repr(by_receipt)
    by_number = kiosk.client.progress_of(by_receipt.application_no)
    assert by_number.receipt_no == first

    mine = kiosk.client.lookup_applications(person["id_number"])
    assert {p.receipt_no for p in mine} == {first, second} and other not in repr(mine)
    assert kiosk.client.lookup_applications(citizen(43)["id_number"]) == []


def test_an_unknown_number_is_a_404_and_a_bad_one_never_reaches_the_url(kiosk):
    unknown = make_receipt_number(kiosk.kiosk_id, date(2026, 1, 5), 999)
    with pytest.raises(PlatformError) as caught:
        kiosk.client.progress_of(unknown)
    assert caught.value.status == 404 and caught.value.failure is Failure.RECORD
    for bad in ("../health", "K1/2", "a b", "", "x" * 65, "1%2F"):
        with pytest.raises(ValueError):
            kiosk.client.progress_of(bad)


def test_the_kiosk_keeps_the_status_of_its_own_applications_only(kiosk, platform, tmp_path):
    own = kiosk.apply(51)
    kiosk.sync()
    record = kiosk.outbox.find(own)
    assert record.state is State.ACKNOWLEDGED and record.platform_status is None

    # another kiosk's application (another data folder, another receipt) for the same person
    elsewhere = Kiosk(tmp_path / "other", platform)
    try:
        theirs = elsewhere.apply(51)
        elsewhere.sync()
    finally:
        elsewhere.close()
    answers = kiosk.client.lookup_applications(citizen(51)["id_number"])
    assert {a.receipt_no for a in answers} == {own, theirs}

    before = time.time()
    assert remember(kiosk.outbox, answers) == 1, "only this kiosk's own application is kept"
    record = kiosk.outbox.find(own)
    assert record.state is State.STATUS_SYNCED
    assert record.platform_status == next(a.status for a in answers if a.receipt_no == own)
    assert kiosk.checked_at(own) >= before
    with pytest.raises(KeyError):
        kiosk.outbox.find(theirs)  # nothing of the other kiosk's application is stored
    dump = (kiosk.folder / "data").glob("**/*")
    assert not any(theirs.encode() in path.read_bytes() for path in dump if path.is_file())

    # offline, the kiosk says what it knew and when
    known = own_progress(kiosk.outbox, own)
    assert known is not None and not known.from_platform
    assert known.kiosk_state == "acknowledged" and known.status == record.platform_status
    assert known.known_at is not None and abs(known.known_at.timestamp()
                                              - kiosk.checked_at(own)) < 1
    assert own_progress(kiosk.outbox, theirs) is None


def test_offline_the_outbox_knows_queued_applications_by_number_and_by_person(tmp_path,
                                                                              platform):
    offline = Kiosk(tmp_path / "offline", platform, url="http://127.0.0.1:9/api/v1")
    try:
        first, second = offline.apply(61), offline.apply(61)
        offline.apply(62)
        offline.sync()  # nobody answers: they stay queued
        known = own_progress(offline.outbox, first)
        assert known.kiosk_state == "queued" and known.next_step == "unsent"
        assert known.status == "" and known.known_at is None and known.applied_at is not None
        mine = own_progress_of(offline.outbox, citizen(61)["id_number"])
        assert {item.receipt_no for item in mine} == {first, second}
        assert own_progress_of(offline.outbox, citizen(63)["id_number"]) == []
        with pytest.raises(PlatformError) as caught:
            offline.client.progress_of(first)
        assert caught.value.failure is Failure.TRANSIENT
    finally:
        offline.close()


# -- the strict parser on anything ----------------------------------------------------------

PROGRESS = {
    "application_no": "51160220261127000001", "receipt_no": "K511602-TEST-01-20261127-000001-7",
    "item_code": "512B0011200070-511602000000-000-11511300008778693M-1-00",
    "status": "needs_material",
    "timeline": [{"status": "received", "at": "2026-11-27T09:00:00+08:00", "note": "收到"},
                 {"status": "needs_material", "at": "2026-11-27T10:00:00+08:00",
                  "note": "请补充材料，送至5号窗口"}],
    "delivery": {"method": "pickup", "address": "某路1号", "phone": "13900000000"},
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=14,
)


@given(st.binary(max_size=600) | json_values.map(lambda v: json.dumps(v).encode())
       | st.lists(json_values | st.just(PROGRESS), max_size=3).map(
           lambda v: json.dumps(v).encode()))
def test_the_lookup_parser_never_crashes_and_believes_only_whole_answers(body: bytes):
    try:
        answers = parse_applications(body)
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
        assert "13900000000" not in str(error)
    else:
        for answer in answers:
            assert answer.status in next_step_statuses()
            assert answer.delivery_method in ("", "pickup", "express")
            assert all(set(step) == {"status", "at", "note"} for step in answer.timeline)


def next_step_statuses() -> tuple[str, ...]:
    return ("received", "accepted", "in_review", "needs_material", "approved", "rejected",
            "completed")


@pytest.mark.parametrize("change", [
    {"status": "lost"},
    {"timeline": [{"status": "received", "at": "yesterday", "note": ""}]},
    {"timeline": [{"status": "received", "at": "2026-11-27T09:00:00", "note": ""}]},
    {"timeline": [{"status": "teleported", "at": "2026-11-27T09:00:00+08:00"}]},
    {"timeline": [{"status": "received", "at": "2026-11-27T09:00:00+08:00", "note": "a\x1bb"}]},
    {"receipt_no": "../../admin"},
    {"application_no": 5},
    {"delivery": {"method": "drone"}},
    {"delivery": "pickup"},
])
def test_a_progress_with_any_wrong_part_is_refused_whole(change: dict):
    body = json.dumps([PROGRESS, PROGRESS | change]).encode()
    with pytest.raises(PlatformError) as caught:
        parse_applications(body)
    assert caught.value.failure is Failure.TRANSIENT and "application 1" in str(caught.value)


def test_a_good_progress_keeps_the_note_and_drops_the_address():
    progress = parse_progress_strict(json.dumps(PROGRESS).encode())
    assert progress.delivery_method == "pickup" and progress.timeline[1]["note"].endswith("5号窗口")
    assert "某路" not in repr(progress) and "139" not in repr(progress)
    view = from_platform(progress, time.time())
    assert view.next_step == "bring_material" and view.note == "请补充材料，送至5号窗口"
    assert [step.status for step in view.steps] == ["received", "needs_material"]
    assert view.steps[0].at.utcoffset().total_seconds() == 8 * 3600


# -- numbers and meanings ----------------------------------------------------------------


def test_typed_numbers_are_read_or_refused_with_a_reason():
    number = make_receipt_number(KIOSK_ID, date(2026, 11, 27), 12)
    assert read_number(number) == number
    assert read_number(f"  {number.lower()} ") == number
    compact = number.replace("-", "")
    assert read_number(compact, KIOSK_ID) == number, "this kiosk's own: hyphens not needed"
    with pytest.raises(NumberError) as caught:
        read_number(compact, "511602-HALL-03")
    assert caught.value.kind == "hyphens"
    typo = number[:-3] + ("2" if number[-3] != "2" else "3") + number[-2:]
    with pytest.raises(NumberError) as caught:
        read_number(typo)
    assert caught.value.kind == "check" and typo not in str(caught.value)
    with pytest.raises(NumberError) as caught:
        read_number(number.replace("20261127", "20261341"))
    assert caught.value.kind in ("date", "check")
    assert read_number("51160220261127000001") == "51160220261127000001"
    for text, kind in (("", "empty"), ("  ", "empty"), ("12", "shape"), ("K-1", "shape"),
                       ("511602/../x", "shape"), ("居住证", "shape")):
        with pytest.raises(NumberError) as caught:
            read_number(text)
        assert caught.value.kind == kind, text


@given(st.integers(1, 999_999), st.data())
def test_every_single_mistyped_character_is_caught(sequence: int, data):
    """ISO 7064 MOD 37-2 catches every single substitution: no typo reaches the platform
    as another citizen's number."""
    number = make_receipt_number(KIOSK_ID, date(2026, 11, 27), sequence)
    spots = [i for i, char in enumerate(number) if char != "-" and i > 0]
    spot = data.draw(st.sampled_from(spots))
    wrong = data.draw(st.sampled_from([c for c in ALPHABET if c != number[spot]]))
    typo = number[:spot] + wrong + number[spot + 1:]
    with pytest.raises(NumberError):
        read_number(typo)


@pytest.mark.parametrize(("status", "method", "step"), [
    ("received", "pickup", "wait"), ("accepted", "", "wait"), ("in_review", "express", "wait"),
    ("needs_material", "pickup", "bring_material"), ("approved", "pickup", "collect_later"),
    ("approved", "express", "delivery_later"), ("completed", "pickup", "collect"),
    ("completed", "", "collect"), ("completed", "express", "delivered"),
    ("rejected", "express", "rejected"),
])
def test_what_to_do_next_per_status(status: str, method: str, step: str):
    assert next_step_of(status, method) == step


def test_the_platform_list_and_the_kiosks_unsent_ones_merge_newest_first():
    from offline_cache.outbox import Application

    progress = Progress("511602X", "K511602-TEST-01-20261101-000001-0", "C1", "in_review",
                        [{"status": "received", "at": "2026-11-01T09:00:00+08:00", "note": ""}])
    online = from_platform(progress, time.time())
    queued = from_outbox(Application("x", "K511602-TEST-01-20261127-000002-0", State.SEALED,
                                     "C2", time.time(), 0, None, None, None, None), None)
    held = from_outbox(Application("y", "K511602-TEST-01-20261127-000003-0",
                                   State.QUARANTINED, "C3", time.time() - 5, 1, None, None,
                                   "r", None), None)
    merged = merge([online], [queued, held, from_outbox(Application(
        "z", online.receipt_no, State.ACKNOWLEDGED, "C1", 0.0, 1, None, None, None,
        "511602X"), None)])
    assert [item.receipt_no for item in merged] == [queued.receipt_no, held.receipt_no,
                                                    online.receipt_no]
    assert held.next_step == "held" and queued.next_step == "unsent"
