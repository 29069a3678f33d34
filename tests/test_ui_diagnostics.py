"""The technician's PIN and diagnostics screens in the real offscreen window, with the
emulated devices: the hidden entry, the lockout, faults appearing while the screen is open,
the masked card read test, exit, the idle close and the audit."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest

from drivers.idcard.emulator import SAMPLE_CARDS
from drivers.idcard.identity import mask_number
from kiosk.operations.technician import TechnicianAccess
from tests.driving import run
from tests.waiting import pump_until

PIN = "246810"

pytestmark = pytest.mark.gui


def access(kiosk) -> TechnicianAccess:
    return TechnicianAccess(kiosk.app.services.config.storage.database)


@pytest.fixture()
def technician(kiosk):
    """Technician "demo" with the demo PIN, the keypad unlocked before and after."""
    access(kiosk).set_pin("demo", PIN)
    unlock(kiosk)
    yield kiosk
    unlock(kiosk)


def unlock(kiosk) -> None:
    """End any lockout as time would: a right PIN entered when it has run out."""
    later = TechnicianAccess(kiosk.app.services.config.storage.database,
                             clock=lambda: time.time() + 24 * 3600)
    later.enter(PIN)


def open_diagnostics(kiosk, tmp_path: Path) -> object:
    run(kiosk, [{"keys": "ctrl+alt+d"}, {"wait_screen": "technician_pin"},
                {"type": PIN}, {"tap": "pin_ok"}, {"wait_screen": "diagnostics"}], tmp_path)
    return kiosk.app.screen("diagnostics")


def shown_texts(kiosk) -> str:
    from screens.drive import Driver

    return "\n".join(Driver(kiosk, Path(".")).texts())


def test_the_held_corner_and_ctrl_alt_d_open_the_pin_screen(technician, tmp_path: Path):
    kiosk = technician
    run(kiosk, [{"long_press": "technician_corner"}, {"wait_screen": "technician_pin"},
                {"expect_text": "请输入技术人员密码"}, {"tap": "pin_back"},
                {"wait_screen": "attract"}, {"keys": "ctrl+alt+d"},
                {"wait_screen": "technician_pin"}], tmp_path)
    assert not kiosk.app.services.session.active  # no visit began on the way


def test_a_short_touch_on_the_corner_starts_a_visit(technician, tmp_path: Path):
    kiosk = technician
    corner = kiosk.app.screen("attract").ids.technician_corner
    kiosk.tap(corner)
    pump_until(kiosk, lambda: kiosk.app.manager.current == "home", what="a visit began")


def test_no_visit_reaches_the_technician_screens(technician, tmp_path: Path):
    kiosk = technician
    app = kiosk.app
    run(kiosk, [{"start": True}, {"wait_screen": "home"}, {"keys": "ctrl+alt+d"}], tmp_path)
    assert app.manager.current == "home"  # the keys work on the attract screen only
    app.show("diagnostics")  # even shown directly, without a PIN it gives way at once
    pump_until(kiosk, lambda: app.manager.current == "attract", what="diagnostics refused")
    assert not app.services.session.active  # and the visit was wiped on the way out


def test_five_wrong_pins_lock_the_keypad(technician, tmp_path: Path):
    kiosk = technician
    steps = [{"keys": "ctrl+alt+d"}, {"wait_screen": "technician_pin"}]
    for left in (4, 3, 2, 1):
        steps += [{"type": "975310"}, {"tap": "pin_ok"}, {"expect_text": f"还可尝试 {left} 次"}]
    steps += [{"type": "975310"}, {"tap": "pin_ok"}, {"expect_text": "键盘已锁定"}]
    run(kiosk, steps, tmp_path)
    screen = kiosk.app.screen("technician_pin")
    assert screen.locked and re.search(r"[45]:[0-5][0-9]", screen.message)
    assert screen.ids.keyboard.opacity == 0 and screen.ids.pin_ok.disabled
    screen.digits = PIN  # even the right PIN is not checked while locked
    screen.submit()
    assert kiosk.app.manager.current == "technician_pin"
    assert access(kiosk).state().outcome == "locked"
    whats = [row.what for row in access(kiosk).audit(limit=6)]
    assert whats[:5] == ["pin_wrong"] * 5


def test_right_pin_opens_diagnostics_and_exit_returns_audited(technician, tmp_path: Path):
    kiosk = technician
    screen = open_diagnostics(kiosk, tmp_path)
    assert screen.who == "demo"
    texts = shown_texts(kiosk)
    for name in ("身份证阅读器", "凭条打印机", "摄像头", "待发送队列", "未发送"):
        assert name in texts
    run(kiosk, [{"tap": "diag_sync_now"}, {"expect_text": "开始同步"},
                {"tap": "diag_exit"}, {"wait_screen": "attract"}], tmp_path, fresh=False)
    assert screen.who == ""  # the next opening needs the PIN again
    rows = access(kiosk).audit(limit=3)
    assert [(row.who, row.what) for row in rows] == [
        ("demo", "diagnostics_closed"), ("demo", "sync_now"), ("demo", "pin_ok")]
    assert all(PIN not in row.detail for row in rows)


def test_printer_running_out_of_paper_while_open_shows_it(technician, tmp_path: Path):
    kiosk = technician
    controls = kiosk.app.services.devices.emulators
    screen = open_diagnostics(kiosk, tmp_path)
    card = screen.cards["printer"]
    try:
        controls.set_paper("out")
        pump_until(kiosk, lambda: "缺纸" in card.paper_text, what="paper out shown")
        assert not card.ok and "装入新纸卷" in card.action_text
        run(kiosk, [{"tap": "diag_test_print"}, {"expect_text": "测试凭条未打印：缺纸",
                                                   "seconds": 20}], tmp_path, fresh=False)
        assert access(kiosk).audit(limit=1)[0].detail == "not printed: paper_out"
    finally:
        controls.set_paper("ok")
    pump_until(kiosk, lambda: card.ok and "充足" in card.paper_text, what="paper back")


def test_reader_unplugged_while_open_shows_down_with_its_action(technician, tmp_path: Path):
    kiosk = technician
    controls = kiosk.app.services.devices.emulators
    screen = open_diagnostics(kiosk, tmp_path)
    card = screen.cards["idcard"]
    pump_until(kiosk, lambda: card.state_ok, what="reader online first")
    try:
        controls.unplug("idcard")
        pump_until(kiosk, lambda: not card.state_ok, seconds=15, what="reader shown down")
        assert "检查连接线和电源" in card.action_text
        assert card.state_text.endswith(("(noDevice)", "(offline)"))
        # tapped while the card stands still: once the reader is back by itself, its action
        # line empties and the button moves up under a finger already on its way
        run(kiosk, [{"tap": "diag_reconnect_idcard"}], tmp_path, fresh=False)
        assert access(kiosk).audit(limit=1)[0].what == "reconnect"
    finally:
        controls.replug("idcard")
    pump_until(kiosk, lambda: card.state_ok and not card.action_text, seconds=15,
               what="reader back after replug and reconnect")


def test_card_read_test_shows_the_number_masked_only(technician, tmp_path: Path):
    kiosk = technician
    controls = kiosk.app.services.devices.emulators
    screen = open_diagnostics(kiosk, tmp_path)
    controls.card_on("resident")
    try:
        run(kiosk, [{"tap": "diag_card_test"}, {"expect_text": "已读卡：", "seconds": 20}],
            tmp_path, fresh=False)
    finally:
        controls.card_off()
    number = SAMPLE_CARDS["resident"].identity.id_number
    masked = screen.card_result.split("：", 1)[1]
    assert masked == mask_number(number) and masked.startswith("110")
    texts = shown_texts(kiosk)
    assert number not in texts and "19900307" not in texts and "测试甲" not in texts
    row = access(kiosk).audit(limit=1)[0]
    assert (row.what, row.detail) == ("card_read_test", "card read")


def test_left_alone_the_diagnostics_close_by_themselves(technician, tmp_path: Path):
    kiosk = technician
    screen = open_diagnostics(kiosk, tmp_path)
    assert screen._idle.timeout == 120  # two minutes on a kiosk; one second here
    screen._idle.timeout = 1.0
    try:
        screen._idle()
        pump_until(kiosk, lambda: kiosk.app.manager.current == "attract", seconds=5,
                   what="closed after idle")
    finally:
        screen._idle.timeout = 120
    row = access(kiosk).audit(limit=1)[0]
    assert (row.who, row.what, row.detail) == ("demo", "diagnostics_closed", "idle")


def test_without_any_pin_the_screen_says_how_to_set_one(kiosk, tmp_path: Path):
    technicians = access(kiosk).technicians()
    for who, _set_at in technicians:
        access(kiosk).remove(who, by="test")
    try:
        run(kiosk, [{"keys": "ctrl+alt+d"}, {"wait_screen": "technician_pin"},
                    {"expect_text": "kiosk technician set-pin"}], tmp_path)
        assert kiosk.app.screen("technician_pin").ids.pin_ok.disabled
    finally:
        access(kiosk).set_pin("demo", PIN)


# --- paper, out of service, export (issue 15, second part) ---------------------------------
def service_off(kiosk) -> None:
    """Both out-of-service switches off, as the next test expects the kiosk."""
    from kiosk.operations.service_state import OutOfService

    watch = kiosk.app.service_watch
    if watch.service.now().manual:
        watch.service.switch(False, "test")
    watch.service.set_automatic(False)
    watch.apply(OutOfService())
    kiosk.pump(2)


def test_paper_counts_each_printed_slip_warns_before_the_end_and_refill_resets(
        technician, tmp_path: Path):
    kiosk = technician
    watch = kiosk.app.service_watch
    screen = open_diagnostics(kiosk, tmp_path)
    before = watch.paper.state().slips
    roll = watch.paper.roll_slips
    watch.paper.roll_slips = math.ceil((before + 2) / 0.8)  # 80 % reached two slips on
    try:
        run(kiosk, [{"paper": "ok"}, {"tap": "diag_test_print"},
                    {"expect_text": "测试凭条已打印", "seconds": 20}], tmp_path, fresh=False)
        assert watch.paper.state().slips == before + 1  # the hub's printed slip was counted
        screen.refresh_paper()
        assert f"已打印凭条：{before + 1} 张" in screen.paper_text
        watch.paper.printed()  # another slip, printed by a citizen's visit
        screen.refresh_paper()
        assert screen.paper_low and "纸张不足" in screen.paper_text
        run(kiosk, [{"tap": "diag_paper_refilled"}, {"expect_text": "重新开始计数"}], tmp_path,
            fresh=False)
        assert watch.paper.state().slips == 0
        assert not screen.paper_low and "已打印凭条：0 张" in screen.paper_text
    finally:
        watch.paper.roll_slips = roll
    row = access(kiosk).audit(limit=1)[0]
    assert (row.who, row.what) == ("demo", "paper_refilled")


def test_out_of_service_switch_blocks_visits_and_the_technician_still_gets_in(
        technician, tmp_path: Path):
    kiosk = technician
    app = kiosk.app
    open_diagnostics(kiosk, tmp_path)
    try:
        run(kiosk, [{"tap": "diag_service_switch"}, {"expect_text": "由 demo 开启"},
                    {"tap": "diag_exit"}, {"wait_screen": "out_of_service"},
                    {"expect_text": "本终端暂停服务"}, {"expect_text": "其他自助终端"}],
            tmp_path, fresh=False)
        window = app.root_window
        kiosk.tap_at(window.width / 2, window.height / 2)  # a citizen touches the screen
        kiosk.pump(5)
        assert app.manager.current == "out_of_service" and not app.services.session.active
        app.end_session()  # what every visit's end does: still out of service
        kiosk.pump(2)
        assert app.manager.current == "out_of_service"
        run(kiosk, [{"long_press": "technician_corner"}, {"wait_screen": "technician_pin"},
                    {"tap": "pin_back"}, {"wait_screen": "out_of_service"},
                    {"keys": "ctrl+alt+d"}, {"wait_screen": "technician_pin"},
                    {"type": PIN}, {"tap": "pin_ok"}, {"wait_screen": "diagnostics"},
                    {"tap": "diag_service_switch"}, {"expect_text": "正常服务中"},
                    {"tap": "diag_exit"}, {"wait_screen": "attract"}, {"start": True},
                    {"wait_screen": "home"}], tmp_path, fresh=False)
        assert app.services.session.active
    finally:
        service_off(kiosk)
    whats = [(row.what, row.detail) for row in access(kiosk).audit(limit=20)
             if row.what == "out_of_service"]
    assert whats[:2] == [("out_of_service", "switched off"), ("out_of_service", "switched on")]


def test_a_key_refused_takes_the_kiosk_out_of_service_until_it_is_fixed(kiosk, tmp_path: Path):
    """A real condition every journey needs: the platform key readable by others is
    refused (applications and sync stop; diagnose says down)."""
    app = kiosk.app
    monitor = app.service_watch.monitor
    key = app.services.config.platform.key_file
    mode = key.stat().st_mode & 0o777
    try:
        key.chmod(0o644)
        monitor.round()
        kiosk.pump(3)
        assert app.manager.current == "attract"  # one bad round is not enough
        state = monitor.round()
        assert state.automatic and "keys" in state.reason
        pump_until(kiosk, lambda: app.manager.current == "out_of_service",
                   what="out of service automatically")
        key.chmod(mode)
        assert not monitor.round().active
        pump_until(kiosk, lambda: app.manager.current == "attract", what="back in service")
    finally:
        key.chmod(mode)
        service_off(kiosk)


def test_export_from_the_screen_writes_a_bundle_without_citizen_data(technician,
                                                                     tmp_path: Path):
    import zipfile

    from kiosk.operations.export import EXPORT_DIR

    kiosk = technician
    controls = kiosk.app.services.devices.emulators
    screen = open_diagnostics(kiosk, tmp_path)
    controls.card_on("resident")  # a card read on the screen first: only its mask may stay
    try:
        run(kiosk, [{"tap": "diag_card_test"}, {"expect_text": "已读卡：", "seconds": 20}],
            tmp_path, fresh=False)
    finally:
        controls.card_off()
    folder = kiosk.app.services.config.storage.data_dir / EXPORT_DIR
    before = set(folder.glob("*.zip"))
    run(kiosk, [{"tap": "diag_export"}, {"expect_text": "未发现U盘，已写入", "seconds": 30}],
        tmp_path, fresh=False)
    written = set(folder.glob("*.zip")) - before
    assert len(written) == 1 and next(iter(written)).name in screen.export_text
    card = SAMPLE_CARDS["resident"].identity
    with zipfile.ZipFile(next(iter(written))) as bundle:
        text = b"\n".join(bundle.read(name) for name in bundle.namelist()).decode("utf-8")
        assert "devices.json" in bundle.namelist()
    for secret in (card.id_number, card.name, card.address, "19900307"):
        assert secret not in text, secret
    assert access(kiosk).audit(limit=1)[0].what == "export"


def test_log_lines_by_level(technician, tmp_path: Path):
    import logging

    from kiosk.operations.logs import setup_logging

    kiosk = technician
    # the shared test app logs nowhere; the kiosk's own set-up (as `kiosk run` makes it)
    setup = setup_logging(kiosk.app.services.config, console=False)
    try:
        logging.getLogger("kiosk.test_ui").error("diagnostics test error line, card %s",
                                                 SAMPLE_CARDS["resident"].identity.id_number)
        logging.getLogger("kiosk.test_ui").info("diagnostics test info line")
    finally:
        setup.close()
    screen = open_diagnostics(kiosk, tmp_path)
    run(kiosk, [{"tap": "diag_logs_warnings"}, {"tap": "diag_logs_errors"}], tmp_path,
        fresh=False)
    rows = [row.text for row in screen.ids.diag_logs.children]
    assert any("ERROR" in row and "diagnostics test error line" in row for row in rows)
    assert not any("diagnostics test info line" in row for row in rows)
    assert not any(SAMPLE_CARDS["resident"].identity.id_number in row for row in rows)
    run(kiosk, [{"tap": "diag_logs_all"}], tmp_path, fresh=False)
    rows = [row.text for row in screen.ids.diag_logs.children]
    assert any("INFO" in row and "diagnostics test info line" in row for row in rows)


# --- outbox: state words, quarantined with Retry, Reprint (issue 14, the outbox part) ------
def sealed_application(kiosk, index: int, reason: str | None = None) -> str:
    """An application sealed in the shared kiosk's outbox, quarantined with ``reason`` when
    one is given (tests.test_outbox_actions); its receipt number."""
    from tests.test_outbox_actions import sealed_application as sealed

    return sealed(kiosk.app.services.config, index, reason)


def outbox_state(kiosk, receipt_no: str):
    from kiosk.applying.applications import OutboxStorage

    storage = OutboxStorage(kiosk.app.services.config)
    try:
        return storage.outbox.find(receipt_no).state
    finally:
        storage.close()


def test_a_quarantined_application_shows_its_reason_and_retry_sends_it_again(
        technician, tmp_path: Path):
    from kiosk.operations.outbox_actions import audit_reference
    from offline_cache.outbox import State

    kiosk = technician
    receipt_no = sealed_application(kiosk, 61, "platform 422 invalid_field field=form.phone")
    screen = open_diagnostics(kiosk, tmp_path)
    assert "已隔离，需技术人员处理" in screen.outbox_text  # the state in words, not its key
    assert "quarantined" not in screen.outbox_text and "sealed" not in screen.outbox_text
    texts = shown_texts(kiosk)
    assert receipt_no in texts and "平台拒收。 (platform 422 invalid_field field=form.phone)" \
        in texts
    assert "测试者" not in texts and "110101" not in texts  # receipt numbers and reasons only
    run(kiosk, [{"tap": f"diag_retry_{receipt_no}"}, {"expect_text": "即将重新发送"}],
        tmp_path, fresh=False)
    assert outbox_state(kiosk, receipt_no) is State.SEALED  # due at the next pass
    row = access(kiosk).audit(limit=1)[0]
    assert (row.who, row.what, row.detail) == ("demo", "retry", audit_reference(receipt_no))
    assert "待发送" in screen.outbox_text
    assert not any(receipt_no in child.text for child in screen.ids.diag_quarantined.children)


def in_view(scroll, widget) -> bool:
    """``widget`` lies wholly inside ``scroll``'s window (not scrolled out of sight)."""
    _left, bottom = scroll.to_window(scroll.x, scroll.y)
    _x, y = widget.to_window(widget.x, widget.y)
    return bottom <= y and y + widget.height <= bottom + scroll.height


