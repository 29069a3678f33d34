"""The emulated devices of a running kiosk and the switches a demo or a test turns.

A device configured as ``emulator://...`` runs in this process, as ``connect.py`` starts it:
the ID card reader and the printer on their own pseudo-terminals, the camera as generated
scenes. The kiosk's drivers reach the reader and the printer through a stable symlink (as
udev's ``/dev/serial/by-id`` names are), so "unplug" stops an emulator's pty and "replug"
serves the same emulator, card and printed slips included, on a new pty behind the same
link: the supervisors see exactly what a pulled and reinserted cable looks like.

:class:`EmulatorControls` is what the hub hands out; for a real device its part is ``None``
and the switches for it raise :class:`NotEmulated`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.device_url import DeviceURL
from drivers.idcard.connect import start_emulator as start_reader_emulator
from drivers.idcard.emulator import SamEmulator
from drivers.printer.connect import emulator_state, url_codec
from drivers.printer.emulator import PrinterEmulator

if TYPE_CHECKING:  # OpenCV and numpy load when the camera is first used, not at start
    from drivers.camera.sources import SceneSource

__all__ = ["DEVICES", "PAPER_LEVELS", "SCENE_NAMES", "EmulatorControls", "NotEmulated"]

DEVICES = ("idcard", "printer", "camera")
PAPER_LEVELS = ("ok", "low", "out")
#: Scene names :meth:`EmulatorControls.show_scene` takes: the emulator's own plus "blank".
SCENE_NAMES = ("document", "qr", "face", "black", "empty", "blank")
"""drivers.camera.sources.SCENES and "blank" (written out: that module loads OpenCV)."""
_SCENE_ALIASES = {"blank": "empty"}


class NotEmulated(RuntimeError):
    """The device is a real one: there is no emulator switch to turn."""


class EmulatorControls:
    """Handles on the emulators this kiosk runs; ``None`` for each real device.

    ``reader`` (:class:`SamEmulator`), ``printer`` (:class:`PrinterEmulator`) and ``camera``
    (:class:`SceneSource`) are public for tests that need more than the switches here (fault
    injection: ``controls.reader.inject(Fault.SILENCE, Command.READ_BASE)``). Every method
    may be called from any thread. ``bool(controls)`` is True when any device is emulated.
    """

    def __init__(self, reader: SamEmulator | None = None, printer: PrinterEmulator | None = None,
                 camera: SceneSource | None = None, *, camera_scene: str | None = None) -> None:
        """``camera_scene``: an emulated camera made when first used, showing that scene."""
        self.reader = reader
        self.printer = printer
        self._camera = camera
        self._camera_scene = camera_scene
        # the folder of the stable links, made when the reader or the printer is emulated
        self._links: Path | None = None
        if reader is not None or printer is not None:
            self._links = Path(tempfile.mkdtemp(prefix="kiosk-devices-"))
        self._lock = threading.RLock()

    @classmethod
    def for_urls(cls, idcard: DeviceURL, printer: DeviceURL,
                 camera: DeviceURL) -> EmulatorControls:
        """Emulators for the ``emulator://`` URLs among these, configured by their query
        parameters (``card=``, ``paper=``/``cover=``/``silent=``/``codec=``, ``scene=``), not
        yet serving: :meth:`plug_all` puts them on ptys. DeviceURLError for a bad parameter."""
        reader = start_reader_emulator(idcard) if idcard.scheme == "emulator" else None
        printer_emulator = (PrinterEmulator(emulator_state(printer), codec=url_codec(printer))
                            if printer.scheme == "emulator" else None)
        scene = camera.params.get("scene", "document") if camera.scheme == "emulator" else None
        if scene is not None and scene not in SCENE_NAMES:
            from drivers.device_url import DeviceURLError

            raise DeviceURLError(str(camera), f"scene must be one of {', '.join(SCENE_NAMES)}")
        return cls(reader, printer_emulator, camera_scene=scene)

    @property
    def camera(self) -> SceneSource | None:
        """The emulated camera (made on first use: it loads OpenCV), or None if real."""
        if self._camera is None and self._camera_scene is not None:
            from drivers.camera.sources import SceneSource

            with self._lock:
                if self._camera is None:
                    self._camera = SceneSource(_SCENE_ALIASES.get(self._camera_scene,
                                                                  self._camera_scene))
        return self._camera

    def __bool__(self) -> bool:
        return self.reader is not None or self.printer is not None or \
            self._camera is not None or self._camera_scene is not None

    def __repr__(self) -> str:
        emulated = [name for name in DEVICES if name != "camera" and self._emulator(name)
                    is not None]
        if self._camera is not None or self._camera_scene is not None:
            emulated.append("camera")
        return f"EmulatorControls(emulated={emulated})"

    # --- ptys and links -------------------------------------------------------------------
    def link(self, device: str) -> str:
        """The stable path the driver opens for the emulated ``idcard`` or ``printer``."""
        if device not in ("idcard", "printer"):
            raise ValueError(f"only the reader and the printer have a port, not {device!r}")
        self._require(device)
        assert self._links is not None  # made with the emulator
        return str(self._links / device)

    def plug_all(self) -> None:
        """Serve every emulator (reader and printer on new ptys behind their links; the
        camera is made when first used)."""
        for device in ("idcard", "printer"):
            if self._emulator(device) is not None:
                self.replug(device)

    def unplug(self, device: str) -> None:
        """Pull the cable of ``device``: its pty goes away (the camera stops giving frames)."""
        emulator = self._require(device)
        path = self.link(device) if device != "camera" else ""
        with self._lock:
            if device == "camera":
                emulator.unplugged = True
            else:
                emulator.stop()
                # the by-id link goes with the device, as udev's does: a pty number reused by
                # another program meanwhile must not be opened as our reader or printer
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def replug(self, device: str) -> None:
        """Plug ``device`` back in (or in for the first time); a no-op while plugged, also
        after an unplug injected into the emulator itself (``Fault.UNPLUG``)."""
        emulator = self._require(device)
        path = self.link(device) if device != "camera" else ""
        with self._lock:
            if device == "camera":
                emulator.unplugged = False
                return
            try:
                pty = emulator.start_pty()
            except RuntimeError:  # "already started": it is serving
                return
            temporary = f"{path}.new"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            os.symlink(pty, temporary)
            os.replace(temporary, path)  # atomic: the driver never sees a missing link

    def restore(self) -> None:
        """Every emulated device back to working order: plugged in, no card, no reader fault,
        paper in, cover shut, no printer error, a blank camera scene. For a technician's
        "start again" and for tests that share one app (a fault left by one test must not
        become the next one's failure)."""
        self.plug_all()
        if self.reader is not None:
            self.reader_fault("clear")
            self.card_off()
        if self.printer is not None:
            assert isinstance(self.printer, PrinterEmulator)
            healthy = type(self.printer.state)()
            for name in vars(healthy):
                setattr(self.printer.state, name, getattr(healthy, name))
        if self._camera is not None:  # not made yet: nothing to restore (and no OpenCV)
            self._camera.unplugged = False
            self._camera.show(_SCENE_ALIASES["blank"])

    def close(self) -> None:
        """Stop every emulator and remove the links (idempotent)."""
        with self._lock:
            for emulator in (self.reader, self.printer):
                if emulator is not None:
                    emulator.stop()
        if self._links is not None:  # the path stays: a late open finds nothing there
            shutil.rmtree(self._links, ignore_errors=True)

    # --- the reader -----------------------------------------------------------------------
    def card_on(self, key: str = "resident") -> None:
        """Place a card (a key of ``drivers.idcard.emulator.SAMPLE_CARDS``) on the reader.

        Placing a card counts as a new placement even when one lies there already, so the
        reader finds and reads it again.
        """
        reader = self._require("idcard")
        assert isinstance(reader, SamEmulator)
        reader.present(key)

    def card_off(self) -> None:
        """Take the card away."""
        reader = self._require("idcard")
        assert isinstance(reader, SamEmulator)
        reader.remove()

    def reader_fault(self, name: str) -> None:
        """Make the reader fail as ``name`` says (a :class:`drivers.idcard.emulator.Fault`
        value: removed_mid_read happens on the next read, sam_self_test_fail and silence
        last); ``clear`` makes it healthy again. ValueError names the faults."""
        from drivers.idcard.emulator import Fault

        reader = self._require("idcard")
        assert isinstance(reader, SamEmulator)
        if name == "clear":
            reader.clear_faults()
            return
        try:
            fault = Fault(name)
        except ValueError:
            raise ValueError(f"no reader fault {name!r}; use one of "
                             f"{', '.join(f.value for f in Fault)} or clear") from None
        reader.inject(fault, times=1 if fault is Fault.REMOVED_MID_READ else None)

    # --- the camera -----------------------------------------------------------------------
    def show_scene(self, name: str) -> None:
        """Show ``document``, ``qr`` (the demo receipt code), ``face``, ``blank``/``empty``
        (nobody, nothing) or ``black`` (lens covered)."""
        camera = self._require("camera")
        camera.show(_SCENE_ALIASES.get(name, name))

    def show_qr(self, text: str) -> None:
        """Hold a QR code holding ``text`` up to the camera."""
        camera = self._require("camera")
        camera.show_qr(text)

    # --- the printer ----------------------------------------------------------------------
    def set_paper(self, level: str) -> None:
        """Paper sensor: ``ok``, ``low`` (near end, still prints) or ``out``."""
        if level not in PAPER_LEVELS:
            raise ValueError(f"paper level must be one of {', '.join(PAPER_LEVELS)}")
        printer = self._require("printer")
        assert isinstance(printer, PrinterEmulator)
        printer.state.paper_near_end = level == "low"
        printer.state.paper_out = level == "out"

    def set_cover(self, is_open: bool) -> None:
        """Open or close the printer's paper cover."""
        printer = self._require("printer")
        assert isinstance(printer, PrinterEmulator)
        printer.state.cover_open = is_open

    def printed_lines(self) -> list[str]:
        """Every text line the emulated printer has printed, in order."""
        printer = self._require("printer")
        assert isinstance(printer, PrinterEmulator)
        return printer.lines()

    def printed_qr_payloads(self) -> list[str]:
        """The payloads of every QR code it has printed, in order."""
        printer = self._require("printer")
        assert isinstance(printer, PrinterEmulator)
        return printer.qr_payloads()

    def tear_off(self) -> None:
        """Forget what was printed (the slips were taken)."""
        printer = self._require("printer")
        assert isinstance(printer, PrinterEmulator)
        printer.clear()

    # --- helpers --------------------------------------------------------------------------
    def _emulator(self, device: str) -> SamEmulator | PrinterEmulator | SceneSource | None:
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
        if device == "camera":
            return self.camera  # made now, on first use
        return self.reader if device == "idcard" else self.printer

    def _require(self, device: str) -> SamEmulator | PrinterEmulator | SceneSource:
        emulator = self._emulator(device)
        if emulator is None:
            raise NotEmulated(f"the {device} is a real device, not an emulator")
        return emulator
