"""Test support: trial-balance files read as a ``RowSource``, outside the landing zone.

The product loads CSV files only through the landing zone (``ingest/landing.py``: checksums,
archive, one file per transaction); tests also read fixture files directly, through the same
parser, to check what it makes of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aura_platform.sources.base import Extract, ReadWindow
from aura_platform.sources.csv_trial_balance import COLUMNS, TABLE, parse_bytes


def parse_file(path: Path, *, default_currency: str = "USD") -> Extract:
    """Parse one trial-balance file (see ``csv_files.parse_bytes``)."""
    return parse_bytes(path.name, path.read_bytes(), default_currency=default_currency)


class CsvTrialBalanceSource:
    """Trial-balance files as a ``RowSource``: one table, ``trial_balance``, over given files.

    Files are changes in themselves, so there is no cursor, and the source cannot know every
    key.
    """

    def __init__(self, paths: Iterable[Path], *, default_currency: str = "USD") -> None:
        self.paths = list(paths)
        self.default_currency = default_currency

    def extract(self, table: str, window: ReadWindow) -> Extract:
        """Rows and rejections of every file, file after file.

        Keys are unique within a file but may repeat across files (a corrected file for the same
        entity and period); a loader should apply files in order, as the landing zone does.
        """
        _check_table(table)
        if window.cursor is not None:
            raise ValueError("trial-balance files have no cursor; read them with ReadWindow(None)")
        extracts = [parse_file(p, default_currency=self.default_currency) for p in self.paths]
        records = (record for e in extracts for record in e.records)
        return Extract(COLUMNS, records, {"files": [e.details for e in extracts]})

    def primary_keys(self, table: str) -> set[tuple[Any, ...]] | None:
        """Unknowable: a file holds some entities and periods, not the whole ledger."""
        _check_table(table)
        return None


def _check_table(table: str) -> None:
    """The source has one table; anything else is a configuration mistake worth naming."""
    if table != TABLE:
        raise LookupError(f"CSV landing zone has only the table {TABLE!r}, not {table!r}")
