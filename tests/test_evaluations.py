"""Evaluations (好差评): queued sealed on the kiosk, sent to the platform exactly once.

Everything is real: the SQLite file, the master key, the signed requests, and the reference
platform as its own process on 127.0.0.1 (tests/platform_server.py). The crash test kills a
real child process with SIGKILL after the platform answered and before the kiosk wrote it.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.applying.applications import OutboxStorage
from kiosk.operations.outbox_summary import queue_status
from kiosk.platform.client import Failure, PlatformError
from kiosk.platform.evaluations import (
    EvaluationDesk,
    Rating,
    RatingError,
    parse_evaluation_answer,
)
from kiosk.platform.sync import OUTBOX_ONLY, Backoff, SyncWorker, make_client
from offline_cache.evaluations import EvalState, EvalTransitionError, EvaluationQueue
from tests.kiosk_files import ITEM_CODE, make_config
from tests.platform_server import REPO, PlatformServer, install_key

KIOSK_IDS = iter(f"511602-EVAL-{n:02d}" for n in range(1, 60))
COMMENT = "窗口工作人员张三态度很差，我的电话13912345678"
"""Personal words a citizen might type: a name and a phone number."""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("platform")
    key_file = folder / "platform.key"
    kiosks = {f"511602-EVAL-{n:02d}": key_file for n in range(1, 60)}
    with PlatformServer(folder, kiosks=kiosks) as running:
        running.key_file = key_file
        yield running


@pytest.fixture(autouse=True)
def no_faults(request):
    if "server" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("server")
    server.set_faults({})
    yield
    server.set_faults({})


class Kiosk:
    """A kiosk data folder with its database, a desk to rate at and a sync worker."""

    def __init__(self, folder: Path, url: str, key_file: Path, kiosk_id: str | None = None):
        self.folder = folder
        self.config = make_config(folder, url=url, kiosk_id=kiosk_id or next(KIOSK_IDS))
        install_key(key_file, folder / "platform.key")
        self.storage = OutboxStorage(self.config)
        self.desk = EvaluationDesk(self.storage.conn, self.storage.master_key)
        self.worker = SyncWorker(self.storage, make_client(self.config),
                                 backoff=Backoff(0.001, 0.01), schedule=OUTBOX_ONLY)

    @property
    def queue(self) -> EvaluationQueue:
        return self.worker.evaluations

    def rate(self, score: int = 2, **kwargs) -> str:
        kwargs.setdefault("item_code", ITEM_CODE)
        return self.desk.submit(Rating(score=score, **kwargs))

    def close(self) -> None:
        self.worker.client.close()
        self.storage.close()


@pytest.fixture()
def kiosk(tmp_path: Path, server):
    opened = Kiosk(tmp_path, server.base_url, server.key_file)
    yield opened
    opened.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def evaluations_on(server: PlatformServer) -> int:
    return int(server.stats()["evaluations"])


# -- the rating ------------------------------------------------------------------------------

def test_a_low_rating_keeps_indicators_and_words_a_high_one_only_the_score():
    low = Rating(ITEM_CODE, 1, ("attitude", "overall"), "  太慢了  ", "K511602-20261127-000001-X")
    assert low.body() == {"item_code": ITEM_CODE, "score": 1, "tags": ["overall", "attitude"],
                          "comment": "太慢了", "receipt_no": "K511602-20261127-000001-X"}
    high = Rating(ITEM_CODE, 5, ("attitude",), "很好")
    assert high.body() == {"item_code": ITEM_CODE, "score": 5, "tags": []}
    assert "太慢" not in repr(low) and "comment=yes" in repr(low)
    assert len(Rating(ITEM_CODE, 2, (), "字" * 900).body()["comment"]) == 500


@pytest.mark.parametrize("rating", [
    Rating(ITEM_CODE, 0), Rating(ITEM_CODE, 6), Rating(ITEM_CODE, True),
    Rating("", 3), Rating(ITEM_CODE, 2, ("rude",)), Rating(ITEM_CODE, 3, receipt_no="K 1/2"),
])
def test_a_rating_the_contract_refuses_is_never_queued(rating: Rating):
    with pytest.raises(RatingError):
        rating.body()


# -- storage ---------------------------------------------------------------------------------

def test_queue_states_are_checked_and_the_comment_is_sealed(tmp_path: Path):
    config = make_config(tmp_path)
    storage = OutboxStorage(config)
    desk = EvaluationDesk(storage.conn, storage.master_key)
    receipt = "K511602-20261127-000042-7"
    eval_id = desk.submit(Rating(ITEM_CODE, 1, ("attitude",), COMMENT, receipt))
    queue = desk.queue
    assert eval_id.startswith("ev-") and queue.get(eval_id).state is EvalState.QUEUED
    assert queue.body(eval_id)["comment"] == COMMENT
    with pytest.raises(EvalTransitionError):
        queue.mark_sent(eval_id, "E1")  # never sent without being marked uploading first
    queue.start_upload(eval_id)
    assert queue.due() == []  # in flight: not due again until recovery
    assert queue.recover_interrupted() == 1
    assert [r.eval_id for r in queue.due()] == [eval_id]
    storage.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    storage.close()
    data_dir = tmp_path / "data"
    on_disk = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    for secret in (COMMENT, "张三", "13912345678", receipt):
        assert secret.encode() not in on_disk, secret
    # a payload moved or an item code edited with sqlite3 no longer opens
    conn = sqlite3.connect(config.storage.database)
    conn.execute("UPDATE evaluations SET item_code = 'OTHER'")
    conn.commit()
    conn.close()
    storage = OutboxStorage(config)
    with pytest.raises(Exception, match="does not open"):
        EvaluationQueue(storage.conn, storage.master_key).body(eval_id)
    storage.close()


def test_sent_ratings_are_purged_after_retention(tmp_path: Path):
    storage = OutboxStorage(make_config(tmp_path))
    now = [1000.0]
    queue = EvaluationQueue(storage.conn, storage.master_key, clock=lambda: now[0])
    eval_id = queue.enqueue(ITEM_CODE, Rating(ITEM_CODE, 4).body())
    queue.start_upload(eval_id)
    queue.mark_sent(eval_id, "E00000001")
    assert queue.purge_sent(older_than=999.0) == 0
    now[0] = 5000.0
    assert queue.purge_sent(older_than=4000.0) == 1
    with pytest.raises(KeyError):
        queue.get(eval_id)
    storage.close()


# -- sync against the reference platform ------------------------------------------------------

def test_a_rating_made_offline_is_sent_later_exactly_once(tmp_path: Path):
    key_file = tmp_path / "platform.key"
    (tmp_path / "platform").mkdir()
    platform = PlatformServer(tmp_path / "platform", kiosks={"511602-EVAL-59": key_file},
                              start=False)
    platform.port = free_port()
    kiosk = Kiosk(tmp_path / "kiosk", f"http://127.0.0.1:{platform.port}/api/v1", key_file,
                  kiosk_id="511602-EVAL-59")
    try:
        eval_id = kiosk.rate(1, tags=("efficiency",), comment="等了很久")
        report = kiosk.worker.sync_once(progress=False)
        assert not report.online and report.evaluations_pending == 1
        assert kiosk.queue.get(eval_id).state is EvalState.QUEUED
        platform.start()  # the network is back
        report = kiosk.worker.sync_once(progress=False)
        assert report.evaluations_sent == 1 and report.evaluations_pending == 0
        record = kiosk.queue.get(eval_id)
        assert record.state is EvalState.SENT and record.evaluation_no
        again = kiosk.worker.sync_once(progress=False)
        assert again.evaluations_sent == 0
        assert evaluations_on(platform) == 1
    finally:
        kiosk.close()
        platform.stop()


def test_a_lost_answer_is_resent_with_the_same_key_and_counted_once(kiosk, server):
    eval_id = kiosk.rate(5)
    before = evaluations_on(server)
    server.set_faults({"reset_rate": 1.0, "phase": "after", "methods": ["POST"],
                       "paths": ["/api/v1/evaluations"], "max_faults": 1})
    first = kiosk.worker.sync_once(progress=False)
    assert first.deferred == 1 and first.stopped == "transient"
    assert kiosk.queue.get(eval_id).state is EvalState.RETRY_LATER
    assert evaluations_on(server) == before + 1  # the platform committed it
    time.sleep(0.05)
    second = kiosk.worker.sync_once(progress=False)
    assert second.evaluations_sent == 1
    assert kiosk.queue.get(eval_id).state is EvalState.SENT
    assert evaluations_on(server) == before + 1


CRASH_CHILD = """
import os, signal, sys
from kiosk.applying.applications import OutboxStorage
from kiosk.config import load_config
from kiosk.platform.sync import OUTBOX_ONLY, SyncWorker, make_client

