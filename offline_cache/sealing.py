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
    """The master key file is missing, malformed, readable by others or not ours."""


class MasterKeyMissing(KeyFileError):
    """The key file is gone while sealed records still need it: an alarm, never a new key.

    A fresh key would open none of them, so every queued application would end quarantined
    as unreadable; the only fix is restoring the file from backup.
    """

    def __init__(self, path: Path, records: int) -> None:
        self.path = path
        self.records = records
        super().__init__(
            f"{path}: the master key file is missing, and {records} sealed records on this "
            "kiosk need it (queued applications and their attachments); restore the key "
            "file from backup. No new key was made: it could open none of them."
        )


def open_master_key(path: Path, *, sealed_records: int, create: bool) -> bytes | None:
    """The master key in ``path``, after deciding whether a missing file may be replaced.

    ``sealed_records`` counts what needs the key now (offline_cache.keys counts it). A
    missing file with sealed records raises :class:`MasterKeyMissing`; without any, only a
    caller that is about to seal (``create``) makes a key, and a read-only caller gets
    ``None``: looking at the queue must never be what mints a key.
    """
    path = Path(path)
    if path.exists() or os.path.islink(path):
        return read_master_key(path)
    if sealed_records > 0:
        raise MasterKeyMissing(path, sealed_records)
    if not create:
        return None
    return load_or_create_master_key(path)


def load_or_create_master_key(path: Path) -> bytes:
    """The kiosk's 32-byte master key from ``path`` (hex, one line), created on first run.

    Prefer :func:`open_master_key`, which refuses to replace a key that sealed records still
    need. Creation is atomic (:func:`create_private_file`), so two processes starting
    together end with the same key, and the file is 0600 from its first byte.
    """
    path = Path(path)
    if path.exists() or os.path.islink(path):
        return read_master_key(path)  # no write at all on the usual path (a full disk)
    key = secrets.token_bytes(32)
    if create_private_file(path, (key.hex() + "\n").encode("ascii")):
        return key
    return read_master_key(path)  # the file was there already, or another process won


def read_master_key(path: Path) -> bytes:
    """The key in an existing ``path``; :class:`KeyFileError` when it must not be used.

    Refused: a file group or others may read or write (``chmod 600``), a file owned by
    another user, anything but 64 hex characters. The messages never quote the content.
    """
    path = Path(path)
    try:
        data = read_private_file(path)
    except FileNotFoundError:
        raise KeyFileError(f"{path}: the master key file is missing") from None
    except PermissionError as error:
        raise KeyFileError(str(error)) from None
    except OSError as error:
        raise KeyFileError(f"{path}: cannot read the key file: {error.strerror}") from None
    text = data.decode("ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise KeyFileError(f"{path}: not a key file (expected 64 hex characters on one line)")
    return key


def create_private_file(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new file ``path`` (mode 0600) atomically; False if it exists.

    Written to a temporary file in the same folder, fsynced, then hard-linked to its name:
    ``link`` fails when the name exists, so a reader never sees a half-written file (the
    race that made one of two processes starting together fail with "not a key file") and
    the first writer wins; the loser reads the winner's file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        _fsync_folder(path.parent)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def read_private_file(path: Path) -> bytes:
    """The bytes of ``path`` if only its owner, the user running us, may read or write it.

    ``PermissionError`` (with a message naming the file and the fix) otherwise. The checks
    use the opened descriptor, so the file checked is the file read.
    """
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(handle, "rb") as file:
        info = os.fstat(file.fileno())
        problem = private_file_problem(path, info)
        if problem:
            raise PermissionError(problem)
        return file.read()


def private_file_problem(path: Path, info: os.stat_result | None = None) -> str | None:
    """Why the key file ``path`` is not private, with the command that fixes it, or None."""
    info = info or os.stat(path)
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return (f"{path}: mode {mode:04o} lets group or others read or change the key; "
                f"run: chmod 600 {path}")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        return (f"{path}: owned by user id {info.st_uid}, not by the user running the kiosk "
                f"(id {os.geteuid()}); run: chown $(id -u) {path} && chmod 600 {path}")
    return None


def _fsync_folder(folder: Path) -> None:
    """Make a new directory entry durable (the key must survive a power cut)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


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
