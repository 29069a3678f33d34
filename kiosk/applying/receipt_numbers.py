"""Receipt numbers made on the kiosk, so that a receipt prints while the network is down.

Format (platform contract): ``K{kiosk_id}-{yyyymmdd}-{sequence:06d}-{check}``, where the
check character is ISO 7064 MOD 37-2 over everything before it with the hyphens removed.
The same string is the receipt's QR payload and the platform's idempotency key, so the
parser below is also what reads a receipt held up to the camera.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
"""The 37 characters of ISO 7064 MOD 37-2: digits, letters A-Z and the supplementary '*'."""

PATTERN = re.compile(
    r"K(?P<kiosk>[0-9A-Z][0-9A-Z-]{0,31})-(?P<day>\d{8})-(?P<sequence>\d{6})"
    r"-(?P<check>[0-9A-Z*])"
)


class ReceiptNumberError(ValueError):
    """Not a receipt number of ours: wrong shape, impossible date or wrong check character."""


def pure_check(text: str, modulus: int, radix: int, alphabet: str) -> str:
    """The ISO 7064 pure-system check character of ``text`` (e.g. MOD 37-2, MOD 11-2).

    Each character's value is added and the sum multiplied by the radix, modulo the modulus;
    the check value is the one that brings the whole string to 1 (mod ``modulus``).
    """
    total = 0
    for char in text:
        value = alphabet.find(char)
        if value < 0:
            raise ReceiptNumberError(f"character {char!r} is not allowed in a receipt number")
        total = (total + value) * radix % modulus
    return alphabet[(modulus + 1 - total) % modulus]


def mod37_2(text: str) -> str:
    """ISO 7064 MOD 37-2 check character of ``text`` (hyphens removed first)."""
    return pure_check(text.replace("-", ""), 37, 2, ALPHABET)


@dataclass(frozen=True)
class ReceiptNumber:
    """A parsed receipt number."""

    kiosk_id: str
    day: date
    sequence: int

    def __str__(self) -> str:
        body = f"K{self.kiosk_id}-{self.day:%Y%m%d}-{self.sequence:06d}"
        return f"{body}-{mod37_2(body)}"


def make_receipt_number(kiosk_id: str, day: date, sequence: int) -> str:
    """The receipt number of the ``sequence``-th application of ``day`` on this kiosk."""
    kiosk_id = kiosk_id.upper()
    if not re.fullmatch(r"[0-9A-Z][0-9A-Z-]{0,31}", kiosk_id):
        raise ReceiptNumberError(f"kiosk id {kiosk_id!r}: letters, digits and hyphens only")
    if not 1 <= sequence <= 999_999:
        raise ReceiptNumberError(f"sequence {sequence} is outside 1..999999")
    return str(ReceiptNumber(kiosk_id, day, sequence))


def parse_receipt_number(text: str) -> ReceiptNumber:
    """Read a receipt number (typed, or scanned from a receipt's QR code); never guesses."""
    candidate = text.strip().upper()
    match = PATTERN.fullmatch(candidate)
    if match is None:
        raise ReceiptNumberError(
            "not a receipt number (expected K<kiosk>-<yyyymmdd>-<6 digits>-<check>)")
    try:
        day = date(int(match["day"][:4]), int(match["day"][4:6]), int(match["day"][6:]))
    except ValueError:
        raise ReceiptNumberError(f"impossible date {match['day']}") from None
    body = candidate[: candidate.rindex("-")]
    if mod37_2(body) != match["check"]:
        raise ReceiptNumberError("check character does not match: mistyped or damaged")
    sequence = int(match["sequence"])
    if sequence == 0:
        raise ReceiptNumberError("sequence 000000 is never issued")
    return ReceiptNumber(match["kiosk"], day, sequence)
