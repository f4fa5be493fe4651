"""The one small protocol every connector implements, and the records they produce.

A connector discovers a table's columns (with PostgreSQL types for the raw mirror) and reads
rows changed in a cursor window. A row it cannot interpret is yielded as ``Rejected`` rather than
raised, so one bad record never aborts a load and the loader can keep the invariant
``rows read = rows loaded + rows quarantined``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Column:
    """A source column and the PostgreSQL type its raw mirror gets."""

    name: str
    pg_type: str


@dataclass(frozen=True)
class Rejected:
    """A record that could not be read; it goes to ``ops.quarantine`` with its original form."""

    reason: str
    payload: dict[str, Any]
    source_file: str | None = None
    line_number: int | None = None


@dataclass(frozen=True)
class ReadWindow:
    """Which rows to read: cursor in [since, until); either bound may be open."""

    cursor: str | None
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Extract:
    """What one read of one table produced: its columns and a stream of rows or rejections."""

    columns: list[Column]
    records: Iterator[Sequence[Any] | Rejected]
    details: dict[str, Any] = field(default_factory=dict)


class RowSource(Protocol):
    """A connector: Odoo over XML-RPC, APN export files, CSV landing zone, MongoDB..."""

    def extract(self, table: str, window: ReadWindow) -> Extract:
        """Columns of ``table`` and its records whose cursor falls in ``window``."""
        ...

    def primary_keys(self, table: str) -> set[tuple[Any, ...]] | None:
        """Every primary key currently in the source (for delete reconciliation), if knowable."""
        ...
