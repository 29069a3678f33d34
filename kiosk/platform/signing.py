"""Request signatures of the platform contract (HMAC-SHA256 over the request).

One module for both ends, so the kiosk's client and the reference platform can never drift
apart on the string-to-sign:

    METHOD \\n PATH_WITH_QUERY \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(body))

The key is 32 bytes, kept in the kiosk's key file as 64 lowercase hex characters on one
line. The key file is a secret: it is created with mode 0600 and never printed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

KEY_BYTES = 32
MAX_SKEW_S = 300
"""The server rejects a timestamp further than this from its clock."""
NONCE_TTL_S = 600
"""The server remembers nonces this long (10 minutes)."""

HEADER_KIOSK = "X-Kiosk-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"


class KeyFileError(Exception):
    """The key file is missing, unreadable or not 64 lowercase hex characters."""


def parse_key(text: bytes) -> bytes:
    """The 32-byte key from a key file's bytes (one line of 64 lowercase hex characters).

    Says what is wrong without quoting the content: a key must never reach a log.
    """
    try:
        line = text.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError("the key file is not ASCII text") from None
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    if len(line) != 2 * KEY_BYTES:
        raise KeyFileError(
            f"the key must be {2 * KEY_BYTES} hex characters on one line, found {len(line)}"
        )
    if any(char not in "0123456789abcdef" for char in line):
        raise KeyFileError("the key must be lowercase hex (0-9, a-f)")
    return bytes.fromhex(line)


def read_key_file(path: Path) -> bytes:
    """The key in ``path``; a clear :class:`KeyFileError` when it cannot be used."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no key file (provision the kiosk's platform key)") from None
    except OSError as error:
        raise KeyFileError(f"{path}: cannot read the key file: {error.strerror}") from None
    try:
        return parse_key(data)
    except KeyFileError as error:
        raise KeyFileError(f"{path}: {error}") from None


def create_key_file(path: Path) -> bytes:
    """Make a new random key in ``path`` (mode 0600, never overwriting) and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key.hex() + "\n")
        file.flush()
        os.fsync(file.fileno())
    return key


def load_or_create_key_file(path: Path) -> bytes:
    """The key in ``path``, created first when the file does not exist (demo, tests)."""
    try:
        return create_key_file(path)
    except FileExistsError:
        return read_key_file(path)


def string_to_sign(method: str, path_with_query: str, timestamp: str, nonce: str,
                   body: bytes) -> bytes:
    """The exact bytes the HMAC covers (contract, section Authentication)."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path_with_query, timestamp, nonce, digest)).encode()


def signature(key: bytes, method: str, path_with_query: str, timestamp: str, nonce: str,
              body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the request."""
    message = string_to_sign(method, path_with_query, timestamp, nonce, body)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_headers(kiosk_id: str, key: bytes, method: str, path_with_query: str, body: bytes,
                   *, now: float | None = None, nonce: str | None = None) -> dict[str, str]:
    """The four authentication headers for one request."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_hex(16)
    return {
        HEADER_KIOSK: kiosk_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature(key, method, path_with_query, timestamp, nonce, body),
    }


def signature_matches(key: bytes, method: str, path_with_query: str, timestamp: str,
                      nonce: str, body: bytes, claimed: str) -> bool:
    """Constant-time check of a claimed signature (the server's side)."""
    expected = signature(key, method, path_with_query, timestamp, nonce, body)
    return hmac.compare_digest(expected.encode(), claimed.encode("utf-8", "replace"))
