"""The demo's fixed notion of "now": every timestamp is drawn relative to ``BASE_DATE``.

Reading the wall clock would make two runs with the same seed differ, so nothing in the demo does.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

# Naive UTC, like Odoo's create_date/write_date columns.
BASE_DATE = datetime(2026, 1, 1, 0, 0, 0)
HISTORY_DAYS = 90
# The three closed and billed months the billing tables and trial balances cover (December is
# still being closed at the base date, so nothing about it is final yet).
PERIODS: tuple[date, ...] = (date(2025, 9, 1), date(2025, 10, 1), date(2025, 11, 1))


def moment_between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole-second instant in ``[start, end]``."""
    span = max(0, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randint(0, span))


def created_and_written(
    rng: random.Random, *, after: datetime | None = None, days: int = HISTORY_DAYS
) -> tuple[datetime, datetime]:
    """A ``(create_date, write_date)`` pair in the history window, ``write >= create``.

    ``after`` keeps a child row from being created before its parent. About a third of the rows
    were never edited after creation, so their two stamps are equal.
    """
    start = BASE_DATE - timedelta(days=days)
    if after is not None and after > start:
        start = after
    created = moment_between(rng, start, BASE_DATE - timedelta(hours=1))
    if rng.random() < 0.35:
        return created, created
    return created, moment_between(rng, created, BASE_DATE - timedelta(minutes=1))


def month_end(first_day: date) -> date:
    """The last day of the month starting at ``first_day``."""
    following = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)
