"""The kiosk application: screen manager, navigation, language, large text, idle policy.

Screens are created on first use (the attract frame must be drawn fast after power-on) and
kept, so returning to a screen costs nothing. Navigation uses no transition: an animated
slide costs about 400 ms on the software renderer of a kiosk PC, and elderly users read a
sudden change no worse than a slide.
"""

from __future__ import annotations

import gc
import importlib
import logging
import time
from datetime import datetime

from kivy.app import App
from kivy.clock import Clock
from kivy.core.audio import SoundLoader
from kivy.core.window import Window
from kivy.metrics import Metrics
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.assistance.sounds import ensure_tone
from kiosk.i18n import LANGUAGES
from kiosk.models import Matter
from kiosk.operations import metrics
from kiosk.platform.sync_thread import SyncEvent
from kiosk.services import KioskServices
from screens.i18n import tr

log = logging.getLogger(__name__)

SCREENS: dict[str, tuple[str, str]] = {
    "attract": ("screens.attract", "AttractScreen"),
    "home": ("screens.home", "HomeScreen"),
    "catalogue": ("screens.catalogue", "CatalogueScreen"),
    "search": ("screens.search", "SearchScreen"),
    "ask": ("screens.ask", "AskScreen"),
    "bundle": ("screens.bundle", "BundleScreen"),
    "policies": ("screens.policies", "PolicyScreen"),
    "progress": ("screens.progress", "ProgressScreen"),
    "appointment": ("screens.appointment", "AppointmentScreen"),
    "ticket": ("screens.ticket", "TicketScreen"),
    "evaluate": ("screens.evaluate", "EvaluateScreen"),
    "guide": ("screens.guide", "GuideScreen"),
    "identify": ("screens.identify", "IdentifyScreen"),
    "form": ("screens.form", "FormScreen"),
    "materials": ("screens.materials", "MaterialsScreen"),
    "capture": ("screens.capture", "CaptureScreen"),
    "review": ("screens.review", "ReviewScreen"),
    "delivery": ("screens.delivery", "DeliveryScreen"),
    "done": ("screens.done", "DoneScreen"),
    "technician_pin": ("screens.technician_pin", "TechnicianPinScreen"),
    "diagnostics": ("screens.diagnostics", "DiagnosticsScreen"),
    "out_of_service": ("screens.out_of_service", "OutOfServiceScreen"),
}
"""Screen name -> (module, class); modules are imported when the screen is first shown."""


