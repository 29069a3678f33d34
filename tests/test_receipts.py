"""Receipts: what the paper says (and never says), its QR code, reprint, the official number."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printer.emulator import PrinterEmulator, PrinterState
from drivers.printer.layout import Paper, display_width
from drivers.printer.render import render
from kiosk.applying.applications import (
    ApplicationService,
    NewAttachment,
    OutboxStorage,
    parse_application_document,
)
from kiosk.applying.receipt_numbers import make_receipt_number, parse_receipt_number
from kiosk.applying.receipts import (
    NOT_OURS,
    PRESENCE_PHOTO_TEXT,
    QR_PROBLEMS,
    ReceiptFacts,
    ReceiptQRError,
    facts_from_outbox,
    mask_phone,
    parse_receipt_qr,
    receipt_for,
    receipt_qr_payload,
)
from kiosk.applying.submission import ReceiptNotFound, wait_for_official_number
from kiosk.cli import main
from kiosk.config import load_config
from kiosk.finding.catalog import CatalogService
from kiosk.platform.sync import OUTBOX_ONLY, SyncWorker, make_client
from offline_cache.outbox import State
from tests.kiosk_files import (
    ITEM_CODE,
    KIOSK_ID,
    application_document,
    citizen,
    make_config,
    write_config,
)

GUIDE = {
    "item_code": ITEM_CODE, "name": "测试事项",
    "materials": [{"name": "居民身份证", "copies": 1, "original": True, "note": ""}],
    "steps": ["窗口受理", "部门审核", "出具结果"], "time_limit_days": 5, "fee": "不收费",
    "locations": [
        {"hall": "前锋区政务服务中心", "address": "前锋区某大道2号", "window": "8号窗口",
         "hours": "工作日 9:00-17:00"},
        {"hall": "广安区政务服务中心", "address": "广安区某路1号", "window": "3号窗口",
         "hours": "周一至周五 9:00-17:00"},
    ],
    "visits_required": 0, "delivery": ["pickup", "express"], "version": 1,
}


@pytest.fixture()
def kiosk(tmp_path: Path):
    """A kiosk's storage and catalogue (the shipped sample), the guide of ITEM_CODE cached."""
    config = make_config(tmp_path)
    storage = OutboxStorage(config)
    catalog = CatalogService(config.storage.database)
    catalog.ensure_loaded()
    catalog.store_document("guide", ITEM_CODE, GUIDE, 1)
    yield storage, catalog
    catalog.close()
    storage.close()


def submit(storage: OutboxStorage, document: dict, *attachments: NewAttachment) -> str:
    application = parse_application_document(document, Path("."))
    return ApplicationService(storage).submit(
        dataclasses.replace(application, attachments=tuple(attachments)))


def printed(facts: ReceiptFacts, paper: Paper = Paper.MM80) -> tuple[str, list[str]]:
    """The receipt's text as the emulated printer understood the bytes, and its QR codes."""
    emulator = PrinterEmulator()
    emulator.feed(render(receipt_for(facts, paper)))
    return "\n".join(emulator.lines()), emulator.qr_payloads()


PAGES = (NewAttachment("居民身份证", b"\xff\xd8front", "image/jpeg"),
         NewAttachment("居民身份证", b"\xff\xd8back", "image/jpeg"),
         NewAttachment("face_presence", b"\xff\xd8still", "image/jpeg"))


# ------------------------------------------------------------------------------- content


def test_express_receipt_shows_masked_numbers_and_nothing_else_personal(kiosk):
    storage, catalog = kiosk
    person, agent = citizen(11), citizen(12)
    document = application_document(11)
    document["applicant"]["agent"] = {k: agent[k] for k in ("name", "id_number", "phone")}
    receipt_no = submit(storage, document, *PAGES)

    facts = facts_from_outbox(storage, receipt_no, catalog)
    text, codes = printed(facts)

    assert receipt_no in text and "待平台受理" in text
    assert catalog.matter(ITEM_CODE).name[:10] in text
    assert person["name"] in text and agent["name"] in text
    for someone in (person, agent):
        number = someone["id_number"]
        assert f"{number[:3]}{'*' * 11}{number[-4:]}" in text
        assert number not in text and number[6:14] not in text  # nor the birth date
        assert someone["address"] not in text and someone["phone"] not in text
    assert "快递送达（express delivery）" in text
    assert mask_phone(person["phone"]) in text and "139****" in text
    assert "居民身份证（2页）" in text and PRESENCE_PHOTO_TEXT in text
    assert "face_presence" not in text
    assert codes == [receipt_no] and parse_receipt_qr(codes[0]) == receipt_no
    assert person["name"] not in repr(facts) and agent["name"] not in repr(facts)


