"""Following the platform's site profile: the heartbeat says when it changed.

The heartbeat answer's ``config_version`` changes whenever the platform changes this
kiosk's profile (../shared/platform-api.md), so the kiosk asks ``GET /kiosks/{id}/profile``
only then (and once per run, to learn where it stands), not on every pass. What comes back
is applied by :class:`kiosk.finding.site_profile.SiteProfiles`, which tells the app: no
restart. 404 means the platform keeps none: the local file applies. A bad answer is
logged and the profile in use stays; a network fault leaves the version unrecorded, so the
next heartbeat asks again.
"""

from __future__ import annotations

import logging
from typing import Any

from kiosk.finding.site_profile import SiteProfiles
from kiosk.platform.client import PlatformClient, PlatformError

log = logging.getLogger(__name__)


def follow_config_version(client: PlatformClient, answer: dict[str, Any], *,
                          profiles: SiteProfiles) -> str:
    """Fetch and apply the profile when ``answer['config_version']`` is new; returns what
    was done (for tests and the log): unchanged, applied, rejected, none or failed."""
    version = answer.get("config_version")
    if isinstance(version, bool) or not isinstance(version, int):
        return "unchanged"  # a platform without config versions: nothing to follow
    if version == profiles.config_version:
        return "unchanged"
    try:
        data = client.site_profile()
    except PlatformError as error:
        if error.status == 404:
            profiles.platform_has_none(version)
            return "none"
        log.warning("site profile not fetched (config version %d): %s", version, error)
        return "failed"
    return "applied" if profiles.apply_pushed(data, version) else "rejected"
