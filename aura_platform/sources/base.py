"""The one small protocol every connector implements, and the records they produce.

A connector discovers a table's columns (with PostgreSQL types for the raw mirror) and reads
rows changed in a cursor window. A row it cannot interpret is yielded as ``Rejected`` rather than
raised, so one bad record never aborts a load and the loader can keep the invariant
``rows read = rows loaded + rows quarantined``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import psycopg
from psycopg import sql


class SourceConfigError(RuntimeError):
    """A source's environment is incomplete (a named variable is not set)."""


def env_value(name: str | None) -> str | None:
    """The variable ``name`` names, if a name is given and the variable is set."""
    return os.environ.get(name) if name else None


def required_env(name: str | None, source: str) -> str:
    """The variable ``name`` names; a ``SourceConfigError`` naming it when it is unset."""
    value = env_value(name)
    if not value:
        raise SourceConfigError(f"source {source}: environment variable {name} is not set")
    return value


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


@runtime_checkable
class CopySource(Protocol):
    """A source the warehouse can COPY from directly: the fast path (PostgreSQL).

    Rows leave the source as COPY text and enter the warehouse without becoming Python objects,
    and a table's first load can be written straight into its new raw table. Every read of one
    sync (columns, rows, keys) happens inside one ``snapshot``, so they agree with each other.
    """

    schema: str

    def snapshot(self, exported: str | None = None) -> AbstractContextManager[psycopg.Connection]:
        """A read-only connection seeing one consistent snapshot (``exported``: another's)."""
        ...

    def columns(self, conn: psycopg.Connection, table: str) -> list[Column]:
        """The table's columns in order, with their PostgreSQL types."""
        ...

    def select(
        self,
        table: str,
        columns: list[Column],
        cursor: str | None,
        since: datetime | None,
        until: datetime | None = None,
    ) -> sql.Composed:
        """The query of the rows whose cursor falls in ``[since, until)``."""
        ...

    def copy_out(self, conn: psycopg.Connection, query: sql.Composed) -> Iterator[bytes]:
        """The query's rows as COPY text-format chunks."""
        ...
