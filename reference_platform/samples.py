"""Sample content: generated guides, forms and e-licences; written FAQ, scenarios, policies.

The published catalogue has names and departments only; a real platform would hold each
matter's guide and form.  So that the kiosk's screens have something realistic to show,
the reference platform *generates* them, deterministically from the item code (the same
matter always gets the same guide).  None of it is real government information: every
generated text carries :data:`MARK` and every answer the header ``X-Sample-Content: true``.

The FAQ, the life-event scenarios and the policies cannot be generated from a name: they are
written by hand for this project in ``data/faq.json``, ``data/scenarios.json`` and
``data/policies.json`` (each with a ``source`` line), their texts marked too, their item
codes real codes of the shipped catalogue (tests/test_reference_platform_knowledge.py checks
every one). The kiosk ships the same three files in ``kiosk/data/`` as its fallback.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from reference_platform import ecodes
from reference_platform.matters import code_hash, form_id_of

MARK = "【示例】"
"""Prefix of every generated text: a demo must never pass for official information."""

SAMPLE_HEADER = {"X-Sample-Content": "true"}
DATA_DIR = Path(__file__).resolve().parent / "data"
PEOPLE_FILE = DATA_DIR / "sample_people.json"

# hall names are the district's; the street addresses and windows are invented (marked)
HALLS = (
    ("广安区政务服务中心", "广安市广安区金安大道二段118号"),
    ("广安区浓洄街道便民服务中心", "广安市广安区浓洄街道建设路20号"),
)
_MATERIALS = (
    ("申请人居民身份证", None),
    ("户口簿", "household_register"),
    ("结婚证", "marriage_certificate"),
    ("申请表", None),
    ("营业执照副本", "business_licence"),
    ("近期一寸免冠照片", None),
    ("授权委托书（委托办理时）", None),
    ("相关证明材料", None),
)


JOURNEY_MATERIALS: dict[str, tuple[tuple[str, str | None], ...]] = {
    # 居住证办理, the apply journey's matter (etc/journeys/apply.json): the card read at the
    # kiosk stands for the ID card, the form is filled there, so exactly one material is
    # photographed, online or offline (no e-licence decides it)
    "512B0011200070-511602000000-000-11511300008778693M-1-00": (
        ("申请人居民身份证", None),
        ("居住证明（租房合同或房产证明）", None),
        ("申请表", None),
    ),
}
"""Fixed material lists of the journey matters; every other guide's list is generated."""


def marked(text: str) -> str:
    """``text`` with the sample marker in front."""
    return MARK + text


