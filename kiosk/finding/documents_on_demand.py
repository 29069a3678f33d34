"""Platform documents fetched the moment a citizen opens them.

The sync thread caches guides and forms in the background, 40 a pass, so a fresh kiosk would
say "not received yet" for most guides during its first minutes although the platform
answers. When a citizen opens a matter whose guide is not cached and the kiosk is online,
the guide is fetched at once on this module's own thread (never the UI thread), handed back
through a callback, and cached like any other document for the next citizen and for
offline use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kiosk.config import KioskConfig

log = logging.getLogger(__name__)

Done = Callable[[dict[str, Any] | None, str | None], None]
"""``done(document, None)`` on success, ``done(None, reason)`` otherwise; on the fetch thread."""


class DocumentFetcher:
    """One background thread that fetches platform documents on demand, one at a time."""

    def __init__(self, config: KioskConfig) -> None:
        self._config = config
        self._client: Any = None  # made on the fetch thread when first needed
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-fetch")

    def fetch(self, path: str, done: Done) -> None:
        """Fetch ``path`` (e.g. ``/matters/CODE/guide``); returns at once."""

        def finished(body: Any, error: Exception | None) -> None:
            if error is not None:
                done(None, str(error) or type(error).__name__)
            elif isinstance(body, dict):
                done(body, None)
            else:
                done(None, "the platform's answer is not a document")

        self.call(lambda client: client.document(path), finished)

    def call(self, request: Callable[[Any], Any],
             done: Callable[[Any, Exception | None], None]) -> None:
        """Run ``request(client)`` on the fetch thread (e-ID codes, e-licences); returns at
        once. ``done(result, None)`` or ``done(None, error)`` is called on that thread; the
        error is the :class:`PlatformError` (its ``code`` says e.g. ``unknown_code``) or the
        reason the kiosk could not ask (no key, no network)."""
        self._pool.submit(self._call, request, done)

    def _call(self, request: Callable[[Any], Any],
              done: Callable[[Any, Exception | None], None]) -> None:
        from kiosk.platform.client import PlatformError
        from kiosk.platform.signing import KeyFileError

        try:
            if self._client is None:
                from kiosk.platform.sync import make_client

                self._client = make_client(self._config)
            result = request(self._client)
        except (PlatformError, KeyFileError, OSError) as error:
            log.info("a platform request on demand failed: %s", type(error).__name__)
            done(None, error)
            return
        except Exception as error:  # never let a request kill the thread
            log.exception("a platform request on demand failed")
            done(None, error)
            return
        done(result, None)

    def close(self) -> None:
        """Stop taking fetches; one in flight finishes on its own."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()
