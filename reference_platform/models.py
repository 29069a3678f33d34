"""Request and response bodies of platform API v1 as pydantic models.

They serve two purposes: FastAPI validates requests with them (strict types: a string is
never silently turned into a number), and the OpenAPI schema they produce documents the
contract for whoever writes another client or server.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SHA256_PATTERN = r"^[0-9a-f]{64}$"
CONTENT_TYPES = ("image/jpeg", "image/png", "application/pdf")


class Strict(BaseModel):
    """Base of request bodies: JSON types are taken as they are, never coerced."""

    model_config = ConfigDict(strict=True)


class ErrorBody(BaseModel):
    """Every error answer: a stable code for programs, a sentence for people."""

    error: str = Field(description="stable code, e.g. bad_signature, missing_attachment")
    message: str
    field: str | None = Field(None, description="the offending field, when there is one")


class Health(BaseModel):
    status: Literal["ok"]
    time: str


class QueueState(Strict):
    pending: int = Field(ge=0)
    oldest_age_s: int | float = Field(ge=0)


class HeartbeatIn(Strict):
    app_version: str = Field(max_length=64)
    devices: dict[str, Any]
    queue: QueueState
    catalog_version: int = Field(ge=0)


class HeartbeatOut(BaseModel):
    config_version: int
    server_time: str


class Matter(BaseModel):
    item_code: str
    name: str
    department: str
    group: str | None
    task_type: int
    task_type_name: str
    keywords: list[str]
    online: bool
    form_id: str | None
    version: int


class Catalog(BaseModel):
    version: int
    matters: list[Matter]
    removed: list[str]


class Material(BaseModel):
    name: str
    copies: int
    original: bool
    note: str
    licence_type: str | None


class Location(BaseModel):
    hall: str
    address: str
    window: str
    hours: str


class Guide(BaseModel):
    item_code: str
    name: str
    materials: list[Material]
    steps: list[str]
    time_limit_days: int
    fee: str
    legal_basis: list[str]
    locations: list[Location]
    visits_required: int
    delivery: list[Literal["pickup", "express"]]
    version: int


class Label(BaseModel):
    zh: str
    en: str


class FormField(BaseModel):
    name: str
    label: Label
    type: Literal["text", "number", "date", "phone", "id_number", "choice", "address", "checkbox"]
    required: bool
    pattern: str | None = None
    choices: list[str] | None = None
    max_length: int | None = None
    prefill: str | None = Field(None, description="idcard.FIELD or licence.TYPE.FIELD")


class Form(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "fields absent are omitted"})

    form_id: str
    title: str
    fields: list[FormField]
    version: int
    face_presence: bool = Field(False, description="true: the matter asks for a live still "
                                "of the applicant, sent as the attachment face_presence")


class Question(BaseModel):
    id: str
    text: str
    choices: list[str]


class ScenarioMatter(BaseModel):
    item_code: str
    when: dict[str, str] | None = None


class Scenario(BaseModel):
    id: str
    title: str
    questions: list[Question]
    matters: list[ScenarioMatter]


class FaqEntry(BaseModel):
    id: str
    questions: list[str]
    answer: str
    item_codes: list[str]


class Faq(BaseModel):
    version: int
    entries: list[FaqEntry]
    removed: list[str]


class Eligibility(BaseModel):
    age_min: int | None = None
    age_max: int | None = None
    gender: str | None = None
    area_prefix: str | None = None
    tags_any: list[str] | None = None


class Policy(BaseModel):
    id: str
    title: str
    department: str
    summary: str
    benefit: str
    eligibility: Eligibility
    item_code: str | None
    version: int


class PersonLookup(Strict):
    """A look-up by person: the ID number travels in the body, never in a URL."""

    id_number: str = Field(min_length=1, max_length=64)


class EcodeIn(Strict):
    """The payload of an electronic ID QR code, exactly as the camera read it."""

    code: str = Field(max_length=4096)


class EcodePerson(BaseModel):
    """Who an e-ID code stands for; optional keys are absent when the ID has none."""

    name: str
    id_number: str
    gender: str
    nation: str | None = None
    birth_date: str = Field(description="YYYYMMDD, as on the ID card")
    address: str | None = None
    valid_to: str | None = Field(None, description="YYYYMMDD or 长期")


class Agent(Strict):
    """Someone applying on the applicant's behalf (代办), identified at the kiosk."""

    model_config = ConfigDict(strict=True, extra="allow")

    name: str = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=1, max_length=32)


class Licence(BaseModel):
    type: str
    number: str
    issuer: str
    valid_to: str
    fields: dict[str, Any]


class AttachmentRef(Strict):
    name: str = Field(max_length=200)
    sha256: str = Field(pattern=SHA256_PATTERN)
    size: int = Field(ge=0, le=10 * 1024 * 1024)
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]


class Delivery(Strict):
    method: Literal["pickup", "express"]
    address: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=32)

    @model_validator(mode="after")
    def express_needs_address(self) -> Delivery:
        """Express delivery cannot be posted without an address."""
        if self.method == "express" and not self.address:
            raise ValueError("express delivery needs an address")
        return self


class ApplicationIn(Strict):
    receipt_no: str = Field(max_length=64)
    kiosk_id: str = Field(max_length=32)
    item_code: str = Field(max_length=128)
    applicant: dict[str, Any] = Field(description=(
        "name, id_number, ...; with agent {name, id_number, phone} when someone applies on "
        "the applicant's behalf (代办)"))
    form: dict[str, Any]
    attachments: list[AttachmentRef] = Field(max_length=50)
    delivery: Delivery
    created_at: str = Field(max_length=40)


class ApplicationReceipt(BaseModel):
    application_no: str
    receipt_no: str
    status: Literal["received"]
    received_at: str


class TimelineEntry(BaseModel):
    status: str
    at: str
    note: str


class Progress(BaseModel):
    application_no: str
    receipt_no: str
    item_code: str
    status: Literal["received", "accepted", "in_review", "needs_material", "approved",
                    "rejected", "completed"]
    timeline: list[TimelineEntry]
    delivery: dict[str, Any]


class Slot(BaseModel):
    slot_id: str
    hall: str
    start: str
    end: str
    remaining: int


class AppointmentIn(Strict):
    slot_id: str = Field(max_length=64)
    item_code: str = Field(max_length=128)
    id_number: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=1, max_length=32)


class AppointmentOut(BaseModel):
    appointment_no: str
    slot: Slot


class TicketIn(Strict):
    hall: str = Field(min_length=1, max_length=100)
    item_code: str = Field(max_length=128)


class TicketOut(BaseModel):
    ticket_no: str
    waiting: int


class EvaluationIn(Strict):
    receipt_no: str | None = Field(None, max_length=64)
    item_code: str = Field(max_length=128)
    score: int = Field(ge=1, le=5)
    tags: list[str] = Field(max_length=20)
    comment: str | None = Field(None, max_length=500)


class EvaluationOut(BaseModel):
    evaluation_no: str
    received_at: str
