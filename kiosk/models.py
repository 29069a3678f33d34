"""Plain data types shared by the core, the cache and the screens.

The catalogue's records are defined in :mod:`offline_cache.records` (the cache stores them
and must not import the core); they are re-exported here so that the core and the screens
name them in one place.
"""

from __future__ import annotations

from offline_cache.records import Matter, PinyinKeys

__all__ = ["Matter", "PinyinKeys"]
