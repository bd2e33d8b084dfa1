"""Column types that keep money and ratios exact on SQLite and PostgreSQL alike.

- Money columns are ``BigInteger`` fen (``Money``). Every money column in yibao holds integer
  fen, whatever the backend, so that SQL sums are exact and DuckDB reads them unchanged.
- Prices, quantities and ratios (``pric`` 16,6, ``cnt`` 16,4, ``selfpay_prop`` 5,4) are
  ``ExactDecimal``: NUMERIC on PostgreSQL, text on SQLite (whose NUMERIC would turn them into
  binary floats). Python sees ``Decimal`` in both cases.
- Exact rationals (a layer's yearly base can be a fraction of a fen) are text ``'n/d'``.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class Money(TypeDecorator):
    """Integer fen."""

    impl = BigInteger
    cache_ok = True

    def __repr__(self) -> str:
        return "Money()"


class ExactDecimal(TypeDecorator):
    """A decimal kept exact: NUMERIC(p, s) on PostgreSQL, text elsewhere."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 16, scale: int = 6) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale

    def __repr__(self) -> str:
        return f"ExactDecimal({self.precision}, {self.scale})"

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))
        return dialect.type_descriptor(String(self.precision + 3))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        if dialect.name == "postgresql":
            return number
        return format(number.normalize(), "f") if number == number.to_integral() else format(number, "f")

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))
