"""Fingerprint read (30 10) and the additional address (30 03) over the pty."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drivers.idcard.emulator import SAMPLE_CARDS, SamEmulator, ScriptedCard
from drivers.idcard.reader import IdCardReader


@pytest.fixture()
def emulator():
    emulator = SamEmulator()
    yield emulator
    emulator.stop()


def read(emulator: SamEmulator, card: ScriptedCard, **options):
    emulator.present(card)
    with IdCardReader(emulator.start_pty()) as reader:
        reader.open()
        return reader.read_card(**options)


def test_fingerprint_templates_are_returned_opaque(emulator):
    templates = bytes(range(256)) * 4
    card = replace(SAMPLE_CARDS["resident"], fingerprint=templates)
    identity = read(emulator, card, fingerprint=True)
    assert identity.fingerprint == templates
    assert identity.name == SAMPLE_CARDS["resident"].identity.name
    assert "fingerprint" not in repr(identity)


def test_fingerprint_read_of_a_card_without_fingerprints(emulator):
    identity = read(emulator, SAMPLE_CARDS["resident"], fingerprint=True)
    assert identity.fingerprint == b""


def test_new_address_when_present_and_absent(emulator):
    base = SAMPLE_CARDS["resident"]
    moved = replace(base, identity=replace(base.identity, new_address="测试市新区测试路8号"))
    identity = read(emulator, moved, new_address=True)
    assert identity.new_address == "测试市新区测试路8号"
    assert "测试路" not in repr(identity) and "测试路" not in str(identity)


def test_no_new_address_on_the_card(emulator):
    assert read(emulator, SAMPLE_CARDS["resident"], new_address=True).new_address == ""
