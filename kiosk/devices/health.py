"""Health checks of the configured devices, for ``kiosk devices`` and the diagnostics screen.

Levels follow UnifiedPOS: INTERNAL changes nothing physical (reader self-test and status,
one camera frame, printer status bytes); EXTERNAL may move media (read the card on the
reader, print a test slip).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from drivers.device_url import DeviceURL
from drivers.model import Capabilities, DeviceState, HealthLevel
from kiosk.config import KioskConfig


@dataclass(frozen=True)
class HealthReport:
    """The outcome of one check, in words a technician can act on."""

    device: str
    url: str
    level: str
    state: str
    detail: str
    seconds: float

    @property
    def ok(self) -> bool:
        """The device can serve citizens."""
        return self.state == DeviceState.ONLINE.value


def check_idcard(url: DeviceURL, level: HealthLevel) -> tuple[DeviceState, str]:
    """Reset + SAM status (internal); also find and read a card when one lies there."""
    from drivers.device_url import DeviceURLError
    from drivers.idcard.connect import open_reader
    from drivers.idcard.reader import ReaderError

    try:
        reader, cleanup = open_reader(url)
    except DeviceURLError as error:  # e.g. usb://: a configuration fault, not a crash
        return DeviceState.NO_DEVICE, str(error)
    try:
        reader.open()
        status = reader.check_status()
        detail = f"SAM id {reader.sam_id().hex()}, self-test passed"
        if level is not HealthLevel.INTERNAL:
            identity = reader.read_card()
            detail += "; card read" if identity is not None else "; no card on the reader"
        return status.state, detail
    except ReaderError as error:
        return error.status.state, str(error)
    finally:
        cleanup()


def check_camera(url: DeviceURL, level: HealthLevel) -> tuple[DeviceState, str]:
    """One frame: its size, and whether it is black or flat (covered lens, dead sensor)."""
    from drivers.camera.qr import to_gray
    from drivers.camera.sources import CameraError, open_source

    try:
        source = open_source(url)
        try:
            frame = source.read()
        finally:
            source.close()
    except CameraError as error:
        return DeviceState.NO_DEVICE, str(error)
    except PermissionError as error:  # a node the kiosk user may not open: say what to fix
        return DeviceState.HARDWARE_ERROR, (
            f"permission denied on {error.filename or url}: add the kiosk user to the video group")
    gray = to_gray(frame)
    height, width = gray.shape
    mean, spread = float(gray.mean()), float(gray.std())
    detail = f"{width}x{height}, mean {mean:.0f}, contrast {spread:.1f}"
    if spread < 2.0:
        return DeviceState.HARDWARE_ERROR, detail + ": the image is flat (lens covered?)"
    if level is not HealthLevel.INTERNAL:
        from drivers.camera.qr import QRDecoder

        codes = QRDecoder().decode(frame)
        detail += f"; {len(codes)} QR code(s) in view"
    return DeviceState.ONLINE, detail


def check_printer(url: DeviceURL, level: HealthLevel) -> tuple[DeviceState, str]:
    """Status bytes (internal); a printed test slip and the status after it (external)."""
    from drivers.printer.connect import open_printer
    from drivers.printer.driver import PrinterError
    from drivers.printer.testslip import printer_test_slip

    try:
        driver, cleanup, _emulator = open_printer(url)
    except OSError as error:  # serial.SerialException is an OSError
        return DeviceState.NO_DEVICE, str(error)
    try:
        report = driver.status()
        detail = f"{report.reason}, paper {report.status.supplies.get('paper', 'unknown')}"
        if level is not HealthLevel.INTERNAL and report.ready:
            report = driver.print_receipt(printer_test_slip("selftest"))
            detail = f"test slip printed; {report.reason}"
        return report.status.state, detail
    except PrinterError as error:
        return error.status.state, str(error)
    finally:
        cleanup()


CAPABILITIES: dict[str, Capabilities] = {
    "idcard": Capabilities("IDC", ("text", "photo_opaque", "fingerprint_opaque", "new_address",
                                   "card_types_resident_J_I_Y")),
    "printer": Capabilities("PTR", ("gb18030_text", "qr_native", "barcode", "cut",
                                    "realtime_status")),
    "camera": Capabilities("CAM", ("qr", "document_capture", "face_presence")),
}
"""Capabilities of our drivers per device; a vendor model string comes with real hardware."""


CHECKS: dict[str, Callable[[DeviceURL, HealthLevel], tuple[DeviceState, str]]] = {
    "idcard": check_idcard,
    "printer": check_printer,
    "camera": check_camera,
}


def check_device(config: KioskConfig, name: str, level: HealthLevel) -> HealthReport:
    """Run the health check of device ``name`` at ``level``."""
    url = getattr(config.devices, name)
    started = time.perf_counter()
    state, detail = CHECKS[name](url, level)
    return HealthReport(name, str(url), level.value, state.value, detail,
                        time.perf_counter() - started)
