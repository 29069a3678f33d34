"""The core services one kiosk process uses, built once from the configuration.

Screens receive this object from the app and call nothing else of the core, which keeps the
widget layer thin and lets tests build the same services without a window.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from kiosk.assistance.speech import Speaker
from kiosk.assistance.staff_call import StaffCall
from kiosk.config import KioskConfig
from kiosk.devices.hub import DeviceHub
from kiosk.finding.catalog import SAMPLE_CATALOG, CatalogService
from kiosk.finding.documents_on_demand import DocumentFetcher
from kiosk.finding.site_profile import SiteProfile, SiteProfiles, unknown_names
from kiosk.i18n import Translator
from kiosk.platform.connectivity import ConnectivityMonitor
from kiosk.platform.sync_thread import SyncThread
from kiosk.session import Session

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pypinyin is loaded off the start-up path, by the warm-up thread
    from kiosk.applying.applications import ApplicationService
    from kiosk.finding.browse import Browser
    from kiosk.finding.pinyin_input import PinyinInput
    from kiosk.platform.sync import SyncWorker


@dataclass
class KioskServices:
    """Configuration plus the long-lived services of the kiosk process."""

    config: KioskConfig
    catalog: CatalogService
    session: Session
    translator: Translator
    connectivity: ConnectivityMonitor
    sync: SyncThread
    speaker: Speaker
    staff_call: StaffCall
    documents: DocumentFetcher
    devices: DeviceHub
    profiles: SiteProfiles
    _applications: ApplicationService | None = field(default=None, repr=False)
    _pinyin_input: PinyinInput | None = field(default=None, repr=False)
    _browser: Browser | None = field(default=None, repr=False)
    _pinyin_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _vocabulary(self) -> list[str]:
        catalog = self.catalog
        return [m.name for m in catalog.matters()] + [d for d, _n in catalog.departments()]

    def _build_pinyin_input(self, vocabulary: list[str]) -> PinyinInput:
        """Build the engine once, whichever thread gets here first."""
        from kiosk.finding.pinyin_input import PinyinInput

        with self._pinyin_lock:
            if self._pinyin_input is None:
                self._pinyin_input = PinyinInput(vocabulary)
            return self._pinyin_input

    def pinyin_input(self) -> PinyinInput:
        """The pinyin engine over the catalogue's words (about 0.2 s to build, once)."""
        if self._pinyin_input is None:
            return self._build_pinyin_input(self._vocabulary())
        return self._pinyin_input

    def prepare_pinyin_input(self, on_ready: Callable[[], None] | None = None) -> None:
        """Build the pinyin engine on a background thread so the first keystroke is fast.

        The vocabulary is read here, on the caller's thread, because the catalogue's SQLite
        connection belongs to it; only the pure-Python build runs on the worker.
        """
        if self._pinyin_input is not None:
            return
        vocabulary = self._vocabulary()

        def build() -> None:
            self._build_pinyin_input(vocabulary)
            if on_ready is not None:
                on_ready()

        threading.Thread(target=build, name="pinyin-input", daemon=True).start()

    @property
    def browser(self) -> Browser:
        """Themes and most-used-first ordering (built on first use, on the UI thread that
        owns the catalogue's connection)."""
        if self._browser is None:
            from kiosk.finding.browse import Browser
            from kiosk.finding.knowledge import KnowledgeBase

            knowledge = KnowledgeBase(self.config.storage.database)
            self._browser = Browser(self.catalog, asked_codes=partial(_asked_codes, knowledge))
        return self._browser

    def applications(self) -> ApplicationService:
        """Accepts citizens' applications (opened on first use, on the calling thread).

        After each submission the sync thread is woken, so an online kiosk sends at once.
        """
        if self._applications is None:
            from kiosk.applying.applications import ApplicationService, OutboxStorage
            from kiosk.applying.preflight import Preflight

            open_master_key(self.config, create=True)  # never a new key over sealed records
            storage = OutboxStorage(self.config, durable=True)
            preflight = Preflight.from_config(self.config, storage.outbox)

            def check() -> None:
                report = self.sync.last_report
                preflight.require_accepting(report.clock_skew_s if report else None)

            self._applications = ApplicationService(storage, preflight=check,
                                                    on_submitted=self.sync.wake)
        return self._applications

    def refusal(self) -> str | None:
        """Why the kiosk cannot take an application now (a citizen message id), or None.

        Asked when a citizen starts an application, before any form: the pre-flight gates
        (disk, clock, backlog, keys). The technician's details go to the log.
        """
        from kiosk.applying.preflight import PreflightRefused
        from kiosk.cli import is_key_refusal

        try:
            self.applications().preflight()  # type: ignore[misc]
        except PreflightRefused as refused:
            log.warning("not accepting applications: %s", refused)
            return refused.citizen_message_id or "preflight.unavailable"
        except Exception as error:  # the outbox itself cannot be opened (disk, permissions, key)
            if is_key_refusal(error):  # says which file and the fix: no traceback needed
                log.error("not accepting applications: %s", error)
            else:
                log.exception("not accepting applications: the outbox cannot be opened")
            return "preflight.unavailable"
        return None

    @classmethod
    def create(cls, config: KioskConfig) -> KioskServices:
        """Open the catalogue (importing the shipped sample on first run) and the rest."""
        catalog = CatalogService(config.storage.database)
        catalog.ensure_loaded(SAMPLE_CATALOG)
        staff_call = StaffCall(config.kiosk, config.staff_call)
        devices = DeviceHub(config.devices)
        profiles = _site_profiles(config, catalog)
        return cls(
            config=config,
            catalog=catalog,
            session=Session(),
            translator=Translator(config.kiosk.language),
            connectivity=ConnectivityMonitor(
                config.platform.url,
                interval=config.platform.health_interval,
                timeout=min(config.platform.timeout, 5.0),
                ca_file=config.platform.ca_file,
                proxy=config.platform.proxy,
            ),
            sync=SyncThread(partial(_make_worker, config, staff_call, devices, profiles),
                            config.platform.sync_interval,
                            offline_interval_s=config.platform.health_interval),
            speaker=Speaker(config.speech),
            staff_call=staff_call,
            documents=DocumentFetcher(config),
            devices=devices,
            profiles=profiles,
        )