def test_pickup_receipt_names_the_chosen_hall_the_time_limit_and_steps(kiosk):
    storage, catalog = kiosk
    document = application_document(13)
    document["delivery"] = {"method": "pickup", "hall": "广安区政务服务中心"}
    receipt_no = submit(storage, document, PAGES[0])
    facts = facts_from_outbox(storage, receipt_no, catalog)
    text, _codes = printed(facts)
    assert "窗口自取（pickup）" in text and "广安区某路1号" in text and "3号窗口" in text
    assert "前锋区" not in text  # the other location of the guide
    assert "5日" in text and "1. 窗口受理" in text and "3. 出具结果" in text
    assert "居民身份证" in text and "（2页）" not in text
    assert "快递" not in text


def test_receipt_without_guide_or_catalogue_entry_still_prints(tmp_path: Path):
    config = make_config(tmp_path)
    storage = OutboxStorage(config)
    try:
        document = application_document(14, item_code="NO-SUCH-MATTER")
        document["delivery"] = {"method": "pickup"}
        receipt_no = submit(storage, document)
        facts = facts_from_outbox(storage, receipt_no, None)
    finally:
        storage.close()
    assert facts.matter_name == "NO-SUCH-MATTER" and facts.pickup.hall == config.kiosk.hall
    assert facts.time_limit_days is None and facts.next_steps == () and facts.materials == ()
    text, _codes = printed(facts)
    assert "（无）" in text and config.kiosk.hall in text


def test_receipt_fits_58mm_paper(kiosk):
    storage, catalog = kiosk
    facts = facts_from_outbox(storage, submit(storage, application_document(15), *PAGES),
                              catalog)
    text, codes = printed(facts, Paper.MM58)
    assert all(display_width(line) <= 32 for line in text.splitlines())
    assert codes == [facts.receipt_no]


def test_mask_phone():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_phone("12345") == "*****" and mask_phone("") == ""


def test_unknown_receipt_number(kiosk):
    storage, catalog = kiosk
    unknown = make_receipt_number(KIOSK_ID, date(2026, 11, 27), 999)
    with pytest.raises(ReceiptNotFound) as raised:
        facts_from_outbox(storage, unknown, catalog)
    assert str(raised.value).startswith(f"no application {unknown} on this kiosk")


# ------------------------------------------------------------------------------ QR codes

KIOSK_IDS = st.from_regex(r"[0-9A-Z][0-9A-Z-]{0,31}", fullmatch=True)
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
SEQUENCES = st.integers(min_value=1, max_value=999_999)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_parse_receipt_qr_on_arbitrary_text(text: str):
    try:
        number = parse_receipt_qr(text)
    except ValueError as error:
        assert isinstance(error, ReceiptQRError)
        # a fixed reason: nothing of what was read (it may be an e-ID code) is repeated
        assert str(error) in {f"{NOT_OURS}: {reason}" for reason in QR_PROBLEMS.values()}
        return
    assert number == str(parse_receipt_number(number)) == receipt_qr_payload(number)
    assert number == text.strip().upper()


@settings(max_examples=300, deadline=None)
@given(KIOSK_IDS, DAYS, SEQUENCES, st.sampled_from(["", " ", "\n", "\t "]))
def test_receipt_qr_round_trip(kiosk_id: str, day: date, sequence: int, space: str):
    receipt_no = make_receipt_number(kiosk_id, day, sequence)
    payload = receipt_qr_payload(receipt_no)
    assert payload == receipt_no and len(payload) <= 51
    assert parse_receipt_qr(space + payload + space) == receipt_no
    assert parse_receipt_qr(payload.lower()) == receipt_no


@settings(max_examples=300, deadline=None)
@given(KIOSK_IDS, DAYS, SEQUENCES, st.data())
def test_a_damaged_receipt_qr_is_refused(kiosk_id: str, day: date, sequence: int, data):
    receipt_no = make_receipt_number(kiosk_id, day, sequence)
    positions = [i for i, ch in enumerate(receipt_no) if ch != "-" and i > 0]
    where = data.draw(st.sampled_from(positions))
    other = data.draw(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*")
                      .filter(lambda ch: ch != receipt_no[where]))
    damaged = receipt_no[:where] + other + receipt_no[where + 1:]
    with pytest.raises(ReceiptQRError):
        parse_receipt_qr(damaged)


def test_parse_receipt_qr_messages():
    with pytest.raises(ReceiptQRError, match="empty"):
        parse_receipt_qr("  ")
    with pytest.raises(ReceiptQRError, match="longer than"):
        parse_receipt_qr("K" * 65)
    with pytest.raises(ReceiptQRError, match="check character"):
        parse_receipt_qr("K511602-HALL-01-20261123-000001-0")
    with pytest.raises(ReceiptQRError, match="impossible date in the receipt number"):
        parse_receipt_qr("K511602-HALL-01-20261323-000001-0")
    with pytest.raises(ReceiptQRError, match="not text"):
        parse_receipt_qr(b"K1")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- reprint


@pytest.fixture()
def printer():
    emulator = PrinterEmulator(PrinterState())
    path = emulator.start_pty()
    yield emulator, path
    emulator.stop()


