"""Receipt numbers: the MOD 37-2 check, round trips, and the parser of scanned payloads."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.idcard.identity import id_check_char
from kiosk.applying.receipt_numbers import (
    ALPHABET,
    ReceiptNumberError,
    make_receipt_number,
    mod37_2,
    parse_receipt_number,
    pure_check,
)

KIOSK_IDS = st.from_regex(r"[0-9A-Z][0-9A-Z-]{0,20}", fullmatch=True)
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
SEQUENCES = st.integers(1, 999_999)


@given(st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_the_pure_system_matches_the_id_card_mod_11_2(first17):
    # the same ISO 7064 pure-system arithmetic, with modulus 11, gives the ID card check
    assert pure_check(first17, 11, 2, "0123456789X") == id_check_char(first17)


def test_known_shape():
    number = make_receipt_number("511602-hall-03", date(2026, 11, 22), 42)
    assert number.startswith("K511602-HALL-03-20261122-000042-")
    assert number[-1] in ALPHABET


@given(KIOSK_IDS, DAYS, SEQUENCES)
def test_round_trip(kiosk_id, day, sequence):
    number = make_receipt_number(kiosk_id, day, sequence)
    parsed = parse_receipt_number(number)
    assert (parsed.kiosk_id, parsed.day, parsed.sequence) == (kiosk_id, day, sequence)
    assert str(parsed) == number
    assert parse_receipt_number(f"  {number.lower()} ") == parsed  # typed in lower case


@given(KIOSK_IDS, DAYS, SEQUENCES, st.data())
def test_any_single_substitution_is_caught(kiosk_id, day, sequence, data):
    number = make_receipt_number(kiosk_id, day, sequence)
    positions = [i for i, char in enumerate(number) if char != "-" and i > 0]
    index = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from([c for c in ALPHABET if c != number[index]]))
    damaged = number[:index] + replacement + number[index + 1:]
    with pytest.raises(ReceiptNumberError):
        parse_receipt_number(damaged)


@given(st.text(max_size=80))
def test_arbitrary_payloads_parse_or_give_a_clear_error(text):
    try:
        parsed = parse_receipt_number(text)
    except ReceiptNumberError as error:
        assert str(error)
    else:
        assert mod37_2(str(parsed)[:-2]) == str(parsed)[-1]


@pytest.mark.parametrize(("kiosk_id", "sequence"), [("bad id", 1), ("K1", 0), ("K1", 10**6)])
def test_invalid_inputs(kiosk_id, sequence):
    with pytest.raises(ReceiptNumberError):
        make_receipt_number(kiosk_id, date(2026, 1, 1), sequence)


def test_impossible_date_and_zero_sequence():
    body = "K511602-HALL-03-20261331-000001"
    with pytest.raises(ReceiptNumberError, match="impossible date"):
        parse_receipt_number(f"{body}-{mod37_2(body)}")
    body = "K511602-HALL-03-20261130-000000"
    with pytest.raises(ReceiptNumberError, match="never issued"):
        parse_receipt_number(f"{body}-{mod37_2(body)}")
