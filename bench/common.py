"""Shared pieces of the benchmarks: results, percentiles and the machine they ran on."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchResult:
    """One measured figure against its goal (``goal`` is an upper bound unless ``higher``)."""

    name: str
    value: float
    unit: str
    goal: float | None = None
    higher_is_better: bool = False
    detail: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the goal is met, or None when the figure has no goal."""
        if self.goal is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal


def percentile(samples: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) of ``samples``, linearly interpolated between ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def machine_info() -> str:
    """One line naming the machine: CPU model, core count, memory, OS and Python."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
            memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def provisioned_config(folder: Path, sections: str = "") -> Path:
    """A kiosk configuration in ``folder`` with its own data folder and its platform key
    file, as a kiosk is once installed: without the key the kiosk puts itself out of
    service (``keys`` down), and a benchmark would measure a kiosk no citizen can use.
    ``sections`` is more INI text put before the storage section."""
    from kiosk.platform.signing import create_key_file

    path = folder / "kiosk.ini"
    path.write_text(f"{sections}[storage]\ndata_dir = {folder / 'data'}\n"
                    "[display]\ndeveloper = 1\n", encoding="utf-8")
    create_key_file(folder / "data" / "platform.key")
    return path