def test_reprint_from_the_panel_prints_on_the_hub_and_says_when_paper_is_out(
        technician, tmp_path: Path):
    from tests.kiosk_files import citizen

    kiosk = technician
    controls = kiosk.app.services.devices.emulators
    receipt_no = sealed_application(kiosk, 62)
    person = citizen(62)
    open_diagnostics(kiosk, tmp_path)
    controls.tear_off()
    run(kiosk, [{"paper": "ok"}, {"tap": f"diag_reprint_{receipt_no}"},
                {"expect_text": "回执已重新打印", "seconds": 30}], tmp_path, fresh=False)
    printed = "\n".join(controls.printed_lines())
    assert receipt_no in printed
    assert person["id_number"][:3] + "*" * 11 + person["id_number"][-4:] in printed
    assert person["id_number"] not in printed
    assert controls.printed_qr_payloads()[-1] == receipt_no
    row = access(kiosk).audit(limit=1)[0]
    assert (row.what, row.detail.endswith(": printed")) == ("reprint", True)
    screen = kiosk.app.screen("diagnostics")
    kiosk.idle_until(lambda: in_view(screen.ids.diag_scroll, screen.ids.diag_outbox_result),
                     what="the reprint's outcome scrolled into view")
    try:
        controls.set_paper("out")
        run(kiosk, [{"tap": f"diag_reprint_{receipt_no}"},
                    {"expect_text": "回执未打印：打印机缺纸", "seconds": 30}], tmp_path,
            fresh=False)
    finally:
        controls.set_paper("ok")
    assert access(kiosk).audit(limit=1)[0].detail.endswith("not printed, paper_out")
    assert person["id_number"] not in shown_texts(kiosk) and person["name"] not in \
        shown_texts(kiosk)


def test_a_network_failure_is_worded_in_the_screen_language(technician, tmp_path: Path):
    """A real failed check (nothing listens on port 9) shown in Chinese by its cause; the
    English words stay in the report for ``kiosk diagnose``."""
    from kiosk.operations.network_check import check_network
    from tests.kiosk_files import make_config

    kiosk = technician
    report = check_network(make_config(tmp_path / "away"), probes=1, timeout=1.0)
    assert (report.problem, report.cause) == ("no_connection", "no_connection")
    assert "check the network cable" in report.explanation
    screen = open_diagnostics(kiosk, tmp_path)
    screen.show_network_report(report)
    assert "无法连接平台：请先检查网线" in screen.network_text
    assert "check the network cable" not in screen.network_text
    kiosk.app.toggle_language("en")
    kiosk.pump(2)
    assert "No connection to the platform: check the network cable" in screen.network_text
