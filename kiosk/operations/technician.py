"""Technicians' access to the diagnostics screen: PINs, the lockout, and the audit.

Deployed terminals hide their service menu behind one staff PIN written in their client
code, the same on every kiosk and known to everyone who ever had the APK. Here each named
technician sets a PIN on the kiosk itself (``kiosk technician set-pin NAME``); the kiosk
keeps only a salted scrypt hash of it, in its database (offline_cache.technician_store).

- A PIN is 6 to 8 digits and not a trivial one (000000, 123456, 121212...): a touchscreen
  keypad gives no other kind of secret, so the few it has must not be the first guesses.
- Five wrong tries lock the keypad for :data:`LOCK_SECONDS`, doubling at each lockout in
  a row (up to :data:`MAX_LOCK_SECONDS`); the count and the lock are in SQLite, so a
  restart (or a pulled plug) does not reset them. A right PIN resets both.
- Every entry (ok, wrong, locked) and every technician action is audited: when, who, what
  and a short detail that this module words itself, never a PIN, never citizen data.

Each call opens the database for itself and closes it: the PIN screen runs on the UI thread
and the ``kiosk technician`` command in another process, and neither holds a connection
another thread would then have to share.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from offline_cache.database import open_database
from offline_cache.reasons import clear_reason
from offline_cache.technician_store import AuditRow, Guard, StoredPin, TechnicianStore

PIN_LENGTHS = range(6, 9)
"""A PIN has 6, 7 or 8 digits: at least a million values, and still typed in seconds."""

MAX_TRIES = 5
"""Wrong PINs in a row before the keypad locks."""

LOCK_SECONDS = 300.0
"""The first lockout: five minutes stops a guesser (five tries per five minutes is 1,440
tries a day against a million PINs) and costs a technician who mistyped little."""

MAX_LOCK_SECONDS = 4 * 3600.0
"""Lockouts in a row double up to this: a determined guesser gets a few tries a day."""

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
"""scrypt's cost: N=2^14, r=8, p=1 (16 MiB of memory, some 30-60 ms on a kiosk PC).

A 6-digit PIN has only a million values, so no hash makes a stolen database safe for
long; what the cost buys is time: about half a day of one core per technician's PIN
(salted, so nothing is shared between PINs or kiosks), and memory-hard so that a GPU gains
little. It stays below the 32 MiB OpenSSL allows by default and fast enough to check on
the UI thread at a tap. The cost is stored with each hash, so a later release can raise it
and old PINs still check until they are set again. The database itself is private (0600).
"""

SALT_BYTES = 16
HASH_BYTES = 32

NOBODY = "-"
"""``who`` of an audit row when no technician is known (a wrong or locked PIN entry)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_ACTION = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

_COMMON = frozenset({
    "112233", "11223344", "123321", "12344321", "147258", "147852", "159753", "258369",
    "369258", "456123", "789456", "520131", "5201314", "13141314", "987654321",
})
"""Keypad patterns and numbers people choose first that the rules below do not catch
(columns of the keypad, "I love you for life" 5201314...)."""


class PinRefused(ValueError):
    """The PIN may not be used; the message says why (never the PIN itself)."""


class NameRefused(ValueError):
    """The technician's name is not a short plain identifier."""


@dataclass(frozen=True)
class Entry:
    """What a PIN typed on the keypad gave.

    ``outcome``: ``ok`` (``who`` is the technician), ``wrong`` (``tries_left`` before the
    lockout), ``locked`` (``locked_for`` seconds remain) or ``no_pin`` (no technician has
    a PIN on this kiosk: ``kiosk technician set-pin NAME`` sets one).
    """

    outcome: str
    who: str | None = None
    tries_left: int = MAX_TRIES
    locked_for: float = 0.0


def check_name(who: str) -> str:
    """``who`` if it is 1-32 letters, digits, dots, dashes or underscores (a staff login,
    not a person's full name: it is printed in audit listings)."""
    if not isinstance(who, str) or not _NAME.match(who):
        raise NameRefused("a technician's name is 1 to 32 letters, digits, '.', '_' or '-'"
                          " (for example wang.li)")
    return who


