"""Personal data at rest: envelope encryption with AES-GCM.

Each record (an applicant, a form, an attachment) gets its own random 256-bit data key; the
record is encrypted with it, and the data key is wrapped by the kiosk's master key. The
master key lives in a file of its own (mode 0600, outside the database), so a copied
database, WAL or attachment folder reveals nothing, and deleting one wrapped key shreds one
record. ``aad`` binds a ciphertext to its place (e.g. the receipt number and the field), so
a blob moved to another record fails to open instead of showing the wrong person's data.

Blob layout (version 1): ``01 | wrap nonce (12) | wrapped key (48) | data nonce (12) |
ciphertext+tag``.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
NONCE = 12
WRAPPED = 32 + 16  # a 256-bit key plus the GCM tag
HEADER = 1 + NONCE + WRAPPED + NONCE


class SealError(Exception):
    """A sealed blob cannot be opened: damaged, moved to another record, or another key."""


class KeyFileError(Exception):
    """The master key file is missing, malformed or readable by others."""


def load_or_create_master_key(path: Path) -> bytes:
    """The kiosk's 32-byte master key from ``path`` (hex, one line), created on first run.

    Creation uses O_EXCL with mode 0600 so that the key is never readable by anyone else,
    not even for an instant; an existing file readable by group or others is refused.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_master_key(path)  # another process created it first
        with os.fdopen(handle, "w", encoding="ascii") as file:
            file.write(key.hex() + "\n")
            file.flush()
            os.fsync(file.fileno())
        return key
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{path}: mode {mode:04o} lets others read the key; chmod 600 it")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise KeyFileError(f"{path}: not a key file (expected 64 hex characters on one line)")
    return key


def seal(master_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` under a fresh data key wrapped by ``master_key``."""
    data_key = AESGCM.generate_key(bit_length=256)
    wrap_nonce, data_nonce = secrets.token_bytes(NONCE), secrets.token_bytes(NONCE)
    wrapped = AESGCM(master_key).encrypt(wrap_nonce, data_key, b"key|" + aad)
    ciphertext = AESGCM(data_key).encrypt(data_nonce, plaintext, b"data|" + aad)
    return bytes([VERSION]) + wrap_nonce + wrapped + data_nonce + ciphertext


def unseal(master_key: bytes, blob: bytes, aad: bytes) -> bytes:
    """The plaintext of ``blob``; SealError for anything but an intact blob of this record."""
    if len(blob) < HEADER + 16 or blob[0] != VERSION:
        raise SealError("not a sealed record (wrong version or too short)")
    wrap_nonce = blob[1 : 1 + NONCE]
    wrapped = blob[1 + NONCE : 1 + NONCE + WRAPPED]
    data_nonce = blob[1 + NONCE + WRAPPED : HEADER]
    try:
        data_key = AESGCM(master_key).decrypt(wrap_nonce, wrapped, b"key|" + aad)
        return AESGCM(data_key).decrypt(data_nonce, blob[HEADER:], b"data|" + aad)
    except InvalidTag:
        raise SealError("sealed record does not open: damaged, moved or another key") from None
