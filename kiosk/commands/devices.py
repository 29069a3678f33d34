"""``kiosk devices``: the technician's tools for the ID reader, printer and camera.

Every subcommand works on the devices named in the configuration or on a URL given on the
command line, so a technician can test a real device and its emulator the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drivers.device_url import DeviceURLError, parse_device_url
from kiosk.config import load_config

DEVICES = ("idcard", "printer", "camera")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``devices`` and its subcommands."""
    parser = subparsers.add_parser(
        "devices",
        help="list and test the ID card reader, receipt printer and camera",
        description=(
            "Technician tools for the kiosk's devices. Devices are named by URL in the "
            "configuration ([devices]); emulator:// URLs use the built-in emulators."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="show the configured device URLs",
        description="Print each configured device with its URL and transport.",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_list)

    status = actions.add_parser(
        "status", help="check every configured device without moving anything",
        description=(
            "Run the internal health check of each configured device (reader self-test, "
            "printer status bytes, one camera frame) and print its state. Exit 1 when any "
            "device is not online."
        ),
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status, level="internal", names=None)

    selftest = actions.add_parser(
        "selftest", help="full check of one or all devices (reads a card, prints a slip)",
        description=(
            "Run the external health check: the reader reads the card lying on it, the "
            "printer prints a test slip, the camera looks for QR codes. Exit 1 when any "
            "device fails."
        ),
    )
    selftest.add_argument("name", nargs="?", choices=DEVICES, help="one device (default all)")
    selftest.add_argument("--json", action="store_true", help="print JSON")
    selftest.set_defaults(func=cmd_status, level="external")

    scan = actions.add_parser(
        "scan-qr", help="decode QR codes from an image file or one camera frame",
        description=(
            "Decode every QR code in an image file (--image) or in one frame from a camera "
            "URL (--camera, e.g. emulator://camera?scene=qr or v4l2:///dev/video0) and "
            "print the payloads, one per line. Exit 1 when none is found."
        ),
    )
    source = scan.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, help="an image file")
    source.add_argument("--camera", metavar="URL", help="a camera URL")
    scan.add_argument("--engine", choices=("zxing", "opencv"), default="zxing",
                      help="decoder (default zxing; see docs/benchmarks.md)")
    scan.set_defaults(func=cmd_scan_qr)

    read = actions.add_parser(
        "read-idcard", help="read one ID card and print the identity (number masked)",
        description=(
            "Open the reader at --port (default: the configured idcard URL), read one card "
            "and print the parsed identity. The ID number is masked (first 3, last 4) with only "
            "the card type, name and nation beside it (a birth date, gender, issuer or "
            "validity beside it would help rebuild it) unless --show-number is given. Exit 1 "
            "with the reason "
            "when no card could be read."
        ),
    )
    read.add_argument("--port", metavar="URL",
                      help="reader URL, e.g. serial:///dev/ttyUSB0 or emulator://idcard?card=hmt")
    read.add_argument("--json", action="store_true", help="print JSON")
    read.add_argument("--show-number", action="store_true",
                      help="print the full ID number and the address (the citizen is present)")
    read.set_defaults(func=cmd_read_idcard)

    print_test = actions.add_parser(
        "print-test", help="print a test slip (Chinese text, QR code, cut) and report status",
        description=(
            "Check the printer's status, print a test slip with Chinese text, punctuation, "
            "the yen sign, a QR code and a cut, then check the status again. With an "
            "emulator:// URL the slip as the emulator understood it is shown. Exit 1 with "
            "the reason when the printer is not ready or the print failed."
        ),
    )
    print_test.add_argument("--printer", metavar="URL",
                            help="printer URL (default: the configured printer), e.g. "
                            "tcp://10.1.2.3:9100 or emulator://printer?paper=low")
    print_test.set_defaults(func=cmd_print_test)

    emulate = actions.add_parser(
        "emulate", help="run a device emulator on a new pty",
        description=(
            "Start an emulator on a new pseudo-terminal and print its path, so that any "
            "serial tool (or 'kiosk devices read-idcard --port serial://PATH') can talk to "
            "it. Runs until interrupted."
        ),
    )
    emulate.add_argument("device", choices=("idcard", "printer"), help="which device")
    emulate.add_argument("--pty", action="store_true", required=True,
                         help="serve on a new pty (the only transport for now)")
    emulate.add_argument("--card", default="resident",
                         help="idcard: sample card on the reader (default resident; none)")
    emulate.add_argument("--paper", choices=("ok", "low", "out"), default="ok",
                         help="printer: paper sensor state (default ok)")
    emulate.set_defaults(func=cmd_emulate)


