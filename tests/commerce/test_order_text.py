"""Order ids and phone digits are found in what shoppers actually type, in zh, en or both."""

from __future__ import annotations

import pytest

from assistant.commerce.verification import (
    extract_order_id,
    extract_phone_digits,
    normalize_order_id,
    normalize_phone_digits,
)


@pytest.mark.parametrize(
    ("message", "order_id", "digits"),
    [
        ("订单DD202511180042 手机尾号3821", "DD202511180042", "3821"),
        ("my order is dd202511180042, last 4 are 3821", "DD202511180042", "3821"),
        ("order号 DD202511180042 尾号是 3 8 2 1", "DD202511180042", "3821"),
        ("ＤＤ２０２５１１１８００４２，尾号３８２１", "DD202511180042", "3821"),
        ("dd 2025 1118 0042 3821", "DD202511180042", "3821"),
        ("DD202511180042 3821", "DD202511180042", "3821"),
        ("订单号：202511180042，手机 138 0013 8000", "DD202511180042", "8000"),
        ("+86 13800138000 DD202511180042", "DD202511180042", "8000"),
        ("Order DD202511180042, phone ends with 3821 thanks", "DD202511180042", "3821"),
        ("帮我查下订单 DD-2025-1118-0042", "DD202511180042", None),
        ("尾号3821", None, "3821"),
        ("3821", None, "3821"),
        ("这个精华孕妇能用吗", None, None),
    ],
)
def test_extracts_order_id_and_phone_digits_from_a_message(
    message: str, order_id: str | None, digits: str | None
) -> None:
    assert extract_order_id(message) == order_id
    assert extract_phone_digits(message) == digits


def test_phone_digits_are_never_taken_from_inside_the_order_id() -> None:
    # "0042" ends the order id; a careless reader would offer it as the phone tail.
    assert extract_phone_digits("查一下 DD202511180042") is None
    assert extract_phone_digits("dd 2025 1118 0042") is None
    assert extract_phone_digits("my order is 202511180042") is None


def test_a_lone_number_in_a_sentence_is_not_mistaken_for_phone_digits() -> None:
    assert extract_phone_digits("I bought 2 bottles in 2024, is it expired?") is None
    assert extract_phone_digits("去年2024买的还能用吗") is None


def test_a_tracking_number_is_not_an_order_id_or_a_phone() -> None:
    message = "快递单号SF1380013800012 到哪了"
    assert extract_order_id(message) is None
    assert extract_phone_digits(message) is None


@pytest.mark.parametrize(
    "typed",
    [
        "DD202511180042",
        "dd202511180042",
        "ＤＤ２０２５１１１８００４２",
        "dd 2025 1118 0042",
        " Dd-2025-1118-0042 ",
        "202511180042",
        "订单号：DD202511180042",
    ],
)
def test_typed_order_ids_normalise_to_the_canonical_form(typed: str) -> None:
    assert normalize_order_id(typed) == "DD202511180042"


@pytest.mark.parametrize("typed", ["", "DD2025", "hello", "DD2025111800421", "SF202511180042"])
def test_values_that_are_not_order_ids_normalise_to_none(typed: str) -> None:
    assert normalize_order_id(typed) is None


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("3821", "3821"),
        ("３８２１", "3821"),
        ("3 8 2 1", "3821"),
        ("13912343821", "3821"),
        ("139-1234-3821", "3821"),
        ("+86 139 1234 3821", "3821"),
        ("382", None),
        ("", None),
    ],
)
def test_phone_input_normalises_to_its_last_four_digits(typed: str, digits: str | None) -> None:
    assert normalize_phone_digits(typed) == digits
