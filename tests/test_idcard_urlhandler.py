"""The in-process ``samemu://`` pyserial URL handler drives the same reader code."""

from __future__ import annotations

import pytest
import serial

import drivers.idcard  # noqa: F401 - registers the samemu:// scheme
from drivers.idcard.reader import IdCardReader


def test_reader_reads_a_rare_name_card_through_the_url_handler():
    with IdCardReader("samemu://rare_name") as reader:
        reader.open()
        identity = reader.read_card()
    assert identity is not None and identity.name == "测试堃喆䶮𠮷"
    assert identity.valid_to == "长期"


def test_empty_reader_and_unknown_card():
    with IdCardReader("samemu://none") as reader:
        reader.open()
        assert reader.read_card() is None
    with pytest.raises(serial.SerialException, match="unknown card"):
        serial.serial_for_url("samemu://joker")