def guide(record: dict[str, Any], version: int) -> dict[str, Any]:
    """The GUIDE of one matter (contract fields only)."""
    code = record["item_code"]
    pick = code_hash(code, "guide")
    fixed = JOURNEY_MATERIALS.get(code)
    count = len(fixed) if fixed else 2 + pick % 4
    materials = []
    for index in range(count):
        name, licence = fixed[index] if fixed else \
            _MATERIALS[(pick // 7 + index * 3) % len(_MATERIALS)]
        if any(m["name"] == marked(name) for m in materials):
            continue
        materials.append({
            "name": marked(name),
            "copies": 1 + (pick >> index) % 2,
            "original": index == 0 or licence is not None,
            "note": marked("原件核验后退回，复印件加盖申请人签名"),
            "licence_type": licence,
        })
    hall, address = HALLS[pick % len(HALLS)]
    return {
        "item_code": code,
        "name": record["name"],
        "materials": materials,
        "steps": [marked(step) for step in ("在自助终端或窗口提交申请及材料",
                                            f"{record['department']}受理并审查",
                                            "作出决定并送达结果")],
        "time_limit_days": (5, 10, 15, 20)[pick % 4],
        "fee": marked("不收费"),
        "legal_basis": [marked(f"《{record['department']}相关管理办法》第{3 + pick % 20}条")],
        "locations": [{
            "hall": hall,
            "address": marked(address),
            "window": marked(f"{1 + pick % 30}号窗口"),
            "hours": marked("工作日 9:00-12:00，13:30-17:00"),
        }],
        "visits_required": pick % 2,
        "delivery": ["pickup", "express"] if pick % 3 else ["pickup"],
        "version": version,
    }


def form(form_id: str, record: dict[str, Any], version: int) -> dict[str, Any]:
    """The FORM of a matter: identity fields pre-filled from the ID card, a phone, more."""
    def label(zh: str, en: str) -> dict[str, str]:
        return {"zh": zh, "en": en}

    fields: list[dict[str, Any]] = [
        {"name": "applicant_name", "label": label("申请人姓名", "Applicant name"),
         "type": "text", "required": True, "max_length": 40, "prefill": "idcard.name"},
        {"name": "id_number", "label": label("公民身份号码", "ID number"), "type": "id_number",
         "required": True, "pattern": r"^[0-9]{17}[0-9X]$", "prefill": "idcard.id_number"},
        {"name": "gender", "label": label("性别", "Gender"), "type": "choice", "required": False,
         "choices": ["男", "女"], "prefill": "idcard.gender"},
        {"name": "birth_date", "label": label("出生日期", "Date of birth"), "type": "date",
         "required": False, "prefill": "idcard.birth_date"},
        {"name": "address", "label": label("住址", "Address"), "type": "address",
         "required": True, "max_length": 120, "prefill": "idcard.address"},
        {"name": "phone", "label": label("联系电话", "Phone"), "type": "phone",
         "required": True, "pattern": r"^1[3-9][0-9]{9}$"},
    ]
    pick = code_hash(record["item_code"], "form")
    if pick % 2:
        fields.append({"name": "household_no", "label": label("户号", "Household number"),
                       "type": "text", "required": False, "max_length": 20,
                       "prefill": "licence.household_register.household_no"})
    if pick % 3 == 0:
        fields.append({"name": "copies", "label": label("申领份数", "Copies"), "type": "number",
                       "required": False})
    fields.append({"name": "reason", "label": label("申请事由", "Reason"), "type": "text",
                   "required": False, "max_length": 200})
    fields.append({"name": "agree", "label": label("本人承诺所填信息真实", "I confirm"),
                   "type": "checkbox", "required": True})
    document: dict[str, Any] = {"form_id": form_id, "title": marked(record["name"] + "申请表"),
                                "fields": fields, "version": version}
    if needs_face_presence(record["item_code"]):
        document["face_presence"] = True
    return document


def needs_face_presence(item_code: str) -> bool:
    """Whether a matter's sample form asks for a live still of the applicant: one matter
    in four, by a hash of its code (居住证办理, the demo matter of the apply journey, is not
    one of them; a test keeps it so)."""
    return code_hash(item_code, "face") % 4 == 0


@lru_cache(maxsize=4)
def _data(name: str) -> dict[str, Any]:
    """A written sample file of ``data/`` (FAQ, scenarios, policies), read once; callers
    build new objects rather than change it."""
    document: dict[str, Any] = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    return document


def faq_seed() -> tuple[list[dict[str, Any]], int]:
    """The written FAQ entries and their version (``data/faq.json``), for the first start."""
    document = _data("faq.json")
    return list(document["entries"]), int(document["version"])


def scenarios(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Life-event bundles ("一件事") of ``data/scenarios.json``, with the matters no longer
    in the catalogue left out (``records`` are the live matters): a kiosk must never offer
    a matter the platform would refuse."""
    live = {record["item_code"] for record in records}
    result = []
    for scenario in _data("scenarios.json")["scenarios"]:
        matters = [matter for matter in scenario["matters"] if matter["item_code"] in live]
        result.append({**scenario, "matters": matters})
    return result


def policies(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Benefit policies of ``data/policies.json``; a policy whose matter left the catalogue
    keeps its text but points nowhere (``item_code: null``)."""
    live = {record["item_code"] for record in records}
    return [{**policy, "item_code": policy["item_code"] if policy["item_code"] in live
             else None} for policy in _data("policies.json")["policies"]]


@lru_cache(maxsize=1)
def sample_people() -> dict[str, dict[str, str]]:
    """The sample persons by ID number (test persons, not real people)."""
    document = json.loads(PEOPLE_FILE.read_text(encoding="utf-8"))
    return {person["id_number"]: person for person in document["people"]}


def licences(id_number: str) -> list[dict[str, Any]]:
    """Sample e-licences of a sample person; anybody else has none."""
    person = sample_people().get(id_number.strip().upper())
    if person is None:
        return []
    pick = code_hash(person["id_number"], "licence")
    result = [{
        "type": "household_register",
        "number": f"SAMPLE-HR-{pick % 10**8:08d}",
        "issuer": marked("测试市公安局模拟分局"),
        "valid_to": "长期",
        "fields": {"name": person["name"], "id_number": person["id_number"],
                   "household_no": f"{pick % 10**9:09d}", "relation": "户主",
                   "address": person["address"] or marked("测试省测试市模拟路"),
                   "sample": True},
    }]
    if person["birth_date"] <= "19920101":
        result.append({
            "type": "marriage_certificate",
            "number": f"SAMPLE-MC-{pick % 10**7:07d}",
            "issuer": marked("测试市民政局"),
            "valid_to": "长期",
            "fields": {"name": person["name"], "spouse_name": marked("配偶"),
                       "registered_on": "2018-05-20", "sample": True},
        })
    return result


def _e_id_holders() -> list[dict[str, str]]:
    """The sample persons in file order: a code names a person by this position."""
    return list(sample_people().values())


def mint_ecode(id_number: str, issued_at: float) -> str:
    """A sample e-ID code (see :mod:`reference_platform.ecodes`) for the sample person with
    this ID number, issued at ``issued_at`` (Unix seconds): it resolves for 60 s after that.

    For tests, the camera emulator's QR scene and journey scripts; importing this module
    starts no server. Raises ``ValueError`` for anyone who is not a sample person, and for
    the sample person with a 15-character (2017 foreign permanent resident) number: e-IDs
    are issued on 18-character numbers only. The message never repeats the number.
    """
    wanted = id_number.strip().upper()
    for index, person in enumerate(_e_id_holders()):
        if person["id_number"] == wanted:
            if len(wanted) != 18:
                raise ValueError("this sample person has no e-ID (not an 18-character number)")
            return ecodes.sign(index, issued_at)
    raise ValueError("not a sample person (see reference_platform/data/sample_people.json)")


def ecode_for_card(card: str = "resident", issued_at: float | None = None) -> str:
    """:func:`mint_ecode` for the sample person of an ID-card emulator card key
    (``resident``, ``rare_name``, ``hmt``, ``foreign_2023``), issued now by default."""
    for person in _e_id_holders():
        if person.get("card") == card:
            return mint_ecode(person["id_number"],
                              time.time() if issued_at is None else issued_at)
    raise ValueError(f"no sample person for card {card[:32]!r}")


def resolve_ecode(code: str, now: float) -> dict[str, str] | None:
    """The contract's answer to ``POST /identity/ecode``, or None when the code is unknown,
    forged or expired. Optional keys (nation, address, valid_to) are left out when empty."""
    index = ecodes.verify(code, now)
    people = _e_id_holders()
    if index is None or index >= len(people) or len(people[index]["id_number"]) != 18:
        return None
    person = people[index]
    answer = {key: person[key] for key in ("name", "id_number", "gender", "birth_date")}
    for key in ("nation", "address", "valid_to"):
        if person.get(key):
            answer[key] = person[key]
    return answer


def matter_has_form(item_code: str) -> bool:
    """Whether the matter has a sample form (see :func:`form_id_of`)."""
    return form_id_of(item_code) is not None
