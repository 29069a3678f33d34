"""Receipt paper: slips printed since the last refill, and a warning before the roll ends.

A printer's near-end sensor, where it has one, trips when a few metres are left; many
kiosk printers have none, and a hall that learns the roll is empty from a citizen without a
receipt has learnt too late. So the kiosk also counts: every slip the device hub prints
adds one (kept in SQLite, so a restart does not start the roll again), and the technician's
"Paper refilled" resets it. Paper is *low* at :data:`LOW_FRACTION` of ``[devices]
paper_roll_slips`` or when the sensor says low, whichever comes first.

The count is a count of slips, not of centimetres: a guide is longer than a queue ticket.
It is meant to warn early, not to measure; ``paper_roll_slips`` is set for the kiosk's
usual mix (about 250 receipts on an 80 m roll).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from offline_cache.service_store import ServiceStore, opened

__all__ = ["LOW_FRACTION", "PaperCounter", "PaperState"]

LOW_FRACTION = 0.8
"""Paper is low once this share of a roll has been printed: at 250 slips a roll, 50 left,
a day or two of a busy hall, time for the technician's next round."""


@dataclass(frozen=True)
class PaperState:
    """The roll as the diagnostics show it.

    ``reason`` says why it is low: ``count`` (80 % of a roll printed), ``sensor`` (the
    printer's near-end sensor), ``out`` (the sensor says empty) or "" when it is not low.
    """

    slips: int
    roll: int
    refilled_at: float | None
    reason: str

    @property
    def low(self) -> bool:
        """Time to bring a new roll (or to load it now, when ``reason`` is ``out``)."""
        return bool(self.reason)

    @property
    def left(self) -> int:
        """Slips the roll should still hold by the count (0 when past its size)."""
        return max(0, self.roll - self.slips)

    @property
    def warn_at(self) -> int:
        """The count at which the warning starts."""
        return int(self.roll * LOW_FRACTION)


def low_reason(slips: int, roll: int, sensor: str | None) -> str:
    """Why the paper is low, or "": the sensor's ``out`` first, then whichever of the
    sensor's ``low`` and the count came first (both are reported as the one seen)."""
    if sensor == "out":
        return "out"
    if sensor == "low":
        return "sensor"
    if slips >= int(roll * LOW_FRACTION):
        return "count"
    return ""


class PaperCounter:
    """The paper count in the kiosk database at ``database``.

    Each call opens the database for itself and closes it: :meth:`printed` runs on the
    printing thread, the screen on the UI thread, the metrics exporter on its own.
    """

    def __init__(self, database: Path, roll_slips: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.database = Path(database)
        self.roll_slips = roll_slips
        self.clock = clock

    def _store(self) -> AbstractContextManager[ServiceStore]:
        return opened(self.database)

    def printed(self, _outcome: object = None) -> int:
        """One slip printed (the hub's printed-slip listener); the new count."""
        with self._store() as store:
            return store.add_slips(1)

    def state(self, sensor: str | None = None) -> PaperState:
        """The count now, low or not given the printer's ``sensor`` (ok, low, out,
        unknown; drivers.model.paper_level words)."""
        with self._store() as store:
            row = store.paper()
        return PaperState(row.slips, self.roll_slips, row.refilled_at,
                          low_reason(row.slips, self.roll_slips, sensor))

    def refilled(self, who: str) -> None:
        """A technician loaded a new roll: the count starts again, audited."""
        from kiosk.operations.technician import TechnicianAccess

        slips = self.state().slips
        with self._store() as store:
            store.refilled(self.clock())
        TechnicianAccess(self.database, self.clock).record(
            who, "paper_refilled", f"{slips} slips printed on the old roll")
