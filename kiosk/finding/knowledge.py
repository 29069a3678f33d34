"""FAQ, life-event scenarios and policies for the screens, read from the offline cache.

The sync worker pulls them from the platform into the kiosk's database
(:func:`kiosk.platform.catalog_sync.refresh_lists`). A kiosk that has never reached the
platform still has something to show: the sample copies shipped in ``kiosk/data/``
(``faq.json``, ``scenarios.json``, ``policies.json``), read, never imported. Importing them
would store a FAQ version that belongs to no platform, and the first pull would then ask
for a delta against it instead of the whole FAQ.

Each kind falls back on its own: a kiosk whose first pull fetched the FAQ but failed before
the policies shows the platform's FAQ and the shipped policies.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from kiosk.platform.client import PlatformError, check_faq, check_policies, check_scenarios
from offline_cache.database import open_database
from offline_cache.knowledge_store import KnowledgeStore

log = logging.getLogger(__name__)

SHIPPED_DIR: Path = Path(__file__).resolve().parent.parent / "data"
"""Where the shipped sample copies live (the reference platform serves the same text)."""


@dataclass(frozen=True)
class FaqEntry:
    """Colloquial questions, a short answer, and the matters it leads to."""

    id: str
    questions: tuple[str, ...]
    answer: str
    item_codes: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    """One question of a scenario's questionnaire."""

    id: str
    text: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class ScenarioMatter:
    """A matter of a scenario, needed when every ``when`` condition holds (none: always)."""

    item_code: str
    when: Mapping[str, str] = field(default_factory=dict, hash=False)

    def applies(self, answers: Mapping[str, str]) -> bool:
        """Whether the answers given so far meet every condition (unanswered: not met)."""
        return all(answers.get(question) == choice for question, choice in self.when.items())


@dataclass(frozen=True)
class Scenario:
    """A life event (开小店, 生孩子...): a short questionnaire and the matters it selects."""

    id: str
    title: str
    questions: tuple[Question, ...]
    matters: tuple[ScenarioMatter, ...]

    def item_codes_for(self, answers: Mapping[str, str]) -> list[str]:
        """The item codes this citizen needs, given their answers, in the scenario's order."""
        return [matter.item_code for matter in self.matters if matter.applies(answers)]


MET = "met"
NOT_MET = "not_met"
UNKNOWN = "unknown"  # the card was not read: reading it would tell
MISSING = "missing"  # a tag the citizen has not ticked: ticking it would tell
CHECK_STATES = (MET, NOT_MET, UNKNOWN, MISSING)


@dataclass(frozen=True)
class Check:
    """One rule of a policy held against one person: which rule, and how it stands.

    Words are left to the screens (they translate); the rule's own values travel with it so
    that "age 18-35: met" and "age 18-35: read your card" can be said.
    """

    rule: str  # "age" | "gender" | "area" | "tags"
    state: str  # one of CHECK_STATES
    age_min: int | None = None
    age_max: int | None = None
    gender: str | None = None
    area_prefix: str | None = None
    tags: tuple[str, ...] = ()  # the policy's tags ("tags" rule); the matching ones when met


@dataclass(frozen=True)
class Eligibility:
    """Who a policy is for; a rule left out (None) does not restrict."""

    age_min: int | None = None
    age_max: int | None = None
    gender: str | None = None
    area_prefix: str | None = None
    tags_any: tuple[str, ...] | None = None

    def matches(self, *, age: int | None = None, gender: str | None = None,
                area_code: str | None = None, tags: Collection[str] = ()) -> bool:
        """Whether a person may qualify. A rule the kiosk cannot check (the age of someone
        whose card was not read) counts as not met: better to offer nothing than to promise
        a benefit the rule excludes."""
        if self.age_min is not None and (age is None or age < self.age_min):
            return False
        if self.age_max is not None and (age is None or age > self.age_max):
            return False
        if self.gender and gender != self.gender:  # an empty rule restricts nobody
            return False
        if self.area_prefix is not None and not (area_code or "").startswith(self.area_prefix):
            return False
        return not self.tags_any or bool(set(self.tags_any) & set(tags))

    def explain(self, *, age: int | None = None, gender: str | None = None,
                area_code: str | None = None, tags: Collection[str] = ()) -> list[Check]:
        """Every rule of this policy against a person, one :class:`Check` each, in the order
        a citizen reads them (age, gender, area, situation).

        Unlike :meth:`matches`, a fact the kiosk does not know (no card read) is
        :data:`UNKNOWN`, not failed, and a tag not ticked is :data:`MISSING`: the screen
        says what reading the card or ticking a box would settle. All checks :data:`MET`
        exactly when :meth:`matches` is true.
        """
        checks = []
        if self.age_min is not None or self.age_max is not None:
            if age is None:
                state = UNKNOWN
            else:
                low_ok = self.age_min is None or age >= self.age_min
                high_ok = self.age_max is None or age <= self.age_max
                state = MET if low_ok and high_ok else NOT_MET
            checks.append(Check("age", state, age_min=self.age_min, age_max=self.age_max))
        if self.gender:
            state = UNKNOWN if not gender else MET if gender == self.gender else NOT_MET
            checks.append(Check("gender", state, gender=self.gender))
        if self.area_prefix:
            state = UNKNOWN if not area_code else \
                MET if area_code.startswith(self.area_prefix) else NOT_MET
            checks.append(Check("area", state, area_prefix=self.area_prefix))
        if self.tags_any:
            held = tuple(tag for tag in self.tags_any if tag in set(tags))
            checks.append(Check("tags", MET, tags=held) if held else
                          Check("tags", MISSING, tags=self.tags_any))
        return checks


