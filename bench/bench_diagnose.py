"""`kiosk diagnose --json` wall time, every device emulated, platform offline, hung and online.

Measured as a monitoring script sees it: a new ``python -m kiosk`` process each run (its
imports, the three emulators started and stopped, the platform probe), on etc/demo.ini's data
folder with only the platform URL changed: nothing listening (connection refused at once), a
listener that never answers (the probe waits its full timeout: the worst case), and the
reference platform running on 127.0.0.1.
"""

from __future__ import annotations

import configparser
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, percentile

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "etc" / "demo.ini"
RUNS = 10
GOAL_S = 2.0


def demo_config(folder: Path, url: str) -> Path:
    """etc/demo.ini with an absolute data folder and the platform at ``url``."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(DEMO, encoding="utf-8")
    parser["storage"]["data_dir"] = str((DEMO.parent / parser["storage"]["data_dir"]).resolve())
    parser["platform"]["url"] = url
    path = folder / f"diagnose-{len(list(folder.iterdir()))}.ini"
    with path.open("w", encoding="utf-8") as handle:
        parser.write(handle)
    return path


def wall_times(config: Path) -> tuple[list[float], set[int]]:
    """Seconds of RUNS runs of the command, and the exit codes seen."""
    command = [sys.executable, "-m", "kiosk", "--config", str(config), "diagnose", "--json"]
    subprocess.run(command, cwd=REPO, capture_output=True, check=False)  # warm the disk cache
    seconds, codes = [], set()
    for _ in range(RUNS):
        started = time.perf_counter()
        ran = subprocess.run(command, cwd=REPO, capture_output=True, check=False)
        seconds.append(time.perf_counter() - started)
        codes.add(ran.returncode)
    return seconds, codes


def figures(label: str, config: Path) -> list[BenchResult]:
    """p50 and p95 of one platform condition."""
    seconds, codes = wall_times(config)
    detail = f"{RUNS} runs, exit code {'/'.join(map(str, sorted(codes)))}; max {max(seconds):.2f} s"
    return [
        BenchResult(f"diagnose --json p50, platform {label}", percentile(seconds, 50), "s",
                    detail=detail),
        BenchResult(f"diagnose --json p95, platform {label}", percentile(seconds, 95), "s",
                    goal=GOAL_S, detail=detail),
    ]


def run() -> list[BenchResult]:
    """Offline (refused), hung (never answers) and online."""
    sys.path.insert(0, str(REPO))
    from tests.platform_server import PlatformServer

    results: list[BenchResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-diagnose-") as name:
        folder = Path(name)
        results += figures("offline", demo_config(folder, "http://127.0.0.1:9/api/v1"))
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(64)  # accepts connections, never answers
            url = f"http://127.0.0.1:{silent.getsockname()[1]}/api/v1"
            results += figures("hung", demo_config(folder, url))
        (folder / "platform").mkdir()
        with PlatformServer(folder / "platform") as server:
            results += figures("online", demo_config(folder, server.base_url))
    return results


if __name__ == "__main__":
    for result in run():
        print(f"{result.name}: {result.value:.3f} {result.unit} {result.detail}")
