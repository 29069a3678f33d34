"""Fetching an office guide the kiosk has not cached yet, once per visit, for any screen.

The guide, ask and bundle screens all show facts from a matter's guide. Online, a guide not
on the kiosk yet is asked for once per visit (a failure shows the plain "not received yet"
text, never a spinner that does not end), stored in the offline cache as the sync worker
would, and the screen is told on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.app import App
from kivy.clock import Clock


class GuideFetcher:
    """One screen's guide requests; ``on_arrived(code, stored)`` runs on the UI thread."""

    def __init__(self, services, on_arrived: Callable[[str, bool], None]) -> None:
        self.services = services
        self.on_arrived = on_arrived
        self._asked: set[str] = set()  # guides asked for in this visit: one try each

    def fetch(self, code: str) -> bool:
        """Ask the platform for ``code``'s guide if online and not asked yet in this visit;
        True when a request was started."""
        app = App.get_running_app()
        if app is None or app.online is not True or code in self._asked:
            return False
        self._asked.add(code)

        def done(body, _error) -> None:  # on the fetch thread
            Clock.schedule_once(lambda _dt: self._arrived(code, body))

        self.services.documents.fetch(f"/matters/{code}/guide", done)
        return True

    def _arrived(self, code: str, body) -> None:
        if body is not None:
            self.services.catalog.store_document("guide", code, body, body.get("version"))
        self.on_arrived(code, body is not None)

    def forget(self) -> None:
        """A new visit may ask again."""
        self._asked.clear()