@dataclass(frozen=True)
class Policy:
    """A benefit policy and the matter that applies for it (None: nothing to apply for)."""

    id: str
    title: str
    department: str
    summary: str
    benefit: str
    eligibility: Eligibility
    item_code: str | None
    version: int


def faq_entry(data: Mapping[str, Any]) -> FaqEntry:
    """An entry from its checked contract dict."""
    return FaqEntry(data["id"], tuple(data["questions"]), data["answer"],
                    tuple(data["item_codes"]))


def scenario(data: Mapping[str, Any]) -> Scenario:
    """A scenario from its checked contract dict."""
    return Scenario(
        data["id"], data["title"],
        tuple(Question(q["id"], q["text"], tuple(q["choices"])) for q in data["questions"]),
        tuple(ScenarioMatter(m["item_code"], dict(m.get("when") or {}))
              for m in data["matters"]))


def policy(data: Mapping[str, Any]) -> Policy:
    """A policy from its checked contract dict."""
    rules = data["eligibility"]
    tags = rules.get("tags_any")
    eligibility = Eligibility(rules.get("age_min"), rules.get("age_max"), rules.get("gender"),
                              rules.get("area_prefix"), None if tags is None else tuple(tags))
    return Policy(data["id"], data["title"], data["department"], data["summary"],
                  data["benefit"], eligibility, data["item_code"], data["version"])


class KnowledgeBase:
    """Read-only FAQ, scenarios and policies of one kiosk database (opened on first use),
    falling back on the shipped copies for whatever was never pulled."""

    def __init__(self, db_path: Path | str | None = None, *,
                 conn: sqlite3.Connection | None = None,
                 shipped_dir: Path | str = SHIPPED_DIR) -> None:
        self.db_path = None if db_path is None else Path(db_path)
        self._conn = conn
        self._owns_conn = conn is None
        self.shipped_dir = Path(shipped_dir)
        # the parsed FAQ and the stored version it came from (None: the shipped copy): the
        # ask screen reads it on every question, and it changes only when a sync pulls
        self._faq: tuple[int | None, list[FaqEntry]] | None = None

    def _store(self) -> KnowledgeStore | None:
        if self._conn is None and self.db_path is not None:
            self._conn = open_database(self.db_path)
        return None if self._conn is None else KnowledgeStore(self._conn)

    def close(self) -> None:
        """Close the database connection if this object opened it."""
        if self._conn is not None and self._owns_conn:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------

    def faq_entries(self) -> list[FaqEntry]:
        """The platform's FAQ as last pulled, else the shipped sample FAQ."""
        store = self._store()
        version = store.faq_version() if store is not None else None
        if self._faq is None or self._faq[0] != version:
            raw = store.faq_entries() if store is not None and version is not None \
                else self._shipped_faq()
            self._faq = (version, [faq_entry(entry) for entry in raw])
        return list(self._faq[1])

    def scenarios(self) -> list[Scenario]:
        """The platform's life-event scenarios as last fetched, else the shipped ones."""
        return [scenario(data) for data in self._list("scenarios")]

    def policies(self) -> list[Policy]:
        """The platform's policies as last fetched, else the shipped ones."""
        return [policy(data) for data in self._list("policies")]

    def source(self, kind: str) -> str:
        """'platform' or 'shipped': where ``kind`` (faq, scenarios, policies) comes from."""
        store = self._store()
        if store is None:
            return "shipped"
        if kind == "faq":
            cached = store.faq_version() is not None
        else:
            cached = store.get_list(kind) is not None
        return "platform" if cached else "shipped"

    # -- the two sources -----------------------------------------------------------------

    def _list(self, kind: str) -> list[dict[str, Any]]:
        store = self._store()
        cached = None if store is None else store.get_list(kind)
        return cached if cached is not None else self._shipped(kind)

    def _shipped_faq(self) -> list[dict[str, Any]]:
        return self._shipped("faq")

    def _shipped(self, kind: str) -> list[dict[str, Any]]:
        """The checked content of a shipped file (the FAQ's entries), or nothing when the
        file is missing or broken (logged: the screens then show none rather than fail)."""
        path = self.shipped_dir / f"{kind}.json"
        what = f"shipped {kind}.json"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if kind == "faq":
                return check_faq(document, what).entries
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
            check = check_scenarios if kind == "scenarios" else check_policies
            return check(document.get(kind), what)
        except (OSError, ValueError, PlatformError) as error:
            log.warning("%s unusable: %s", what, type(error).__name__)
            return []
