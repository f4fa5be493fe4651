"""The backfill resource: the date range a run's raw syncs re-read, or none."""

from datetime import datetime

import pytest

from aura_platform.defs.resources import BackfillWindow


def test_an_unset_window_means_an_incremental_run() -> None:
    assert BackfillWindow().window() is None


def test_a_range_covers_both_days_as_a_half_open_cursor_window() -> None:
    window = BackfillWindow(start="2025-11-10", end="2025-11-16").window()
    assert window == (datetime(2025, 11, 10), datetime(2025, 11, 17))
    assert BackfillWindow(start="2025-11-10").window() == (
        datetime(2025, 11, 10),
        datetime(2025, 11, 11),
    )


@pytest.mark.parametrize(
    "config", [{"start": "2025-11-16", "end": "2025-11-10"}, {"end": "2025-11-10"}, {"start": "x"}]
)
def test_a_bad_range_is_refused_before_anything_syncs(config: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        BackfillWindow(**config)
