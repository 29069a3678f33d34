"""The devices inside the running kiosk: the hub over the real emulators on real ptys.

Card watch (one read per placement, problems a citizen can act on), receipts (lines and QR
in the emulated printer, paper out and cover open without losing the receipt), unplug and
replug of each device, and the threads listeners are called on. No timing assertions: each
check waits for a condition (tests/waiting.py) or for the reader to have been polled.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from drivers.device_url import parse_device_url
from drivers.idcard.codec import Command
from drivers.idcard.emulator import SAMPLE_CARDS, Fault, ScriptedCard
from drivers.model import DeviceEvent, DeviceState
from drivers.printer.layout import Cut, KeyValue, QRCode, Receipt, TextLine, Title
from kiosk.config import DevicesSection
from kiosk.devices.emulators import NotEmulated
from kiosk.devices.hub import CardEvent, DeviceHub, PrintOutcome
from tests.waiting import wait_until

FIND = Command.FIND_CARD.value


def devices(idcard: str = "emulator://idcard?card=none", printer: str = "emulator://printer",
            camera: str = "emulator://camera") -> DevicesSection:
    return DevicesSection(parse_device_url(idcard), parse_device_url(printer),
                          parse_device_url(camera))


@pytest.fixture()
def hub() -> Iterator[DeviceHub]:
    hub = DeviceHub(devices(), probe_interval=0.1, card_interval=0.05)
    hub.start()
    try:
        hub.use_camera()
        wait_until(lambda: set(hub.states().values()) == {"online"}, 10, "devices online")
        yield hub
    finally:
        hub.stop()


class Cards:
    """Collects card events and notes the thread they arrive on."""

    def __init__(self) -> None:
        self.events: list[CardEvent] = []
        self.threads: set[str] = set()

    def __call__(self, event: CardEvent) -> None:
        self.threads.add(threading.current_thread().name)
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]

    def has(self, kind: str, problem: str | None = None) -> bool:
        return any(e.kind == kind and (problem is None or e.problem == problem)
                   for e in self.events)

    def reads(self) -> list[CardEvent]:
        return [event for event in self.events if event.kind == "read"]


def polls_after(hub: DeviceHub, count: int = 5) -> None:
    """Wait until the reader has been asked to find a card ``count`` more times."""
    requests = hub.emulators.reader.requests
    marker = requests[-1]

    def enough() -> bool:
        seen = list(requests)
        if not any(request is marker for request in seen):
            return True  # the marker left the bounded log: far more than enough polls
        after = seen[next(i for i, r in enumerate(seen) if r is marker) + 1:]
        return sum((r.cmd, r.para) == FIND for r in after) >= count

    wait_until(enough, 10, f"{count} more card polls")


# --- the card watch ---------------------------------------------------------------------------
def test_a_card_placed_is_read_with_its_identity_on_the_watch_thread(hub: DeviceHub):
    cards = Cards()
    hub.watch_cards(cards)
    wait_until(lambda: cards.has("waiting"), what="waiting")
    hub.emulators.card_on("resident")
    wait_until(lambda: cards.reads(), what="a read")
    assert cards.kinds() == ["waiting", "found", "reading", "read"]
    identity = cards.reads()[0].identity
    assert identity.id_number == SAMPLE_CARDS["resident"].identity.id_number
    assert identity.name == SAMPLE_CARDS["resident"].identity.name
    assert cards.threads == {"card-watch"}
    assert identity.id_number not in repr(cards.events)  # only the masked number shows


def test_each_placement_is_read_once(hub: DeviceHub):
    cards = Cards()
    hub.emulators.card_on("resident")
    hub.watch_cards(cards)
    wait_until(lambda: len(cards.reads()) == 1, what="first read")
    polls_after(hub)  # the card still lies there: the reader does not find it again
    assert len(cards.reads()) == 1
    hub.emulators.card_off()
    polls_after(hub)
    hub.emulators.card_on("rare_name")
    wait_until(lambda: len(cards.reads()) == 2, what="second read")
    polls_after(hub)
    assert len(cards.reads()) == 2
    assert cards.reads()[1].identity.name == SAMPLE_CARDS["rare_name"].identity.name


def test_a_card_lifted_mid_read_asks_to_place_it_again(hub: DeviceHub):
    cards = Cards()
    hub.watch_cards(cards)
    wait_until(lambda: cards.has("waiting"))
    hub.emulators.reader.inject(Fault.REMOVED_MID_READ)
    hub.emulators.card_on()
    wait_until(lambda: cards.has("failed"), what="failure")
    assert cards.events[-1] == CardEvent("failed", None, "reposition")
    wait_until(lambda: cards.kinds()[-1] == "waiting", what="waiting again")
    hub.emulators.card_on()
    wait_until(lambda: cards.reads(), what="read after placing again")


@pytest.mark.parametrize(("fault", "outcome"), [
    (Fault.GARBAGE, "read"),  # noise before the reply: the driver resynchronises
    (Fault.BAD_CHECKSUM, "reposition"),  # the reply was lost, the reader counts the card read
])
def test_line_faults_on_the_read(hub: DeviceHub, fault: Fault, outcome: str):
    cards = Cards()
    hub.watch_cards(cards)
    wait_until(lambda: cards.has("waiting"))
    hub.emulators.reader.inject(fault, on=Command.READ_BASE)
    hub.emulators.card_on()
    wait_until(lambda: cards.kinds()[-1] in ("read", "failed"), 20, "the read to end")
    last = cards.events[-1]
    assert (last.kind if last.kind == "read" else last.problem) == outcome


def test_a_refused_card_is_unreadable_once_until_lifted(hub: DeviceHub):
    cards = Cards()
    hub.watch_cards(cards)
    wait_until(lambda: cards.has("waiting"))
    fake = ScriptedCard(SAMPLE_CARDS["resident"].identity, read_status=0x32)
    hub.emulators.reader.present(fake)
    wait_until(lambda: cards.has("failed"), what="refusal")
    assert cards.events[-1].problem == "unreadable"
    polls_after(hub)
    assert [e.kind for e in cards.events].count("failed") == 1  # not refused again and again
    hub.emulators.card_off()
    wait_until(lambda: cards.kinds()[-1] == "waiting", what="waiting after lifting")
    hub.emulators.card_on("resident")
    wait_until(lambda: cards.reads(), what="a good card read")


def test_a_reader_failing_its_self_test_is_down_until_it_recovers(hub: DeviceHub):
    cards = Cards()
    hub.watch_cards(cards)
    wait_until(lambda: cards.has("waiting"))
    hub.emulators.reader.inject(Fault.SAM_SELF_TEST_FAIL)
    wait_until(lambda: cards.has("failed", "reader_down"), what="reader down")
    wait_until(lambda: hub.states()["idcard"] == DeviceState.HARDWARE_ERROR.value)
    hub.emulators.reader.clear_faults()
    wait_until(lambda: cards.kinds()[-1] == "waiting", 10, "waiting again")
    hub.emulators.card_on()
    wait_until(lambda: cards.reads(), what="read after recovery")


def test_a_reader_that_stops_answering_reads_is_reported_down(hub: DeviceHub):
    cards = Cards()
    hub.watch_cards(cards)
    wait_until(lambda: cards.has("waiting"))
    hub.emulators.reader.inject(Fault.SILENCE, on=Command.READ_BASE, times=None)
    hub.emulators.card_on()
    wait_until(lambda: cards.has("failed"), 20, "the read to give up")
    assert cards.events[-1].problem == "reader_down"
    assert not cards.reads()


def test_unplugged_reader_is_unavailable_then_back_within_seconds(hub: DeviceHub):
    cards = Cards()
    hub.watch_cards(cards)
    wait_until(lambda: cards.has("waiting"))
    hub.emulators.unplug("idcard")
    wait_until(lambda: any(e.problem == "reader_down" for e in cards.events), 10, "reader_down")
    wait_until(lambda: hub.states()["idcard"] != "online", 10, "reader state offline")
    hub.emulators.replug("idcard")
    wait_until(lambda: hub.states()["idcard"] == "online", 10, "reader back online")
    wait_until(lambda: cards.kinds()[-1] == "waiting", 10, "waiting again")
    hub.emulators.card_on()
    wait_until(lambda: cards.reads(), 10, "read after the replug")


def test_a_stopped_watch_reports_nothing_more(hub: DeviceHub):
    first, second = Cards(), Cards()
    hub.watch_cards(first)
    wait_until(lambda: first.has("waiting"))
    hub.stop_watching_cards()
    count = len(first.events)
    assert not hub.watching_cards
    hub.watch_cards(second)
    wait_until(lambda: second.has("waiting"), what="the second watch polling")
    hub.emulators.card_on()
    wait_until(lambda: second.reads(), what="read by the second watch")
    assert len(first.events) == count


def test_watching_a_new_screen_replaces_the_old_watch(hub: DeviceHub):
    first, second = Cards(), Cards()
    hub.watch_cards(first)
    hub.watch_cards(second)
    wait_until(lambda: second.has("waiting"), what="the second watch polling")
    hub.emulators.card_on()
    wait_until(lambda: second.reads(), what="read by the second watch")
    assert not first.reads()


# --- the printer ------------------------------------------------------------------------------
RECEIPT = Receipt((
    Title("受理回执"),
    KeyValue("回执编号", "K511602-TEST-01-20261127-000001-7"),
    TextLine("请凭此回执到大厅窗口领取。"),
    QRCode("https://example.invalid/r/K511602-TEST-01-20261127-000001-7"),
    Cut(partial=True),
))


def test_a_receipt_comes_out_with_its_lines_and_qr(hub: DeviceHub):
    outcome = hub.print_receipt(RECEIPT)
    assert outcome == PrintOutcome(True, None, paper_low=False)
    lines = hub.emulators.printed_lines()
    assert "受理回执" in lines and "请凭此回执到大厅窗口领取。" in lines
    assert any("回执编号" in line and line.endswith("000001-7") for line in lines)
    assert hub.emulators.printed_qr_payloads() == [
        "https://example.invalid/r/K511602-TEST-01-20261127-000001-7"]


def test_paper_out_loses_nothing_and_the_receipt_prints_after_refill(hub: DeviceHub):
    events: list[DeviceEvent] = []
    threads: set[str] = set()

    def listener(event: DeviceEvent) -> None:
        threads.add(threading.current_thread().name)
        events.append(event)

    hub.add_listener(listener)
    hub.emulators.set_paper("out")
    outcome = hub.print_receipt(RECEIPT)
    assert outcome == PrintOutcome(False, "paper_out")
    assert hub.emulators.printed_lines() == [] and hub.emulators.printed_qr_payloads() == []
    wait_until(lambda: hub.states()["printer"] == DeviceState.USER_ERROR.value)
    wait_until(lambda: any(e.device == "printer" and e.kind == "supply_threshold"
                           for e in events), what="paper event")
    hub.emulators.set_paper("low")
    outcome = hub.print_receipt(RECEIPT)
    assert outcome.printed and outcome.paper_low
    assert hub.emulators.printed_lines().count("受理回执") == 1
    assert len(hub.emulators.printed_qr_payloads()) == 1
    assert threads == {"device-events"}


def test_an_open_cover_is_named(hub: DeviceHub):
    hub.emulators.set_cover(True)
    assert hub.print_receipt(RECEIPT) == PrintOutcome(False, "cover_open")
    hub.emulators.set_cover(False)
    assert hub.print_receipt(RECEIPT).printed


def test_unplugged_printer_is_offline_then_prints_after_replug(hub: DeviceHub):
    hub.emulators.unplug("printer")
    wait_until(lambda: hub.states()["printer"] != "online", 10, "printer offline")
    assert hub.print_receipt(RECEIPT) == PrintOutcome(False, "offline")
    hub.emulators.replug("printer")
    wait_until(lambda: hub.states()["printer"] == "online", 10, "printer back online")
    assert hub.print_receipt(RECEIPT).printed
    assert hub.emulators.printed_qr_payloads() == [
        "https://example.invalid/r/K511602-TEST-01-20261127-000001-7"]


def test_a_printer_line_quiet_for_a_moment_still_prints_the_slip(hub: DeviceHub):
    """No answer to the status request (a loaded PC, a line glitch: the supervisor may even
    reconnect) for under a second: the citizen still gets the receipt, once."""
    printer = hub.emulators.printer
    assert printer is not None
    printer.state.silent = True
    threading.Timer(0.8, lambda: setattr(printer.state, "silent", False)).start()
    outcome = hub.print_receipt(RECEIPT)
    assert outcome.printed, outcome
    assert hub.emulators.printed_lines().count("受理回执") == 1


# --- the camera -------------------------------------------------------------------------------
def test_unplugged_camera_gives_no_frame_then_comes_back(hub: DeviceHub):
    assert hub.camera_ok and hub.latest_frame().shape == (720, 1280, 3)
    hub.emulators.unplug("camera")
    wait_until(lambda: hub.states()["camera"] != "online", 10, "camera offline")
    assert not hub.camera_ok and hub.latest_frame() is None
    hub.emulators.replug("camera")
    wait_until(lambda: hub.camera_ok, 10, "camera back online")
    before = hub.latest().sequence
    wait_until(lambda: hub.latest().sequence > before, what="new frames")


def test_the_camera_is_open_only_while_a_screen_uses_it():
    hub = DeviceHub(devices(), probe_interval=0.1)
    hub.start()
    try:
        assert hub.states()["camera"] == "standby" and hub.camera_ok
        assert hub.latest_frame() is None
        hub.use_camera()
        wait_until(lambda: hub.latest_frame() is not None, 10, "frames once opened")
        hub.release_camera()  # the visit ended: closed, frames dropped
        assert hub.states()["camera"] == "standby" and hub.latest_frame() is None
        hub.emulators.unplug("camera")
        hub.use_camera()
        wait_until(lambda: not hub.camera_ok, 10, "the unplugged camera is noticed")
        hub.release_camera()
        assert not hub.camera_ok  # remembered as it was last used: screens say so at once
        assert hub.states()["camera"] != "standby"
    finally:
        hub.stop()


# --- real devices -----------------------------------------------------------------------------
def test_real_devices_have_no_emulator_and_report_why_they_are_missing(tmp_path):
    hub = DeviceHub(devices("serial:///dev/ttyKIOSKNOPE0", f"file://{tmp_path}/none/slip.bin",
                            f"file://{tmp_path}/no-camera"), probe_interval=0.1)
    assert not hub.emulators
    assert hub.emulators.reader is None and hub.emulators.printer is None
    with pytest.raises(NotEmulated):
        hub.emulators.card_on()
    with pytest.raises(NotEmulated):
        hub.emulators.show_scene("qr")
    hub.start()
    try:
        wait_until(lambda: hub.states()["idcard"] == "noDevice", 10, "reader missing")
        wait_until(lambda: hub.states()["printer"] == "noDevice", 10, "printer missing")
        assert hub.states()["camera"] == "standby"  # closed until a screen uses it
        hub.use_camera()
        wait_until(lambda: hub.states()["camera"] not in ("online", "starting"), 10, "camera")
        cards = Cards()
        hub.watch_cards(cards)
        wait_until(lambda: cards.events, what="a card event")
        assert cards.events == [CardEvent("unavailable", None, "reader_down")]
        assert hub.print_receipt(RECEIPT) == PrintOutcome(False, "offline")
        assert hub.latest_frame() is None
    finally:
        hub.stop()


def test_a_device_url_the_device_cannot_use_is_a_configuration_error():
    hub = DeviceHub(devices(idcard="usb://0x0400:0xc35a"), probe_interval=0.1)
    hub.start()
    try:
        wait_until(lambda: hub.states()["idcard"] == "hardwareError", 10, "configuration error")
        assert "usb://" in hub.statuses()["idcard"].detail
    finally:
        hub.stop()


# --- reconnect and the printed-slip listener --------------------------------------------------
def _open_device(supervisor):
    """The device object the supervisor holds now (None while it is closed): the test looks
    inside to see that a reconnect really closed it and a new one was opened."""
    try:
        with supervisor.use() as device:
            return device
    except Exception:
        return None


@pytest.mark.parametrize("name", ["idcard", "printer"])
def test_reconnect_closes_the_device_and_the_supervisor_opens_a_new_one(hub: DeviceHub, name):
    supervisor = {"idcard": hub._reader, "printer": hub._printer}[name]
    before = _open_device(supervisor)
    assert before is not None
    hub.reconnect(name)
    wait_until(lambda: _open_device(supervisor) not in (None, before), 10, "reopened")
    wait_until(lambda: hub.states()[name] == "online", 10, "online again")
    if name == "printer":
        assert hub.print_receipt(RECEIPT).printed


def test_reconnect_reopens_the_camera_and_refuses_unknown_names(hub: DeviceHub):
    camera = hub._camera
    assert camera is not None
    hub.reconnect("camera")
    assert hub._camera is not None and hub._camera is not camera
    wait_until(lambda: hub.latest_frame() is not None, 10, "frames after reconnect")
    with pytest.raises(ValueError, match="idcard, printer or camera"):
        hub.reconnect("scanner")


def test_printed_listener_hears_each_printed_slip_only(hub: DeviceHub):
    heard: list[PrintOutcome] = []
    hub.add_printed_listener(heard.append)
    assert hub.print_receipt(RECEIPT).printed
    hub.emulators.set_paper("out")
    assert not hub.print_receipt(RECEIPT).printed
    hub.emulators.set_paper("low")
    assert hub.print_receipt(RECEIPT).printed
    hub.remove_printed_listener(heard.append)
    hub.print_receipt(RECEIPT)
    assert [outcome.paper_low for outcome in heard] == [False, True]
