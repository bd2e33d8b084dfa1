from decimal import Decimal
from fractions import Fraction

import pytest

from yibao.money import (
    MoneyError,
    exact_from_text,
    exact_to_text,
    fmt_percent,
    fmt_ratio,
    fmt_yuan,
    parse_decimal,
    round_half_up,
    yuan_to_fen,
)


@pytest.mark.parametrize(
    "x, expected",
    [(Fraction(5, 10), 1), (Fraction(15, 10), 2), (Fraction(149, 100), 1), (Fraction(-5, 10), -1), (Fraction(-149, 100), -1), (7, 7)],
)
def test_round_half_up_ties_away_from_zero(x, expected):
    assert round_half_up(x) == expected


def test_refund_rounds_to_exact_negative_of_the_line():
    for num in range(1, 500):
        x = Fraction(num, 8)
        assert round_half_up(-x) == -round_half_up(x)


def test_yuan_to_fen_reads_text_not_floats():
    assert yuan_to_fen("0.07") == 7
    assert yuan_to_fen(Decimal("1234.50")) == 123450
    assert yuan_to_fen(0.29) == 29  # a float is read from its shortest text, not its binary value


def test_more_than_two_decimals_is_refused():
    with pytest.raises(MoneyError, match="小数位数超过2位"):
        yuan_to_fen("1.005")


def test_non_numbers_are_refused_with_the_field_name():
    with pytest.raises(MoneyError, match="pric"):
        parse_decimal("abc", field="pric")
    with pytest.raises(MoneyError):
        parse_decimal("NaN", field="pric")


def test_formatting():
    assert fmt_yuan(-594100) == "-5941.00"
    assert fmt_yuan(5) == "0.05"
    assert fmt_ratio(Fraction(13, 20)) == "0.6500"
    assert fmt_percent(Fraction(7, 8)) == "87.5%"


def test_exact_text_round_trip():
    for value in (0, 12345, Fraction(885057, 100), Fraction(-7, 87)):
        assert exact_from_text(exact_to_text(value)) == value
