"""Appointments and queue tickets in a real window, against the reference platform as a real
process: a slot booked with the card on the emulated reader and its slip on the emulated
printer, a slot that filled up meanwhile and the next free ones, offline, the printer out
of paper at the slip, a queue ticket printed, and nothing left once the visit ends.
The shipped journeys (etc/journeys/appointment.json, ticket.json) pass through ``kiosk
drive`` against the platform too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.platform.appointments import BookingRequest, book, day_slots, new_booking_key
from kiosk.platform.client import PlatformClient
from tests.driving import run
from tests.kiosk_files import JOURNEY_MATTER
from tests.platform_server import PlatformServer

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parent.parent
KIOSK_ID = "511602-TEST-01"  # the shared UI kiosk (tests/conftest.py)
RESIDENT = "110101199003078013"  # the emulator's "resident" card
PHONE = "13812345678"


@pytest.fixture(scope="module")
def server(ui_config_file: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("appointment-platform")
    with PlatformServer(folder, kiosks={KIOSK_ID: ui_config_file.parent / "platform.key"}
                        ) as running:
        yield running


@pytest.fixture()
def online(kiosk, server: PlatformServer):
    """The shared kiosk talking to the platform: its fetch thread points there, online."""
    from kiosk.finding.documents_on_demand import DocumentFetcher

    app = kiosk.app
    services = app.services
    original = services.documents
    config = replace(services.config, platform=replace(services.config.platform,
                                                       url=server.base_url))
    services.documents = DocumentFetcher(config)
    controls = services.devices.emulators
    controls.card_off()
    controls.set_paper("ok")
    controls.tear_off()
    app.online = True
    yield app
    app.online = None
    services.documents.close()
    services.documents = original
    controls.set_paper("ok")
    controls.reader_fault("clear")
    controls.card_on("resident")


@pytest.fixture()
def client(server: PlatformServer):
    platform = PlatformClient(server.base_url, KIOSK_ID, server.keys[KIOSK_ID], timeout=10)
    yield platform
    platform.close()




def texts_of(root) -> str:
    return "\n".join(w.text for w in root.walk(restrict=True)
                     if isinstance(getattr(w, "text", None), str))


TO_SLOT = [{"start": True}, {"tap": "appointment"}, {"wait_screen": "appointment"},
           {"tap": "appointment_book"}, {"type": "jzz"}, {"tap": "appointment_matter_1"},
           {"expect_text": "您要去哪个服务大厅办理", "seconds": 20},
           {"tap": "appointment_hall_1"}, {"tap": "appointment_day_1"}]
TO_CONFIRM = [*TO_SLOT, {"tap": "appointment_slot_1"}, {"wait_screen": "identify"},
              {"card_on": "resident"}, {"wait_screen": "appointment", "seconds": 15},
              {"expect_text": "请输入您的手机号码"}, {"idle": 0.5}, {"type": PHONE},
              {"tap": "appointment_phone_next"}, {"expect_text": "请核对并确认您的预约"}]


def test_book_a_slot_with_the_card_and_the_slip_is_printed(kiosk, online, client, tmp_path):
    app = online
    run(kiosk, TO_CONFIRM, tmp_path, "to-confirm")
    screen = app.screen("appointment")
    slot = screen.slot
    assert screen.matter.item_code == JOURNEY_MATTER and slot.remaining > 0
    shown = texts_of(screen)
    assert "110***********8013" in shown and "138****5678" in shown
    assert RESIDENT not in shown and "19900307" not in shown

    run(kiosk, [{"tap": "appointment_confirm"}, {"expect_text": "预约成功", "seconds": 20},
                {"expect_printed": "预约凭证"}, {"expect_printed": "110***********8013"},
                {"expect_text": "请从屏幕下方的打印口取走凭条"}], tmp_path, "book", fresh=False)
    number = screen.facts.appointment_no
    printed = "\n".join(app.services.devices.emulators.printed_lines())
    assert number in printed and "138****5678" in printed
    assert RESIDENT not in printed and PHONE not in printed and "19900307" not in printed
    assert number in texts_of(screen) and RESIDENT not in texts_of(screen)
    assert screen.person is None and screen._phone.value == "", "forgotten once booked"
    left = {s.slot_id: s.remaining for s in day_slots(client, JOURNEY_MATTER, slot.day)}
    assert left[slot.slot_id] == slot.remaining - 1, "booked exactly once"
    assert [w.automation_id for w in screen.ids.desk_actions.children][::-1] == [
        "appointment_rate", "appointment_finish"]

    app.end_session()  # the visit ends: nothing of the booking remains
    kiosk.pump(2)
    assert screen.facts is None and screen.slots == [] and screen.matter is None
    assert number not in texts_of(screen) and screen.step == ""


def test_a_slot_taken_meanwhile_says_so_and_offers_the_next_free_ones(kiosk, online, client,
                                                                      tmp_path):
    app = online
    run(kiosk, TO_CONFIRM, tmp_path, "to-confirm")
    screen = app.screen("appointment")
    chosen = screen.slot
    for _place in range(chosen.remaining):  # other kiosks take the last places
        book(client, BookingRequest(chosen.slot_id, JOURNEY_MATTER, RESIDENT, PHONE,
                                    new_booking_key()))
    run(kiosk, [{"tap": "appointment_confirm"},
                {"expect_text": "刚刚已被约满", "seconds": 20},
                {"expect_text": "以下时段还有名额"}], tmp_path, "full", fresh=False)
    assert screen.step == "full"
    offered = [w for w in screen.ids.desk_choices.children[::-1]]
    assert [w.automation_id for w in offered] == [
        f"appointment_next_{n}" for n in range(1, len(offered) + 1)] and offered
    free = screen.free(chosen.hall)
    assert all(slot.slot_id != chosen.slot_id for slot in free)
    run(kiosk, [{"tap": "appointment_next_1"}, {"expect_text": "请核对并确认您的预约"},
                {"tap": "appointment_confirm"}, {"expect_text": "预约成功", "seconds": 20}],
        tmp_path, "next", fresh=False)
    assert screen.facts.start >= chosen.start and screen.facts.start != chosen.start


def test_offline_says_booking_needs_the_network_and_is_no_dead_end(kiosk, online, tmp_path):
    app = online
    app.online = False
    run(kiosk, [{"start": True}, {"tap": "appointment"}, {"wait_screen": "appointment"},
                {"tap": "appointment_book"}, {"expect_text": "预约需要联网"},
                {"tap": "appointment_guide"}, {"wait_screen": "search"}], tmp_path)
    matter = app.services.catalog.matter(JOURNEY_MATTER)
    app.screen("appointment").start(matter)  # the guide's button, for this matter
    kiosk.pump(3)
    assert app.manager.current == "appointment"
    run(kiosk, [{"expect_text": "预约需要联网"}, {"tap": "appointment_guide"},
                {"wait_screen": "guide"}, {"tap": "back"}, {"wait_screen": "appointment"},
                {"expect_text": "预约需要联网"}, {"tap": "appointment_call_staff"},
                {"expect_text": "工作人员"}], tmp_path, "guide", fresh=False)
    app.end_staff_call("citizen")
    run(kiosk, [{"tap": "home"}, {"tap": "appointment"}, {"tap": "appointment_ticket"},
                {"wait_screen": "ticket"}, {"type": "jzz"}, {"tap": "ticket_matter_1"},
                {"expect_text": "取号需要联网"}], tmp_path, "ticket", fresh=False)


def test_printer_out_of_paper_at_the_slip_shows_the_qr_code(kiosk, online, tmp_path):
    app = online
    run(kiosk, [*TO_CONFIRM, {"paper": "out"}, {"tap": "appointment_confirm"},
                {"expect_text": "预约成功", "seconds": 20},
                {"expect_text": "打印机缺纸", "seconds": 20},
                {"expect_text": "请用手机拍下屏幕上的二维码"}], tmp_path)
    screen = app.screen("appointment")
    assert screen.qr is not None and screen.ids.desk_qr.height > 200
    number = screen.facts.appointment_no
    run(kiosk, [{"paper": "ok"}, {"tap": "appointment_print_again"},
                {"expect_printed": number, "seconds": 20},
                {"expect_text": "请从屏幕下方的打印口取走凭条"}], tmp_path, "again", fresh=False)
    assert screen.qr is None


def test_a_queue_ticket_is_printed_with_the_people_waiting(kiosk, online, tmp_path):
    app = online
    run(kiosk, [{"start": True}, {"tap": "appointment"}, {"tap": "appointment_ticket"},
                {"wait_screen": "ticket"}, {"type": "jzz"}, {"tap": "ticket_matter_1"},
                {"expect_text": "您在哪个服务大厅", "seconds": 20}, {"tap": "ticket_hall_1"},
                {"expect_text": "取号成功", "seconds": 20}, {"expect_printed": "排队号"},
                {"expect_printed": "前面等候人数"}, {"expect_text": "前面等候人数"}], tmp_path)
    screen = app.screen("ticket")
    assert screen.facts.ticket_no in "\n".join(app.services.devices.emulators.printed_lines())
    assert [w.automation_id for w in screen.ids.desk_actions.children][::-1] == [
        "ticket_rate", "ticket_finish"]
    app.end_session()
    kiosk.pump(2)
    assert screen.facts is None and screen.step == ""
