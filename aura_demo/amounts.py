"""Money as exact two-decimal ``Decimal`` values, and its display in finance files."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(value: float | Decimal) -> Decimal:
    """Round to cents the way an invoice does (half up), exactly and the same on every run."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def with_separators(value: Decimal) -> str:
    """``1234567.8`` -> ``"1,234,567.80"``, as accounting exports write amounts."""
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
