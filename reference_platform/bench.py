"""Throughput of the reference platform: signed uploads and applications per second.

    python -m reference_platform.bench [--seconds 5] [--threads 8]

Starts ``kiosk platform serve --port 0`` on a fresh database in a temporary folder, then
``--threads`` clients (one keep-alive connection each) alternately PUT a small attachment
and POST an application that lists it, all signed, and prints the requests per second.
The sync worker's load simulation needs a few hundred per second on loopback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import requests

from kiosk.applying.receipt_numbers import make_receipt_number
from kiosk.platform.signing import create_key_file, signed_headers
from reference_platform.matters import shipped_records

READY = "platform listening on "


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client(base: str, kiosk_id: str, key: bytes, item_code: str, first: int, stop: float,
            counts: list[int], failures: list[str]) -> None:
    session = requests.Session()
    sequence = first
    done = 0
    while time.monotonic() < stop:
        data = b"\x89PNG bench " + secrets.token_bytes(256)
        digest = hashlib.sha256(data).hexdigest()
        path = f"/api/v1/attachments/{digest}"
        headers = signed_headers(kiosk_id, key, "PUT", path, data)
        headers["Content-Type"] = "image/png"
        answer = session.put(base + path, data=data, headers=headers, timeout=10)
        if answer.status_code != 201:
            failures.append(f"PUT {answer.status_code} {answer.text[:100]}")
        receipt = make_receipt_number(kiosk_id, date.today(), sequence)
        sequence += 1
        body = json.dumps({
            "receipt_no": receipt, "kiosk_id": kiosk_id, "item_code": item_code,
            "applicant": {"name": "测试甲", "id_number": "110101199003078013"}, "form": {},
            "attachments": [{"name": "p.png", "sha256": digest, "size": len(data),
                             "content_type": "image/png"}],
            "delivery": {"method": "pickup"}, "created_at": "2026-11-23T10:00:00+08:00",
        }).encode()
        path = "/api/v1/applications"
        headers = signed_headers(kiosk_id, key, "POST", path, body)
        headers |= {"Content-Type": "application/json", "Idempotency-Key": receipt}
        answer = session.post(base + path, data=body, headers=headers, timeout=10)
        if answer.status_code != 201:
            failures.append(f"POST {answer.status_code} {answer.text[:100]}")
        done += 2
    counts.append(done)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; prints one summary line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    kiosk_id = "511602-BENCH-01"
    with tempfile.TemporaryDirectory() as folder:
        key_file = Path(folder) / "bench.key"
        key = create_key_file(key_file)
        process = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "platform", "serve", "--port", "0",
             "--db", str(Path(folder) / "bench.db"), "--kiosk", f"{kiosk_id}={key_file}"],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.startswith(READY):
                print("the platform did not start", file=sys.stderr)
                return 1
            base = line[len(READY):].strip().removesuffix("/api/v1")
            item_code = shipped_records()[0]["item_code"]
            counts: list[int] = []
            failures: list[str] = []
            stop = time.monotonic() + args.seconds
            cpu_before = _cpu_seconds(process.pid)
            started = time.monotonic()
            threads = [
                threading.Thread(target=_client, args=(base, kiosk_id, key, item_code,
                                                       1 + n * 100_000, stop, counts, failures))
                for n in range(args.threads)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            cpu_after = _cpu_seconds(process.pid)
        finally:
            process.terminate()
            process.wait(10)
    total = sum(counts)
    print(f"{total} signed requests in {elapsed:.1f} s with {args.threads} clients: "
          f"{total / elapsed:.0f} requests/s (PUT attachment + POST application), "
          f"{len(failures)} failures")
    if cpu_before is not None and cpu_after is not None and total:
        per_request = (cpu_after - cpu_before) / total
        print(f"server CPU {per_request * 1000:.2f} ms per request: about "
              f"{1 / per_request:.0f} requests/s when the clients run elsewhere")
    for failure in failures[:5]:
        print("  " + failure)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
