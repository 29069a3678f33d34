"""The core services one kiosk process uses, built once from the configuration.

Screens receive this object from the app and call nothing else of the core, which keeps the
widget layer thin and lets tests build the same services without a window.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.catalog import SAMPLE_CATALOG, CatalogService
from kiosk.config import KioskConfig
from kiosk.connectivity import ConnectivityMonitor
from kiosk.i18n import Translator
from kiosk.session import Session


@dataclass
class KioskServices:
    """Configuration plus the long-lived services of the kiosk process."""

    config: KioskConfig
    catalog: CatalogService
    session: Session
    translator: Translator
    connectivity: ConnectivityMonitor

    @classmethod
    def create(cls, config: KioskConfig) -> KioskServices:
        """Open the catalogue (importing the shipped sample on first run) and the rest."""
        catalog = CatalogService(config.storage.database)
        catalog.ensure_loaded(SAMPLE_CATALOG)
        return cls(
            config=config,
            catalog=catalog,
            session=Session(),
            translator=Translator(config.kiosk.language),
            connectivity=ConnectivityMonitor(
                config.platform.url,
                interval=config.platform.health_interval,
                timeout=min(config.platform.timeout, 5.0),
            ),
        )
