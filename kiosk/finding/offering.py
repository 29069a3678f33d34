"""Which services this kiosk offers a citizen on its home screen.

A tile that answers "not available yet" after the citizen has chosen it is a dead end: an
elderly citizen who reads a menu item believes it. Only services this build delivers end to
end are offered; the others stay hidden until their journey works. (The platform's site
profile, ``home_tiles``, may narrow the list further once the kiosk reads it.)
"""

from __future__ import annotations

HOME_SERVICES: tuple[str, ...] = (
    "apply", "guides", "search", "ask", "bundle", "progress", "appointment", "policies", "evaluate",
)
"""Every home tile the kiosk knows, in the order they are shown."""

DELIVERED: frozenset[str] = frozenset({"apply", "guides", "search", "ask", "bundle",
                                       "policies", "progress", "appointment", "evaluate"})
"""The services whose whole journey works in this build."""


def offered_services(wanted: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Home tiles to show: delivered services, narrowed to ``wanted`` when a profile says so."""
    return tuple(name for name in HOME_SERVICES
                 if name in DELIVERED and (wanted is None or name in wanted))
