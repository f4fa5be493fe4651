"""Value converters every connector shares, so a timestamp or an amount means one thing.

The warehouse keeps timestamps as naive UTC and amounts as exact decimals; each connector meets
them in its own shape (Odoo strings, JSON exports, BSON), and these helpers are the one place
that turns them into the warehouse's convention. They raise ``ValueError`` on a value they
cannot read, which connectors turn into a quarantined record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as naive UTC: an aware one is converted, a naive one is taken as UTC already."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def parse_timestamp(text: str) -> datetime:
    """An ISO date-time string as naive UTC (Odoo's ``YYYY-MM-DD HH:MM:SS`` included)."""
    return naive_utc(datetime.fromisoformat(text.strip()))


def parse_decimal(value: Any) -> Decimal:
    """Exact decimal of a number or numeric string; bools and non-finite values are not amounts.

    Floats go through their shortest repr, which is the amount the sender rounded to.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValueError(f"unparsable number {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"unparsable number {value!r}")
    return number
