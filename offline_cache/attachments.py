"""Document photos of applications: sealed files named by the SHA-256 of their content.

Content addressing makes the upload idempotent (the platform's ``PUT /attachments/{sha256}``)
and a second copy of the same photo free. Each file is sealed with the kiosk key (a photo of
an ID card is personal data) and written atomically: temporary file, fsync, rename, fsync of
the folder. The database row that points at a file is committed only after the file is
durable, so a crash can leave a file without a row (removed by :meth:`reconcile`) but never
a row without its file, except when the disk itself lost it, which reconcile reports.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from offline_cache.sealing import SealError, seal, unseal

DIGEST = re.compile(r"[0-9a-f]{64}")


class AttachmentMissing(KeyError):
    """No (intact) file for this digest."""


@dataclass(frozen=True)
class Reconciliation:
    """What a start-up pass found: orphan files removed, referenced files missing."""

    removed_orphans: tuple[str, ...]
    missing: tuple[str, ...]
    removed_temporaries: int


class AttachmentStore:
    """Sealed, content-addressed files in one folder (0700; files 0600 via mkstemp)."""

    def __init__(self, directory: Path, master_key: bytes) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if stat.S_IMODE(self.directory.stat().st_mode) & 0o077:
            self.directory.chmod(0o700)  # from older software: photos of ID cards are private
        self.master_key = master_key

    def path(self, digest: str) -> Path:
        """Where the file of ``digest`` lives."""
        if not DIGEST.fullmatch(digest):
            raise ValueError("not a SHA-256 hex digest")
        return self.directory / f"{digest}.sealed"

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; returns its SHA-256 (hex). Storing it again is free."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(seal(self.master_key, data, digest.encode()))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return digest

    def get(self, digest: str) -> bytes:
        """The plaintext of ``digest``, checked against its name."""
        try:
            data = unseal(self.master_key, self.path(digest).read_bytes(), digest.encode())
        except (FileNotFoundError, SealError) as error:
            raise AttachmentMissing(digest) from error
        if hashlib.sha256(data).hexdigest() != digest:
            raise AttachmentMissing(digest)
        return data

    def delete(self, digest: str) -> None:
        """Remove the file (after the platform has it and retention is over)."""
        self.path(digest).unlink(missing_ok=True)

    def digests(self) -> set[str]:
        """Digests of every stored file."""
        names = (path.name.removesuffix(".sealed") for path in self.directory.glob("*.sealed"))
        return {name for name in names if DIGEST.fullmatch(name)}

    def reconcile(self, referenced: set[str], min_age_s: float = 0.0) -> Reconciliation:
        """Start-up pass: drop temporaries and unreferenced files, report missing ones.

        Only files older than ``min_age_s`` are removed: another process may be between
        writing a file and committing the row that references it (a submission in
        progress), and its fresh file must not be mistaken for a crash's leftover.
        """
        cutoff = time.time() - min_age_s
        temporaries = [path for path in self.directory.glob("*.tmp") if _older(path, cutoff)]
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        stored = self.digests()
        orphans = sorted(digest for digest in stored - referenced
                         if _older(self.path(digest), cutoff))
        for digest in orphans:
            self.delete(digest)
        return Reconciliation(tuple(orphans), tuple(sorted(referenced - stored)),
                              len(temporaries))


def _older(path: Path, cutoff: float) -> bool:
    """True when ``path`` was last modified before ``cutoff`` (False when it is gone)."""
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
