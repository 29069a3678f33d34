"""Accessibility audit states of the life-event bundle screen (added to
:data:`screens.audit.STATES`)."""

from __future__ import annotations

from collections.abc import Callable

BUNDLE_STATES: dict[str, Callable[[object], None]] = {}
"""State name -> how to reach it from the attract screen."""
