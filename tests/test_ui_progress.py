"""Progress (进度查询) in a real window with the reference platform as a real process: a typed
number, a typo caught before any request, an unknown number, the ID card's look-up, the
receipt's QR code before the emulated camera, the offline view from the kiosk's outbox with
the time its status was known, and a visit's end forgetting it all."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from tests.driving import run
from tests.kiosk_files import JOURNEY_MATTER, seed_matter

pytestmark = pytest.mark.gui

RESIDENT_NUMBER = "110101199003078013"  # the emulator's "resident" card (made up)
RESIDENT_NAME = "测试甲"




def texts_of(root) -> list[str]:
    return [w.text for w in root.walk(restrict=True) if isinstance(getattr(w, "text", None), str)]


@pytest.fixture(scope="module")
def platform(headless, tmp_path_factory):
    """The reference platform, knowing the shared kiosk's key, with fast processing."""
    from tests.platform_server import PlatformServer

    config = headless.app.services.config
    with PlatformServer(tmp_path_factory.mktemp("platform"),
                        kiosks={config.kiosk.id: config.platform.key_file},
                        progress_step=0.2) as server:
        yield server


class Online:
    """The shared kiosk asking ``server`` on demand (its fetch thread), counting requests."""

    def __init__(self, kiosk, server) -> None:
        from kiosk.finding.documents_on_demand import DocumentFetcher

        self.app = kiosk.app
        config = self.app.services.config
        self.config = replace(config, platform=replace(config.platform, url=server.base_url))
        self.fetcher = DocumentFetcher(self.config)
        self.asked = 0
        real_call = self.fetcher.call

        def call(request, done) -> None:
            self.asked += 1
            real_call(request, done)

        self.fetcher.call = call
        self.saved = self.app.services.documents
        self.app.services.documents = self.fetcher
        self.app.online = True

    def apply_and_sync(self, id_number: str = RESIDENT_NUMBER) -> str:
        """An application of this kiosk, sent to the platform; returns its receipt number."""
        from kiosk.applying.applications import ApplicationService, NewApplication
        from kiosk.platform.sync import OUTBOX_ONLY, SyncWorker, make_client

        storage = self.app.services.applications().storage
        receipt = ApplicationService(storage).submit(NewApplication(
            JOURNEY_MATTER, {"name": RESIDENT_NAME, "id_number": id_number}, {"phone": "1"}))
        client = make_client(self.config)
        try:
            SyncWorker(storage, client, schedule=OUTBOX_ONLY).sync_once(progress=False)
        finally:
            client.close()
        return receipt

    def close(self) -> None:
        self.app.services.documents = self.saved
        self.fetcher.close()
        self.app.online = None


@pytest.fixture()
def online(kiosk, platform):
    seed_matter(kiosk.app.services)
    helper = Online(kiosk, platform)
    yield helper
    helper.close()


OPEN = [{"start": True}, {"tap": "progress"}, {"wait_screen": "progress"}]


def test_a_typed_receipt_number_shows_its_timeline_and_is_kept_for_the_kiosk(kiosk, online,
                                                                             tmp_path):
    receipt = online.apply_and_sync()
    run(kiosk, [*OPEN, {"tap": "progress_type"}, {"type": receipt}, {"tap": "progress_check"},
                {"expect_text": "您的申请", "seconds": 15}, {"expect_text": "居住证办理"},
                {"expect_text": f"回执编号：{receipt}"}, {"expect_text": "平台已收到"},
                {"expect_text": "下一步"}, {"expect_text": "本机：已发送，平台已确认收到"}],
        tmp_path)
    screen = kiosk.app.screen("progress")
    (shown,) = screen.results
    assert shown.receipt_no == receipt and shown.from_platform
    record = kiosk.app.services.applications().storage.outbox.find(receipt)
    assert record.platform_status == shown.status, "the kiosk's own status is kept"
    assert screen.ids.progress_check.height >= 96 and screen.ids.progress_card.height >= 96


