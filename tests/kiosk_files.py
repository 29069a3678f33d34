"""Shared test helpers: a kiosk configuration in a temporary folder, citizens' data.

The test citizens are invented (ID numbers with valid check characters, test names); the
at-rest scans look for exactly these strings in the kiosk's files.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from kiosk.config import KioskConfig, load_config
from kiosk.models import Matter

KIOSK_ID = "511602-TEST-01"
ITEM_CODE = "511Z07001006-511602000000-000-11511301008778183N-1-00"


def write_config(tmp_path: Path, url: str = "http://127.0.0.1:9/api/v1",
                 kiosk_id: str = KIOSK_ID, extra: str = "") -> Path:
    """An INI file whose data lives under ``tmp_path/data``; returns its path."""
    path = tmp_path / "kiosk.ini"
    tmp_path.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"[kiosk]\nid = {kiosk_id}\n\n[storage]\ndata_dir = {tmp_path / 'data'}\n\n"
        f"[platform]\nurl = {url}\nkey_file = {tmp_path / 'platform.key'}\ntimeout = 5\n"
        f"{extra}", encoding="utf-8")
    return path


def make_config(tmp_path: Path, **kwargs: Any) -> KioskConfig:
    """The loaded configuration of :func:`write_config`."""
    return load_config(write_config(tmp_path, **kwargs), environ={})


def citizen(index: int) -> dict[str, Any]:
    """A distinct invented citizen: name, ID number, phone, address."""
    first17 = f"110101{1950 + index % 50:04d}0307{index % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    return {
        "name": f"测试者{index:05d}",
        "id_number": first17 + check,
        "phone": f"139{index:08d}",
        "address": f"测试省测试市幸福路{index}号",
    }


def application_document(index: int, attachments: list[dict[str, str]] | None = None,
                         item_code: str = ITEM_CODE) -> dict[str, Any]:
    """The JSON body ``kiosk queue add`` takes, for citizen ``index``."""
    person = citizen(index)
    return {
        "item_code": item_code,
        "applicant": person,
        "form": {"reason": "测试申请", "contact_phone": person["phone"]},
        "attachments": attachments or [],
        "delivery": {"method": "express", "address": person["address"],
                     "phone": person["phone"]},
    }


def write_application(folder: Path, index: int, files: int = 1, size: int = 2048) -> Path:
    """An application JSON file with ``files`` JPEG-like attachments beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    attachments = []
    for number in range(files):
        name = f"doc-{index}-{number}.jpg"
        content = b"\xff\xd8\xff\xe0" + bytes([index % 251, number]) * (size // 2)
        (folder / name).write_bytes(content)
        attachments.append({"name": f"材料{number}", "path": name, "content_type": "image/jpeg"})
    path = folder / f"application-{index}.json"
    path.write_text(json.dumps(application_document(index, attachments), ensure_ascii=False),
                    encoding="utf-8")
    return path


JOURNEY_MATTER = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理
"""The matter of the shipped apply journey (etc/journeys/apply.json)."""


def seed_matter(services, item_code: str = JOURNEY_MATTER) -> dict:
    """Cache a matter's record, guide and form as a sync would; returns the form."""
    from reference_platform.matters import form_id_of
    from reference_platform.samples import form, guide

    matter = services.catalog.matter(item_code)
    record = {"item_code": item_code, "name": matter.name, "department": matter.department,
              "form_id": form_id_of(item_code), "version": 1}
    services.catalog.store_document("matter", item_code, record, 1)
    services.catalog.store_document("guide", item_code, guide(record, 1), 1)
    document = form(record["form_id"], record, 1)
    services.catalog.store_document("form", record["form_id"], document, 1)
    return document


@cache
def sample_matters() -> tuple[Matter, ...]:
    """The shipped Guang'an catalogue as Matter records (read once per test process)."""
    path = Path(__file__).resolve().parent.parent / "kiosk" / "data" / "matters_guangan.json"
    with path.open(encoding="utf-8") as handle:
        return tuple(Matter(**record) for record in json.load(handle)["matters"])
