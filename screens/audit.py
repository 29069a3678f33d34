"""The accessibility audit: every screen and state, in both languages and every text size.

``python -m screens.audit WIDTHxHEIGHT --json OUT`` audits one orientation in its own
process (an SDL window keeps the size it was created with); ``kiosk audit`` runs both
orientations, writes docs/accessibility.md and the screenshots the audit looked at, and
the tests run the same states and fail on any finding.

A state is a function that puts the running app where a citizen would be: it starts from
the attract screen with the language and text size of the mode already chosen. Screens
added by later journeys add their states to :data:`STATES`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Kivy is imported only once the window has been configured
    from screens.audit_checks import Finding

LANGUAGES = ("zh_CN", "en")
MAX_TEXT_SCALE = 2.0  # the top of [kiosk] large_font_scale's documented range


def _home(app) -> None:
    app.start_session()


def _attract(app) -> None:
    app.online = None


def _attract_offline(app) -> None:
    app.online = False
    app.pending = 3


def _attract_online(app) -> None:
    app.online = True


def _catalogue(app) -> None:
    app.start_session()
    app.show("catalogue")


def _catalogue_department(app) -> None:
    _catalogue(app)
    screen = app.screen("catalogue")
    departments = [name for name, _count in app.services.catalog.departments()]
    longest = max(departments, key=len)
    screen.select_group(longest)


def _catalogue_task_type(app) -> None:
    _catalogue(app)
    app.screen("catalogue").mode = "task_type"


def _search(app, letters: str) -> None:
    app.start_session()
    app.show("search")
    screen = app.screen("search")
    for letter in letters:
        screen.on_key(letter, letter)


def _guide(app, cached: bool) -> None:
    """The matter with the longest name, with or without its platform guide cached."""
    app.start_session()
    catalog = app.services.catalog
    longest_first = sorted(catalog.matters(), key=lambda m: len(m.name), reverse=True)
    chosen = next((m for m in longest_first
                   if (catalog.guide(m.item_code) is not None) == cached), longest_first[0])
    app.open_matter(chosen)


def _guide_phone(app) -> None:
    """The guide with its take-away QR code shown (the audit's kiosk has no guide_link)."""
    from screens.i18n import tr

    _guide(app, cached=True)
    screen = app.screen("guide")
    screen.link = f"https://www.example.org/guides?item={screen.item_code}"
    screen.toggle_link(True)
    screen.print_message = tr._("The guide is printed. Please take it from the slot below the screen.")  # noqa: E501
    screen.ids.guide_scroll.scroll_y = 0  # the take-away part is at the end of the guide


def _idle(app) -> None:
    app.start_session()
    app.idle._show_warning()
    app.idle.warning.remaining = min(25, app.idle.warning_seconds)


def _call_staff(app) -> None:
    app.start_session()
    app.call_staff()


def _refused(app) -> None:
    app.start_session()
    app.show("catalogue")
    app.show_refusal("preflight.backlog")


STATES: dict[str, Callable[[object], None]] = {
    "attract": _attract,
    "attract-offline-queue": _attract_offline,
    "attract-online": _attract_online,
    "home": _home,
    "catalogue": _catalogue,
    "catalogue-department": _catalogue_department,
    "catalogue-task-type": _catalogue_task_type,
    "search-empty": lambda app: _search(app, ""),
    "search-results": lambda app: _search(app, "juzhu"),
    "search-nothing": lambda app: _search(app, "qqqqxv"),
    "guide-pending": lambda app: _guide(app, cached=False),
    "guide-sample": lambda app: _guide(app, cached=True),
    "guide-phone": _guide_phone,
    "idle-warning": _idle,
    "call-staff": _call_staff,
    "applications-refused": _refused,
}
"""State name -> how to reach it from the attract screen."""


def _add_apply_states() -> None:
    from screens.audit_apply import APPLY_STATES
    from screens.audit_appointment import APPOINTMENT_STATES
    from screens.audit_ask import ASK_STATES
    from screens.audit_bundle import BUNDLE_STATES
    from screens.audit_evaluate import EVALUATE_STATES
    from screens.audit_policies import POLICY_STATES
    from screens.audit_progress import PROGRESS_STATES
    from screens.audit_technician import TECHNICIAN_STATES

    STATES.update(APPLY_STATES)
    STATES.update(APPOINTMENT_STATES)
    STATES.update(ASK_STATES)
    STATES.update(BUNDLE_STATES)
    STATES.update(EVALUATE_STATES)
    STATES.update(POLICY_STATES)
    STATES.update(PROGRESS_STATES)
    STATES.update(TECHNICIAN_STATES)


_add_apply_states()


@dataclass
class ModeResult:
    """The findings of one orientation x language x text size."""

    orientation: str
    language: str
    text_scale: float
    states: dict[str, list[Finding]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Findings over all states of this mode."""
        return sum(len(found) for found in self.states.values())

    def as_dict(self) -> dict:
        """For the JSON report."""
        return {
            "orientation": self.orientation, "language": self.language,
            "text_scale": self.text_scale,
            "states": {name: [f.as_dict() for f in found] for name, found in self.states.items()},
        }


def stage(kiosk, state: str, language: str, text_scale: float) -> None:
    """Reset to a fresh attract screen in ``language`` and ``text_scale``, then go to ``state``."""
    app = kiosk.app
    app.end_session()  # closes every dialog too
    app.toggle_language(language)
    app.set_text_scale(text_scale)
    app.online = None  # no state reaches for the network unless it says so
    STATES[state](app)
    kiosk.pump(4)


def audit(kiosk, *, text_scales: tuple[float, ...], states: tuple[str, ...] | None = None,
          languages: tuple[str, ...] = LANGUAGES, shots: Path | None = None,
          progress: Callable[[str], None] | None = None) -> list[ModeResult]:
    """Run every state in every mode of the window's orientation; screenshots into ``shots``."""
    from screens.audit_checks import check_state

    width, height = kiosk.size
    orientation = "portrait" if height >= width else "landscape"
    results = []
    for text_scale in text_scales:
        for language in languages:
            result = ModeResult(orientation, language, text_scale)
            for state in states or tuple(STATES):
                stage(kiosk, state, language, text_scale)
                result.states[state] = check_state(kiosk.app)
                if shots is not None:
                    kiosk.screenshot(shots / shot_name(state, orientation, language, text_scale))
                if progress:
                    progress(f"{orientation} {language} x{text_scale} {state}: "
                             f"{len(result.states[state])}")
            results.append(result)
    kiosk.app.end_session()
    return results


def shot_name(state: str, orientation: str, language: str, text_scale: float) -> str:
    """File name of one audited state's screenshot."""
    size = "normal" if text_scale == 1.0 else f"x{text_scale:g}"
    return f"{state}-{orientation}-{language.split('_')[0]}-{size}.png"


def text_scales_for(config) -> tuple[float, ...]:
    """Normal text, the configured large text, and the documented maximum."""
    return tuple(sorted({1.0, config.kiosk.large_font_scale, MAX_TEXT_SCALE}))


def main(argv: list[str] | None = None) -> int:
    """One orientation, in this process: ``python -m screens.audit 1080x1920 --json F``."""
    parser = argparse.ArgumentParser(prog="python -m screens.audit")
    parser.add_argument("size", help="window size WxH")
    parser.add_argument("--json", type=Path, required=True, help="where to write the findings")
    parser.add_argument("--shots", type=Path, help="folder for the screenshots looked at")
    parser.add_argument("--state", action="append", help="only this state (repeatable)")
    parser.add_argument("--scale", type=float, action="append", help="only this text scale")
    parser.add_argument("--config", help="kiosk configuration (default: a throwaway one)")
    args = parser.parse_args(argv)

    import tempfile

    from kiosk.config import load_config
    from screens.commands import parse_size
    from screens.harness import HeadlessKiosk

    workdir = tempfile.TemporaryDirectory(prefix="kiosk-audit-")
    config = load_config(args.config or throwaway_config(Path(workdir.name)))
    kiosk = HeadlessKiosk(config, parse_size(args.size))
    kiosk.start()
    prepare_content(kiosk.app)
    started = time.monotonic()
    results = audit(kiosk, text_scales=tuple(args.scale or text_scales_for(config)),
                    states=tuple(args.state) if args.state else None, shots=args.shots,
                    progress=lambda line: print(line, file=sys.stderr, flush=True))
    kiosk.stop()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "seconds": round(time.monotonic() - started, 1),
        "modes": [result.as_dict() for result in results],
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    workdir.cleanup()
    return 0


def throwaway_config(folder: Path) -> Path:
    """A provisioned kiosk in ``folder`` (its own data and key), so nothing real is touched."""
    from kiosk.platform.signing import create_key_file

    path = folder / "kiosk.ini"
    path.write_text(
        f"[kiosk]\nid = 511602-AUDIT-01\nidle_timeout = 3600\n"
        f"[storage]\ndata_dir = {folder / 'data'}\n"
        f"[platform]\nkey_file = {folder / 'platform.key'}\n[display]\ndeveloper = 1\n",
        encoding="utf-8")
    create_key_file(folder / "platform.key")
    return path


def prepare_content(app) -> None:
    """Representative content: a sample guide cached for a few matters with long names.

    The reference platform's sample guide is what a demo kiosk shows; it is marked as a
    sample on screen. Nothing here reaches a real kiosk's data: the audit runs on its own.
    """
    from reference_platform import samples

    catalog = app.services.catalog
    matters = sorted(catalog.matters(), key=lambda m: len(m.name), reverse=True)[:3]
    for matter in matters:
        record = {"item_code": matter.item_code, "name": matter.name,
                  "department": matter.department}
        catalog.store_document("guide", matter.item_code, samples.guide(record, 1), 1)


if __name__ == "__main__":
    sys.exit(main())
