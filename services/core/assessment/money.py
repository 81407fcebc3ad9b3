"""Exact money: integer fen, split by the largest-remainder method so the parts sum to the whole."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def apportion(total_fen: int, exact_shares: Sequence[Fraction]) -> list[int]:
    """Integer parts of ``total_fen`` as close as possible to ``exact_shares``, summing to ``total_fen``.

    Each part is first its share rounded down; the fen left over go one each to the parts with the
    largest remainders, ties to the earlier part (so the order of the shares is the tie-break, and
    callers order them by rank or by a documented key). ``total_fen`` must not exceed the shares'
    sum rounded up, nor be below their floors' sum.
    """
    floors = [int(s) if s >= 0 else -int(-s) for s in exact_shares]  # shares are never negative here
    left = total_fen - sum(floors)
    if left < 0 or left > len(floors):
        raise ValueError(f"cannot apportion {total_fen} fen over shares summing to {float(sum(exact_shares))}")
    order = sorted(range(len(floors)), key=lambda i: (-(exact_shares[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def split_equally(total_fen: int, n: int) -> list[int]:
    """``total_fen`` among ``n`` people: equal parts, the remainder a fen each to the first ones."""
    if n <= 0:
        return []
    return apportion(total_fen, [Fraction(total_fen, n)] * n)


def yuan(fen: int) -> str:
    """¥ text for people: 12345678 → '123,456.78'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
