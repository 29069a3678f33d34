"""``kiosk run`` and ``kiosk screenshot``: the commands that need a window."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from kiosk.config import load_config

log = logging.getLogger(__name__)

APPLY_SHOTS = {
    "identify": "identify-card", "identify-typed": "identify-typed", "form": "form-typing",
    "materials": "materials", "capture": "capture-check", "face": "capture-face",
    "review": "review", "delivery": "delivery", "done": "done-printed",
    "done-printer-failed": "done-printer-failed",
}
"""Apply journey screens -> the audit state that shows them (screens/audit_apply.py)."""
SHOT_SCREENS = ("attract", "home", "catalogue", "search", "guide", "idle", "call-staff",
                *APPLY_SHOTS)
LARGE_TEXT_SHOTS = tuple(APPLY_SHOTS)
"""Screens also rendered with large text (``-large`` in the file name)."""
SIZES = {"portrait": (1080, 1920), "landscape": (1920, 1080)}
LANGS = {"zh": "zh_CN", "en": "en"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``run`` and ``screenshot``."""
    run = subparsers.add_parser(
        "run",
        help="start the touchscreen kiosk",
        description=(
            "Start the kiosk full screen with kiosk lockdown (no Esc, no cursor, close "
            "refused) unless [display] developer = 1 or --windowed is given."
        ),
    )
    run.add_argument("--windowed", action="store_true",
                     help="developer mode: a window, cursor shown, Esc quits")
    run.set_defaults(func=cmd_run)

    shot = subparsers.add_parser(
        "screenshot",
        help="render a screen to a PNG file",
        description=(
            "Render a screen of the kiosk offscreen (SDL_VIDEODRIVER=offscreen, no display "
            "needed) with demo content and save it as PNG. 'all' renders every screen in "
            "both orientations and languages into --out-dir."
        ),
    )
    # any accessibility-audit state (ask-answer, bundle-..., policies-...) may be named too;
    # checked in cmd_screenshot so that parsing the command line does not import Kivy
    shot.add_argument("screen", help="screen to render: all, " + ", ".join(SHOT_SCREENS)
                      + ", or a state of 'kiosk audit' (screens/audit*.py)")
    shot.add_argument("--out", type=Path, help="PNG file to write (one screen)")
    shot.add_argument("--out-dir", type=Path, default=Path("docs/screens"),
                      help="folder for 'all' (default docs/screens)")
    shot.add_argument("--lang", choices=tuple(LANGS), default="zh", help="language (zh or en)")
    shot.add_argument("--size", default="1080x1920", help="window size WxH (default 1080x1920)")
    shot.add_argument("--large-text", action="store_true", help="render with large text on")
    shot.set_defaults(func=cmd_screenshot)

    audit = subparsers.add_parser(
        "audit",
        help="accessibility audit of every screen and state; writes docs/accessibility.md",
        description=(
            "Walk every screen and state in portrait and landscape, Chinese and English, "
            "normal, large and the largest text; report texts that do not fit, targets under "
            "48 dp, contrast under 4.5:1 and unreachable actions. Runs offscreen on its own "
            "throwaway data. Exit status 1 when there is a finding."
        ),
    )
    audit.add_argument("--docs", default="docs", help="docs folder to write (default docs)")
    audit.set_defaults(func=_audit)

    drive = subparsers.add_parser(
        "drive",
        help="run a journey script (etc/journeys/*.json) on the real app, offscreen",
        description=(
            "Run a scripted visit on the real app in an offscreen window with the configured "
            "devices: taps by automation id or visible text, typing on the on-screen keyboard, "
            "waits and checks (docs/journeys.md). One line per step; exit 0 when every step "
            "passed, 1 with the failing step and what was on screen, 2 for a broken script."
        ),
    )
    drive.add_argument("script", type=Path, help="journey script (JSON)")
    drive.add_argument("--out-dir", type=Path, default=Path("var/journeys"),
                       help="folder for the script's screenshots (default var/journeys)")
    drive.add_argument("--size", default="1080x1920", help="window size WxH (default 1080x1920)")
    drive.set_defaults(func=cmd_drive)


