"""The device model: snapshots are immutable, events are of known kinds."""

from __future__ import annotations

import dataclasses

import pytest

from drivers.model import EVENT_KINDS, DeviceState, DeviceStatus, SupplyState


def test_a_status_snapshot_cannot_be_changed_by_any_holder():
    supplies = {"paper": SupplyState.FULL}
    status = DeviceStatus(DeviceState.ONLINE, supplies=supplies)
    supplies["paper"] = SupplyState.OUT  # the driver's own dict changes later
    assert status.supplies["paper"] is SupplyState.FULL
    with pytest.raises(TypeError):
        status.supplies["paper"] = SupplyState.OUT  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        status.state = DeviceState.OFFLINE  # type: ignore[misc]
    assert status == DeviceStatus(DeviceState.ONLINE, supplies={"paper": SupplyState.FULL})
    assert hash(status) == hash(DeviceStatus(DeviceState.ONLINE,
                                             supplies={"paper": SupplyState.FULL}))


def test_media_and_supply_events_are_known_kinds():
    assert {"status", "error", "media_inserted", "media_removed",
            "supply_threshold"} == EVENT_KINDS
