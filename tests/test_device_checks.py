"""What the diagnostics panel says about a device: state, paper, last error, action."""

from __future__ import annotations

import pytest

from drivers.model import DeviceState, DeviceStatus, ErrorAction, SupplyState
from kiosk.operations import device_checks
from kiosk.operations.device_checks import row_for


@pytest.mark.parametrize(("state", "paper", "error", "action"), [
    (DeviceState.ONLINE, SupplyState.FULL, None, "none"),
    (DeviceState.ONLINE, SupplyState.LOW, None, "load_paper"),
    (DeviceState.ONLINE, SupplyState.OUT, None, "load_paper"),
    (DeviceState.NO_DEVICE, SupplyState.UNKNOWN, None, "reconnect"),
    (DeviceState.HARDWARE_ERROR, SupplyState.UNKNOWN, ("cutter jammed", ErrorAction.MAINTENANCE),
     "maintenance"),
    (DeviceState.USER_ERROR, SupplyState.UNKNOWN, ("cover open", ErrorAction.CLEAR), "clear"),
    (DeviceState.STARTING, SupplyState.UNKNOWN, None, "wait"),
])
def test_printer_rows_name_the_action_that_clears_them(state, paper, error, action):
    status = DeviceStatus(state, supplies={"paper": paper})
    row = row_for("printer", status, state.value, error)
    assert row.action == action
    assert row.ok == (state is DeviceState.ONLINE and paper is not SupplyState.OUT)
    assert row.paper == {SupplyState.FULL: "ok", SupplyState.LOW: "low",
                         SupplyState.OUT: "out"}.get(paper, "unknown")
    if error and not row.ok:
        assert row.error == error[0]


def test_an_error_that_cleared_is_not_shown_as_the_state():
    row = row_for("idcard", DeviceStatus(DeviceState.ONLINE), "online",
                  ("line lost", ErrorAction.RETRY))
    assert (row.ok, row.error, row.action, row.paper) == (True, "", "none", None)


def test_a_closed_camera_that_was_fine_is_ready():
    row = row_for("camera", DeviceStatus(DeviceState.STARTING), "standby", None)
    assert row.ok and row.action == "none"


def test_the_test_slip_names_the_terminal():
    slip = device_checks.test_slip("511602-TEST-01")
    assert any("511602-TEST-01" in str(block) for block in slip.blocks)
