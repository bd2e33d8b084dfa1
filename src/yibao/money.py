"""Exact money and ratio arithmetic.

Inside yibao an amount is an ``int`` of fen (0.01 yuan). Ratios and prices are exact
``Fraction``s read from their decimal text, never from binary floats. Rounding happens only
where the settlement rules say so, always half-up (ties away from zero, so a refund line
rounds to exactly the negative of the line it refunds).

On the wire (the national interface) amounts are yuan with two decimals.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Union

Exact = Union[int, Fraction]

_HUNDRED = 100


class MoneyError(ValueError):
    """A figure that cannot be read as an exact amount, price, quantity or ratio."""


def parse_decimal(value: object, *, field: str = "value", max_places: int | None = None) -> Decimal:
    """Read a number from its written text (str, int or Decimal), never through a float.

    ``max_places`` limits the digits after the decimal point (e.g. 2 for an amount in yuan).
    """
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"{field} 不是数字: {value!r}")
    if isinstance(value, float):
        # JSON numbers arrive as floats from some parsers; their repr is the shortest text
        # that reads back to the same float, which is what the sender wrote.
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise MoneyError(f"{field} 不是数字: {value!r}") from None
    if not number.is_finite():
        raise MoneyError(f"{field} 不是有限数字: {value!r}")
    if max_places is not None:
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > max_places:
            raise MoneyError(f"{field} 小数位数超过{max_places}位: {value}")
    return number


def to_fraction(value: object, *, field: str = "value", max_places: int | None = None) -> Fraction:
    """An exact Fraction from decimal text (see :func:`parse_decimal`)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    return Fraction(parse_decimal(value, field=field, max_places=max_places))


def yuan_to_fen(value: object, *, field: str = "amount") -> int:
    """Yuan written with at most two decimals → int fen. More decimals is an error."""
    number = parse_decimal(value, field=field, max_places=2)
    return int(number * _HUNDRED)


def round_half_up(x: Exact) -> int:
    """Round an exact number of fen to an int, ties away from zero."""
    if isinstance(x, int):
        return x
    num, den = x.numerator, x.denominator
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def fen_of_yuan_exact(x: Exact) -> Fraction:
    """An exact number of yuan as exact fen."""
    return Fraction(x) * _HUNDRED


_ZERO_YUAN = Decimal("0.00")


def fen_to_yuan(fen: int) -> Decimal:
    """int fen → Decimal yuan with exactly two places (for the wire and for people)."""
    if not fen:
        return _ZERO_YUAN  # most of a fee line's parts are nothing; Decimals are immutable
    return Decimal(fen).scaleb(-2)  # exact: the same digits, the decimal point moved


def fmt_yuan(fen: int) -> str:
    """int fen → '1234.50' (the wire format)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // _HUNDRED}.{fen % _HUNDRED:02d}"


def fmt_exact_yuan(x: Exact) -> str:
    """An exact number of fen as yuan for explanations: 2 places when whole fen, else ≈."""
    if isinstance(x, int) or x.denominator == 1:
        return fmt_yuan(int(x))
    return "≈" + fmt_yuan(round_half_up(x))


def fmt_ratio(r: Fraction) -> str:
    """A ratio as the interface writes it: 0.6500."""
    return f"{Decimal(r.numerator) / Decimal(r.denominator):.4f}"


def fmt_percent(r: Fraction) -> str:
    """A ratio for people: 65%, 87.5%."""
    pct = Decimal(r.numerator * 100) / Decimal(r.denominator)
    text = f"{pct:.4f}".rstrip("0").rstrip(".")
    return f"{text}%"


def exact_to_text(x: Exact) -> str:
    """Store an exact number losslessly as text: '1234' or '1234567/87'."""
    if isinstance(x, int):
        return str(x)
    return str(x) if x.denominator != 1 else str(x.numerator)


def exact_from_text(text: str) -> Exact:
    value = Fraction(text)
    return value.numerator if value.denominator == 1 else value