def check_pin(pin: str) -> str:
    """``pin`` if it may be a technician's PIN, else :class:`PinRefused` saying why."""
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit() \
            or len(pin) not in PIN_LENGTHS:
        raise PinRefused("a PIN is 6 to 8 digits")
    if is_trivial(pin):
        raise PinRefused("this PIN is too easy to guess (a repeated digit, a run like "
                         "123456, a repeated group or a common keypad pattern)")
    return pin


def is_trivial(pin: str) -> bool:
    """One digit repeated, a run up or down (wrapping: 890123), a group repeated
    (121212, 123123, 12341234) or a commonly chosen pattern."""
    digits = [int(c) for c in pin]
    steps = {(b - a) % 10 for a, b in itertools.pairwise(digits)}
    if len(steps) == 1 and steps <= {0, 1, 9}:
        return True
    for size in range(1, len(pin) // 2 + 1):
        if len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size):
            return True
    return pin in _COMMON


def hash_pin(pin: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R,
             p: int = SCRYPT_P) -> bytes:
    """scrypt of ``pin`` with ``salt`` at the given cost (see :data:`SCRYPT_N`)."""
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES,
                          maxmem=64 * 1024 * 1024)


def make_pin(who: str, pin: str, now: float) -> StoredPin:
    """The row to store for ``who``'s new ``pin``: a fresh salt and its hash."""
    salt = secrets.token_bytes(SALT_BYTES)
    return StoredPin(who, salt, hash_pin(pin, salt), SCRYPT_N, SCRYPT_R, SCRYPT_P, now)


def pin_matches(stored: StoredPin, pin: str) -> bool:
    """Whether ``pin`` is ``stored``'s PIN, compared in constant time."""
    return hmac.compare_digest(hash_pin(pin, stored.salt, stored.n, stored.r, stored.p),
                               stored.pin_hash)


def lock_seconds(lockouts: int) -> float:
    """How long the ``lockouts``-th lockout in a row lasts (1: :data:`LOCK_SECONDS`)."""
    return min(MAX_LOCK_SECONDS, LOCK_SECONDS * 2 ** max(0, lockouts - 1))


