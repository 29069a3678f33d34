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
    from kiosk.applying.applicant import Applicant
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
    # "Apply for all" of a life event: the matters to apply for one after another, the one
    # being applied for, and the applicant identified for the first, reused for the others
    bundle_queue: list[Matter] = field(default_factory=list, repr=False)
    bundle_index: int = 0
    bundle_applicant: Applicant | None = field(default=None, repr=False)

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

    def start_bundle(self, matters: list[Matter]) -> None:
        """Apply for ``matters`` one after another (a life event's "Apply for all")."""
        self.end_bundle()
        self.bundle_queue = list(matters)

    def end_bundle(self) -> None:
        """No more "next matter": the queue and the identity kept for it are forgotten."""
        self.bundle_queue = []
        self.bundle_index = 0
        self.bundle_applicant = None

    def next_in_bundle(self) -> tuple[Matter, int, int] | None:
        """The next matter of "Apply for all", its number from 1 and the count; None when
        there is no bundle or its last matter is the current one."""
        following = self.bundle_index + 1
        if following >= len(self.bundle_queue):
            return None
        return self.bundle_queue[following], following + 1, len(self.bundle_queue)

    def wipe(self) -> None:
        """Forget everything about the visit; the visit counter stays for statistics."""
        self.started_at = None
        self.matter = None
        self.search_text = ""
        if self.draft is not None:
            self.draft.wipe()  # drops the photos' bytes even if a screen still holds the draft
        self.draft = None
        self.end_bundle()
        self.idle_extensions = 0