def test_a_typo_is_caught_by_the_check_character_before_any_request(kiosk, online, tmp_path):
    number = make_number(kiosk, 12)
    typo = number[:-1] + ("A" if number[-1] != "A" else "B")
    run(kiosk, [*OPEN, {"tap": "progress_type"}, {"type": typo}, {"tap": "progress_check"},
                {"expect_text": "最后一位校验码对不上"}], tmp_path)
    assert online.asked == 0, "a mistyped number never reaches the platform"
    run(kiosk, [{"type": "\b"}, {"expect_no_text": "校验码"}], tmp_path, "fix", fresh=False)


def test_an_unknown_number_says_so_plainly(kiosk, online, tmp_path):
    unknown = make_number(kiosk, 999_001, date(2026, 1, 5))
    run(kiosk, [*OPEN, {"tap": "progress_type"}, {"type": unknown}, {"tap": "progress_check"},
                {"expect_text": "没有找到这个号码的申请", "seconds": 15}], tmp_path)
    assert online.asked == 1 and kiosk.app.screen("progress").results == []


def test_the_id_card_lists_the_citizens_applications(kiosk, online, tmp_path):
    first, second = online.apply_and_sync(), online.apply_and_sync()
    online.apply_and_sync("11010119500307001X")  # someone else's
    controls = kiosk.app.services.devices.emulators
    controls.card_off()
    try:
        run(kiosk, [*OPEN, {"tap": "progress_card"}, {"wait_screen": "identify"},
                    {"expect_text": "请刷身份证，查询您的申请"}, {"card_on": "resident"},
                    {"wait_screen": "progress", "seconds": 15},
                    {"expect_text": "您的申请：共", "seconds": 15}], tmp_path)
    finally:
        controls.card_on("resident")
    screen = kiosk.app.screen("progress")
    receipts = [item.receipt_no for item in screen.results]
    assert {first, second} <= set(receipts) and receipts == sorted(receipts, reverse=True)
    shown = "\n".join(texts_of(screen))
    assert RESIDENT_NUMBER not in shown and RESIDENT_NAME not in shown
    assert kiosk.app.screen("identify").role == "applicant", "the identify role is spent"


def test_the_receipts_qr_code_before_the_camera_looks_it_up(kiosk, online, tmp_path):
    receipt = online.apply_and_sync()
    kiosk.app.services.devices.emulators.show_scene("blank")  # the document scene has a QR
    run(kiosk, [*OPEN, {"expect_text": "请把回执上的二维码对准摄像头"},
                {"show_qr": "not a receipt"}, {"expect_text": "这不是本服务回执上的二维码"},
                {"show_qr": receipt}, {"expect_text": f"回执编号：{receipt}", "seconds": 15}],
        tmp_path)
    kiosk.app.services.devices.emulators.show_scene("document")


def test_offline_the_kiosk_shows_what_it_knows_with_the_time(kiosk, online, tmp_path):
    receipt = online.apply_and_sync()
    outbox = kiosk.app.services.applications().storage.outbox
    outbox.record_status(outbox.find(receipt).local_id, "in_review")
    checked = outbox.conn.execute("SELECT status_checked_at FROM applications WHERE "
                                  "receipt_no = ?", (receipt,)).fetchone()[0]
    kiosk.app.online = False
    try:
        run(kiosk, [*OPEN, {"show_qr": receipt},
                    {"expect_text": "本机现在连不上省级平台"},
                    {"expect_text": "最近一次得知的状态：部门审核中"},
                    {"expect_text": datetime.fromtimestamp(checked).strftime("%Y-%m-%d %H:%M")},
                    {"expect_text": "本机：已发送"}], tmp_path)
    finally:
        kiosk.app.services.devices.emulators.show_scene("document")
    assert online.asked == 0
    # the visit ends: nothing of it stays on the screen
    screen = kiosk.app.screen("progress")
    kiosk.app.end_session()
    kiosk.pump(2)
    assert screen.results == [] and screen.number_text == "" and screen.status == ""
    assert receipt not in "\n".join(texts_of(screen))


def make_number(kiosk, sequence: int, day: date | None = None) -> str:
    from kiosk.applying.receipt_numbers import make_receipt_number

    return make_receipt_number(kiosk.app.services.config.kiosk.id, day or date.today(), sequence)