def _site_profiles(config: KioskConfig, catalog: CatalogService) -> SiteProfiles:
    """The site profile in use, its offer applied to the catalogue now and at each change.

    The catalogue service filters every list and search by the offer (screens filter
    nothing themselves); a department or item code the catalogue lacks is logged, since
    it would otherwise offer nothing, silently."""
    profiles = SiteProfiles(config.kiosk.site_profile,
                            config.storage.data_dir / "site_profile.pushed.json")

    def apply(profile: SiteProfile) -> None:
        catalog.set_offer(None if profile.offer.everything else profile.offer)

    profiles.listeners.append(apply)
    apply(profiles.start())
    missing = unknown_names(profiles.current, (d for d, _n in catalog.store.departments()),
                            lambda code: catalog.matter(code) is not None)
    if missing:
        log.warning("site profile %s names what the catalogue lacks: %s",
                    profiles.current.name, ", ".join(missing[:10]))
    return profiles


def _asked_codes(knowledge) -> set[str]:
    """The matters the FAQ, the life-event bundles and the policies lead to."""
    codes = {code for entry in knowledge.faq_entries() for code in entry.item_codes}
    codes |= {m.item_code for scenario in knowledge.scenarios() for m in scenario.matters}
    codes |= {policy.item_code for policy in knowledge.policies() if policy.item_code}
    return codes


def _make_worker(config: KioskConfig, staff_call: StaffCall, devices: DeviceHub,
                 profiles: SiteProfiles) -> SyncWorker:
    """Built on the sync thread (its SQLite connection belongs there).

    The heartbeat reports the reader, printer and camera as their supervisors see them, and
    the staff call among them (it is the hall's help button); a call or its end sends one
    at once.
    """
    from kiosk.platform.profile_sync import follow_config_version
    from kiosk.platform.sync import make_worker

    open_master_key(config, create=False)  # a missing key over sealed records: "sync is off"
    worker = make_worker(config)
    worker.device_states = lambda: {**devices.states(),
                                    "staff_call": staff_call.device_state()}
    staff_call.add_listener(lambda event: worker.request_heartbeat()
                            if event.kind in ("called", "ended") else None)
    worker.heartbeat_listeners.append(partial(follow_config_version, profiles=profiles))
    return worker


def open_master_key(config: KioskConfig, *, create: bool) -> bytes | None:
    """Check the master key before the outbox opens it (offline_cache.keys decides).

    The outbox's own loader makes a key whenever the file is missing; going through
    :func:`offline_cache.keys.master_key_for` first turns a missing key that sealed records
    still need into :class:`~offline_cache.sealing.MasterKeyMissing` (restore the file from
    backup), and only a caller about to seal (``create``) may make the first key.
    """
    from offline_cache.keys import master_key_for

    storage = config.storage
    return master_key_for(storage.master_key_file, storage.database, storage.attachments_dir,
                          create=create)
