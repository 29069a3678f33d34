"""``kiosk diagnose``: the one health report a technician reads and a monitoring script parses.

The report itself is :mod:`kiosk.operations.diagnosis` (shared with the technician's screen
and the metrics); this module only prints it and turns its status into the exit code.
"""

from __future__ import annotations

import argparse
import json

from kiosk.config import load_config
from kiosk.operations.diagnosis import (  # noqa: F401  # re-exported for older callers
    DiagnosisReport,
    Finding,
    check_keys,
    diagnose,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``diagnose``."""
    parser = subparsers.add_parser(
        "diagnose",
        help="health report: storage, catalogue, fonts, languages, platform, keys, outbox, "
        "ID card reader, printer and camera (exit 0 ok, 1 degraded, 2 down)",
        description=(
            "Check everything the kiosk needs and print one line per finding: its status "
            "(ok, degraded, down), what was looked at, and the action it needs. Devices are "
            "checked without moving anything (no card read, no paper fed). Exit 0 when all "
            "is ok; 1 when the kiosk still serves citizens through a fallback (platform "
            "offline: applications queue; reader down: typed ID number; camera down: staff "
            "take materials; printer down or paper low/out: QR code on screen); 2 when it "
            "cannot serve (storage unwritable or full, no catalogue, fonts or languages "
            "missing, keys refused, outbox refusing applications). Takes under 2 s."
        ),
    )
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON (status, exit_code, findings)")
    parser.set_defaults(func=cmd_diagnose)


def format_text(report: DiagnosisReport) -> list[str]:
    """One line per finding (status, name, detail, action), then the overall status."""
    lines = []
    for finding in report.findings:
        action = f"  -> {finding.action}" if finding.action else ""
        lines.append(f"{finding.status.value:<8}  {finding.name:<9}  {finding.detail}{action}")
    lines.append(f"kiosk {report.kiosk_id}: {report.status.value} (exit {report.exit_code}), "
                 f"{report.seconds:.2f} s")
    return lines


def cmd_diagnose(args: argparse.Namespace) -> int:
    """Run the report; the configuration itself is checked by loading it."""
    report = diagnose(load_config(args.config))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(format_text(report)))
    return report.exit_code