def cmd_drive(args: argparse.Namespace) -> int:
    """Run one journey script; exit 0 / 1 / 2 as the help says."""
    from screens.drive import ScriptError, load_script

    try:
        load_script(args.script)  # a broken script is found before any window opens
    except ScriptError as error:
        print(f"kiosk drive: {error}", file=sys.stderr)
        return 2
    config = load_config(args.config)
    from screens.drive import drive
    from screens.harness import HeadlessKiosk

    kiosk = HeadlessKiosk(config, parse_size(args.size))
    kiosk.start(probe_network=True)  # the real app: health probes and the sync thread run
    try:
        passed = drive(kiosk, args.script, args.out_dir)
    finally:
        kiosk.stop()
    return 0 if passed else 1


def _audit(args: argparse.Namespace) -> int:
    from screens.audit_report import cmd_audit

    return cmd_audit(args)


def parse_size(text: str) -> tuple[int, int]:
    """``1080x1920`` -> (1080, 1920), with a clear error for anything else."""
    match = re.fullmatch(r"(\d{3,4})x(\d{3,4})", text.strip())
    if not match:
        raise SystemExit(f"kiosk screenshot: --size must look like 1080x1920, not {text!r}")
    return int(match.group(1)), int(match.group(2))


def cmd_run(args: argparse.Namespace) -> int:
    """Run the kiosk until the process is stopped (kiosk mode) or the window closes."""
    import os
    import time

    started = time.monotonic()
    # a second layer under the explicit modes of the database, keys and attachments:
    # whatever else the kiosk (or a library it uses) writes is private to its user
    os.umask(0o077)
    # Kivy's messages reach the kiosk's log, through its one redacting filter, only by
    # `logging` (kiosk/operations/logs.py, set up by kiosk.cli); Kivy's own log files and
    # its capture of stderr would bypass it, whatever the service's environment says
    os.environ["KIVY_LOG_MODE"] = "PYTHON"
    os.environ["KIVY_NO_FILELOG"] = "1"
    # SDL turns SIGTERM and SIGINT into a window-close request, which kiosk lockdown
    # refuses: `systemctl stop` then waited for SIGKILL. The kiosk stops on them itself
    os.environ["SDL_NO_SIGNAL_HANDLERS"] = "1"
    import faulthandler

    # systemd's watchdog ends a frozen kiosk with SIGABRT: every thread's stack (code
    # locations only, no data) then goes to stderr, the journal, to show where it hung
    faulthandler.enable()
    config = load_config(args.config)
    if args.windowed:
        from dataclasses import replace

        config = replace(config, display=replace(config.display, developer=True))
    from screens.bootstrap import configure_kivy

    configure_kivy(config)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") \
            and os.environ.get("SDL_VIDEODRIVER") not in ("offscreen", "kmsdrm", "dummy"):
        print(
            "kiosk run: no display found. On a kiosk PC run it under X (or with "
            "SDL_VIDEODRIVER=kmsdrm); to render screens on a server use "
            "'kiosk screenshot all', which uses SDL_VIDEODRIVER=offscreen.",
            file=sys.stderr,
        )
        return 3
    from kiosk.services import KioskServices
    from screens.app import KioskApp

    services = KioskServices.create(config)
    app = KioskApp(services, lockdown=not config.display.developer)
    _tell_systemd(started)
    _stop_on_signals(app)
    app.run()
    if app.restart_requested:
        # the same pid, a fresh interpreter: a service manager or watchdog sees no exit
        print("kiosk run: restarting after repeated errors", file=sys.stderr, flush=True)
        os.execv(sys.executable, sys.orig_argv)
    return 0


def _tell_systemd(started: float) -> None:
    """READY=1 when the first frame is on the screen, then watchdog pings from Kivy's clock
    (kiosk/operations/watchdog.py; nothing happens outside systemd). The first frame's time
    since ``kiosk run`` began is logged: the "screen back within seconds" of docs/deploy.md."""
    import time

    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.operations.watchdog import Notifier, start_watchdog

    notifier = Notifier()

    def first_frame(*_args: object) -> None:
        Window.unbind(on_flip=first_frame)
        seconds = time.monotonic() - started
        log.info("first frame on screen %.2f s after kiosk run started", seconds)
        notifier.ready(f"first frame after {seconds:.1f} s")

    Window.bind(on_flip=first_frame)
    start_watchdog(Clock.schedule_interval, notifier)