config = load_config(sys.argv[1], environ={})
storage = OutboxStorage(config, durable=True)
worker = SyncWorker(storage, make_client(config), schedule=OUTBOX_ONLY)

def die(*args, **kwargs):
    os.write(1, b"answered\\n")
    os.kill(os.getpid(), signal.SIGKILL)  # after the platform's answer, before the record

worker.evaluations.mark_sent = die
worker.sync_once(progress=False)
"""


def test_a_crash_after_the_answer_resends_the_same_key_and_the_platform_counts_one(
        kiosk, server):
    eval_id = kiosk.rate(2, tags=("attitude",), comment=COMMENT)
    before = evaluations_on(server)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("KIOSK_CONFIG", None)
    child = subprocess.run([sys.executable, "-c", CRASH_CHILD, str(kiosk.folder / "kiosk.ini")],
                           capture_output=True, text=True, env=env, timeout=60, cwd=REPO)
    assert child.returncode == -9 and "answered" in child.stdout, child.stderr
    assert evaluations_on(server) == before + 1
    assert kiosk.queue.get(eval_id).state is EvalState.UPLOADING  # the crash window
    assert kiosk.worker.recover() is not None  # start-up recovery under the sync lock
    assert kiosk.queue.get(eval_id).state is EvalState.RETRY_LATER
    report = kiosk.worker.sync_once(progress=False)
    assert report.evaluations_sent == 1
    record = kiosk.queue.get(eval_id)
    assert record.state is EvalState.SENT and record.evaluation_no
    assert evaluations_on(server) == before + 1
    # the platform's stored answer for that key is the one the kiosk now holds
    again = server.session(kiosk.config.kiosk.id).post(
        "/evaluations", data=json.dumps(kiosk.queue.body(eval_id), ensure_ascii=False,
                                        sort_keys=True, separators=(",", ":")).encode(),
        headers={"Idempotency-Key": eval_id, "Content-Type": "application/json"})
    assert again.status_code == 200 and again.json()["evaluation_no"] == record.evaluation_no


def test_a_refused_rating_is_quarantined_and_the_rest_go_on(kiosk, server):
    unknown = kiosk.rate(3, item_code="NO-SUCH-MATTER")
    good = kiosk.rate(4)
    report = kiosk.worker.sync_once(progress=False)
    assert report.quarantined == 1 and report.evaluations_sent == 1
    bad = kiosk.queue.get(unknown)
    assert bad.state is EvalState.QUARANTINED
    assert bad.quarantine_reason == "platform 422 validation field=item_code"
    assert kiosk.queue.get(good).state is EvalState.SENT
    status = queue_status(kiosk.config, storage=OutboxStorage(kiosk.config))
    assert status["evaluations"]["counts"]["quarantined"] == 1
    assert status["evaluations"]["counts"]["sent"] == 1
    assert status["evaluations"]["quarantined"][0]["id"] == unknown


def test_a_key_the_platform_holds_already_is_sent_not_counted_again(kiosk, server):
    eval_id = kiosk.rate(5)
    session = server.session(kiosk.config.kiosk.id)
    older = session.post("/evaluations", json={"item_code": ITEM_CODE, "score": 4, "tags": []},
                         headers={"Idempotency-Key": eval_id})
    assert older.status_code == 201
    before = evaluations_on(server)
    report = kiosk.worker.sync_once(progress=False)
    assert report.evaluations_sent == 1 and report.quarantined == 0
    record = kiosk.queue.get(eval_id)
    assert record.state is EvalState.SENT and "409" in (record.last_error or "")
    assert evaluations_on(server) == before


def test_a_failing_platform_defers_the_rating_with_backoff(kiosk, server):
    eval_id = kiosk.rate(2)
    server.set_faults({"error_rate": 1.0, "methods": ["POST"],
                       "paths": ["/api/v1/evaluations"]})
    report = kiosk.worker.sync_once(progress=False)
    assert report.deferred == 1 and report.stopped == "transient"
    record = kiosk.queue.get(eval_id)
    assert record.state is EvalState.RETRY_LATER and record.attempts == 1
    assert record.last_error == "platform 503 unavailable" or \
        (record.last_error or "").startswith("platform 503")


# -- parsing the platform's answer -------------------------------------------------------------

def test_the_answer_is_checked():
    good = parse_evaluation_answer(
        b'{"evaluation_no": "E00000001", "received_at": "2026-11-27T10:00:00+08:00"}', True)
    assert good.evaluation_no == "E00000001" and good.replayed
    for body in (b"<html>portal</html>", b"[]", b'{"evaluation_no": "E1"}',
                 b'{"evaluation_no": "E 1", "received_at": "2026-11-27T10:00:00+08:00"}',
                 b'{"evaluation_no": "E1", "received_at": "2026-11-27T10:00:00"}'):
        with pytest.raises(PlatformError) as raised:
            parse_evaluation_answer(body)
        assert raised.value.failure is Failure.TRANSIENT


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                     | st.text(max_size=50),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=200),
    _JSON.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"evaluation_no": _JSON, "received_at": _JSON})
    .map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"evaluation_no": st.from_regex(r"[A-Z0-9-]{1,20}", fullmatch=True),
                           "received_at": st.text(max_size=40)})
    .map(lambda value: json.dumps(value).encode()),
))
def test_any_answer_is_a_receipt_or_a_transient_failure(body: bytes):
    """Whatever comes back (a portal, garbage, a wrong type), the rating stays queued:
    the parser gives a whole receipt or a TRANSIENT PlatformError, never anything else."""
    try:
        receipt = parse_evaluation_answer(body)
    except PlatformError as error:
        assert error.failure is Failure.TRANSIENT
        assert "unexpected answer" in error.detail
    else:
        assert receipt.evaluation_no and receipt.received_at.tzinfo is not None
