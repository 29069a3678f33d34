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
import stat
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
    """The key in ``path``; a clear :class:`KeyFileError` when it cannot be used.

    Refused as well as a malformed file: one that group or others may read or write (the
    message names the file and ``chmod 600``), and one owned by another user. A signing key
    others can read lets them act as this kiosk, so the kiosk does not sign with it at all.
    """
    path = Path(path)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no key file (provision the kiosk's platform key)") from None
    except OSError as error:
        raise KeyFileError(f"{path}: cannot read the key file: {error.strerror}") from None
    with os.fdopen(handle, "rb") as file:
        problem = key_file_problem(path, os.fstat(file.fileno()))
        if problem is not None:
            raise KeyFileError(problem)
        data = file.read()
    try:
        return parse_key(data)
    except KeyFileError as error:
        raise KeyFileError(f"{path}: {error}") from None


def key_file_problem(path: Path, info: os.stat_result | None = None) -> str | None:
    """Why the key file is not private to the user running us (with the fix), or None."""
    info = info or os.stat(path)
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return (f"{path}: mode {mode:04o} lets group or others read or change the platform "
                f"signing key; refusing to sign with it; run: chmod 600 {path}")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        return (f"{path}: owned by user id {info.st_uid}, not by the user running the kiosk "
                f"(id {os.geteuid()}); run: chown $(id -u) {path} && chmod 600 {path}")
    return None


def create_key_file(path: Path) -> bytes:
    """Make a new random key in ``path`` (mode 0600, never overwriting) and return it.

    Atomic: the key goes to a temporary 0600 file in the same folder, is fsynced, then
    hard-linked to ``path``; ``link`` fails when ``path`` exists (``FileExistsError``), so
    another process never reads a half-written key and never sees its key replaced.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                         0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(key.hex() + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)  # FileExistsError when the key is there already
    finally:
        temporary.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return key


def load_or_create_key_file(path: Path) -> bytes:
    """The key in ``path``, created first when the file does not exist (demo, tests).

    Two processes doing this at once end with the same key: the loser of the link reads
    the winner's complete file.
    """
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
