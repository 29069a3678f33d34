"""Envelope encryption of personal data at rest."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offline_cache.sealing import (
    KeyFileError,
    SealError,
    load_or_create_master_key,
    seal,
    unseal,
)

KEY = bytes(range(32))
CITIZEN = "测试甲 110101199003078015 13800000000 测试市测试路1号".encode()


def test_round_trip_and_no_plaintext_in_the_blob():
    blob = seal(KEY, CITIZEN, b"K1-20261123-000001-X|applicant")
    assert unseal(KEY, blob, b"K1-20261123-000001-X|applicant") == CITIZEN
    for secret in (b"110101199003078015", b"13800000000", "测试甲".encode()):
        assert secret not in blob
    assert seal(KEY, CITIZEN, b"a") != seal(KEY, CITIZEN, b"a"), "fresh keys and nonces"


@settings(max_examples=60)
@given(st.binary(max_size=2000), st.binary(max_size=40), st.data())
def test_any_damage_is_detected(plaintext, aad, data):
    blob = seal(KEY, plaintext, aad)
    index = data.draw(st.integers(0, len(blob) - 1))
    bit = data.draw(st.integers(0, 7))
    damaged = bytearray(blob)
    damaged[index] ^= 1 << bit
    with pytest.raises(SealError):
        unseal(KEY, bytes(damaged), aad)
    assert unseal(KEY, blob, aad) == plaintext


def test_moved_blob_wrong_key_and_garbage_do_not_open():
    blob = seal(KEY, CITIZEN, b"receipt-A|form")
    with pytest.raises(SealError):
        unseal(KEY, blob, b"receipt-B|form")
    with pytest.raises(SealError):
        unseal(bytes(32), blob, b"receipt-A|form")
    for garbage in (b"", b"\x01", b"\x02" + blob[1:], os.urandom(200)):
        with pytest.raises(SealError):
            unseal(KEY, garbage, b"receipt-A|form")


def test_master_key_file_is_created_private_and_reused(tmp_path: Path):
    path = tmp_path / "keys" / "master.key"
    key = load_or_create_master_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_master_key(path) == key


def test_master_key_file_problems_are_clear(tmp_path: Path):
    path = tmp_path / "master.key"
    load_or_create_master_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_master_key(path)
    path.chmod(0o600)
    path.write_text("not hex\n")
    with pytest.raises(KeyFileError, match="64 hex"):
        load_or_create_master_key(path)
