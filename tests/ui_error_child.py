"""A kiosk app under Kivy's real main loop (``App.run``) whose callbacks raise on purpose.

Run by tests/test_security_lockdown.py as ``python -m tests.ui_error_child CONFIG N``: N
scheduled callbacks raise, each once the previous one was handled. The loop must survive
each of them; after the third within the restart window ``App.run`` returns asking for a
restart. What happened is printed as one JSON line for the test to read.
"""

from __future__ import annotations

import json
import sys


def main(config_path: str, errors: int) -> None:
    from kiosk.config import load_config
    from screens.bootstrap import configure_kivy

    config = load_config(config_path, environ={})
    configure_kivy(config, size=(1080, 1920), headless=True)
    from kivy.clock import Clock

    from kiosk.services import KioskServices
    from screens.app import KioskApp

    services = KioskServices.create(config)
    services.connectivity.start = lambda: None  # no network in this test
    services.sync.start = lambda: None
    app = KioskApp(services, lockdown=False)
    seen: dict[str, object] = {"screens": [], "dialogs": []}

    remaining = [errors]

    def fail(_dt: float) -> None:
        remaining[0] -= 1
        app.start_session()  # a visit is open when the fault strikes
        Clock.schedule_once(look, 0.3)
        raise RuntimeError("citizen typed 110101199003078013")

    def look(_dt: float) -> None:
        from screens.widgets import Notice

        if app.restart_requested:
            return
        if app.crash_guard.recovering:  # a loaded machine: the recovery is still queued
            Clock.schedule_once(look, 0.1)
            return
        seen["screens"].append(app.manager.current)
        seen["dialogs"].append([child.title for child in app.root_window.children
                                if isinstance(child, Notice)])
        if remaining[0]:
            Clock.schedule_once(fail, 0.5)  # the next fault, once this one was handled

    Clock.schedule_once(fail, 1.0)
    Clock.schedule_once(lambda _dt: app.stop(), 60.0)  # only if it never restarted
    app.run()
    print(json.dumps({"restart": app.restart_requested, **seen,
                      "total": app.crash_guard.tally.total}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
