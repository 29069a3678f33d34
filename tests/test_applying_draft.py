"""The application built during a visit: pre-fill, entries, pages, submission, wiping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from drivers.camera.scenes import document_scene, face_scene
from drivers.idcard.emulator import SAMPLE_CARDS
from kiosk.applying.applicant import Applicant
from kiosk.applying.applications import ApplicationError, ApplicationService, OutboxStorage
from kiosk.applying.draft import FACE_ATTACHMENT, ApplyDraft, DraftIncomplete
from kiosk.applying.forms import parse_form
from kiosk.applying.materials import plan_materials, prepare_jpeg
from kiosk.finding.guides import parse_guide
from kiosk.models import Matter
from kiosk.platform.client import parse_licences
from reference_platform import samples
from reference_platform.matters import code_hash, form_id_of, shipped_records
from tests.kiosk_files import make_config

RESIDENT = SAMPLE_CARDS["resident"].identity
AGENT = SAMPLE_CARDS["rare_name"].identity
PHONE = "13800138000"


def chosen_record() -> dict:
    """A matter with a form that has the household-register field, asks for a face still,
    and whose guide lists a material to photograph."""
    for record in shipped_records():
        code = record["item_code"]
        if not (form_id_of(code) and code_hash(code, "form") % 2
                and samples.needs_face_presence(code)):
            continue
        guide = parse_guide(samples.guide(record, 1))
        names = " ".join(m.name for m in guide.materials)
        if "户口簿" in names and ("照片" in names or "证明" in names):
            return record
    raise AssertionError("no suitable sample matter")


def page_jpeg(seed: int = 0) -> bytes:
    corners = np.array([[300, 60], [980, 80], [960, 690], [320, 670]], np.float32)
    return prepare_jpeg(document_scene(corners, seed=seed))


@pytest.fixture()
def draft() -> ApplyDraft:
    record = chosen_record()
    matter = Matter(**record)
    draft = ApplyDraft(matter)
    draft.form = parse_form(samples.form(form_id_of(record["item_code"]), record, 1))
    draft.applicant = Applicant.from_card(RESIDENT)
    draft.licences = parse_licences(json.dumps(samples.licences(RESIDENT.id_number)).encode())
    draft.apply_prefill()
    draft.materials = plan_materials(parse_guide(samples.guide(record, 1)),
                                     licences=draft.licences, applicant_source="card",
                                     has_agent=False)
    return draft


def finish(draft: ApplyDraft) -> None:
    """What the citizen does after identifying: phone, promise, pages, face, consent."""
    assert draft.set_value("phone", PHONE) is None
    assert draft.set_value("agree", "1") is None
    for number, need in enumerate(draft.missing_materials()):
        draft.captured[need.name] = [page_jpeg(number * 2 + side) for side in range(need.pages)]
    draft.face_still = prepare_jpeg(face_scene())
    draft.consent = True


def test_prefill_fills_identity_fields_with_their_sources(draft: ApplyDraft):
    assert draft.values["applicant_name"] == RESIDENT.name
    assert draft.values["birth_date"] == "1990-03-07"
    assert draft.sources["applicant_name"] == "idcard"
    assert draft.sources["household_no"] == "licence"
    assert set(draft.problems()) == {"phone", "agree"}


def test_set_value_checks_and_marks_the_citizens_entries(draft: ApplyDraft):
    assert draft.set_value("phone", "12345") == (
        "Please check the phone number")  # the sample form's own pattern decides
    assert draft.sources["phone"] == "citizen"
    assert draft.set_value("address", "测试省测试市新路2号") is None
    assert draft.sources["address"] == "citizen"
    with pytest.raises(KeyError):
        draft.set_value("no_such_field", "x")


def test_prefill_again_keeps_typed_values_and_forgets_the_previous_card(draft: ApplyDraft):
    draft.set_value("address", "测试省测试市新路2号")
    draft.applicant = Applicant.typed(AGENT.id_number, AGENT.name)
    draft.licences = []
    draft.apply_prefill()
    assert draft.values["address"] == "测试省测试市新路2号"
    assert draft.values["applicant_name"] == AGENT.name
    assert draft.sources["applicant_name"] == "citizen"
    assert "household_no" not in draft.values  # the first person's licence value is gone
    assert "birth_date" not in draft.values


def test_an_unfinished_draft_names_what_is_missing(draft: ApplyDraft):
    with pytest.raises(DraftIncomplete) as caught:
        draft.to_application()
    parts = caught.value.parts
    assert "form.phone" in parts and "form.agree" in parts and "consent" in parts
    assert FACE_ATTACHMENT in parts
    assert any(part.startswith("materials.") for part in parts)
    assert RESIDENT.id_number not in str(caught.value) and RESIDENT.name not in str(caught.value)
    assert "applicant" in ApplyDraft(draft.matter)._missing_parts()


def test_a_finished_draft_becomes_the_application(draft: ApplyDraft):
    finish(draft)
    assert draft.missing_materials() == [] and draft.problems() == {}
    application = draft.to_application()
    assert application.item_code == draft.matter.item_code
    assert application.applicant == Applicant.from_card(RESIDENT).wire()
    assert application.form["phone"] == PHONE and application.form["agree"] == "1"
    assert application.form["birth_date"] == "1990-03-07"
    assert "reason" not in application.form  # optional and left empty
    assert application.delivery == {"method": "pickup"}
    names = [attachment.name for attachment in application.attachments]
    for need in draft.materials:
        if need.how != "photograph":
            assert not any(name.startswith(need.name) for name in names)
        elif need.pages == 2:
            assert f"{need.name} (1)" in names and f"{need.name} (2)" in names
        else:
            assert need.name in names
    assert names[-1] == FACE_ATTACHMENT
    assert {a.content_type for a in application.attachments} == {"image/jpeg"}


def test_an_agent_is_sent_inside_the_applicant(draft: ApplyDraft):
    finish(draft)
    draft.agent = Applicant.from_card(AGENT)
    with pytest.raises(DraftIncomplete) as caught:
        draft.to_application()
    assert caught.value.parts == ("agent.phone",)
    draft.agent_phone = "13912345678"
    applicant = draft.to_application().applicant
    assert applicant["agent"] == {"name": AGENT.name, "id_number": AGENT.id_number,
                                  "phone": "13912345678"}
    assert applicant["id_number"] == RESIDENT.id_number


def test_express_delivery_is_passed_on_and_checked(draft: ApplyDraft):
    finish(draft)
    draft.delivery = {"method": "express", "address": "测试省测试市模拟路1号", "phone": PHONE}
    assert draft.to_application().delivery["method"] == "express"
    draft.delivery = {"method": "express"}
    with pytest.raises(ApplicationError, match=r"delivery\.address"):
        draft.to_application()


def test_the_application_is_sealed_by_the_real_service(draft: ApplyDraft, tmp_path: Path):
    finish(draft)
    storage = OutboxStorage(make_config(tmp_path))
    try:
        receipt_no = ApplicationService(storage).submit(draft.to_application())
        record = storage.outbox.find(receipt_no)
        payload = storage.outbox.payload(record.local_id)
        assert payload["applicant"]["id_number"] == RESIDENT.id_number
        listed = payload["attachments"]
        assert listed[-1]["name"] == FACE_ATTACHMENT
        for attachment in listed:
            assert storage.store.get(attachment["sha256"])[:2] == b"\xff\xd8"
    finally:
        storage.close()


def test_repr_shows_no_personal_data(draft: ApplyDraft):
    finish(draft)
    draft.agent = Applicant.from_card(AGENT)
    draft.agent_phone = "13912345678"
    shown = repr(draft) + str(draft) + repr([draft])
    for secret in (RESIDENT.id_number, RESIDENT.name, RESIDENT.address, PHONE, "13912345678",
                   AGENT.id_number, AGENT.name, RESIDENT.id_number[-4:], "1990"):
        assert secret not in shown
    assert draft.matter.item_code in shown


def test_wipe_forgets_everything(draft: ApplyDraft):
    finish(draft)
    draft.agent = Applicant.from_card(AGENT)
    secret_page = bytearray(page_jpeg())
    draft.captured["extra"] = [secret_page]
    values, captured, licences = draft.values, draft.captured, draft.licences
    draft.wipe()
    assert draft.values == {} and draft.sources == {} and draft.captured == {}
    assert draft.applicant is None and draft.agent is None and draft.agent_phone == ""
    assert draft.form is None and draft.materials == () and draft.face_still is None
    assert draft.licences == [] and draft.consent is False
    assert draft.delivery == {"method": "pickup"}
    # whoever still holds the old containers finds them empty, and a bytearray zeroed
    assert values == {} and captured == {} and licences == []
    assert secret_page == bytearray(len(secret_page))
    with pytest.raises(DraftIncomplete):
        draft.to_application()


def test_a_matter_without_form_needs_only_identity_and_consent(draft: ApplyDraft):
    plain = ApplyDraft(draft.matter, applicant=Applicant.typed(RESIDENT.id_number, "测试甲"),
                       consent=True)
    application = plain.to_application()
    assert application.form == {} and application.attachments == ()
