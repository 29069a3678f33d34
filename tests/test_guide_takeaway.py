"""Taking a guide away: a short guide printed on the receipt printer, or a QR code that
opens the guide's web page on the citizen's phone."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config
from kiosk.finding.guide_slip import GUIDE_SLIP_TITLE, guide_link, guide_slip
from kiosk.finding.guides import parse_guide
from tests.kiosk_files import JOURNEY_MATTER, sample_matters, seed_matter

LINK = "https://www.example.org/guides?item={item_code}"


def sample_guide(item_code: str = JOURNEY_MATTER):
    from reference_platform.samples import guide

    matter = next(m for m in sample_matters() if m.item_code == item_code)
    record = {"item_code": item_code, "name": matter.name, "department": matter.department}
    return matter, parse_guide(guide(record, 1))


def texts(slip) -> str:
    return "\n".join(getattr(block, "text", "") or getattr(block, "value", "")
                     or getattr(block, "payload", "") for block in slip.blocks)


def test_the_slip_says_what_to_bring_where_and_when_with_the_link():
    from drivers.printer.layout import KeyValue, QRCode
    from drivers.printer.render import render

    matter, guide = sample_guide()
    link = guide_link(LINK, matter.item_code)
    slip = guide_slip(matter, guide, hall="广安区政务服务中心", printed_at="2026-11-27 15:00",
                      link=link)
    text = texts(slip)
    assert GUIDE_SLIP_TITLE in text and matter.name in text
    for material in guide.materials:
        assert material.name in text
    assert {b.key for b in slip.blocks if isinstance(b, KeyValue)} == {
        "办理时限", "收费", "到现场次数"}
    assert guide.locations[0].hall in text
    assert [b.payload for b in slip.blocks if isinstance(b, QRCode)] == [
        f"https://www.example.org/guides?item={matter.item_code}"]
    assert "示例指南" in text, "a sample guide says so on paper too"
    assert guide.steps[0] not in text, "steps are for the counter: the slip stays short"
    assert GUIDE_SLIP_TITLE.encode("gb18030") in render(slip)


def test_without_a_link_there_is_no_qr_code():
    from drivers.printer.layout import QRCode

    matter, guide = sample_guide()
    slip = guide_slip(matter, guide, hall="", printed_at="2026-11-27 15:00",
                      link=guide_link("", matter.item_code))
    assert not any(isinstance(b, QRCode) for b in slip.blocks)


@pytest.mark.parametrize(("value", "fault"), [
    ("https://www.example.org/guides?item={item}", "{item_code}"),
    ("ftp://www.example.org/{item_code}", "http://HOST"),
    ("https://www.example.org/{item_code}/{x}", "no other braces"),
    ("https://user:pw@www.example.org/{item_code}", "no user name"),
])
def test_a_wrong_guide_link_is_a_clear_config_error(tmp_path: Path, value: str, fault: str):
    path = tmp_path / "kiosk.ini"
    path.write_text(f"[kiosk]\nguide_link = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="guide_link") as raised:
        load_config(path)
    assert fault in str(raised.value)


def test_a_guide_link_is_taken_and_filled_in(tmp_path: Path):
    path = tmp_path / "kiosk.ini"
    path.write_text(f"[kiosk]\nguide_link = {LINK}\n", encoding="utf-8")
    assert guide_link(load_config(path).kiosk.guide_link, "A-1") == \
        "https://www.example.org/guides?item=A-1"


@pytest.fixture()
def guide_screen(kiosk):
    services = kiosk.app.services
    seed_matter(services)  # 居住证办理 with its sample guide
    controls = services.devices.emulators
    controls.set_paper("ok")
    controls.tear_off()
    kiosk.app.start_session()
    kiosk.app.open_matter(services.catalog.matter(JOURNEY_MATTER))
    kiosk.pump(3)
    screen = kiosk.app.screen("guide")
    kiosk.idle_until(lambda: screen.guide_text, what="the sample guide shown")

    def in_view() -> bool:  # the take-away part ends the guide: scrolled to, then tapped
        screen.ids.guide_scroll.scroll_y = 0
        view, button = screen.ids.guide_scroll, screen.ids.guide_print
        _x, y = button.to_window(*button.center)
        _vx, bottom = view.to_window(view.x, view.y)
        return bottom < y < bottom + view.height and button.height > 0 and \
            not button.disabled

    kiosk.idle_until(in_view, what="the print button in view")
    yield screen
    controls.set_paper("ok")


@pytest.mark.gui
def test_print_this_guide_prints_it_on_the_receipt_printer(kiosk, guide_screen):
    controls = kiosk.app.services.devices.emulators
    assert guide_screen.ids.guide_phone.disabled, "no link configured: no phone button"
    kiosk.tap(guide_screen.ids.guide_print)
    kiosk.idle_until(lambda: "已打印" in guide_screen.print_message, what="printed",
                     seconds=60)
    printed = "\n".join(controls.printed_lines())
    assert GUIDE_SLIP_TITLE in printed and "居住证办理" in printed
    assert "需带材料" in printed and "办理时限" in printed


@pytest.mark.gui
def test_out_of_paper_offers_the_phone_code_instead(kiosk, guide_screen):
    controls = kiosk.app.services.devices.emulators
    guide_screen.link = "https://www.example.org/guides?item=" + JOURNEY_MATTER
    controls.set_paper("out")
    kiosk.pump(2)
    kiosk.tap(guide_screen.ids.guide_print)
    kiosk.idle_until(lambda: "缺纸" in guide_screen.print_message, what="paper out",
                     seconds=60)
    assert "扫描" in guide_screen.print_message
    assert guide_screen.show_link and guide_screen.link_qr is not None
    assert not any(GUIDE_SLIP_TITLE in line for line in controls.printed_lines())
    kiosk.tap(guide_screen.ids.guide_phone)
    assert not guide_screen.show_link, "the code can be hidden again"
    kiosk.app.end_session()
    assert guide_screen.print_message == "" and guide_screen.link == ""


@pytest.mark.gui
def test_book_from_the_guide_opens_appointments_at_its_matter(kiosk, guide_screen):
    assert not guide_screen.ids.guide_book.disabled
    kiosk.tap(guide_screen.ids.guide_book)
    screen = kiosk.app.screen("appointment")
    if not hasattr(screen, "start"):
        pytest.skip("the appointment screen is being built")
    assert kiosk.app.manager.current == "appointment"