class TechnicianAccess:
    """PINs, the lockout and the audit, kept in the kiosk database at ``database``.

    ``clock`` gives the time (seconds since the epoch): tests pass their own to see a
    lockout end without waiting five minutes.
    """

    def __init__(self, database: Path, clock: Callable[[], float] = time.time) -> None:
        self.database = Path(database)
        self.clock = clock

    @contextmanager
    def _store(self) -> Iterator[TechnicianStore]:
        conn = open_database(self.database)
        try:
            yield TechnicianStore(conn)
        finally:
            conn.close()

    # -- technicians ---------------------------------------------------------------------
    def set_pin(self, who: str, pin: str, *, by: str = "cli") -> None:
        """Set (or change) ``who``'s PIN; :class:`NameRefused` / :class:`PinRefused`."""
        check_name(who)
        check_pin(pin)
        now = self.clock()
        with self._store() as store:
            replaced = any(stored.who == who for stored in store.pins())
            store.save_pin(make_pin(who, pin, now))
            store.audit(now, who, "pin_changed" if replaced else "pin_set", f"by {by}")

    def remove(self, who: str, *, by: str = "cli") -> bool:
        """Forget ``who``'s PIN (audited); False when ``who`` had none."""
        check_name(who)
        with self._store() as store:
            removed = store.remove(who)
            if removed:
                store.audit(self.clock(), who, "pin_removed", f"by {by}")
        return removed

    def technicians(self) -> list[tuple[str, float]]:
        """``(who, when the PIN was set)`` of every technician, by name."""
        with self._store() as store:
            return [(stored.who, stored.set_at) for stored in store.pins()]

    def has_pins(self) -> bool:
        """Whether any technician can open the diagnostics screen."""
        with self._store() as store:
            return store.count() > 0

    # -- the keypad ----------------------------------------------------------------------
    def state(self) -> Entry:
        """What the keypad would say now, without an entry: ``no_pin``, ``locked`` with the
        time left, or ``wrong`` carrying the tries left (``ok`` is never returned)."""
        now = self.clock()
        with self._store() as store:
            if store.count() == 0:
                return Entry("no_pin")
            guard = _expired(store.guard(), now)
        if guard.locked_until is not None:
            return Entry("locked", tries_left=0, locked_for=_remaining(guard, now))
        return Entry("wrong", tries_left=MAX_TRIES - guard.failures)

    def enter(self, pin: str) -> Entry:
        """Check a PIN typed on the keypad; counts, locks and audits (never the PIN)."""
        now = self.clock()
        with self._store() as store:
            pins = store.pins()
            if not pins:
                store.audit(now, NOBODY, "pin_no_technician", "no PIN is set on this kiosk")
                return Entry("no_pin")
            guard = _expired(store.guard(), now)
            if guard.locked_until is not None:
                left = _remaining(guard, now)
                store.guard_and_audit(guard, now, NOBODY, "pin_locked",
                                      f"entry refused, locked {round(left)} s more")
                return Entry("locked", tries_left=0, locked_for=left)
            # every stored PIN is checked, so the time taken does not say which matched
            matches = [stored.who for stored in pins if pin_matches(stored, pin)]
            if matches:
                store.guard_and_audit(Guard(), now, matches[0], "pin_ok", "diagnostics opened")
                return Entry("ok", who=matches[0], tries_left=MAX_TRIES)
            failures = guard.failures + 1
            if failures >= MAX_TRIES:
                lockouts = guard.lockouts + 1
                seconds = lock_seconds(lockouts)
                store.guard_and_audit(Guard(failures, lockouts, now + seconds), now, NOBODY,
                                      "pin_wrong", f"wrong PIN {failures}; keypad locked "
                                      f"for {round(seconds)} s (lockout {lockouts})")
                return Entry("locked", tries_left=0, locked_for=seconds)
            store.guard_and_audit(Guard(failures, guard.lockouts, None), now, NOBODY,
                                  "pin_wrong", f"wrong PIN {failures} of {MAX_TRIES}")
            return Entry("wrong", tries_left=MAX_TRIES - failures)

    # -- the audit -----------------------------------------------------------------------
    def record(self, who: str, what: str, detail: str = "") -> None:
        """Audit one technician action. ``what`` is an action name (``test_print``);
        ``detail`` is cleared of anything that might be personal data (digit runs, non-ASCII
        words) and cut to 200 characters, as a second line of defence."""
        if not _ACTION.match(what):
            raise ValueError(f"an audit action is a lower-case name, not {what!r}")
        with self._store() as store:
            store.audit(self.clock(), who if _NAME.match(who) else NOBODY, what,
                        clear_reason(detail) or "")

    def audit(self, limit: int = 50) -> list[AuditRow]:
        """The latest ``limit`` audit rows, newest first."""
        with self._store() as store:
            return store.audit_rows(limit)


def _expired(guard: Guard, now: float) -> Guard:
    """``guard`` as it stands at ``now``: a lockout that has run out gives five new tries
    (the lockout count stays, so the next one is twice as long)."""
    if guard.locked_until is not None and now >= guard.locked_until:
        return Guard(0, guard.lockouts, None)
    return guard


def _remaining(guard: Guard, now: float) -> float:
    """Seconds of lockout left, never more than the lockout's own length (a clock set back
    by hours must not lock the keypad for hours)."""
    assert guard.locked_until is not None
    return max(0.0, min(guard.locked_until - now, lock_seconds(max(1, guard.lockouts))))


__all__ = [
    "MAX_TRIES",
    "AuditRow",
    "Entry",
    "NameRefused",
    "PinRefused",
    "TechnicianAccess",
    "check_name",
    "check_pin",
    "hash_pin",
    "is_trivial",
]
