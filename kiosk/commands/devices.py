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


def cmd_list(args: argparse.Namespace) -> int:
    """Configured devices and their URLs."""
    config = load_config(args.config)
    rows = [{"device": name, "url": str(getattr(config.devices, name)),
             "transport": getattr(config.devices, name).scheme} for name in DEVICES]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['device']:<8} {row['transport']:<9} {row['url']}")
    return 0


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
