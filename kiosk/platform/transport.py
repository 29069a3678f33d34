"""The rules every HTTP session of the kiosk follows on its way off the machine.

Citizens' ID numbers, names and photos travel in request bodies, so where a request goes
is decided by the kiosk's configuration alone:

- *No environment*: ``trust_env = False``. ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY``
  would otherwise send the plain-http loopback traffic through a proxy in clear text, and
  ``REQUESTS_CA_BUNDLE`` would make one session trust what another does not (the screen
  says "online" while sync fails). ``.netrc`` credentials are not picked up either.
- *No redirects*: a 3xx is an answer, never a hop. Following one re-sends a signed body
  (with the applicant's data) to whatever host the ``Location`` names, even over plain
  http; a captive portal's 302 must read as "not online". Callers pass
  ``allow_redirects=False``; the session also finds no redirect target at all, so a
  caller that forgets cannot be redirected either.
- *Trust*: ``[platform] ca_file`` when set (it replaces the default list), else the
  default bundle of ``requests``. Verification cannot be turned off.
- *Proxy*: ``[platform] proxy`` when set, for https:// only: plain http is allowed only to
  loopback, and a loopback request never leaves the machine through a proxy.

requests is imported inside the functions: the touchscreen imports this module at start-up
and requests costs about 0.1 s.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import requests

_HOST_RE = re.compile(r"[A-Za-z0-9.:-]{1,253}", re.ASCII)
_DIGIT_RUN_RE = re.compile(r"[0-9]{5,}")


def _no_redirect_target(response: Any) -> None:
    """Stands in for ``Session.get_redirect_target``: no answer is ever a redirect to follow."""
    return None


def harden(session: requests.Session, ca_file: Path | None = None,
           proxy: str = "") -> requests.Session:
    """Apply the kiosk's transport rules to ``session`` (in place) and return it."""
    session.trust_env = False
    session.verify = str(ca_file) if ca_file is not None else True
    session.proxies = {"https": proxy} if proxy else {}
    session.max_redirects = 0
    # an instance attribute shadows the method: resolve_redirects() then yields nothing
    session.get_redirect_target = _no_redirect_target  # type: ignore[method-assign]
    return session


def new_session(ca_file: Path | None = None, proxy: str = "") -> requests.Session:
    """A fresh ``requests.Session`` under the kiosk's transport rules."""
    import requests

    return harden(requests.Session(), ca_file, proxy)


def redirect_host(request_url: str, location: str | None) -> str:
    """The host a redirect points to, fit for a log line: the host name only (no path, no
    query: those may carry anything), and a placeholder for anything that is not a plain
    host name or address."""
    if not location:
        return "nowhere (no Location)"
    try:
        host = urlsplit(urljoin(request_url, location.strip())).hostname or ""
    except ValueError:
        host = ""
    if not _HOST_RE.fullmatch(host) or _DIGIT_RUN_RE.search(host):
        return "an unreadable address"
    return host
