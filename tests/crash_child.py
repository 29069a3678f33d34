"""The process the crash-torture test kills: it enqueues and syncs in a loop, for ever.

It runs forked from a multiprocessing fork server that has imported everything already, so
each of the hundreds of children starts in milliseconds, and it is stopped only by SIGKILL:
no ``finally``, no atexit, no clean-up, like a power cut of the process (the kernel keeps
what was written). Each receipt number is appended to ``receipts.log`` after ``submit``
returns, i.e. after the moment the real kiosk would print it.
"""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.applications import ApplicationService, NewApplication, NewAttachment, OutboxStorage
from kiosk.config import load_config
from kiosk.sync import Backoff, Schedule, SyncWorker, make_client

NEVER = float("inf")


def run(config_path: str, log_path: str, first_index: int) -> None:
    """Enqueue one application, run one sync pass, repeat until killed."""
    config = load_config(config_path, environ={})
    storage = OutboxStorage(config, durable=True)
    worker = SyncWorker(storage, make_client(config), backoff=Backoff(0.001, 0.01),
                        schedule=Schedule(heartbeat_s=NEVER, catalog_s=NEVER, lists_s=NEVER,
                                          documents_s=NEVER))
    worker.recover()
    service = ApplicationService(storage)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    index = first_index
    while True:
        receipt_no = service.submit(application(index))
        os.write(log, f"{receipt_no}\n".encode())
        index += 1
        worker.sync_once(progress=False)


def application(index: int) -> NewApplication:
    """A small application of invented citizen ``index`` with one distinct photo."""
    photo = b"\xff\xd8\xff\xe0" + index.to_bytes(4, "big") * 256
    return NewApplication(
        item_code="511Z07001006-511602000000-000-11511301008778183N-1-00",
        applicant={"name": f"测试者{index:05d}", "id_number": f"1101011990{index:08d}"[:17] + "X",
                   "phone": f"139{index:08d}"},
        form={"reason": "crash torture"},
        attachments=(NewAttachment("材料", photo, "image/jpeg"),),
    )


def logged_receipts(path: Path) -> list[str]:
    """Receipt numbers the children reported (a line cut by the kill is dropped)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="ascii")
    lines = text.split("\n")
    return [line for line in lines[:-1] if line]
