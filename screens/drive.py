"""``kiosk drive SCRIPT.json``: a scripted visit on the real app in the offscreen window.

Installers accept a new kiosk on site with such scripts, and the tests run the shipped ones
(``etc/journeys/``). Every step goes through the real input pipeline: a tap is a touch down
and up at the widget's centre, typing taps the on-screen keyboard's keys. Widgets are found
by their automation id (docs/journeys.md) or by the text a citizen sees.

A script is JSON: ``{"name": ..., "steps": [STEP, ...]}``, each step one object:

- ``{"start": true}``: touch the attract screen to begin a visit
- ``{"tap": "ID"}``: tap the widget with that automation id (an open dialog first); an id
  ending in ``*`` taps the first shown widget whose id starts so (``diag_reprint_*``: the
  newest application's Reprint, whose receipt number the script cannot know)
- ``{"tap_text": "TEXT"}``: tap what shows TEXT (a list row, a button)
- ``{"type": "juzhu"}``: tap those keys on the on-screen keyboard (``\b`` is Delete)
- ``{"wait_screen": "NAME", "seconds": 10}``: until that screen is shown
- ``{"expect_text": "TEXT"}`` / ``{"expect_no_text": "TEXT"}``: on screen (or not)
- ``{"screenshot": "FILE.png"}``: relative to the script's ``--out-dir``
- ``{"idle": SECONDS}``: let time pass with no touch (the idle policy runs)
- ``{"long_press": "ID"}``: touch the widget with that automation id and hold it for
  :data:`HOLD_SECONDS` before lifting (the attract screen's ``technician_corner``)
- ``{"keys": "ctrl+alt+d"}``: press a key with modifiers on a keyboard plugged into the
  kiosk (the window's key-down and key-up events)
- ``{"journey": "apply.json"}``: that script's steps here (a script beside this one)
- ``{"technician": "demo 246810"}``: that technician's PIN, set only when no technician
  has one on this kiosk (as ``make demo`` does), so a script can open the diagnostics

Device steps act on the emulated devices the configuration names; with a real device
the step says what a person must do instead and goes on (the same script accepts a kiosk
with real hardware, a card lying on its reader):

- ``{"card_on": "resident"}`` / ``{"card_off": true}``: a sample card on the emulated reader
- ``{"show": "document"}``: the emulated camera's scene (document, qr, face, blank)
- ``{"show_qr": "TEXT"}``: a QR code of TEXT before the emulated camera
- ``{"show_printed_qr": true}``: the QR code of the last slip the emulated printer printed
  (a receipt's number) before the emulated camera, as a citizen holds the receipt up
- ``{"show_ecode": "resident"}``: a fresh electronic ID code of a sample person (the
  reference platform's sample codes; a real platform's come from the citizen's phone)
- ``{"paper": "out"}``: the emulated printer's paper (ok, low, out)
- ``{"expect_printed": "TEXT"}``: the emulated printer printed a line holding TEXT
- ``{"tear_off": true}``: the slips printed so far were taken away; ``expect_printed``
  then sees only what is printed after it (a reprint, not the first receipt)
- ``{"reader_fault": "removed_mid_read"}``: a fault of the emulated reader (drivers.idcard.
  emulator.Fault: removed_mid_read, sam_self_test_fail, silence, ...; ``clear`` ends them)
- ``{"unplug": "idcard"}`` / ``{"replug": "idcard"}``: pull an emulated device's cable
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

STEP_KINDS = ("start", "tap", "tap_text", "type", "wait_screen", "expect_text",
              "expect_no_text", "screenshot", "idle", "card_on", "card_off", "show", "show_qr",
              "show_ecode", "paper", "expect_printed", "reader_fault", "unplug", "replug",
              "show_printed_qr", "long_press", "keys", "technician", "tear_off")

HOLD_SECONDS = 3.5
"""How long a ``long_press`` holds: past the attract screen's 3 s technician gesture."""

KEY_CODES = {"enter": 13, "escape": 27, "tab": 9, "backspace": 8, "f1": 282}
"""Named keys of a ``keys`` step -> Kivy key codes (a letter or digit is its own code)."""


class ScriptError(ValueError):
    """The script itself is wrong (not JSON, an unknown step): a message for its author."""


class StepFailed(AssertionError):
    """A step did not do what it says; the message says what was on screen instead."""


@dataclass(frozen=True)
class Step:
    """One step: its kind, its argument and its optional time limit."""

    number: int
    kind: str
    value: object
    seconds: float = 10.0

    def __str__(self) -> str:
        return f"{self.kind} {self.value}" if self.value is not True else self.kind


