"""Fault switches: make the reference platform fail the way real networks and servers do.

The kiosk's sync worker must deliver every application exactly once through 5xx answers,
429 throttling, dropped connections, cut-off bodies and slow links, and above all through
the *lost acknowledgement*: the server committed the application but the answer never
arrived.  Each switch is a rate (0..1) drawn from a seeded generator, so a test run is
repeatable; ``phase`` says whether the handler runs first ("after": committed, answer
lost) or not at all ("before").

Switch JSON (every key optional)::

    {"seed": 1, "paths": ["/api/v1/applications$"], "methods": ["POST"],
     "error_rate": 0.0, "error_status": 503, "rate_limit_rate": 0.0, "retry_after_s": 1,
     "reset_rate": 0.0, "truncate_rate": 0.0, "slow_body_rate": 0.0, "slow_body_s": 1.0,
     "latency_s": 0.0, "phase": "before" | {"error": "after", "reset": "after", ...},
     "max_faults": null}

A path covers itself and everything under it; a trailing ``$`` makes it exact.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("error", "rate_limit", "reset", "truncate", "slow_body")
"""Fault kinds in the order a random draw is matched against their rates."""

PHASED = ("error", "rate_limit", "reset", "truncate")
"""Kinds that can strike before the handler runs or after it committed."""

PHASES = ("before", "after")


class FaultConfigError(ValueError):
    """A fault switch document that cannot be used; the message names the key."""


@dataclass(frozen=True)
class FaultConfig:
    """The validated switches; the default injects nothing."""

    seed: int = 0
    paths: tuple[str, ...] = ("/api/v1",)
    methods: tuple[str, ...] = ()
    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_rate: float = 0.0
    retry_after_s: int = 1
    reset_rate: float = 0.0
    truncate_rate: float = 0.0
    slow_body_rate: float = 0.0
    slow_body_s: float = 1.0
    latency_s: float = 0.0
    phase: dict[str, str] = field(default_factory=lambda: dict.fromkeys(PHASED, "before"))
    max_faults: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The switches as the JSON ``GET /admin/faults`` answers."""
        document = asdict(self)
        document["paths"] = list(self.paths)
        document["methods"] = list(self.methods)
        return document

    def rate(self, kind: str) -> float:
        """The configured rate of one kind."""
        return float(getattr(self, f"{kind}_rate"))


_RATES = {f"{kind}_rate" for kind in KINDS}
_KNOWN = {"seed", "paths", "methods", "error_status", "retry_after_s", "slow_body_s",
          "latency_s", "phase", "max_faults", *_RATES}


def parse_faults(document: Any) -> FaultConfig:
    """Validate a switch document (from ``--faults`` or ``PUT /admin/faults``)."""
    if not isinstance(document, dict):
        raise FaultConfigError("faults: expected a JSON object")
    unknown = sorted(set(document) - _KNOWN)
    if unknown:
        raise FaultConfigError(f"faults: unknown switch {unknown[0]!r}")
    values: dict[str, Any] = {}
    for name in _RATES:
        if name in document:
            values[name] = _number(document[name], name, 0.0, 1.0)
    if sum(values.get(name, 0.0) for name in _RATES) > 1.0 + 1e-9:
        raise FaultConfigError("faults: the rates add up to more than 1")
    if "seed" in document:
        values["seed"] = _integer(document["seed"], "seed", 0, 2**63 - 1)
    if "error_status" in document:
        status = _integer(document["error_status"], "error_status", 500, 599)
        values["error_status"] = status
    if "retry_after_s" in document:
        values["retry_after_s"] = _integer(document["retry_after_s"], "retry_after_s", 0, 3600)
    if "slow_body_s" in document:
        values["slow_body_s"] = _number(document["slow_body_s"], "slow_body_s", 0.0, 60.0)
    if "latency_s" in document:
        values["latency_s"] = _number(document["latency_s"], "latency_s", 0.0, 60.0)
    if document.get("max_faults") is not None:
        values["max_faults"] = _integer(document["max_faults"], "max_faults", 0, 2**31)
    for name in ("paths", "methods"):
        if name in document:
            items = document[name]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise FaultConfigError(f"faults: {name} must be a list of strings")
            values[name] = tuple(i.upper() if name == "methods" else i for i in items)
    if "phase" in document:
        values["phase"] = _phases(document["phase"])
    return FaultConfig(**values)


def _phases(value: Any) -> dict[str, str]:
    phases = dict.fromkeys(PHASED, "before")
    if isinstance(value, str):
        if value not in PHASES:
            raise FaultConfigError("faults: phase must be 'before' or 'after'")
        return dict.fromkeys(PHASED, value)
    if not isinstance(value, dict):
        raise FaultConfigError("faults: phase must be a string or an object per kind")
    for kind, phase in value.items():
        if kind not in PHASED:
            raise FaultConfigError(f"faults: phase for unknown kind {kind!r}")
        if phase not in PHASES:
            raise FaultConfigError(f"faults: phase.{kind} must be 'before' or 'after'")
        phases[kind] = phase
    return phases


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultConfigError(f"faults: {name} must be a number from {low:g} to {high:g}")
    return float(value)


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultConfigError(f"faults: {name} must be an integer from {low} to {high}")
    return value


def _path_matches(path: str, pattern: str) -> bool:
    """``/api/v1/applications`` covers that path and everything under it (lookups,
    progress); ``/api/v1/applications$`` covers only that exact path."""
    if pattern.endswith("$"):
        return path == pattern[:-1]
    return path == pattern or path.startswith(pattern.rstrip("/") + "/")


@dataclass(frozen=True)
class Decision:
    """What to do to one request: a fault kind (or None), its phase, and extra latency."""

    kind: str | None
    phase: str
    latency_s: float


class FaultInjector:
    """Draws one decision per eligible request; counts what it injected."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.injected: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """New switches; the generator restarts from the seed so runs repeat."""
        self.config = config
        self.random = random.Random(config.seed)
        self.total = 0

    def applies(self, method: str, path: str) -> bool:
        """Whether the switches cover this request at all."""
        config = self.config
        if config.methods and method.upper() not in config.methods:
            return False
        return any(_path_matches(path, pattern) for pattern in config.paths)

    def decide(self, method: str, path: str) -> Decision:
        """The fault for one request (kind None: answer normally)."""
        config = self.config
        if not self.applies(method, path):
            return Decision(None, "before", 0.0)
        draw = self.random.random()
        kind: str | None = None
        threshold = 0.0
        for candidate in KINDS:
            threshold += config.rate(candidate)
            if draw < threshold:
                kind = candidate
                break
        if kind is not None and config.max_faults is not None and self.total >= config.max_faults:
            kind = None
        if kind is not None:
            self.total += 1
            self.injected[kind] += 1
        phase = config.phase.get(kind, "before") if kind else "before"
        return Decision(kind, phase, config.latency_s)
