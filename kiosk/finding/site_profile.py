"""Site profiles: what a kiosk offers where it stands (a 24-hour hall, a bank, a post office).

A kiosk in a bank branch offers social security and tax but not a licence for blasting
explosives; it shows the bank's name beside the government's, the branch's own hours and
the branch's own "ask staff" wording, and names the halls where the other matters are done.

The profile lives here, beside :mod:`kiosk.finding.offering`, because its main effect is on
finding: :class:`Offer` is a predicate over catalogue matters that the catalogue service
applies once (:meth:`kiosk.finding.catalog.CatalogService.set_offer`), so search, browsing,
answers and bundles follow it without each screen filtering on its own.

A profile comes from outside twice: a file a technician writes (``[kiosk] site_profile``)
and the platform's ``GET /kiosks/{id}/profile`` (../shared/platform-api.md). Both go through
:func:`parse_profile`, which names the field of every problem. A file is read strictly
(an unknown key is a typo: ``offered.departmnets``); the platform's answer tolerates keys
added to the contract later. A profile that does not parse never replaces the one in use.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.finding.catalog import json_kind
from kiosk.finding.offering import HOME_SERVICES, offered_services
from kiosk.models import Matter

log = logging.getLogger(__name__)

KINDS = ("hall", "bank", "post")
"""Where a kiosk stands: a government service hall, a bank branch, a post office."""

MAX_TEXT = 200
"""A name, an address or a line of hours longer than this is a mistake, not a text."""
MAX_HELP = 400
MAX_LIST = 5000
"""Items in one list (item codes, departments...): a profile is not a catalogue."""
MAX_BYTES = 1 << 20
"""A profile file or answer over 1 MiB is refused unread."""

_SITE_FIELDS = ("kind", "name", "host_name", "hours", "help_text")
_OFFER_FIELDS = ("departments", "task_types", "item_codes", "exclude_item_codes")
_HALL_FIELDS = ("name", "address", "hours")
_TOP_FIELDS = ("version", "site", "offered", "home_tiles", "nearby_halls")


class ProfileError(ValueError):
    """A profile that cannot be used; the message names where and which field."""


@dataclass(frozen=True)
class Offer:
    """Which matters a site offers.

    With no rule at all, every matter. Otherwise a matter is offered when it matches the
    department and task type rules given (a rule left out matches any), or its item code
    is listed in ``item_codes`` (single matters added beyond those rules); and never when
    its code is in ``exclude_item_codes``. Task types are codes (``20``) or names
    (``公共服务``), as the catalogue has both.
    """

    departments: frozenset[str] | None = None
    task_types: frozenset[int | str] | None = None
    item_codes: frozenset[str] | None = None
    exclude_item_codes: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        """True when the rule offers every matter (nothing given but perhaps exclusions)."""
        return (self.departments is None and self.task_types is None
                and self.item_codes is None and not self.exclude_item_codes)

    def __call__(self, matter: Matter) -> bool:
        """Whether ``matter`` is offered at this site."""
        code = matter.item_code
        if code in self.exclude_item_codes:
            return False
        if self.item_codes is not None and code in self.item_codes:
            return True
        if self.departments is None and self.task_types is None:
            return self.item_codes is None  # only single codes were listed: only those
        if self.departments is not None and matter.department not in self.departments:
            return False
        return self.task_types is None or (matter.task_type in self.task_types
                                           or matter.task_type_name in self.task_types)


@dataclass(frozen=True)
class NearbyHall:
    """A place where a matter not offered here can be done."""

    name: str
    address: str = ""
    hours: str = ""

    def line(self) -> str:
        """One line for a notice: name, address, hours (the parts given)."""
        return "，".join(part for part in (self.name, self.address, self.hours) if part)


@dataclass(frozen=True)
class SiteProfile:
    """One site's profile (the contract's SITE PROFILE)."""

    kind: str = "hall"
    name: str = ""
    host_name: str = ""
    hours: tuple[str, ...] = ()
    help_text: str = ""
    offer: Offer = field(default_factory=Offer)
    home_tiles: tuple[str, ...] | None = None
    nearby_halls: tuple[NearbyHall, ...] = ()
    version: int = 0

    def offers(self, matter: Matter) -> bool:
        """Whether ``matter`` is offered here (the :class:`Offer` rule)."""
        return self.offer(matter)

    def tiles(self) -> tuple[str, ...]:
        """The home tiles to show: delivered services, narrowed by ``home_tiles``."""
        return offered_services(self.home_tiles)

    def where_else(self) -> tuple[str, ...]:
        """Lines naming the nearby halls, for "not offered here: go to ..."."""
        return tuple(hall.line() for hall in self.nearby_halls)


DEFAULT_PROFILE = SiteProfile()
"""No profile configured: a government hall that offers everything, as before profiles."""


# -- parsing ----------------------------------------------------------------------------


def parse_profile(data: bytes | str, *, strict: bool = True, where: str = "profile"
                  ) -> SiteProfile:
    """Validate a profile document; raises :class:`ProfileError` naming the field.

    ``strict`` refuses keys this version does not know (a file: a typo); the platform's
    answers are read with ``strict=False`` so that fields added to the contract later do
    not stop a kiosk. ``where`` starts every message (a file name, ``GET /kiosks/.../profile``).
    """
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise ProfileError(f"{where}: over {MAX_BYTES >> 20} MiB; not a site profile")
        if data.startswith(codecs.BOM_UTF8):  # Notepad adds one
            data = data[len(codecs.BOM_UTF8):]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ProfileError(f"{where}: not UTF-8 text (offset {error.start})") from None
    else:
        text = data
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ProfileError(f"{where}: not valid JSON: {error.msg} (line {error.lineno}, "
                           f"column {error.colno})") from None
    except (ValueError, RecursionError) as error:
        raise ProfileError(f"{where}: not valid JSON: {error}") from None
    return profile_from_json(document, strict=strict, where=where)


def profile_from_json(document: Any, *, strict: bool = True, where: str = "profile"
                      ) -> SiteProfile:
    """The profile of an already decoded JSON document (see :func:`parse_profile`)."""
    reader = _Reader(where, strict)
    top = reader.object(document, "")
    reader.known(top, _TOP_FIELDS, "")
    version = reader.version(top.get("version", 0), "version")
    if "site" not in top:
        reader.fail("site", "missing")
    site = reader.object(top["site"], "site")
    reader.known(site, _SITE_FIELDS, "site")
    kind = site.get("kind")
    if kind not in KINDS:
        reader.fail("site.kind", f"must be one of {', '.join(KINDS)}, got {_shown(kind)}")
    name = reader.text(site.get("name"), "site.name", MAX_TEXT)
    host = reader.text(site["host_name"], "site.host_name", MAX_TEXT) \
        if site.get("host_name") is not None else ""
    hours = tuple(reader.texts(site.get("hours", []), "site.hours", MAX_TEXT))
    help_text = reader.text(site["help_text"], "site.help_text", MAX_HELP, one_line=False) \
        if site.get("help_text") is not None else ""
    offer = _offer(reader, top.get("offered"))
    tiles = None
    if top.get("home_tiles") is not None:
        tiles = tuple(reader.texts(top["home_tiles"], "home_tiles", 32))
        for index, tile in enumerate(tiles):
            if tile not in HOME_SERVICES:
                reader.fail(f"home_tiles[{index}]", f"unknown tile {_shown(tile)} "
                            f"(known: {', '.join(HOME_SERVICES)})")
    halls = []
    for index, item in enumerate(reader.list(top.get("nearby_halls", []), "nearby_halls")):
        path = f"nearby_halls[{index}]"
        hall = reader.object(item, path)
        reader.known(hall, _HALL_FIELDS, path)
        halls.append(NearbyHall(
            reader.text(hall.get("name"), f"{path}.name", MAX_TEXT),
            *(reader.text(hall[key], f"{path}.{key}", MAX_TEXT) if hall.get(key) is not None
              else "" for key in ("address", "hours"))))
    return SiteProfile(kind=kind, name=name, host_name=host, hours=hours, help_text=help_text,
                       offer=offer, home_tiles=tiles, nearby_halls=tuple(halls),
                       version=version)


def _offer(reader: _Reader, value: Any) -> Offer:
    if value is None:
        return Offer()
    rules = reader.object(value, "offered")
    reader.known(rules, _OFFER_FIELDS, "offered")

    def codes(key: str) -> frozenset[str] | None:
        if rules.get(key) is None:
            return None
        return frozenset(reader.texts(rules[key], f"offered.{key}", MAX_TEXT))

    types: frozenset[int | str] | None = None
    if rules.get("task_types") is not None:
        found: set[int | str] = set()
        for index, item in enumerate(reader.list(rules["task_types"], "offered.task_types")):
            if isinstance(item, bool) or not isinstance(item, int | str) or item == "":
                reader.fail(f"offered.task_types[{index}]",
                            f"expected a task type code or name, got {_shown(item)}")
            found.add(reader.text(item, f"offered.task_types[{index}]", MAX_TEXT)
                      if isinstance(item, str) else item)
        types = frozenset(found)
    return Offer(departments=codes("departments"), task_types=types,
                 item_codes=codes("item_codes"),
                 exclude_item_codes=codes("exclude_item_codes") or frozenset())


@dataclass(frozen=True)
class _Reader:
    """Type checks that raise :class:`ProfileError` with the field's path."""

    where: str
    strict: bool

    def fail(self, path: str, why: str) -> None:
        raise ProfileError(f"{self.where}: {path}: {why}" if path else f"{self.where}: {why}")

    def object(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {json_kind(value)}")
        return value

    def known(self, value: dict[str, Any], fields: tuple[str, ...], path: str) -> None:
        if not self.strict:
            return
        for key in value:
            if key not in fields:
                self.fail(f"{path}.{key}" if path else key,
                          f"unknown field (known: {', '.join(fields)})")

    def list(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {json_kind(value)}")
        if len(value) > MAX_LIST:
            self.fail(path, f"more than {MAX_LIST} items")
        return value

    def text(self, value: Any, path: str, limit: int, *, one_line: bool = True) -> str:
        if value is None:
            self.fail(path, "missing")
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {json_kind(value)}")
        if not value.strip():
            self.fail(path, "empty")
        if len(value) > limit:
            self.fail(path, f"longer than {limit} characters")
        allowed = "" if one_line else "\n"
        if any(not (char.isprintable() or char in allowed) for char in value):
            self.fail(path, "holds control characters" + (" or line breaks" if one_line
                                                           else ""))
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(path, "invalid Unicode (lone surrogate)")
        return value.strip()

    def texts(self, value: Any, path: str, limit: int) -> list[str]:
        return [self.text(item, f"{path}[{index}]", limit)
                for index, item in enumerate(self.list(value, path))]

    def version(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
            self.fail(path, f"expected a whole number >= 0, got {_shown(value)}")
        return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str | int | None) \
        else json_kind(value)
    return text if len(text) <= 40 else text[:37] + "..."


def load_profile_file(path: Path) -> SiteProfile:
    """A profile file, strictly checked; raises :class:`ProfileError` naming file and field."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise ProfileError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse_profile(data, strict=True, where=str(path))


def unknown_names(profile: SiteProfile, departments: Iterable[str],
                  item_codes: Callable[[str], bool]) -> list[str]:
    """Departments and item codes the profile names that the catalogue lacks (a typo in a
    department offers nothing of it, silently, unless someone is told)."""
    offer = profile.offer
    known = set(departments)
    missing = [f"department {name}" for name in sorted(offer.departments or ()) if
               name not in known]
    missing += [f"item code {code}" for code in sorted(offer.item_codes or ())
                if not item_codes(code)]
    return missing


# -- the profile in use -----------------------------------------------------------------

Listener = Callable[[SiteProfile], None]


class SiteProfiles:
    """The profile in use by one kiosk process, and where it came from.

    At start: the platform's last pushed profile if one is kept (``pushed_path``, so a
    restarted kiosk offline still shows what the platform set), else the configured file,
    else :data:`DEFAULT_PROFILE`. A file that does not parse is logged and the previous
    profile stays. Listeners are called on the thread that applied the change (the sync
    thread for a push); screens hand it to the UI with Kivy's Clock.
    """

    def __init__(self, file: Path | None, pushed_path: Path) -> None:
        self.file = file
        self.pushed_path = pushed_path
        self.current: SiteProfile = DEFAULT_PROFILE
        self.source = "default"
        self.config_version: int | None = None
        """The heartbeat's ``config_version`` last acted on (None: not asked this run)."""
        self.listeners: list[Listener] = []
        self._lock = threading.Lock()

    def start(self) -> SiteProfile:
        """Choose the profile to start with (see the class docstring)."""
        if self.pushed_path.exists():
            try:
                self._set(load_profile_file(self.pushed_path), "platform")
                return self.current
            except ProfileError as error:
                log.error("site profile kept from the platform is not usable, ignored: %s",
                          error)
        self.reload_file()
        return self.current

    def reload_file(self) -> bool:
        """(Re)read the configured file; False (logged, profile kept) when it is bad."""
        if self.file is None:
            self._set(DEFAULT_PROFILE, "default")
            return True
        try:
            profile = load_profile_file(self.file)
        except ProfileError as error:
            log.error("site profile not applied, keeping the %s one: %s", self.source, error)
            return False
        self._set(profile, "file")
        return True

    def apply_pushed(self, data: bytes, config_version: int) -> bool:
        """A profile from ``GET /kiosks/{id}/profile``: applied and kept for the next start;
        a bad one is logged and the profile in use stays (the version is remembered, so
        the same bad answer is not fetched again at every heartbeat)."""
        self.config_version = config_version
        try:
            profile = parse_profile(data, strict=False, where="GET /kiosks/{id}/profile")
        except ProfileError as error:
            log.error("site profile from the platform not applied, keeping the %s one: %s",
                      self.source, error)
            return False
        try:
            _write_atomically(self.pushed_path, data)
        except OSError as error:  # applied all the same; only a restart offline forgets it
            log.warning("site profile from the platform not kept for the next start: %s",
                        error.strerror or error)
        self._set(profile, "platform")
        log.info("site profile %s (%s, version %d) applied from the platform",
                 profile.name, profile.kind, profile.version)
        return True

    def platform_has_none(self, config_version: int) -> None:
        """The platform keeps no profile for this kiosk (404): the local file applies."""
        self.config_version = config_version
        self.pushed_path.unlink(missing_ok=True)
        if self.source == "platform":
            log.info("the platform keeps no site profile for this kiosk: the local one applies")
            self.source = "dropped"
            if not self.reload_file():
                self._set(DEFAULT_PROFILE, "default")

    def _set(self, profile: SiteProfile, source: str) -> None:
        with self._lock:
            changed = profile != self.current
            self.current, self.source = profile, source
        if changed:
            for listener in list(self.listeners):
                try:
                    listener(profile)
                except Exception:  # a broken listener must not keep the others uninformed
                    log.exception("site profile listener failed")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)