def cmd_list(args: argparse.Namespace) -> int:
    """Configured devices and their URLs."""
    from kiosk.devices.health import CAPABILITIES

    config = load_config(args.config)
    rows = [{"device": name, "url": str(getattr(config.devices, name)),
             "transport": getattr(config.devices, name).scheme,
             "class": CAPABILITIES[name].device_class,
             "features": list(CAPABILITIES[name].features)} for name in DEVICES]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['device']:<8} {row['class']:<4} {row['transport']:<9} {row['url']}  "
                  f"[{', '.join(row['features'])}]")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Health reports of the chosen devices."""
    from dataclasses import asdict

    from drivers.model import HealthLevel
    from kiosk.devices.health import CHECKS, check_device

    config = load_config(args.config)
    names = [args.name] if getattr(args, "name", None) else [n for n in DEVICES if n in CHECKS]
    reports = [check_device(config, name, HealthLevel(args.level)) for name in names]
    if args.json:
        print(json.dumps([asdict(r) | {"ok": r.ok} for r in reports], ensure_ascii=False,
                         indent=2))
    else:
        for report in reports:
            print(f"{'ok  ' if report.ok else 'FAIL'}  {report.device:<8} {report.state:<14} "
                  f"{report.detail} ({report.seconds * 1000:.0f} ms)")
    return 0 if all(report.ok for report in reports) else 1


def cmd_scan_qr(args: argparse.Namespace) -> int:
    """Print the payload of every QR code found."""
    import cv2

    from drivers.camera.qr import QRDecoder
    from drivers.camera.sources import CameraError, open_source

    try:
        if args.image is not None:
            frame = cv2.imread(str(args.image), cv2.IMREAD_COLOR)
            if frame is None:
                print(f"kiosk devices scan-qr: {args.image}: not a readable image",
                      file=sys.stderr)
                return 2
        else:
            source = open_source(parse_device_url(args.camera))
            try:
                frame = source.read()
            finally:
                source.close()
    except (CameraError, DeviceURLError) as error:
        print(f"kiosk devices scan-qr: {error}", file=sys.stderr)
        return 2
    codes = QRDecoder(args.engine).decode(frame)
    for code in codes:
        print(code.text)
    if not codes:
        print("kiosk devices scan-qr: no QR code found", file=sys.stderr)
    return 0 if codes else 1


def identity_fields(identity, show_number: bool) -> dict[str, str]:
    """Printable fields of an identity.

    By default the number is masked and only what cannot help rebuild it stands beside it
    (:data:`drivers.idcard.identity.SHOWN_BESIDE_MASKED`); ``--show-number`` shows all.
    """
    from drivers.idcard.identity import SHOWN_BESIDE_MASKED, mask_number

    fields = {
        "card_type": identity.card_type,
        "name": identity.name,
        "gender": identity.gender,
        "nation": identity.nation,
        "birth_date": identity.birth_date,
        "id_number": identity.id_number,
        "issuer": identity.issuer,
        "valid_from": identity.valid_from,
        "valid_to": identity.valid_to,
        "address": identity.address,
    }
    if not show_number:
        fields = {key: value for key, value in fields.items() if key in SHOWN_BESIDE_MASKED}
        fields["id_number"] = mask_number(identity.id_number)
    return {key: str(value) for key, value in fields.items() if value}


def cmd_read_idcard(args: argparse.Namespace) -> int:
    """One read; the reason on failure."""
    from drivers.idcard.connect import open_reader
    from drivers.idcard.reader import ReaderError

    try:
        url = parse_device_url(args.port) if args.port else load_config(args.config).devices.idcard
        reader, cleanup = open_reader(url)
    except DeviceURLError as error:
        print(f"kiosk devices read-idcard: {error}", file=sys.stderr)
        return 2
    try:
        reader.open()
        identity = reader.read_card()
    except ReaderError as error:
        print(f"kiosk devices read-idcard: {error} (device {error.status.state.value})",
              file=sys.stderr)
        return 1
    finally:
        cleanup()
    if identity is None:
        print("kiosk devices read-idcard: no card on the reader", file=sys.stderr)
        return 1
    fields = identity_fields(identity, args.show_number)
    if args.json:
        print(json.dumps(fields, ensure_ascii=False, indent=2))
    else:
        for key, value in fields.items():
            print(f"{key:<11} {value}")
    return 0


def cmd_emulate(args: argparse.Namespace) -> int:
    """Serve the emulator until Ctrl-C."""
    import signal

    from drivers.idcard.connect import start_emulator
    from drivers.printer.connect import emulator_state
    from drivers.printer.emulator import PrinterEmulator

    try:
        if args.device == "idcard":
            emulator = start_emulator(parse_device_url(f"emulator://idcard?card={args.card}"))
        else:
            url = parse_device_url(f"emulator://printer?paper={args.paper}")
            emulator = PrinterEmulator(emulator_state(url))
    except DeviceURLError as error:
        print(f"kiosk devices emulate: {error}", file=sys.stderr)
        return 2
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # delivered to sigwait below
    path = emulator.start_pty()
    print(path, flush=True)
    try:
        signal.sigwait(stop_signals)
    finally:
        emulator.stop()
    if args.device == "printer":
        # what was printed, as the emulator understood it, for the technician to compare
        for line in emulator.lines():
            print(line)
        for payload in emulator.qr_payloads():
            print(f"[QR] {payload}")
    return 0


def cmd_print_test(args: argparse.Namespace) -> int:
    """Status, test slip, status."""
    import time

    from drivers.printer.connect import open_printer
    from drivers.printer.driver import PrinterError
    from drivers.printer.testslip import printer_test_slip

    try:
        config = load_config(args.config)
        url = parse_device_url(args.printer) if args.printer else config.devices.printer
        driver, cleanup, emulator = open_printer(url)
    except (DeviceURLError, OSError) as error:
        print(f"kiosk devices print-test: {error}", file=sys.stderr)
        return 2
    try:
        before = driver.status()
        print(f"before: {before.status.state.value}, {before.reason}")
        after = driver.print_receipt(printer_test_slip(config.kiosk.id))
        print(f"after:  {after.status.state.value}, {after.reason}")
        if emulator is not None:
            time.sleep(0.2)  # the emulator thread parses what the pty delivered
            print("--- slip as printed (emulator) ---")
            for line in emulator.lines():
                print(line)
            for payload in emulator.qr_payloads():
                print(f"[QR] {payload}")
    except PrinterError as error:
        print(f"kiosk devices print-test: {error} ({error.reason}; action "
              f"{error.action.value if error.action else 'none'})", file=sys.stderr)
        return 1
    finally:
        cleanup()
    return 0
