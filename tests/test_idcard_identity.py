"""ID numbers, masking, and text-block parsing of every card type (synthetic data only)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.idcard.emulator import SAMPLE_CARDS, synthetic_number
from drivers.idcard.identity import (
    GENDERS,
    LONG_TERM,
    NATIONS,
    Identity,
    IdNumberError,
    TextBlockError,
    build_text_block,
    id_check_char,
    is_valid_id_number,
    mask_number,
    parse_text_block,
    validate_id_number,
)

REFERENCE_NUMBERS = [
    "11010119900307803X", "360426199101010071", "810000199408230021", "830000199201300022",
]


@pytest.mark.parametrize("number", REFERENCE_NUMBERS)
def test_reference_numbers_validate(number: str):
    assert validate_id_number(number) == number
    assert validate_id_number(number.lower()) == number


@pytest.mark.parametrize(
    "number",
    ["11010119900307803", "110101199003078030", "1101011990030780XX", "11010119901307803X",
     "ABCDEF19900307803X", ""],
)
def test_bad_numbers_are_rejected(number: str):
    assert not is_valid_id_number(number)
    with pytest.raises(IdNumberError):
        validate_id_number(number)


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000", "110101"])
def test_residence_permit_numbers_need_a_real_birth_date(prefix: str):
    assert is_valid_id_number(synthetic_number(prefix + "19940823002"))
    with pytest.raises(IdNumberError, match="birth date"):  # month 13
        validate_id_number(synthetic_number(prefix + "19991399001"))


@given(
    st.integers(110000, 659999).map(str),
    st.dates().filter(lambda d: d.year >= 1000).map(lambda d: d.strftime("%Y%m%d")),
    st.integers(0, 999).map(lambda n: f"{n:03d}"),
)
def test_generated_numbers_validate_and_any_other_check_char_fails(area, birth, seq):
    first17 = area + birth + seq
    number = first17 + id_check_char(first17)
    assert validate_id_number(number) == number
    for wrong in set("0123456789X") - {number[-1]}:
        assert not is_valid_id_number(first17 + wrong)


def test_masking_in_repr_and_str():
    identity = SAMPLE_CARDS["resident"].identity
    number = identity.id_number
    masked = number[:3] + "*" * 11 + number[-4:]
    assert mask_number("110101199003071234") == "110***********1234"
    for text in (repr(identity), str(identity)):
        assert number not in text and masked in text
        for personal in (identity.address, identity.name, identity.birth_date,
                         identity.issuer, identity.gender):
            assert personal not in text
        assert "photo" not in text
    assert mask_number("123") == "***"


def candidates(masked: str, areas: list[str], first_year: int = 1900,
               last_year: int = 2026) -> int:
    """Every valid number (checksum included) a masked one could be, for the given areas."""
    import datetime

    head, tail = masked[:3], masked[-4:]
    day, dates = datetime.date(first_year, 1, 1), []
    while day.year <= last_year:
        dates.append(day.strftime("%Y%m%d"))
        day += datetime.timedelta(days=1)
    return sum(1 for area in areas if area.startswith(head) for date in dates
               if id_check_char(area + date + tail[:3]) == tail[3])


def test_a_masked_number_cannot_be_rebuilt_from_what_stands_beside_it():
    """Even an attacker who knows the holder's city (six area codes) and uses the checksum
    keeps over 10,000 candidates: nothing beside the mask narrows the birth date (no birth
    date, gender, issuer naming the exact area, or age-dependent validity). With the issuer
    beside it (the exact area) it would be under 4,000: that is why it is never shown."""
    from drivers.idcard.identity import SHOWN_BESIDE_MASKED

    for card in ("resident", "rare_name"):
        number = SAMPLE_CARDS[card].identity.id_number
        city = [number[:4] + f"{district:02d}" for district in range(1, 7)]
        assert candidates(mask_number(number), city) >= 10_000, card
        assert candidates(mask_number(number), [number[:6]]) < 10_000  # issuer shown: too few
    assert set(SHOWN_BESIDE_MASKED) <= {"card_type", "name", "nation"}


@pytest.mark.parametrize("key", sorted(SAMPLE_CARDS))
def test_every_card_type_round_trips(key: str):
    identity = SAMPLE_CARDS[key].identity
    block = build_text_block(identity)
    assert len(block) == 256
    assert parse_text_block(block, identity.photo) == identity


def test_resident_layout_fields():
    identity = SAMPLE_CARDS["resident"].identity
    block = build_text_block(identity)
    assert block[30:32].decode("utf-16-le") == "1"
    assert block[32:36].decode("utf-16-le") == "01"
    assert block[122:158].decode("utf-16-le") == identity.id_number
    assert block[248:250] == " ".encode("utf-16-le")
    parsed = parse_text_block(block)
    assert (parsed.gender, parsed.nation, parsed.card_type) == ("男", "汉", "")


def test_type_markers_and_special_fields():
    hmt = parse_text_block(build_text_block(SAMPLE_CARDS["hmt"].identity))
    assert hmt.card_type == "J" and hmt.pass_number == "H00000000" and hmt.nation == ""
    i_card = parse_text_block(build_text_block(SAMPLE_CARDS["foreign_2017"].identity))
    assert i_card.card_type == "I" and i_card.nationality == "CAN" and len(i_card.id_number) == 15
    y_block = build_text_block(SAMPLE_CARDS["foreign_2023"].identity)
    assert y_block[248:250].decode("utf-16-le") == "Y"
    y_card = parse_text_block(y_block)
    assert len(y_card.english_name) > 35  # joined from its two fields


def test_rare_characters_and_long_term_validity():
    identity = SAMPLE_CARDS["rare_name"].identity
    block = build_text_block(identity)
    parsed = parse_text_block(block)
    assert parsed.name == "测试堃喆䶮𠮷" and parsed.valid_to == LONG_TERM
    # 𠮷 U+20BB7 is stored as the UTF-16 surrogate pair D842 DFB7 (little-endian bytes)
    assert "𠮷".encode("utf-16-le") == b"\x42\xd8\xb7\xdf"
    assert b"\x42\xd8\xb7\xdf" in block[:30]
    assert "䶮".encode("utf-16-le") == b"\xae\x4d"  # Extension A: one UCS-2 unit


def _resident_block(**changes: bytes) -> bytearray:
    block = bytearray(build_text_block(SAMPLE_CARDS["resident"].identity))
    offsets = {"gender": 30, "nation": 32, "birth": 36, "number": 122, "type": 248, "name": 0}
    for key, value in changes.items():
        block[offsets[key] : offsets[key] + len(value)] = value
    return block


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"gender": "3".encode("utf-16-le")}, "gender"),
        ({"nation": "99".encode("utf-16-le")}, "nation"),
        ({"birth": "19901340".encode("utf-16-le")}, "birth_date"),
        ({"number": "9".encode("utf-16-le")}, "id_number"),
        ({"type": "Z".encode("utf-16-le")}, "card type"),
        ({"name": b"\x00\xd8A\x00"}, "name"),  # lone high surrogate
    ],
)
def test_malformed_blocks_name_the_field(changes: dict[str, bytes], field: str):
    with pytest.raises(TextBlockError, match=field):
        parse_text_block(bytes(_resident_block(**changes)))


def test_wrong_size_block():
    with pytest.raises(TextBlockError, match="255"):
        parse_text_block(bytes(255))


@given(st.binary(min_size=256, max_size=256))
def test_random_blocks_raise_only_text_block_errors(block: bytes):
    with contextlib.suppress(TextBlockError):
        assert isinstance(parse_text_block(block), Identity)


def test_code_tables():
    assert GENDERS["9"] == "未说明的性别" and GENDERS["2"] == "女"
    assert len(NATIONS) == 58 and NATIONS["46"] == "德昂" and NATIONS["97"] == "其他"
