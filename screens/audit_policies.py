"""Accessibility audit states of the policy matching screen (added to
:data:`screens.audit.STATES`)."""

from __future__ import annotations

from collections.abc import Callable

POLICY_STATES: dict[str, Callable[[object], None]] = {}
"""State name -> how to reach it from the attract screen."""
