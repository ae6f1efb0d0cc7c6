"""Phone numbers, ID numbers and names: normalising, validating, masking."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.personal import (
    InvalidIdNumber,
    InvalidPhone,
    find_numbers,
    mask_id_number,
    mask_name,
    mask_numbers,
    mask_phone,
    normalise_phone,
    validate_id_number,
)
from services.common.text import fold_width

# --- phone numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86-138-0013-8000", "+8613800138000"),
        ("+86 13800138000", "+8613800138000"),
        ("0086 138 0013 8000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),
        ("0769-22221234", "+8676922221234"),
        ("(0769) 2222 1234", "+8676922221234"),
        ("010-12345678", "+861012345678"),
        # Dongguan's own landlines, written or sent as a caller id without the area code.
        ("85581276", "+8676985581276"),
        ("2222 1234", "+8676922221234"),
        ("8558-1276", "+8676985581276"),
    ],
)
def test_normalise_phone(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize(
    "raw", ["12345", "110", "95588", "1380013800", "138001380001", "phone", "", "  ", "08558127", "5558127"]
)
def test_invalid_phones(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_invalid_phone_is_a_value_error() -> None:
    assert issubclass(InvalidPhone, ValueError)


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613812345678", "138****5678"),
        ("+8676922221234", "0769****1234"),
        ("+861012345678", "010****5678"),
        ("+85291234567", "+852****4567"),
        ("not a number 123456", "***************3456"),
        ("12345", "*****"),
    ],
)
def test_mask_phone(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


_mobiles = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


@given(_mobiles)
def test_mask_phone_shows_only_the_first_three_and_last_four_digits(national: str) -> None:
    try:
        e164 = normalise_phone(national)
    except InvalidPhone:
        return  # an unallocated prefix: nothing to mask
    assert mask_phone(e164) == national[:3] + "****" + national[-4:]


@given(st.text(max_size=40))
def test_mask_phone_never_shows_much_of_anything(raw: str) -> None:
    masked = mask_phone(raw)
    visible = [c for c in masked if c != "*"]
    assert len(visible) <= 8
    if masked:
        assert masked.count("*") >= 3 or set(masked) == {"*"}


# --- ID numbers ----------------------------------------------------------------------------------


def reference_check_char(body: str) -> str:
    """ISO 7064 MOD 11-2 from its definition, independent of the implementation's tables.

    Weight of the digit at position i (counted from the right, the check char being position 1)
    is 2^(i-1) mod 11; the check value c makes (sum + c) ≡ 1 (mod 11); 10 is written X.
    """
    total = sum(int(d) * pow(2, 17 - k, 11) for k, d in enumerate(body))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(region: str = "441900", birth: str = "19900101", seq: str = "123") -> str:
    body = region + birth + seq
    return body + reference_check_char(body)


def test_published_examples_of_gb11643() -> None:
    # The two worked examples printed in GB 11643-1999.
    assert validate_id_number("11010519491231002X") == "11010519491231002X"
    assert validate_id_number("440524188001010014") == "440524188001010014"
    assert reference_check_char("11010519491231002") == "X"


@given(
    region=st.sampled_from(["441900", "440300", "110105", "310101", "810000"]),
    birth=st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2020, 12, 31)),
    seq=st.integers(min_value=0, max_value=999),
)
def test_constructed_valid_numbers_pass(region: str, birth: dt.date, seq: int) -> None:
    number = make_id(region, birth.strftime("%Y%m%d"), f"{seq:03d}")
    assert validate_id_number(number) == number


def test_lower_case_x_is_upper_cased_and_spaces_dropped() -> None:
    seq = next(s for s in range(1000) if make_id(seq=f"{s:03d}").endswith("X"))
    number = make_id(seq=f"{seq:03d}")
    assert validate_id_number(number.lower()) == number
    assert validate_id_number(" " + number[:6] + " " + number[6:].lower()) == number
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert validate_id_number(full_width) == number


def test_every_wrong_check_character_is_rejected() -> None:
    number = make_id()
    for wrong in "0123456789X":
        if wrong == number[-1]:
            continue
        with pytest.raises(InvalidIdNumber) as info:
            validate_id_number(number[:-1] + wrong)
        assert info.value.reason == "check_digit"


def test_a_transposition_is_caught() -> None:
    number = make_id(seq="123")
    swapped = number[:14] + "213" + number[17]
    with pytest.raises(InvalidIdNumber) as info:
        validate_id_number(swapped)
    assert info.value.reason == "check_digit"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (make_id(birth="19900230"), "birth_date"),
        (make_id(birth="19901301"), "birth_date"),
        (make_id(birth="17990101"), "birth_date"),
        (make_id(region="001900"), "region"),
        ("44190019900101123", "length"),
        ("4419001990010112345", "length"),
        ("44190019900101123A", "format"),
        ("", "empty"),
    ],
)
def test_invalid_id_numbers(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as info:
        validate_id_number(number)
    assert info.value.reason == reason
    assert info.value.message_zh
    assert isinstance(info.value, ValueError)


def test_birth_date_in_the_future_is_rejected() -> None:
    number = make_id(birth="20300101")
    with pytest.raises(InvalidIdNumber, match="birth_date"):
        validate_id_number(number, today=dt.date(2025, 1, 1))
    assert validate_id_number(number, today=dt.date(2030, 1, 1)) == number


# --- masking -------------------------------------------------------------------------------------


def test_mask_id_number() -> None:
    assert mask_id_number("441900199001011234") == "4419**********1234"
    assert mask_id_number("11010519491231002x") == "1101**********002X"
    assert mask_id_number("123") == "*" * 18


def test_mask_name() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("王") == "*"
    assert mask_name(" 李小明 ") == "李**"
    assert mask_name("") == ""


@given(st.text(max_size=30))
def test_mask_id_number_shows_at_most_four_and_four(raw: str) -> None:
    masked = mask_id_number(raw)
    assert len(masked) == 18
    assert masked[4:14] == "*" * 10
    if masked != "*" * 18:
        canonical = fold_width(raw).replace(" ", "").strip().upper()
        assert masked[:4] == canonical[:4]
        assert masked[14:] == canonical[-4:]
        assert len(canonical) >= 12  # at least 4 hidden characters


@given(st.text(min_size=8, max_size=30, alphabet="0123456789X"))
def test_mask_id_number_keeps_exactly_the_ends(raw: str) -> None:
    masked = mask_id_number(raw)
    if len(raw) >= 12:
        assert masked == raw[:4] + "*" * 10 + raw[-4:]
    else:
        assert masked == "*" * 18


@given(st.text(max_size=20))
def test_mask_name_shows_only_the_first_character(name: str) -> None:
    masked = mask_name(name)
    stripped = name.strip()
    assert len(masked) == len(stripped)
    if len(stripped) >= 2:
        assert masked[0] == stripped[0]
        assert masked[1:] == "*" * (len(stripped) - 1)
    else:
        assert set(masked) <= {"*"}


# --- numbers inside free text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "masked", "found"),
    [
        ("电话13926641258", "电话139****1258", [("phone", "+8613926641258")]),
        ("电话139 2664 1258，谢谢", "电话139****1258，谢谢", [("phone", "+8613926641258")]),
        (
            "打+86-139-2664-1258或0769-22221234",
            "打139****1258或0769****1234",
            [
                ("phone", "+8613926641258"),
                ("phone", "+8676922221234"),
            ],
        ),
        ("身份证44190019880715421x。", "身份证4419**********421X。", [("id_number", "44190019880715421X")]),
        ("身份证 441900 19880715 4210", "身份证 4419**********4210", [("id_number", "441900198807154210")]),
        ("电话１３９２６６４１２５８", "电话139****1258", [("phone", "+8613926641258")]),
        ("东方路12号，坏了3盏灯，约2000元，编号20261127000042", None, []),
    ],
)
def test_numbers_in_words_are_found_once_and_masked(
    words: str, masked: str | None, found: list[tuple[str, str]]
) -> None:
    assert [(q.kind, q.value) for q in find_numbers(words)] == found
    assert mask_numbers(words) == (masked if masked is not None else words)
    # The mask of a mask is itself: nothing left to find.
    assert find_numbers(mask_numbers(words)) == []
