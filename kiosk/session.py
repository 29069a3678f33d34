"""One citizen's visit, from the first touch to the wipe.

Everything a visit learns (chosen matter, search text, later the identity and form values)
lives here in memory only, so that one call to :meth:`Session.wipe` forgets it on every exit
path: timeout, "home" after a finished visit, or the technician's reset.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kiosk.models import Matter

if TYPE_CHECKING:
    from kiosk.applying.draft import ApplyDraft


@dataclass
class Session:
    """State of the current visit; ``started_at`` is None while the attract loop runs."""

    started_at: float | None = None
    matter: Matter | None = None
    search_text: str = ""
    idle_extensions: int = 0
    draft: ApplyDraft | None = field(default=None, repr=False)  # the application being built
    visits: int = field(default=0, repr=False)

    @property
    def active(self) -> bool:
        """True between the first touch and the wipe."""
        return self.started_at is not None

    def start(self, now: float | None = None) -> None:
        """Begin a visit (the attract screen was touched)."""
        if self.started_at is None:
            self.started_at = time.monotonic() if now is None else now
            self.visits += 1

    def choose_matter(self, matter: Matter) -> None:
        """Remember the matter whose guide the citizen opened."""
        self.matter = matter

    def wipe(self) -> None:
        """Forget everything about the visit; the visit counter stays for statistics."""
        self.started_at = None
        self.matter = None
        self.search_text = ""
        if self.draft is not None:
            self.draft.wipe()  # drops the photos' bytes even if a screen still holds the draft
        self.draft = None
        self.idle_extensions = 0
