"""Exact apportionment: split an amount of fen in proportion to weights so that the parts
sum to the total exactly (largest-remainder method, ties to the earlier item)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Sequence


def apportion(total: int, weights: Sequence[int | Fraction | Decimal]) -> list[int]:
    """Parts of ``total`` (int fen) proportional to ``weights`` (≥ 0), summing to ``total``.

    Example: ``apportion(100, [1, 1, 1]) == [34, 33, 33]``.
    """
    ws = [Fraction(w) for w in weights]
    if any(w < 0 for w in ws):
        raise ValueError("apportion: negative weight")
    s = sum(ws, Fraction(0))
    if s == 0:
        if total != 0:
            raise ValueError("apportion: all weights are zero but the total is not")
        return [0] * len(ws)
    exact = [Fraction(total) * w / s for w in ws]
    floors = [e.numerator // e.denominator for e in exact]
    left = total - sum(floors)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors
