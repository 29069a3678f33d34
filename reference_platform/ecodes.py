"""Sample electronic-ID codes: the payload of the e-ID QR code a citizen's phone shows.

A real e-ID code is issued and resolved by the platform alone; the kiosk only passes it on
(``POST /identity/ecode``). The reference platform needs codes that tests, the camera
emulator's QR scene and journey scripts can make, and that it can check *without storing
anything*, so a sample code carries its own proof::

    EID1.{person}.{issued}.{mac}

* ``person``: the sample person's position in ``data/sample_people.json`` (0, 1, ...).
  Never the ID number: the code is shown as a QR code and can be photographed.
* ``issued``: Unix seconds when the code was made (a whole number).
* ``mac``: the first 32 lowercase hex characters of
  HMAC-SHA256(:data:`SAMPLE_SECRET`, ``"EID1.{person}.{issued}"``).

A code resolves for :data:`LIFETIME_S` seconds after ``issued``; one dated more than that
in the future is refused too (a forged or badly clocked issuer). The secret is written
here on purpose: these are **sample** codes for sample persons, and anyone may make one.
A real platform's codes are opaque tokens only it can resolve.

``python -m reference_platform.ecodes [CARD]`` prints a fresh code for a sample person
(``resident`` by default), for a demo operator to put on a phone screen or a QR generator.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sys
import time

PREFIX = "EID1"
LIFETIME_S = 60
"""Seconds a code lives after it was issued (the contract's 60 seconds)."""

SAMPLE_SECRET = b"gov-kiosk reference platform: SAMPLE e-ID secret, not a secret at all"
"""Signs sample codes only. Public by design: never use it (or this scheme) for real people."""

MAC_CHARS = 32
_CODE = re.compile(rf"{PREFIX}\.(0|[1-9][0-9]{{0,5}})\.(0|[1-9][0-9]{{0,11}})"
                   rf"\.([0-9a-f]{{{MAC_CHARS}}})")


def _mac(person: int, issued: int) -> str:
    message = f"{PREFIX}.{person}.{issued}".encode("ascii")
    return hmac.new(SAMPLE_SECRET, message, hashlib.sha256).hexdigest()[:MAC_CHARS]


def sign(person: int, issued_at: float) -> str:
    """The code of sample person number ``person`` issued at ``issued_at`` (Unix seconds;
    the fraction is dropped)."""
    if person < 0:
        raise ValueError("a person index is never negative")
    issued = int(issued_at)
    if issued < 0:
        raise ValueError("issued_at must be a Unix time")
    return f"{PREFIX}.{person}.{issued}.{_mac(person, issued)}"


def verify(code: str, now: float) -> int | None:
    """The person index a code names, or None when the code is garbled, forged, expired
    or dated in the future by more than :data:`LIFETIME_S`. Never raises on any text."""
    if not isinstance(code, str):
        return None
    match = _CODE.fullmatch(code)
    if match is None:
        return None
    person, issued = int(match.group(1)), int(match.group(2))
    if not hmac.compare_digest(_mac(person, issued), match.group(3)):
        return None
    if abs(now - issued) > LIFETIME_S:
        return None
    return person


def main(argv: list[str] | None = None) -> int:
    """Print a fresh sample code for a sample person (by emulator card key)."""
    from reference_platform.samples import ecode_for_card

    args = sys.argv[1:] if argv is None else argv
    card = args[0] if args else "resident"
    try:
        print(ecode_for_card(card, time.time()))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
