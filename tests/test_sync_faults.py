"""1,000 applications through 30 % injected faults of every kind: all arrive, none twice.

The platform process injects, at random from a fixed seed, server errors, 429 throttling
with Retry-After, connection resets, cut-off bodies and slow bodies, on every endpoint the
kiosk calls (/health included), half of them *after* the platform committed (the answer is
lost), plus latency on every request. One record is permanently bad (a matter the platform
does not know): it must be quarantined while the other 1,000 still flow.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from kiosk.applying.applications import (
    ApplicationService,
    NewApplication,
    NewAttachment,
    OutboxStorage,
    parse_application_document,
)
from kiosk.platform.sync import OUTBOX_ONLY, Backoff, SyncWorker, make_client
from offline_cache.outbox import State
from tests.kiosk_files import KIOSK_ID, application_document, make_config
from tests.platform_server import PlatformServer, install_key

COUNT = 1_000
FAULTS = {
    "seed": 20261123,
    "error_rate": 0.09, "error_status": 503,
    "rate_limit_rate": 0.05, "retry_after_s": 0,
    "reset_rate": 0.08,
    "truncate_rate": 0.07,
    "slow_body_rate": 0.01, "slow_body_s": 0.15,
    "latency_s": 0.001,
    "phase": {"error": "after", "reset": "after", "truncate": "after", "rate_limit": "before"},
}


def test_thousand_applications_through_thirty_percent_faults(tmp_path: Path):
    key_file = tmp_path / "platform.key"
    (tmp_path / "platform").mkdir()
    with PlatformServer(tmp_path / "platform", kiosks={KIOSK_ID: key_file}) as server:
        config = make_config(tmp_path / "kiosk", url=server.base_url)
        install_key(key_file, tmp_path / "kiosk" / "platform.key")
        storage = OutboxStorage(config, durable=False)
        service = ApplicationService(storage)
        receipts = []
        for index in range(COUNT):
            document = application_document(index)
            application = parse_application_document(document, tmp_path)
            photo = b"\x89PNG\r\n\x1a\n" + index.to_bytes(4, "big") * 64
            receipts.append(service.submit(NewApplication(
                application.item_code, application.applicant, application.form,
                application.delivery, (NewAttachment("材料", photo, "image/png"),))))
        bad = service.submit(parse_application_document(
            application_document(COUNT, item_code="NO-SUCH-MATTER"), tmp_path))

        client = make_client(config)
        worker = SyncWorker(storage, client, backoff=Backoff(0.001, 0.005),
                            schedule=OUTBOX_ONLY)
        server.set_faults(FAULTS)
        deadline = time.monotonic() + 240
        passes = deferred = replayed = 0
        while storage.outbox.backlog()[0] and time.monotonic() < deadline:
            report = worker.sync_once(progress=False)
            passes += 1
            deferred += report.deferred
            replayed += report.replayed
        stats = server.stats()
        server.set_faults({})
        on_platform = server.receipt_numbers()

        counts = storage.outbox.counts()
        assert storage.outbox.backlog()[0] == 0, counts
        assert counts == {"acknowledged": COUNT, "quarantined": 1}
        assert storage.outbox.find(bad).state is State.QUARANTINED
        assert "item_code" in storage.outbox.find(bad).quarantine_reason
        assert sorted(on_platform) == sorted(receipts)  # all arrived, the bad one did not
        assert len(set(on_platform)) == len(on_platform) == COUNT
        assert stats["duplicate_receipts"] == 0
        injected = stats["faults_injected"]
        assert all(injected[kind] > 0 for kind in
                   ("error", "rate_limit", "reset", "truncate", "slow_body")), injected
        assert replayed > 0  # lost acknowledgements were resent and recognised
        numbers = {storage.outbox.find(r).application_no for r in receipts}
        assert len(numbers) == COUNT and None not in numbers
        summary = {"passes": passes, "deferred": deferred, "replayed": replayed, **injected}
        print(json.dumps(summary))
        client.close()
        storage.close()