def test_reprint_through_the_command_line(tmp_path: Path, printer, capsys):
    emulator, path = printer
    config = write_config(tmp_path, extra=f"\n[devices]\nprinter = serial://{path}\n")
    person = citizen(21)
    storage = OutboxStorage(load_config(config, environ={}))
    try:
        receipt_no = submit(storage, application_document(21), *PAGES)
    finally:
        storage.close()

    assert main(["--config", str(config), "queue", "reprint", receipt_no.lower()]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{receipt_no}: receipt printed on serial://{path}")
    assert person["name"] not in out and "***" not in out  # nothing of the citizen here
    text = "\n".join(emulator.lines())
    assert receipt_no in text and person["name"] in text
    assert person["id_number"][:3] + "*" * 11 + person["id_number"][-4:] in text
    assert person["id_number"] not in text
    assert emulator.qr_payloads() == [receipt_no]

    emulator.state.paper_out = True
    assert main(["--config", str(config), "queue", "reprint", receipt_no]) == 1
    err = capsys.readouterr().err
    assert f"the receipt of {receipt_no} was not printed" in err and "paper_out" in err


def test_reprint_refuses_unknown_and_malformed_numbers(tmp_path: Path, capsys):
    config = write_config(tmp_path)
    unknown = make_receipt_number(KIOSK_ID, date(2026, 11, 27), 5)
    assert main(["--config", str(config), "queue", "reprint", unknown]) == 1
    assert f"no application {unknown} on this kiosk" in capsys.readouterr().err
    assert main(["--config", str(config), "queue", "reprint", "K1-2026"]) == 2
    assert "not a receipt number" in capsys.readouterr().err


def test_reprint_to_a_printer_that_is_not_there(tmp_path: Path, capsys):
    config = write_config(tmp_path, extra="\n[devices]\nprinter = serial:///dev/ttyNOPE9\n")
    storage = OutboxStorage(load_config(config, environ={}))
    try:
        receipt_no = submit(storage, application_document(22))
    finally:
        storage.close()
    assert main(["--config", str(config), "queue", "reprint", receipt_no]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kiosk queue reprint: cannot open the printer serial:///dev/ttyNOPE9")
    assert "Traceback" not in err


def test_reprint_on_the_emulator_url(tmp_path: Path, capsys):
    config = write_config(tmp_path)  # the default printer: emulator://printer
    storage = OutboxStorage(load_config(config, environ={}))
    try:
        receipt_no = submit(storage, application_document(23))
    finally:
        storage.close()
    assert main(["--config", str(config), "queue", "reprint", receipt_no]) == 0
    assert "an emulator: no paper came out" in capsys.readouterr().out


# ------------------------------------------------------------------- the official number


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    from tests.platform_server import PlatformServer

    folder = tmp_path_factory.mktemp("platform")
    key_file = folder / "platform.key"
    with PlatformServer(folder, kiosks={"511602-RCPT-01": key_file}) as running:
        running.key_file = key_file
        yield running


def test_wait_for_official_number_then_reprint_shows_it(tmp_path: Path, server, kiosk):
    _storage, catalog = kiosk
    config = make_config(tmp_path / "online", url=server.base_url, kiosk_id="511602-RCPT-01")
    from tests.platform_server import install_key

    install_key(server.key_file, tmp_path / "online" / "platform.key")
    storage = OutboxStorage(config)
    try:
        receipt_no = submit(storage, application_document(31), *PAGES)
        assert wait_for_official_number(storage, receipt_no, timeout_s=0) is None

        def sync() -> None:  # the sync thread, with its own connection
            own = OutboxStorage(config)
            try:
                SyncWorker(own, make_client(config), schedule=OUTBOX_ONLY).sync_once(
                    progress=False)
            finally:
                own.close()

        sender = threading.Thread(target=sync)
        sender.start()
        number = wait_for_official_number(storage, receipt_no, timeout_s=60, poll_s=0.05)
        sender.join(timeout=60)
        assert number and number == storage.outbox.find(receipt_no).application_no

        facts = facts_from_outbox(storage, receipt_no, catalog)
        assert facts.application_no == number
        text, _codes = printed(facts)
        assert number in text and "待平台受理" not in text
    finally:
        storage.close()


def test_wait_for_official_number_gives_up(tmp_path: Path, kiosk):
    storage, _catalog = kiosk
    receipt_no = submit(storage, application_document(32))
    assert wait_for_official_number(storage, receipt_no, timeout_s=0.2, poll_s=0.05) is None
    record = storage.outbox.find(receipt_no)
    storage.outbox.start_upload(record.local_id)
    storage.outbox.quarantine(record.local_id, "validation: test")
    assert storage.outbox.get(record.local_id).state is State.QUARANTINED
    naps: list[float] = []
    assert wait_for_official_number(storage, receipt_no, timeout_s=3600,
                                    sleep=naps.append) is None
    assert naps == []  # quarantined: no number will come, no waiting
    with pytest.raises(ReceiptNotFound):
        wait_for_official_number(storage, make_receipt_number(KIOSK_ID, date(2026, 1, 2), 7), 1)
