"""Technicians' PINs: hashed with scrypt, trivial ones refused, five wrong tries lock the
keypad (doubling, surviving a restart), every entry audited without the PIN."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.operations.technician import (
    LOCK_SECONDS,
    MAX_TRIES,
    NameRefused,
    PinRefused,
    TechnicianAccess,
    check_pin,
    hash_pin,
    is_trivial,
)


class FakeClock:
    """A clock the test moves by hand: a lockout ends without five minutes of waiting."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def access(tmp_path: Path, clock: FakeClock) -> TechnicianAccess:
    access = TechnicianAccess(tmp_path / "kiosk.db", clock=clock)
    access.set_pin("wang.li", "246810")
    return access


def test_pin_is_stored_only_as_a_salted_scrypt_hash(tmp_path: Path, access: TechnicianAccess):
    access.set_pin("zhao", "246810")  # the same PIN as wang.li
    with sqlite3.connect(tmp_path / "kiosk.db") as conn:
        rows = conn.execute("SELECT who, salt, pin_hash, scrypt_n FROM technicians").fetchall()
    assert len(rows) == 2
    (_, salt_a, hash_a, n), (_, salt_b, hash_b, _) = rows
    assert salt_a != salt_b and hash_a != hash_b  # salted: equal PINs do not show
    assert hash_pin("246810", bytes(salt_a), n) == bytes(hash_a)
    assert b"246810" not in (tmp_path / "kiosk.db").read_bytes()


def test_right_pin_opens_and_names_the_technician(access: TechnicianAccess):
    entry = access.enter("246810")
    assert (entry.outcome, entry.who) == ("ok", "wang.li")
    assert access.enter("246811").outcome == "wrong"


@pytest.mark.parametrize("pin", ["000000", "123456", "654321", "890123", "121212",
                                 "123123", "12341234", "11223344", "5201314"])
def test_trivial_pins_are_refused(pin: str, access: TechnicianAccess):
    assert is_trivial(pin)
    with pytest.raises(PinRefused, match="too easy"):
        access.set_pin("zhao", pin)


@pytest.mark.parametrize("pin", ["12345", "123456789", "24681a", "２４６８１０", ""])
def test_pins_that_are_not_6_to_8_digits_are_refused(pin: str):
    with pytest.raises(PinRefused, match="6 to 8 digits"):
        check_pin(pin)


@pytest.mark.parametrize("who", ["", "王丽", "a b", "x" * 33, "-lead", "a;drop"])
def test_names_are_plain_identifiers(who: str, access: TechnicianAccess):
    with pytest.raises(NameRefused):
        access.set_pin(who, "246810")


def test_five_wrong_tries_lock_until_the_time_runs_out(access: TechnicianAccess,
                                                      clock: FakeClock):
    lefts = [access.enter("975310").tries_left for _ in range(MAX_TRIES - 1)]
    assert lefts == [4, 3, 2, 1]
    fifth = access.enter("975310")
    assert (fifth.outcome, fifth.locked_for) == ("locked", LOCK_SECONDS)
    clock.now += 60
    locked = access.enter("246810")  # even the right PIN is not checked while locked
    assert (locked.outcome, locked.locked_for) == ("locked", LOCK_SECONDS - 60)
    clock.now += LOCK_SECONDS - 60
    assert access.enter("246810").outcome == "ok"


def test_a_second_lockout_in_a_row_lasts_twice_as_long(access: TechnicianAccess,
                                                       clock: FakeClock):
    for _ in range(MAX_TRIES):
        access.enter("975310")
    clock.now += LOCK_SECONDS
    assert access.state().tries_left == MAX_TRIES  # five new tries after the lockout
    for _ in range(MAX_TRIES):
        entry = access.enter("975310")
    assert entry.locked_for == 2 * LOCK_SECONDS
    clock.now += 2 * LOCK_SECONDS
    assert access.enter("246810").outcome == "ok"
    for _ in range(MAX_TRIES):  # a right PIN starts the doubling over
        entry = access.enter("975310")
    assert entry.locked_for == LOCK_SECONDS


def test_lockout_survives_reopening_the_database(tmp_path: Path, access: TechnicianAccess,
                                                 clock: FakeClock):
    for _ in range(3):
        access.enter("975310")
    restarted = TechnicianAccess(tmp_path / "kiosk.db", clock=clock)
    assert restarted.state().tries_left == 2
    restarted.enter("975310")
    restarted.enter("975310")
    again = TechnicianAccess(tmp_path / "kiosk.db", clock=clock)
    state = again.state()
    assert (state.outcome, state.locked_for) == ("locked", LOCK_SECONDS)
    assert again.enter("246810").outcome == "locked"


def test_a_clock_set_back_does_not_lengthen_the_lockout(access: TechnicianAccess,
                                                       clock: FakeClock):
    for _ in range(MAX_TRIES):
        access.enter("975310")
    clock.now -= 10 * 3600
    assert access.state().locked_for == LOCK_SECONDS


def test_no_pin_at_all_says_so(tmp_path: Path, clock: FakeClock):
    access = TechnicianAccess(tmp_path / "empty.db", clock=clock)
    assert access.state().outcome == "no_pin"
    assert access.enter("246810").outcome == "no_pin"
    assert not access.has_pins()


def test_every_entry_and_action_is_audited_without_the_pin(tmp_path: Path,
                                                           access: TechnicianAccess):
    access.enter("975310")
    access.enter("246810")
    access.record("wang.li", "test_print", "printed; card 511***1234 id 51160219900101123X")
    for _ in range(MAX_TRIES):
        access.enter("975319")
    access.enter("975318")
    access.remove("wang.li")
    rows = list(reversed(access.audit(limit=100)))
    whats = [row.what for row in rows]
    assert whats == ["pin_set", "pin_wrong", "pin_ok", "test_print", *["pin_wrong"] * 5,
                     "pin_locked", "pin_removed"]
    assert rows[2].who == "wang.li" and rows[1].who == "-"
    assert "19900101" not in rows[3].detail  # a digit run in a detail is dropped
    with sqlite3.connect(tmp_path / "kiosk.db") as conn:
        dumped = "\n".join(conn.iterdump())
    for pin in ("246810", "975310", "975319", "975318"):
        assert pin not in dumped


def test_remove_forgets_the_pin(access: TechnicianAccess):
    assert access.remove("wang.li")
    assert not access.remove("wang.li")
    assert access.technicians() == []
    assert access.enter("246810").outcome == "no_pin"