def _stop_on_signals(app) -> None:
    """SIGTERM (systemctl stop, shutdown) and SIGINT end the kiosk as a normal stop: the
    app's on_stop closes the devices, the sync thread and the visit, and the exit code is 0,
    so systemd's Restart=on-failure leaves a stopped kiosk stopped."""
    import signal

    from kivy.clock import Clock

    def stop(signum: int, _frame: object) -> None:
        log.info("stopping on %s", signal.Signals(signum).name)
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def cmd_screenshot(args: argparse.Namespace) -> int:
    """Render one screen, or all of them, to PNG."""
    config = load_config(args.config)
    if args.screen == "all":
        return render_all(args.config, args.out_dir)
    if args.out is None:
        raise SystemExit("kiosk screenshot: --out FILE.png is required for one screen")
    from screens.audit import STATES

    if args.screen not in SHOT_SCREENS and args.screen not in STATES:
        raise SystemExit(f"kiosk screenshot: no screen or audit state called {args.screen!r}; "
                         "choose all, " + ", ".join(SHOT_SCREENS) + " or one of "
                         + ", ".join(sorted(STATES)))
    from screens.harness import HeadlessKiosk

    kiosk = HeadlessKiosk(config, parse_size(args.size))
    kiosk.start()
    stage(kiosk, args.screen, LANGS[args.lang], large_text=args.large_text)
    path = kiosk.screenshot(args.out)
    kiosk.stop()
    print(path)
    return 0


def render_all(config_path: str | None, out_dir: Path) -> int:
    """Every screen x orientation x language, named ``SCREEN-ORIENTATION-LANG.png``.

    Each orientation runs in its own process because an SDL window keeps the size it was
    created with best.
    """
    import os
    import subprocess

    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", SDL_AUDIODRIVER="dummy")
    if config_path:
        env["KIOSK_CONFIG"] = config_path
    for orientation, (width, height) in SIZES.items():
        code = subprocess.call([
            sys.executable, "-m", "screens.commands", str(out_dir), orientation,
            f"{width}x{height}",
        ], env=env)
        if code:
            return code
    return 0


def stage(kiosk, screen: str, language: str, *, large_text: bool = False) -> None:
    """Put the app into the state that shows ``screen`` with representative content."""
    app = kiosk.app
    app.end_session()
    app.toggle_language(language)
    app.online = False
    if screen not in SHOT_SCREENS:  # a state of the accessibility audit, reached its way
        from screens.audit import STATES

        STATES[screen](app)
        if large_text:
            app.toggle_large_text()
        kiosk.pump(4)
        return
    if screen == "attract":
        kiosk.pump(2)
        return
    app.start_session()
    if large_text:
        app.toggle_large_text()
    if screen == "catalogue":
        app.show("catalogue")
    elif screen == "search":
        app.show("search")
        search = app.screen("search")
        for letter in "juzhu":
            search.on_key(letter, letter)
    elif screen == "guide":
        hits = app.services.catalog.search("居住证", limit=1) or app.services.catalog.search(
            "户口", limit=1)
        app.open_matter(hits[0].matter if hits else app.services.catalog.matters()[0])
    elif screen == "idle":
        app.idle._show_warning()
        app.idle.warning.remaining = min(25, app.idle.warning_seconds)
    elif screen == "call-staff":
        app.call_staff()
    elif screen in APPLY_SHOTS:
        from screens.audit_apply import APPLY_STATES

        APPLY_STATES[APPLY_SHOTS[screen]](app)
    kiosk.pump(4)


def _render_orientation(out_dir: Path, orientation: str, size: str) -> int:
    config = load_config(None)
    from kiosk.platform.signing import load_or_create_key_file
    from screens.harness import HeadlessKiosk

    # a demo kiosk is provisioned on its first run (make demo); the apply screens are only
    # reached by a kiosk that may take applications
    load_or_create_key_file(config.platform.key_file)

    kiosk = HeadlessKiosk(config, parse_size(size))
    kiosk.start()
    for lang_key, language in LANGS.items():
        shots = [(screen, False) for screen in SHOT_SCREENS] + [
            (screen, True) for screen in LARGE_TEXT_SHOTS]
        for screen, large in shots:
            stage(kiosk, screen, language, large_text=large)
            suffix = "-large" if large else ""
            path = kiosk.screenshot(out_dir / f"{screen}-{orientation}-{lang_key}{suffix}.png")
            print(path)
            for child in list(kiosk.app.root_window.children):
                if child is not kiosk.app.root:
                    child.dismiss(animation=False)
    kiosk.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_render_orientation(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