def load_script(path: Path, _including: tuple[Path, ...] = ()) -> tuple[str, list[Step]]:
    """The script's name and steps; :class:`ScriptError` with the step number if wrong.

    A ``{"journey": "apply.json"}`` step is replaced by that script's steps (a path beside
    this script), so a journey that starts with another one does not copy it."""
    if path.resolve() in _including:
        raise ScriptError(f"{path}: includes itself through {_including[-1].name}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ScriptError(f"{path}: cannot read the script: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise ScriptError(f'{path}: expected {{"name": ..., "steps": [...]}}')
    steps: list[Step] = []
    for number, raw in enumerate(data["steps"], start=1):
        if isinstance(raw, dict) and set(raw) == {"journey"}:
            _name, included = load_script(path.parent / str(raw["journey"]),
                                          (*_including, path.resolve()))
            steps += included
            continue
        kinds = [key for key in raw if key in STEP_KINDS] if isinstance(raw, dict) else []
        if len(kinds) != 1 or set(raw) - {kinds[0], "seconds"}:
            raise ScriptError(f"{path}: step {number}: expected one of {', '.join(STEP_KINDS)}"
                              f" (and optionally seconds), got {raw!r}")
        seconds = raw.get("seconds", 10.0)
        if not isinstance(seconds, int | float) or not 0 < seconds <= 3600:
            raise ScriptError(f"{path}: step {number}: seconds must be 0..3600")
        steps.append(Step(number, kinds[0], raw[kinds[0]], float(seconds)))
    if not _including:  # numbered as they run, included steps too
        steps = [replace(step, number=number) for number, step in enumerate(steps, start=1)]
    return str(data.get("name", path.stem)), steps


class Driver:
    """Runs steps on a started :class:`screens.harness.HeadlessKiosk`."""

    def __init__(self, kiosk, out_dir: Path) -> None:
        self.notes: list[str] = []  # device steps a person does on real hardware
        self.kiosk = kiosk
        self.app = kiosk.app
        self.out_dir = out_dir

    # -- finding ---------------------------------------------------------------------------
    def layers(self) -> list:
        """What a touch reaches first: open dialogs (newest first), then the current screen."""
        from kivy.uix.modalview import ModalView

        dialogs = [w for w in self.app.root_window.children if isinstance(w, ModalView)]
        return [*dialogs, self.app.manager.current_screen]

    def shown(self) -> Iterator:
        """Every widget on screen, top layer first."""
        for layer in self.layers():
            yield from (w for w in layer.walk(restrict=True) if _visible(w))

    def by_id(self, name: str):
        """The shown widget with automation id ``name`` (or the first whose id starts with
        ``name`` without its trailing ``*``)."""
        from screens.audit_checks import named_widgets

        prefix = name[:-1] if name.endswith("*") else None
        shown = {id(w) for w in self.shown()}
        for layer in self.layers():
            for key, widget in named_widgets(layer):
                matches = key == name if prefix is None else key.startswith(prefix)
                if matches and id(widget) in shown:
                    return widget
        return None

    def by_text(self, text: str):
        """The shown widget whose text contains ``text``, as the thing to tap."""
        from kivy.uix.behaviors import ButtonBehavior

        for widget in self.shown():
            if text in getattr(widget, "text", "") and widget.width > 1:
                node = widget
                while node is not None and not isinstance(node, ButtonBehavior):
                    node = node.parent if node.parent is not node else None
                return node or widget
        return None

    def texts(self) -> list[str]:
        """The texts on screen now (for failure messages and text checks)."""
        return [w.text for w in self.shown() if getattr(w, "text", "").strip()]

    # -- steps -----------------------------------------------------------------------------
    def run(self, step: Step) -> None:
        """Do ``step``; :class:`StepFailed` says why not."""
        getattr(self, f"_{step.kind}")(step)

    def _start(self, step: Step) -> None:
        window = self.app.root_window
        if self.app.manager.current != "attract":
            raise StepFailed(f"not on the attract screen but {self.app.manager.current!r}")
        self.kiosk.tap_at(window.width / 2, window.height / 2)

    def _tap(self, step: Step) -> None:
        widget = self.until(lambda: self.by_id(str(step.value)), step,
                            f"no widget with id {step.value!r} on screen")
        self.scroll_into_view(widget)
        self.kiosk.tap(widget)

    def scroll_into_view(self, widget) -> None:
        """Scroll the list holding ``widget`` until its centre is in view, as a person
        scrolls to a row below the fold before tapping it."""
        from kivy.uix.scrollview import ScrollView

        node = widget.parent
        while node is not None and node is not node.parent:
            if isinstance(node, ScrollView):
                x, y = widget.to_window(*widget.center)
                sx, sy = node.to_window(node.x, node.y)
                if not (sx <= x <= sx + node.width and sy <= y <= sy + node.height):
                    node.scroll_to(widget, padding=10, animate=False)
                    self.kiosk.pump(2)
                return
            node = node.parent

    def _tap_text(self, step: Step) -> None:
        widget = self.until(lambda: self.by_text(str(step.value)), step,
                            f"{step.value!r} is not on screen")
        self.kiosk.tap(widget)

    def _type(self, step: Step) -> None:
        keyboard = self.by_id("keyboard")
        if keyboard is None:
            raise StepFailed("no on-screen keyboard on this screen")
        for char in str(step.value):
            # the keyboard is a Scatter: its keys are in its own coordinates
            x, y = keyboard.to_parent(*key_centre(keyboard, char))
            self.kiosk.tap_at(*keyboard.to_window(x, y), frames=1)

    def _long_press(self, step: Step) -> None:
        from kivy.tests.common import UnitTestTouch

        widget = self.until(lambda: self.by_id(str(step.value)), step,
                            f"no widget with id {step.value!r} on screen")
        self.kiosk.pump(1)
        touch = UnitTestTouch(*widget.to_window(*widget.center))
        touch.touch_down()
        deadline = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < deadline:
            self.kiosk.pump()
        touch.touch_up()
        self.kiosk.pump(2)

    def _keys(self, step: Step) -> None:
        *modifiers, name = str(step.value).lower().split("+")
        code = KEY_CODES.get(name, ord(name) if len(name) == 1 else None)
        if code is None or not name:
            raise StepFailed(f"unknown key {name!r}: a letter, a digit or one of "
                             f"{', '.join(KEY_CODES)}")
        window = self.app.root_window
        window.dispatch("on_key_down", code, 0, name if len(name) == 1 else None, modifiers)
        window.dispatch("on_key_up", code, 0)
        self.kiosk.pump(2)

    def _technician(self, step: Step) -> None:
        from kiosk.operations.technician import NameRefused, PinRefused, TechnicianAccess

        who, _space, pin = str(step.value).partition(" ")
        access = TechnicianAccess(self.app.services.config.storage.database)
        if access.has_pins():
            self.notes.append(f"step {step.number}: a technician PIN is set here already")
            return
        try:
            access.set_pin(who, pin.strip(), by="drive")
        except (NameRefused, PinRefused) as error:
            raise StepFailed(str(error)) from None

    def _wait_screen(self, step: Step) -> None:
        self.until(lambda: self.app.manager.current == step.value, step,
                   f"screen {step.value!r} did not come")

    def _expect_text(self, step: Step) -> None:
        self.until(lambda: any(str(step.value) in text for text in self.texts()), step,
                   f"{step.value!r} is not on screen")

    def _expect_no_text(self, step: Step) -> None:
        if any(str(step.value) in text for text in self.texts()):
            raise StepFailed(f"{step.value!r} is on screen")

    def _screenshot(self, step: Step) -> None:
        self.kiosk.screenshot(self.out_dir / str(step.value))

    def _idle(self, step: Step) -> None:
        deadline = time.monotonic() + float(step.value)  # type: ignore[arg-type]
        while time.monotonic() < deadline:
            self.kiosk.pump()

    # -- devices -------------------------------------------------------------------------
    def emulated(self, device: str, step: Step, instead: str):
        """The emulator of ``device``, or None after saying what a person must do instead."""
        controls = self.app.services.devices.emulators
        emulator = getattr(controls, {"idcard": "reader"}.get(device, device))
        if emulator is None:
            self.notes.append(f"step {step.number}: {device} is real: {instead}")
            return None
        return controls

    def _card_on(self, step: Step) -> None:
        controls = self.emulated("idcard", step, "a card must lie on the reader")
        if controls is not None:
            key = step.value if isinstance(step.value, str) else "resident"
            controls.card_on(key)

    def _card_off(self, step: Step) -> None:
        controls = self.emulated("idcard", step, "take the card off the reader")
        if controls is not None:
            controls.card_off()

    def _tear_off(self, step: Step) -> None:
        controls = self.emulated("printer", step, "take the printed slips away")
        if controls is not None:
            controls.tear_off()

    def _show(self, step: Step) -> None:
        controls = self.emulated("camera", step, f"hold a {step.value} before the camera")
        if controls is not None:
            controls.show_scene(str(step.value))

    def _show_qr(self, step: Step) -> None:
        controls = self.emulated("camera", step, "hold the QR code before the camera")
        if controls is not None:
            controls.show_qr(str(step.value))

    def _show_printed_qr(self, step: Step) -> None:
        """The receipt just printed, held up to the camera: its QR code (the receipt number,
        which a script cannot know before the visit made it)."""
        camera = self.emulated("camera", step, "hold the receipt's QR code before the camera")
        printer = self.emulated("printer", step, "take the printed receipt")
        if camera is None or printer is None:
            return
        payloads = printer.printed_qr_payloads()
        if not payloads:
            raise StepFailed("the printer has printed no QR code yet")
        camera.show_qr(payloads[-1])

    def _show_ecode(self, step: Step) -> None:
        """``"resident"``: a fresh code of that sample card's person; ``"resident expired"``:
        one issued two minutes ago (codes live 60 s)."""
        controls = self.emulated("camera", step, "show the phone's e-ID code to the camera")
        if controls is not None:
            from reference_platform.samples import ecode_for_card

            card, _space, age = str(step.value).partition(" ")
            issued = time.time() - (120 if age == "expired" else 0)
            controls.show_qr(ecode_for_card(card, issued))

    def _reader_fault(self, step: Step) -> None:
        controls = self.emulated("idcard", step, f"make the reader fail: {step.value}")
        if controls is not None:
            try:
                controls.reader_fault(str(step.value))
            except ValueError as error:
                raise StepFailed(str(error)) from None

    def _unplug(self, step: Step) -> None:
        controls = self.emulated(str(step.value), step, f"pull the {step.value}'s cable")
        if controls is not None:
            controls.unplug(str(step.value))

    def _replug(self, step: Step) -> None:
        controls = self.emulated(str(step.value), step, f"plug the {step.value} back in")
        if controls is not None:
            controls.replug(str(step.value))

    def _paper(self, step: Step) -> None:
        controls = self.emulated("printer", step, f"make the paper {step.value}")
        if controls is not None:
            controls.set_paper(str(step.value))

    def _expect_printed(self, step: Step) -> None:
        controls = self.emulated("printer", step, f"check the slip says {step.value}")
        if controls is not None:
            self.until(lambda: any(str(step.value) in line for line in controls.printed_lines()),
                       step, f"the printer did not print {step.value!r}")

    def until(self, find, step: Step, failure: str):
        """Pump frames until ``find()`` gives something, at most the step's seconds."""
        deadline = time.monotonic() + step.seconds
        while True:
            found = find()
            if found:
                return found
            if time.monotonic() >= deadline:
                raise StepFailed(failure)
            self.kiosk.pump()


def key_centre(keyboard, char: str) -> tuple[float, float]:
    """Where the key that types ``char`` is, in the keyboard's own coordinates."""
    layout = keyboard.available_layouts[keyboard.layout]
    for line in range(1, layout["rows"] + 1):
        for index, key in enumerate(layout[f"{keyboard.layout_mode}_{line}"]):
            if key[1] == char or (char == " " and key[2] == "spacebar") or (
                    char == "\b" and key[2] == "backspace"):
                (x, y), (width, height) = keyboard.layout_geometry[f"LINE_{line}"][index]
                return x + width / 2, y + height / 2
    raise StepFailed(f"the keyboard has no key for {char!r}")


def _visible(widget) -> bool:
    node = widget
    while node is not None:
        if node.opacity <= 0:
            return False
        node = node.parent if node.parent is not node else None
    return True


def drive(kiosk, script: Path, out_dir: Path, report=print, *, fresh: bool = True) -> bool:
    """Run ``script`` on ``kiosk`` from the attract screen; one line per step to ``report``.

    ``fresh=False`` goes on from where the previous script left the visit (tests check the
    app between two parts of one visit).
    """
    name, steps = load_script(script)
    app = kiosk.app
    if fresh:
        app.end_session()  # closes every dialog too
    kiosk.pump(2)
    # the first health answer (or its failure) decides what the visit may offer, online
    # or not: a script starts once the kiosk knows, as a citizen arriving later would
    deadline = time.monotonic() + 15
    connectivity = app.services.connectivity
    while connectivity.started and connectivity.online is None and time.monotonic() < deadline:
        kiosk.pump()
    kiosk.pump(2)
    driver = Driver(kiosk, out_dir)
    report(f"journey {name}: {len(steps)} steps")
    for step in steps:
        try:
            driver.run(step)
        except StepFailed as failure:
            shown = "; ".join(text.replace("\n", " ")[:40] for text in driver.texts()[:12])
            report(f"FAIL {step.number:>3} {step}: {failure}")
            report(f"     screen {app.manager.current!r} shows: {shown}")
            return False
        noted = f" ({driver.notes.pop()})" if driver.notes else ""
        report(f"ok   {step.number:>3} {step}{noted}")
    return True
