"""The diagnostics screen's network and platform panel, without widgets.

A technician standing at a kiosk that says "offline" needs to know *which* of the usual
causes it is, in words: no link at all, a proxy, a certificate the kiosk does not trust, a
platform that answers but slowly, a clock so far off that signatures are refused. So:

- the platform's ``/health`` is asked :data:`PROBES` times under the kiosk's own transport
  rules (``ca_file``, ``proxy``, no redirects: kiosk.platform.transport), giving the
  round-trip times and, from the answer's ``time``, the clock skew;
- a failure is named by its kind (:func:`explain_failure`), never shown as a traceback;
- the key findings come from kiosk.operations.diagnosis (``keys``), so the screen and
  ``kiosk diagnose`` say the same.

Blocking (up to PROBES x the timeout): the screen runs :func:`check_network` on a worker
thread and hands the result to the UI thread with Clock.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

__all__ = ["PROBES", "NetworkReport", "check_network", "explain_failure", "failure_cause"]

PROBES = 3
"""Health requests per check: enough to tell a steady link from one that drops packets."""

PROBE_TIMEOUT_S = 3.0
"""Longest wait per request (a technician waits; a citizen never does for this)."""

SKEW_WARN_S = 30.0
"""Beyond this the kiosk signs with a corrected time (kiosk.platform.sync)."""
SKEW_REFUSED_S = 300.0
"""Beyond this the platform refuses the kiosk's signatures and pre-flight refuses
applications."""


@dataclass(frozen=True)
class NetworkReport:
    """One check of the platform link.

    ``problem`` is a kind (see :func:`explain_failure`) and ``explanation`` the words for
    it (English, for ``kiosk diagnose`` and the bundle), empty when every probe answered.
    ``cause`` and ``params`` name the same failure finer (:func:`failure_cause`), so that the
    screen words it in the kiosk's language. ``rtt_ms`` has one entry per probe that
    answered.
    """

    url: str
    answered: int
    asked: int
    rtt_ms: tuple[float, ...] = ()
    skew_s: float | None = None
    problem: str = ""
    explanation: str = ""
    key_problems: tuple[str, ...] = field(default_factory=tuple)
    cause: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """Every probe answered "ok"."""
        return self.answered == self.asked and not self.problem

    @property
    def median_ms(self) -> float | None:
        """The median round trip of the probes that answered."""
        return statistics.median(self.rtt_ms) if self.rtt_ms else None

    @property
    def skew_level(self) -> str:
        """``ok``, ``corrected`` (over 30 s) or ``refused`` (over 300 s), ``unknown``."""
        if self.skew_s is None:
            return "unknown"
        if abs(self.skew_s) > SKEW_REFUSED_S:
            return "refused"
        return "corrected" if abs(self.skew_s) > SKEW_WARN_S else "ok"

    def to_dict(self) -> dict[str, object]:
        """Plain JSON types (for the diagnostic bundle)."""
        return {"url": self.url, "answered": self.answered, "asked": self.asked,
                "rtt_ms": [round(value, 1) for value in self.rtt_ms],
                "skew_s": None if self.skew_s is None else round(self.skew_s, 1),
                "problem": self.problem, "explanation": self.explanation,
                "key_problems": list(self.key_problems)}


CAUSE_WORDS: dict[str, str] = {
    "certificate_name": "certificate is for another name: check [platform] url "
                        "(the host name must be the one in the platform's certificate)",
    "certificate_dates": "certificate expired or not yet valid: check the kiosk's "
                         "clock (NTP), else the platform must renew its certificate",
    "certificate_ca_file": "certificate not trusted by [platform] ca_file "
                           "({ca_file}): put the platform's CA certificate in that file",
    "certificate_untrusted": "certificate not trusted: set [platform] ca_file to the "
                             "platform's CA certificate (PEM)",
    "proxy": "the proxy refused or did not answer: check [platform] proxy",
    "timeout": "no answer within {timeout} s: the network is slow or drops "
               "packets (check the cable, the hall's router)",
    "no_connection": "no connection to the platform: check the network cable, "
                     "then [platform] url (host and port)",
    "other": "the request failed ({error})",
    "http": "the platform answered HTTP {status}",
    "http_redirect": "the platform answered HTTP {status} (a redirect: a captive portal "
                     "or a wrong url)",
    "not_json": "the platform's /health answer is not JSON",
    "unhealthy": "the platform says it is not healthy",
}
"""The English words per cause (``kiosk diagnose``, the bundle); the screen has its own."""


def failure_cause(error: BaseException, ca_file: object = None,
                  timeout: float = PROBE_TIMEOUT_S) -> tuple[str, str, dict[str, str]]:
    """``(kind, cause, params)`` for an exception from requests: the kind as in
    :func:`explain_failure`, the cause a key of :data:`CAUSE_WORDS`, the params its
    placeholders (no URL path or query: safe to show and to log)."""
    import requests

    text = str(error).lower()
    if isinstance(error, requests.exceptions.SSLError):
        if "hostname" in text or "doesn't match" in text or "not valid for" in text:
            return "certificate", "certificate_name", {}
        if "expired" in text or "not yet valid" in text:
            return "certificate", "certificate_dates", {}
        if ca_file:
            return "certificate", "certificate_ca_file", {"ca_file": str(ca_file)}
        return "certificate", "certificate_untrusted", {}
    if isinstance(error, requests.exceptions.ProxyError):
        return "proxy", "proxy", {}
    if isinstance(error, requests.exceptions.Timeout):
        return "timeout", "timeout", {"timeout": f"{timeout:g}"}
    if isinstance(error, requests.exceptions.ConnectionError):
        return "no_connection", "no_connection", {}
    return "other", "other", {"error": type(error).__name__}


def explain_failure(error: BaseException, ca_file: object = None,
                    timeout: float = PROBE_TIMEOUT_S) -> tuple[str, str]:
    """``(kind, words)`` for an exception from requests.

    Kinds: ``certificate`` (not trusted, wrong name, expired), ``proxy``, ``timeout``,
    ``no_connection``, ``other``. The words say what a technician does; they quote no URL
    path or query (only the kind of failure), so they are safe to show and to log.
    """
    kind, cause, params = failure_cause(error, ca_file, timeout)
    return kind, CAUSE_WORDS[cause].format(**params)


def check_network(config: KioskConfig, *, probes: int = PROBES,
                  timeout: float = PROBE_TIMEOUT_S) -> NetworkReport:
    """Ask ``/health`` ``probes`` times; round trips, skew, the first failure explained,
    and the key problems from ``kiosk diagnose``'s keys check."""
    import requests

    from kiosk.operations.diagnosis import Status, check_keys
    from kiosk.platform.client import parse_health
    from kiosk.platform.transport import new_session

    platform = config.platform
    url = f"{platform.url.rstrip('/')}/health"
    rtts: list[float] = []
    skews: list[float] = []
    problem = cause = ""
    params: dict[str, str] = {}
    with new_session(platform.ca_file, platform.proxy) as session:
        session.trust_env = False
        for _ in range(probes):
            started = time.perf_counter()
            try:
                response = session.get(url, timeout=timeout, allow_redirects=False)
            except requests.RequestException as error:
                problem, cause, params = failure_cause(error, platform.ca_file, timeout)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                problem = "http"
                cause = "http_redirect" if 300 <= response.status_code < 400 else "http"
                params = {"status": str(response.status_code)}
                continue
            try:
                health = parse_health(response.content, time.time() - elapsed / 2000)
            except Exception:
                problem, cause, params = "http", "not_json", {}
                continue
            if not health.ok:
                problem, cause, params = "unhealthy", "unhealthy", {}
                continue
            rtts.append(elapsed)
            if health.skew_s is not None:
                skews.append(health.skew_s)
    keys = check_keys(config)
    key_problems = (keys.detail,) if keys.status is Status.DOWN else ()
    explanation = CAUSE_WORDS[cause].format(**params) if cause else ""  # the last failure
    return NetworkReport(platform.url, len(rtts), probes, tuple(rtts),
                         statistics.median(skews) if skews else None, problem, explanation,
                         key_problems, cause, params)