class KioskApp(App):
    """The touchscreen kiosk. ``services`` is the core; the app only shows and navigates."""

    title = "Government services kiosk"
    use_kivy_settings = False

    hall_name = StringProperty("")
    clock_text = StringProperty("")  # date and time, for headers
    date_text = StringProperty("")
    time_text = StringProperty("")
    large_text = BooleanProperty(False)
    text_scale = NumericProperty(1.0)  # rows and fixed boxes grow with the large-text switch
    language = StringProperty("zh_CN")
    other_language_name = StringProperty("")
    online = ObjectProperty(None, allownone=True)  # None until the first health answer
    pending = NumericProperty(0)  # applications on this kiosk not yet acknowledged
    speech_available = BooleanProperty(False)  # a TTS engine is installed and speech is on
    site = ObjectProperty(None)  # the site profile in use (kiosk.finding.site_profile)
    out_of_service = BooleanProperty(False)  # citizens see screens/out_of_service, not attract

    def __init__(self, services: KioskServices, *, lockdown: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.lockdown = lockdown
        self.history: list[str] = []
        self.hall_name = services.config.kiosk.hall
        self._apply_site(services.profiles.current)
        services.profiles.listeners.append(  # a push arrives on the sync thread
            lambda profile: Clock.schedule_once(lambda _dt: self._apply_site(profile)))
        self._sounds: dict[str, object] = {}
        self.speech_available = services.speaker.available
        self.staff_dialog = None  # the "waiting for staff" dialog while a call is open
        self.busy_dialog = None  # "fetching the form..." while the platform is asked
        from screens.apply_flow import ApplyFlow

        self.flow = ApplyFlow(self)
        from kiosk.operations.ui_errors import ErrorTally
        from screens.crash_guard import CrashGuard

        tally = ErrorTally.load(services.config.storage.data_dir / "ui_errors.json")
        self.crash_guard = CrashGuard(self, tally)
        self.restart_requested = False
        self.exporter: metrics.Exporter | None = None  # the metrics page, from on_start
        self._screen_asked: tuple[str, float] | None = None  # switch awaiting its first frame
        self._last_activity = time.monotonic()  # last touch or key: tells timeouts apart
        tr.use(services.translator)
        services.translator.add_listener(self._on_language)
        self._on_language(services.translator.language)

    # -- lifecycle ---------------------------------------------------------------------
    def build(self) -> ScreenManager:
        """Create the screen manager with the attract screen only."""
        from screens.idle import IdleWatch

        self.manager = ScreenManager(transition=NoTransition())
        self.idle = IdleWatch(self, self.services.config.kiosk)
        self.show("attract")
        self._tick_clock()
        Clock.schedule_interval(self._tick_clock, 1)
        Window.bind(on_request_close=self._on_request_close)
        Window.bind(on_flip=self._on_frame, on_touch_down=self._note_activity,
                    on_key_down=self._note_activity)
        self.services.connectivity.add_listener(self._on_connectivity)
        self.services.sync.listeners.append(self._on_sync_event)
        return self.manager

    def _on_connectivity(self, online: bool) -> None:
        # called on the probe thread: hand the value to the UI thread
        Clock.schedule_once(lambda _dt: self._set_online(online))

    def _on_sync_event(self, event: SyncEvent) -> None:
        # called on the sync thread: only the queue depth is shown (online comes from the
        # health probe, which also runs when sync is off for want of a key)
        if event.kind == "queue" and event.pending is not None:
            pending = event.pending
            Clock.schedule_once(lambda _dt: setattr(self, "pending", pending))
        elif event.kind == "acknowledged" and event.receipt_no:
            receipt_no, number = event.receipt_no, event.application_no or ""
            Clock.schedule_once(lambda _dt: self._acknowledged(receipt_no, number))

    def _acknowledged(self, receipt_no: str, application_no: str) -> None:
        if self.manager.has_screen("done"):
            self.manager.get_screen("done").acknowledged(receipt_no, application_no)

    def on_start(self) -> None:
        """Start background probes once the window exists.

        Everything loaded so far (Kivy, the catalogue, pypinyin's tables) lives as long as
        the process; moving it out of the garbage collector's view keeps full collections,
        which otherwise took 70-120 ms, from landing on a citizen's keystroke.
        """
        self.crash_guard.install()
        self.services.connectivity.start()
        self.services.devices.start()
        self.services.sync.start()
        self.exporter = metrics.serve(self.services)  # None when [metrics] port = 0
        from screens.service_watch import ServiceWatch

        self.service_watch = ServiceWatch(self)  # paper count, out of service
        self.service_watch.start()
        Clock.schedule_once(self._warm_up, 0.5)

    def _warm_up(self, _dt: float) -> None:
        # the search index is built here, on the UI thread that owns the SQLite connection,
        # while the attract loop runs; the pinyin engine builds on its own thread
        self.services.catalog.search("warm up", limit=1)
        self.services.browser.theme_groups()  # theme membership: 0.7 s at 100,000 matters
        self.services.prepare_pinyin_input(on_ready=lambda: gc.freeze())
        # build the other screens one per frame, so the first tap on each is as fast as later
        pending = [name for name in SCREENS if not self.manager.has_screen(name)]

        def build_next(_dt: float) -> None:
            if pending:
                self.screen(pending.pop(0))
                Clock.schedule_once(build_next, 0)

        Clock.schedule_once(build_next, 0)

    def on_stop(self) -> None:
        """Stop background threads and forget the visit."""
        self.crash_guard.uninstall()
        self.services.connectivity.stop()
        self.services.sync.stop()
        if getattr(self, "service_watch", None) is not None:
            self.service_watch.stop()
        metrics.shutdown(self.exporter)
        self.exporter = None
        self.services.speaker.close()
        self.end_staff_call("visit_ended")
        self.services.staff_call.close()
        self.services.documents.close()
        self.services.devices.stop()
        self.services.session.wipe()

    def restart(self) -> None:
        """Errors keep coming: stop cleanly (threads stopped, visit wiped) and let ``kiosk
        run`` start a fresh process in this one's place."""
        self.restart_requested = True
        self.stop()

    def load_kv(self, filename=None) -> bool:
        """Each screen loads its own kv file; there is no app-wide ``kiosk.kv`` to look for."""
        return False

    def open_settings(self, *args) -> bool:
        """Kivy's F1 settings panel is never offered to citizens."""
        return False

    def _on_request_close(self, *args, **kwargs) -> bool:
        # True vetoes the close request (Alt-F4, window manager, Esc) in kiosk mode
        return self.lockdown

    # -- navigation --------------------------------------------------------------------
    def screen(self, name: str):
        """The screen called ``name``, created on first use."""
        if not self.manager.has_screen(name):
            module_name, class_name = SCREENS[name]
            screen_class = getattr(importlib.import_module(module_name), class_name)
            self.manager.add_widget(screen_class(name=name))
        return self.manager.get_screen(name)

    def show(self, name: str, *, remember: bool = True) -> None:
        """Go to screen ``name``; ``remember`` puts the current one on the back stack."""
        asked = time.perf_counter()
        current = self.manager.current if self.manager.screens else None
        if name == "attract" and self.out_of_service:
            name = "out_of_service"  # no visit starts here while out of service
        target = self.screen(name)
        if current == name:
            target.on_pre_enter()
            return
        if remember and current and current != "attract":
            self.history.append(current)
        self.manager.current = name
        # switches chained in one frame (attract -> home) count from the first one asked
        self._screen_asked = (name, self._screen_asked[1] if self._screen_asked else asked)

    def _on_frame(self, *_args) -> None:
        # a frame was drawn: the switch asked for is on the screen now (screen latency)
        if self._screen_asked is not None:
            (name, asked), self._screen_asked = self._screen_asked, None
            metrics.screen_shown(name, time.perf_counter() - asked)

    def _note_activity(self, *_args) -> None:
        # returns None so that the touch or key goes on to the widgets
        self._last_activity = time.monotonic()

    def back(self) -> None:
        """Return to the previous screen, or home when there is none."""
        self.show(self.history.pop() if self.history else "home", remember=False)

    def home(self) -> None:
        """The home menu; the visit goes on (nothing is wiped)."""
        self.history.clear()
        self.show("home", remember=False)

    def start_session(self) -> None:
        """The attract screen was touched: a visit begins, with the home prompt spoken."""
        if not self.services.session.active:
            metrics.visit_started()
        self.services.session.start()
        self.idle.arm()
        self.home()
        self.say(self.screen("home").spoken_text())

    def end_session(self) -> None:
        """Wipe everything the visit left and return to the attract loop as the next citizen
        should find it: no dialog open, the configured language, normal text, silence."""
        if self.services.session.active:  # no touch for the idle timeout: it timed out
            quiet = time.monotonic() - self._last_activity >= self.idle.timeout
            metrics.visit_ended("timeout" if quiet else "finished")
        self.services.session.wipe()
        self.flow.reset()
        self.services.devices.release_camera()  # its light goes off between citizens
        self.idle.disarm()
        self.services.speaker.stop()
        self.end_staff_call("visit_ended")
        self.close_dialogs()
        self.history.clear()
        for screen in self.manager.screens:
            reset = getattr(screen, "reset", None)
            if reset:
                reset()
        self.set_text_scale(1.0)
        self.toggle_language(self.services.config.kiosk.language)
        self.show("attract", remember=False)

    def close_dialogs(self) -> None:
        """Dismiss every dialog open over the screens (notices, warnings)."""
        from kivy.uix.modalview import ModalView

        for child in list(Window.children):
            if isinstance(child, ModalView):
                child.dismiss(animation=False)
        self.busy_dialog = None

    def show_busy(self, message: str) -> None:
        """A dialog without buttons while the kiosk waits for the platform (seconds)."""
        from screens.widgets import Notice

        self.hide_busy()
        self.busy_dialog = Notice(title=message, message="")
        self.busy_dialog.ids.ok.opacity = 0
        self.busy_dialog.ids.ok.disabled = True
        self.busy_dialog.open(animation=False)

    def hide_busy(self) -> None:
        """Close the busy dialog, if one is open."""
        dialog, self.busy_dialog = self.busy_dialog, None
        if dialog is not None:
            dialog.dismiss(animation=False)

    def open_matter(self, matter: Matter) -> None:
        """Show the office guide of ``matter``; one this site does not offer (a bundle's,
        a policy's) shows its guide with where it can be done instead."""
        self.services.session.choose_matter(matter)
        self.services.browser.record(matter.item_code, "guide")  # most used first
        self.show("guide")
        if not self.services.catalog.offered(matter.item_code):
            from screens.widgets import Notice

            halls = self.site.where_else()
            Notice(title=tr._("This service is not offered at this kiosk"),
                   message=(tr._("You can read its guide here. It can be done at:") + "\n"
                            + "\n".join("• " + hall for hall in halls)) if halls else
                   tr._("You can read its guide here. Please ask staff where it can be done."),
                   ).open(animation=False)

    def _apply_site(self, profile) -> None:
        """A site profile (at start or pushed): branding here, tiles and lists per screen."""
        self.site = profile
        self.hall_name = profile.name or self.services.config.kiosk.hall
        for screen in self.manager.screens if hasattr(self, "manager") else ():
            if hasattr(screen, "on_site"):
                screen.on_site(profile)
            elif not self.services.session.active and hasattr(screen, "reset"):
                screen.reset()  # lists built before (the catalogue's); a visit's wait its end

    # -- shared actions ----------------------------------------------------------------
    def toggle_large_text(self) -> None:
        """Switch every sp-sized text between normal and the configured large scale."""
        self.set_text_scale(1.0 if self.large_text else self.services.config.kiosk.large_font_scale)

    def set_text_scale(self, scale: float) -> None:
        """Text at ``scale`` (1.0 normal); large text is any scale above 1."""
        self.large_text = scale > 1.0
        self.text_scale = scale
        Metrics.fontscale = scale

    def toggle_language(self, language: str | None = None) -> None:
        """Switch to ``language``, or to the other one; every label re-renders at once."""
        if language is None:
            language = next(code for code in LANGUAGES if code != self.language)
        self.services.translator.switch(language)

    def call_staff(self) -> None:
        """Call staff: a chime that repeats, the hall's hook, the heartbeat, and a waiting
        state that does not time out until staff (or the citizen) end it."""
        from screens.staff_call import StaffCallDialog

        if self.staff_dialog is not None:
            return
        screen = self.manager.current
        log.info("staff called at screen %s", screen)
        self.services.staff_call.call(screen)
        self.idle.disarm()
        self.close_dialogs()
        self.staff_dialog = StaffCallDialog(
            paging=self.services.staff_call.pages_the_hall,
            repeat_seconds=self.services.config.staff_call.repeat_chime,
        )
        self.staff_dialog.open(animation=False)
        self.play("call_staff")
        self.say(self.staff_dialog.spoken_text())

    def end_staff_call(self, how: str) -> None:
        """Staff arrived, the citizen cancelled, or the visit ended: the waiting state ends."""
        dialog, self.staff_dialog = self.staff_dialog, None
        if dialog is None:
            return
        self.services.staff_call.end(how)
        dialog.dismiss(animation=False)
        if how != "visit_ended" and self.services.session.active:
            self.idle.arm()

    # -- speech ------------------------------------------------------------------------
    def say(self, text: str, *, sensitive: bool = False) -> bool:
        """Speak ``text`` in the current language; silent without an engine, never fails."""
        return self.services.speaker.say(text, self.language, sensitive=sensitive)

    def read_aloud(self) -> None:
        """Repeat the main text of what is in front of the citizen: a dialog, else the screen."""
        from kivy.uix.modalview import ModalView

        dialogs = [c for c in Window.children if isinstance(c, ModalView)]
        source = dialogs[0] if dialogs else self.manager.current_screen
        spoken = getattr(source, "spoken_text", None)
        if spoken is not None:
            self.say(spoken())

    def offer_evaluation(self, item_code: str, *, service: str,
                         receipt_no: str | None = None) -> None:
        """After a finished service ('application', 'appointment', 'ticket'): the optional
        five-level rating (好差评) of that service, never forced (screens/evaluate.py)."""
        screen = self.screen("evaluate")
        prepare = getattr(screen, "prepare", None)
        if prepare is not None:
            prepare(item_code, service=service, receipt_no=receipt_no)
        self.show("evaluate")

    def start_application(self) -> None:
        """The Apply tile: browse the catalogue, saying first if applications are refused.

        The pre-flight gates run here, before the citizen spends time on a matter and a
        form. A refusal still lets the citizen read the guides; it says plainly why this
        kiosk cannot take the application and where to go instead.
        """
        self.show("catalogue")
        reason = self.services.refusal()
        if reason is not None:
            self.show_refusal(reason)

    def show_refusal(self, reason: str) -> None:
        """The notice that this kiosk cannot take applications now, and where to go."""
        from screens.widgets import Notice

        Notice(
            title=tr._("Applications cannot be taken at this kiosk right now"),
            message=refusal_text(reason) + "\n\n" + tr._("You can still read the office guides here. To apply, please go to the service counter or press Call staff."),  # noqa: E501
        ).open(animation=False)

    def play(self, tone: str) -> None:
        """Play a prompt tone; a kiosk without audio output stays silent, nothing fails."""
        if tone not in self._sounds:
            path = ensure_tone(tone, self.services.config.storage.data_dir / "sounds")
            self._sounds[tone] = SoundLoader.load(str(path))
        sound = self._sounds[tone]
        if sound is not None:
            sound.play()

    # -- properties fed by the core ----------------------------------------------------
    def _on_language(self, language: str) -> None:
        self.language = language
        self.other_language_name = next(
            name for code, name in LANGUAGES.items() if code != language
        )
        self._tick_clock()
        manager = getattr(self, "manager", None)
        for screen in manager.screens if manager else ():
            handler = getattr(screen, "on_language", None)
            if handler:
                handler(language)

    def _set_online(self, online: bool) -> None:
        self.online = online

    def _tick_clock(self, *_args) -> None:
        from babel.dates import format_datetime

        now = datetime.now()
        if self.language == "zh_CN":
            locale, date_pattern = "zh_CN", "yyyy年M月d日 EEEE"
        else:
            locale, date_pattern = "en_GB", "EEEE d MMMM yyyy"
        self.date_text = format_datetime(now, date_pattern, locale=locale)
        self.time_text = now.strftime("%H:%M")
        self.clock_text = f"{self.date_text} {self.time_text}"


def refusal_text(reason: str) -> str:
    """The citizen's words for a pre-flight refusal id (kiosk.applying.preflight), translated."""
    if reason == "preflight.disk":
        return tr._("This kiosk's storage is nearly full.")
    if reason == "preflight.clock":
        return tr._("This kiosk's clock needs to be set.")
    if reason == "preflight.backlog":
        return tr._("This kiosk has too many applications waiting to be sent to the platform.")
    return tr._("This kiosk is not ready to take applications.")
