"""What the running kiosk keeps an eye on for its technicians, without a screen open:
the receipt paper used (every slip the hub prints) and the out-of-service switches.

The core does the work (kiosk.operations.paper, kiosk.operations.service_state); this
module only wires it to the app: the printed-slip listener, the monitor thread, and the
app's ``out_of_service`` property, which the monitor's reports reach through Clock (they
arrive on its thread). While out of service the app shows the out-of-service screen where
it would show the attract screen (KioskApp.show); a visit under way is never cut short, it
meets the out-of-service screen when it ends.
"""

from __future__ import annotations

from kivy.clock import Clock

from kiosk.operations.paper import PaperCounter
from kiosk.operations.service_state import OutOfService, ServiceMonitor, ServiceState


class ServiceWatch:
    """The app's paper counter and out-of-service monitor (``app.service_watch``)."""

    def __init__(self, app) -> None:
        config = app.services.config
        self.app = app
        self.paper = PaperCounter(config.storage.database, config.devices.paper_roll_slips)
        self.service = ServiceState(config.storage.database)
        self.monitor = ServiceMonitor(config, self._reported)
        self.state = OutOfService()

    def start(self) -> None:
        """Count printed slips, show the stored state at once (a restart keeps a switch
        on), then let the monitor check every half minute."""
        self.app.services.devices.add_printed_listener(self.paper.printed)
        try:
            self.apply(self.service.now())
        except Exception:  # a database that cannot be read: the monitor will say so
            self.apply(OutOfService())
        self.monitor.start()

    def stop(self) -> None:
        """Stop counting and checking."""
        self.app.services.devices.remove_printed_listener(self.paper.printed)
        self.monitor.stop()

    def _reported(self, state: OutOfService) -> None:
        # on the monitor's thread: hand it to the UI thread
        Clock.schedule_once(lambda _dt: self.apply(state))

    def switch(self, on: bool, who: str) -> OutOfService:
        """The technician's switch (audited by the core); applied at once."""
        state = self.service.switch(on, who)
        self.apply(state)
        return state

    def apply(self, state: OutOfService) -> None:
        """Show ``state``: the out-of-service screen instead of the attract one, or back."""
        self.state = state
        app = self.app
        app.out_of_service = state.active
        manager = getattr(app, "manager", None)
        if manager is None:
            return
        if manager.has_screen("out_of_service"):
            manager.get_screen("out_of_service").show_state(state)
        current = manager.current
        if (state.active and current == "attract") or (
                not state.active and current == "out_of_service"):
            app.show("attract", remember=False)  # KioskApp.show picks the right one
        if current == "diagnostics":
            manager.get_screen("diagnostics").show_service(state)
