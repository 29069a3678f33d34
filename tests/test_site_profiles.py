"""Site profiles: the parser names the field, the catalogue shows only what a site offers,
and a profile pushed by the platform applies at the next heartbeat without a restart.

Real parts only: the shipped catalogue in a SQLite file, the shipped samples in
etc/profiles/, and the reference platform as its own process on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config import ConfigError, load_config
from kiosk.finding.answers import answer
from kiosk.finding.browse import Browser
from kiosk.finding.bundles import bundle_for
from kiosk.finding.catalog import SAMPLE_CATALOG, CatalogService, load_catalog_file
from kiosk.finding.knowledge import KnowledgeBase
from kiosk.finding.site_profile import (
    DEFAULT_PROFILE,
    ProfileError,
    SiteProfile,
    SiteProfiles,
    load_profile_file,
    parse_profile,
    unknown_names,
)
from kiosk.platform.sync import Schedule
from tests.platform_server import PlatformServer, install_key

REPO = Path(__file__).resolve().parent.parent
PROFILES = REPO / "etc" / "profiles"
BANK = PROFILES / "bank-branch.json"
HUKOU_MOVE = "511A0147300000-511602000000-000-11511300008778693M-1-00"  # 户口迁移审批
RESIDENCE = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理
KIOSK_ID = "511602-BANK-01"


@pytest.fixture(scope="module")
def matters():
    return load_catalog_file(SAMPLE_CATALOG).matters


@pytest.fixture()
def catalog(tmp_path_factory: pytest.TempPathFactory):
    service = CatalogService(tmp_path_factory.mktemp("profiles") / "kiosk.db")
    service.ensure_loaded(SAMPLE_CATALOG)
    yield service
    service.close()


def bank_document() -> dict:
    return json.loads(BANK.read_text(encoding="utf-8"))


# -- the parser -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(PROFILES.glob("*.json")), ids=lambda p: p.name)
def test_every_sample_parses_and_names_only_what_the_catalogue_has(path: Path, matters):
    profile = load_profile_file(path)
    offered = [m for m in matters if profile.offers(m)]
    assert offered, "a sample offers something"
    assert unknown_names(profile, {m.department for m in matters},
                         {m.item_code for m in matters}.__contains__) == []
    assert profile.tiles() and profile.help_text and profile.hours and profile.nearby_halls


def test_the_bank_offers_its_departments_and_single_codes_not_the_rest(matters):
    bank = load_profile_file(BANK)
    by_code = {m.item_code: m for m in matters}
    assert bank.kind == "bank" and bank.host_name
    assert bank.offers(by_code[RESIDENCE])  # listed by item code: 公安 otherwise is not
    assert not bank.offers(by_code[HUKOU_MOVE])
    departments = {m.department for m in matters if bank.offers(m)}
    assert departments == {"区人社局", "广安区税务局", "区医疗保障局", "区公安分局"}
    assert "appointment" not in bank.tiles()
    assert DEFAULT_PROFILE.offers(by_code[HUKOU_MOVE]) and DEFAULT_PROFILE.offer.everything


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["offered"].update(departmnets=d["offered"].pop("departments")),
     "offered.departmnets: unknown field (known: departments, task_types"),
    (lambda d: d["site"].update(kind="branch"), "site.kind: must be one of hall, bank, post"),
    (lambda d: d.update(home_tiles=["apply", "serch"]), 'home_tiles[1]: unknown tile "serch"'),
    (lambda d: d["site"].pop("name"), "site.name: missing"),
    (lambda d: d["site"].update(hours="9:00-17:00"), "site.hours: expected a list, got string"),
    (lambda d: d["offered"].update(task_types=[True]), "offered.task_types[0]: expected a task"),
    (lambda d: d["nearby_halls"][1].update(name=""), "nearby_halls[1].name: empty"),
    (lambda d: d.pop("site"), "site: missing"),
])
def test_a_mistake_is_named_by_its_field(change, message):
    document = bank_document()
    change(document)
    with pytest.raises(ProfileError) as raised:
        parse_profile(json.dumps(document, ensure_ascii=False), where="bank.json")
    assert str(raised.value).startswith("bank.json: ") and message in str(raised.value)


def test_a_broken_file_says_where_and_the_platform_may_add_fields():
    with pytest.raises(ProfileError, match=r"bank.json: not valid JSON: .* \(line 2, column 2\)"):
        parse_profile(b'{"site": {}\n}}', where="bank.json")
    document = bank_document() | {"added_later": 1}
    document["site"]["logo"] = "x.png"
    with pytest.raises(ProfileError, match="added_later: unknown field"):
        parse_profile(json.dumps(document))
    assert parse_profile(json.dumps(document), strict=False).kind == "bank"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from(["bank", "hall", "apply", "区人社局", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["version", "site", "kind", "name", "host_name", "hours", "help_text",
                         "offered", "departments", "task_types", "item_codes",
                         "exclude_item_codes", "home_tiles", "nearby_halls", "address",
                         "other"]) | st.text(max_size=6), inner, max_size=6),
    max_leaves=30)


@settings(max_examples=400)
@given(document=JSON, strict=st.booleans())
def test_any_json_gives_a_profile_or_a_profile_error(document, strict):
    try:
        profile = parse_profile(json.dumps(document), strict=strict)
    except ProfileError as error:
        assert str(error).startswith("profile")
    else:
        assert isinstance(profile, SiteProfile) and profile.kind in ("hall", "bank", "post")


@settings(max_examples=300)
@given(data=st.binary(max_size=300) | st.builds(
    lambda raw, cut: raw[:cut], st.just(BANK.read_bytes()), st.integers(0, 2000)))
def test_any_bytes_give_a_profile_or_a_profile_error(data):
    try:
        parse_profile(data, where="outside")
    except ProfileError as error:
        assert str(error).startswith("outside: ")


def test_a_bad_file_keeps_the_previous_profile_and_says_why(tmp_path: Path, caplog):
    path = tmp_path / "site.json"
    path.write_bytes(BANK.read_bytes())
    profiles = SiteProfiles(path, tmp_path / "pushed.json")
    seen: list[SiteProfile] = []
    profiles.listeners.append(seen.append)
    assert profiles.start().kind == "bank" and len(seen) == 1
    path.write_text(BANK.read_text(encoding="utf-8").replace('"departments"', '"departmnets"'),
                    encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        assert profiles.reload_file() is False
    assert profiles.current.kind == "bank" and len(seen) == 1
    assert f"site profile not applied, keeping the file one: {path}: " \
        "offered.departmnets: unknown field" in caplog.text


def test_the_config_names_the_profile_file(tmp_path: Path):
    ini = tmp_path / "kiosk.ini"
    ini.write_text(f"[kiosk]\nsite_profile = {BANK}\n", encoding="utf-8")
    assert load_config(ini, environ={}).kiosk.site_profile == BANK
    ini.write_text("[kiosk]\nsite_profile = profiles/nowhere.json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"site_profile.*no such file"):
        load_config(ini, environ={})


# -- filtering in the core ----------------------------------------------------------------------

def test_a_bank_hides_a_matter_it_does_not_offer_everywhere_and_says_where(catalog):
    bank = load_profile_file(BANK)
    knowledge = KnowledgeBase(None)
    browser = Browser(catalog)
    moving = next(s for s in knowledge.scenarios() if s.id == "moving")
    before = [h.matter.item_code for h in catalog.search("户口迁移审批")]
    assert before[0] == HUKOU_MOVE
    assert HUKOU_MOVE in {m.item_code for g in browser.theme_groups()
                          for m in browser.theme_matters(g.theme.id)}

    catalog.set_offer(bank.offer)

    # search and the lists of browse
    assert HUKOU_MOVE not in [h.matter.item_code for h in catalog.search("户口迁移审批")]
    assert catalog.search("居住证")[0].matter.item_code == RESIDENCE
    assert {m.item_code for m in catalog.by_department("区公安分局")} == {
        RESIDENCE, "513A0116800003-511602000000-000-1151130000877869M-1-00"}
    assert "区民政局" not in dict(catalog.departments())
    assert catalog.count() == sum(n for _d, n in catalog.departments()) == len(catalog.matters())
    assert sum(n for _c, _n, n in catalog.task_types()) == catalog.count() < 1135
    assert all(bank.offers(m) for m in catalog.by_task_type(1))
    themed = {m.item_code for g in browser.theme_groups()
              for m in browser.theme_matters(g.theme.id)}
    assert themed and HUKOU_MOVE not in themed and all(catalog.offered(c) for c in themed)
    # questions: the FAQ entry 户口怎么迁 leads only to a matter not offered here
    card = answer("户口怎么迁", catalog, knowledge.faq_entries())
    assert not card.found or card.matter.item_code != HUKOU_MOVE
    assert HUKOU_MOVE not in {m.item_code for m in card.candidates}
    # bundles: listed apart, to be done elsewhere
    bundle = bundle_for(moving, {"hukou": "要", "from": "从外地搬来"}, catalog)
    assert HUKOU_MOVE not in {m.item_code for m in bundle.matters}
    assert HUKOU_MOVE in {m.item_code for m in bundle.elsewhere}
    assert not any(bank.offers(m) for m in bundle.elsewhere) and bundle.matters
    # reached anyway (a direct code): found, not offered, no form, and where to go instead
    assert catalog.matter(HUKOU_MOVE) is not None and not catalog.offered(HUKOU_MOVE)
    assert catalog.form_document(HUKOU_MOVE) == (None, None)
    assert "广安区政务服务中心" in bank.where_else()[0]

    catalog.set_offer(None)
    assert catalog.count() == 1135 and catalog.offered(HUKOU_MOVE)
    assert catalog.search("户口迁移审批")[0].matter.item_code == HUKOU_MOVE


# -- pushed by the platform ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("platform")
    key_file = folder / "platform.key"
    with PlatformServer(folder, kiosks={KIOSK_ID: key_file}) as running:
        running.key_file = key_file
        yield running


def kiosk_services(tmp_path: Path, server, profile: Path | None):
    from kiosk.services import KioskServices

    install_key(server.key_file, tmp_path / "platform.key")
    ini = tmp_path / "kiosk.ini"
    line = f"site_profile = {profile}\n" if profile else ""
    ini.write_text(
        f"[kiosk]\nid = {KIOSK_ID}\n{line}[storage]\ndata_dir = {tmp_path / 'data'}\n"
        f"master_key_file = {tmp_path / 'master.key'}\n"
        f"[platform]\nurl = {server.base_url}\nkey_file = {tmp_path / 'platform.key'}\n"
        "timeout = 5\n", encoding="utf-8")
    services = KioskServices.create(load_config(ini, environ={}))
    # the worker the sync thread would build (same listeners), run here pass by pass
    worker = services.sync.make_worker()
    worker.schedule = Schedule(heartbeat_s=0, catalog_s=float("inf"), lists_s=float("inf"),
                               documents_s=float("inf"), retention_s=float("inf"))
    return services, worker


def put_profile(server, document: dict, **params) -> int:
    answer = requests.put(f"{server.root_url}/admin/kiosks/{KIOSK_ID}/profile", json=document,
                          params=params, headers=server.admin_headers(), timeout=5)
    answer.raise_for_status()
    return int(answer.json()["config_version"])


def test_a_pushed_profile_applies_at_the_next_heartbeat_without_restart(tmp_path, server, caplog):
    requests.delete(f"{server.root_url}/admin/kiosks/{KIOSK_ID}/profile",
                    headers=server.admin_headers(), timeout=5).raise_for_status()
    services, worker = kiosk_services(tmp_path, server, None)
    told: list[SiteProfile] = []
    services.profiles.listeners.append(told.append)
    try:
        assert services.catalog.count() == 1135
        assert worker.sync_once().housekeeping["heartbeat"] == "ok"  # 404: nothing changes
        assert services.profiles.source == "default" and not told

        version = put_profile(server, bank_document())
        assert services.catalog.count() == 1135  # not before the heartbeat says so
        worker.sync_once()
        assert services.profiles.config_version == version and told[-1].kind == "bank"
        assert HUKOU_MOVE not in [h.matter.item_code for h in services.catalog.search("户口迁移")]
        assert services.catalog.count() < 1135
        assert (tmp_path / "data" / "site_profile.pushed.json").exists()  # for a restart
        worker.sync_once()
        assert len(told) == 1  # same config version: not fetched nor applied again

        broken = bank_document()
        broken["site"]["kind"] = "supermarket"
        with caplog.at_level(logging.ERROR):
            bad = put_profile(server, broken, check="false")
            worker.sync_once()
        assert services.profiles.config_version == bad and services.profiles.current.kind == "bank"
        assert "site profile from the platform not applied, keeping the platform one: " \
            "GET /kiosks/{id}/profile: site.kind: must be one of hall, bank, post" in caplog.text

        requests.delete(f"{server.root_url}/admin/kiosks/{KIOSK_ID}/profile",
                        headers=server.admin_headers(), timeout=5).raise_for_status()
        worker.sync_once()  # 404 now: back to the local (here: no) profile
        assert services.profiles.current == DEFAULT_PROFILE and services.catalog.count() == 1135
        assert not (tmp_path / "data" / "site_profile.pushed.json").exists()
    finally:
        worker.client.close()
        worker.storage.close()
        services.catalog.close()


def test_a_kiosk_with_a_local_file_keeps_it_when_the_platform_has_none(tmp_path, server):
    requests.delete(f"{server.root_url}/admin/kiosks/{KIOSK_ID}/profile",
                    headers=server.admin_headers(), timeout=5).raise_for_status()
    services, worker = kiosk_services(tmp_path, server, BANK)
    try:
        assert services.profiles.source == "file" and services.catalog.count() < 1135
        worker.sync_once()
        assert services.profiles.source == "file" and services.profiles.current.kind == "bank"
    finally:
        worker.client.close()
        worker.storage.close()
        services.catalog.close()


def test_the_reference_platform_refuses_a_profile_with_a_typo(server):
    document = bank_document()
    document["offered"]["departmnets"] = document["offered"].pop("departments")
    answer = requests.put(f"{server.root_url}/admin/kiosks/{KIOSK_ID}/profile", json=document,
                          headers=server.admin_headers(), timeout=5)
    assert answer.status_code == 422 and "offered.departmnets" in answer.json()["message"]
    session = server.session(KIOSK_ID)
    assert session.get(f"/kiosks/{KIOSK_ID}/profile").status_code in (200, 404)
    assert session.get("/kiosks/511602-OTHER-01/profile").status_code == 401
