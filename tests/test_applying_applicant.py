"""Who applies: card, e-ID answer and typed entry, with as-typed ID number feedback."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.idcard.emulator import SAMPLE_CARDS, synthetic_number
from drivers.idcard.identity import id_check_char
from kiosk.applying.applicant import (
    ENTRY_MESSAGES,
    ENTRY_STATUSES,
    Applicant,
    EntryError,
    check_name,
    check_typed_number,
)

RESIDENT = SAMPLE_CARDS["resident"].identity
NUMBER = RESIDENT.id_number  # 110101199003078013, a made-up test number


def number_ending_in_x() -> str:
    for sequence in range(1000):
        first17 = f"51160219851111{sequence:03d}"
        if id_check_char(first17) == "X":
            return first17 + "X"
    raise AssertionError("no X number found")


# --- as typed ---------------------------------------------------------------------------


def test_every_prefix_of_a_good_number_is_incomplete_without_complaint():
    for length in range(18):
        check = check_typed_number(NUMBER[:length])
        assert (check.status, check.message, check.typed) == ("incomplete", None, length)
        assert check.remaining == 18 - length and not check.is_problem and not check.ok
    assert check_typed_number(NUMBER).ok


def test_x_as_the_check_character_is_accepted_in_either_case():
    number = number_ending_in_x()
    assert check_typed_number(number).ok
    assert check_typed_number(number.lower()).ok


def test_full_width_digits_and_spaces_are_read_as_typed_digits():
    spaced = " ".join(NUMBER[i:i + 6] for i in range(0, 18, 6))
    assert check_typed_number(spaced).ok
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in NUMBER)
    assert check_typed_number(full_width).ok


@pytest.mark.parametrize(("typed", "status"), [
    ("11a", "bad_char"),
    ("1101-", "bad_char"),
    ("X", "bad_char"),
    ("1101011990030780X", "bad_char"),  # X typed as the 17th character
    ("0", "bad_area"),
    ("1101013", "bad_date"),  # a year 3xxx: wrong at the 7th character
    ("11010118", "bad_date"),  # 18xx before 1870 is still possible, 186x is not...
    ("110101199013", "bad_date"),  # month 13, wrong at the 12th character
    ("11010119902", "bad_date"),  # month 2x
    ("1101011990023", "bad_date"),  # 3x February, wrong at the 13th character
    ("11010119000229", "bad_date"),  # 1900 was not a leap year
    ("110101209", "bad_date"),  # born in the 2090s: the future
    ("110101199003078012", "bad_check"),
    (NUMBER + "1", "too_long"),
])
def test_problems_are_named_as_soon_as_they_are_typed(typed: str, status: str):
    if typed == "11010118":
        # 1880-1899 are possible birth years, so this prefix is fine; 186 is not
        assert check_typed_number(typed).status == "incomplete"
        typed, status = "110101186", "bad_date"
    check = check_typed_number(typed)
    assert check.status == status
    assert check.message in ENTRY_MESSAGES and check.is_problem
    # the earliest: one character fewer was not yet wrong (except for a wrong first char)
    if len(typed) > 1 and status not in ("bad_check", "too_long"):
        assert check_typed_number(typed[:-1]).status == "incomplete"


def test_a_leap_day_is_a_real_birth_date():
    assert check_typed_number("11010120000229").status == "incomplete"


def test_the_check_message_says_plainly_what_to_do():
    check = check_typed_number("110101199003078012")
    assert check.message == "The last character does not match: please check the number"


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_any_text_gets_a_known_status_and_never_echoes_the_number(text: str):
    check = check_typed_number(text)
    assert check.status in ENTRY_STATUSES
    assert check.message is None or check.message in ENTRY_MESSAGES


@st.composite
def valid_numbers(draw) -> str:
    area = draw(st.sampled_from(["110101", "511602", "810000", "330106", "650102"]))
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date.today()))
    sequence = draw(st.integers(0, 999))
    return synthetic_number(f"{area}{born:%Y%m%d}{sequence:03d}")


@given(valid_numbers())
def test_real_numbers_are_never_refused_while_typed(number: str):
    for length in range(1, 18):
        assert check_typed_number(number[:length]).status == "incomplete"
    assert check_typed_number(number).ok
    assert Applicant.typed(number, "测试乙").id_number == number


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "kept"), [
    ("测试甲", "测试甲"),
    ("阿依古丽·买买提", "阿依古丽·买买提"),
    (" 阿依古丽 • 买买提 ", "阿依古丽·买买提"),  # another dot, spaces around it
    ("阿依古丽・买买提", "阿依古丽·买买提"),  # katakana middle dot from some input methods
    ("测试堃喆䶮𠮷", "测试堃喆䶮𠮷"),  # extension A and a character outside the BMP
    ("Sample  Person", "Sample Person"),
    ("张", "张"),
    ("测" * 30, "测" * 30),
    ("张\ue000", "张\ue000"),  # a rare character a local system put in private use
    ("张\U00031350", "张\U00031350"),  # CJK extension H, newer than some Unicode tables
])
def test_names_are_accepted_and_tidied(typed: str, kept: str):
    assert check_name(typed) == kept


@pytest.mark.parametrize(("typed", "message"), [
    ("", "Please type the name"),
    ("   ", "Please type the name"),
    ("测" * 31, "A name has at most 30 characters"),
    ("张3", "A name has Chinese characters or letters only, with · between parts"),
    ("·张三", "A name has Chinese characters or letters only, with · between parts"),
    ("张三·", "A name has Chinese characters or letters only, with · between parts"),
    ("张··三", "A name has Chinese characters or letters only, with · between parts"),
    ("张三!", "A name has Chinese characters or letters only, with · between parts"),
    ("张\u200b三", "A name has Chinese characters or letters only, with · between parts"),
    ("张\U00010fff", "A name has Chinese characters or letters only, with · between parts"),
])
def test_names_that_cannot_be_used_say_why(typed: str, message: str):
    with pytest.raises(EntryError) as caught:
        check_name(typed)
    assert caught.value.field == "name" and caught.value.message == message


@given(st.text(max_size=40))
def test_check_name_raises_only_entry_error(text: str):
    try:
        name = check_name(text)
    except EntryError as error:
        assert error.message in ENTRY_MESSAGES
    else:
        assert 1 <= len(name) <= 30


# --- the three ways of identifying ------------------------------------------------------


def test_typed_applicant_has_only_name_and_number():
    applicant = Applicant.typed(NUMBER[:-1] + " " + NUMBER[-1], "阿依古丽·买买提")
    assert applicant.source == "manual"
    assert applicant.id_number == NUMBER
    assert applicant.wire() == {"name": "阿依古丽·买买提", "id_number": NUMBER}


def test_typed_applicant_with_a_wrong_number_raises_without_the_number():
    wrong = NUMBER[:-1] + "2"
    with pytest.raises(EntryError) as caught:
        Applicant.typed(wrong, "测试甲")
    assert caught.value.field == "id_number"
    assert caught.value.message == "The last character does not match: please check the number"
    assert wrong not in str(caught.value) and wrong[-4:] not in str(caught.value)
    with pytest.raises(EntryError) as caught:
        Applicant.typed(NUMBER[:10], "测试甲")
    assert caught.value.message == "An ID number has 18 characters"


def test_card_applicant_keeps_what_the_chip_says():
    applicant = Applicant.from_card(RESIDENT)
    assert applicant.source == "card"
    assert (applicant.name, applicant.id_number, applicant.birth_date) == (
        RESIDENT.name, NUMBER, "19900307")
    assert applicant.wire() == {
        "name": RESIDENT.name, "id_number": NUMBER, "gender": RESIDENT.gender,
        "nation": RESIDENT.nation, "birth_date": "19900307", "address": RESIDENT.address}


def test_foreign_permanent_resident_cards_keep_their_15_character_number():
    identity = SAMPLE_CARDS["foreign_2017"].identity
    applicant = Applicant.from_card(identity)
    assert applicant.id_number == identity.id_number and applicant.name == "测试外"
    assert "nation" not in applicant.wire() and "address" not in applicant.wire()


@pytest.mark.parametrize("source", ["card", "typed", "ecode"])
def test_repr_and_str_show_only_the_masked_number(source: str):
    applicant = {
        "card": lambda: Applicant.from_card(RESIDENT),
        "typed": lambda: Applicant.typed(NUMBER, "测试甲"),
        "ecode": lambda: Applicant.from_ecode({"name": "测试甲", "id_number": NUMBER,
                                               "gender": "男", "birth_date": "1990-03-07"}),
    }[source]()
    for shown in (repr(applicant), str(applicant), f"{applicant}", repr([applicant])):
        assert NUMBER not in shown and "测试甲" not in shown and "19900307" not in shown
        assert "110***********8013" in shown
    assert applicant.masked_number() == "110***********8013"


def test_ecode_answer_becomes_an_applicant():
    applicant = Applicant.from_ecode({
        "name": "测试甲", "id_number": NUMBER.lower(), "gender": "男", "nation": "汉",
        "birth_date": "1990-03-07", "address": "测试省测试市模拟路1号", "valid_to": "长期",
        "something_new": [1, 2]})
    assert applicant.source == "ecode"
    assert applicant.id_number == NUMBER
    assert (applicant.birth_date, applicant.valid_to) == ("19900307", "长期")
    assert applicant.nation == "汉" and applicant.address == "测试省测试市模拟路1号"


@pytest.mark.parametrize("answer", [
    None, [], "text", {}, {"name": "测试甲"}, {"id_number": NUMBER},
    {"name": "", "id_number": NUMBER}, {"name": "测试甲", "id_number": NUMBER[:-1] + "2"},
    {"name": 5, "id_number": NUMBER}, {"name": "测试甲", "id_number": 110101199003078013},
    {"name": "测\x07试", "id_number": NUMBER}, {"name": "测" * 65, "id_number": NUMBER},
])
def test_unusable_ecode_answers_raise_entry_error(answer):
    with pytest.raises(EntryError) as caught:
        Applicant.from_ecode(answer)
    assert caught.value.field == "ecode" and caught.value.message in ENTRY_MESSAGES
    assert NUMBER not in str(caught.value)


def test_unusable_optional_parts_of_an_ecode_answer_are_dropped():
    applicant = Applicant.from_ecode({"name": "测试甲", "id_number": NUMBER, "gender": 1,
                                      "birth_date": "1990-02-30", "address": "x" * 201,
                                      "valid_to": "soon"})
    assert (applicant.gender, applicant.birth_date, applicant.address, applicant.valid_to) == (
        "", "", "", "")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=15)
ECODE_KEYS = st.sampled_from(["name", "id_number", "gender", "nation", "birth_date",
                              "address", "valid_to"])


@settings(max_examples=300)
@given(JSON | st.dictionaries(ECODE_KEYS, JSON | st.text(), max_size=7))
def test_from_ecode_raises_only_entry_error(answer):
    with contextlib.suppress(EntryError):
        Applicant.from_ecode(answer)


@given(st.dictionaries(ECODE_KEYS.filter(lambda k: k not in ("name", "id_number")),
                       JSON | st.text(), max_size=5))
def test_a_good_core_is_never_refused_for_odd_optional_parts(extra: dict):
    applicant = Applicant.from_ecode(extra | {"name": "测试甲", "id_number": NUMBER})
    assert applicant.id_number == NUMBER
    assert all(isinstance(value, str) for value in applicant.wire().values())


@pytest.mark.parametrize("card", ["resident", "rare_name", "hmt", "foreign_2023"])
def test_the_reference_platforms_ecode_answers_become_applicants(card: str):
    from reference_platform import samples

    answer = samples.resolve_ecode(samples.ecode_for_card(card, 1_000_000.0), 1_000_010.0)
    applicant = Applicant.from_ecode(answer)
    identity = SAMPLE_CARDS[card].identity
    assert (applicant.name, applicant.id_number, applicant.birth_date) == (
        identity.name, identity.id_number, identity.birth_date)
    assert applicant.gender == identity.gender and applicant.source == "ecode"
