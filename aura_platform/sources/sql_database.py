"""PostgreSQL source transport (Odoo, APN): schema discovery and COPY extraction, read-only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
from psycopg import sql

from aura_platform.sources.base import Column
from aura_platform.warehouse.catalog import table_columns
from aura_platform.warehouse.connection import connect


class SqlSource:
    """One source database, read inside REPEATABLE READ, READ ONLY transactions."""

    def __init__(self, url: str, schema: str = "public") -> None:
        self.url = url
        self.schema = schema

    @contextmanager
    def snapshot(self, exported: str | None = None) -> Iterator[psycopg.Connection]:
        """A read-only connection whose queries all see one consistent snapshot.

        ``exported`` names a snapshot exported by another session (a replication slot's, for
        change data capture) to read in instead of a fresh one.
        """
        with connect(self.url, read_only=True) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                if exported is not None:
                    conn.execute(
                        sql.SQL("set transaction snapshot {}").format(sql.Literal(exported))
                    )
                yield conn

    def columns(self, conn: psycopg.Connection, table: str) -> list[Column]:
        """The table's columns in order, with faithful PostgreSQL type names."""
        rows = table_columns(conn, self.schema, table)
        if not rows:
            raise LookupError(f"source table {self.schema}.{table} does not exist")
        return [Column(name, pg_type) for name, pg_type in rows]

    def select(
        self,
        table: str,
        columns: list[Column],
        cursor: str | None,
        since: datetime | None,
        until: datetime | None = None,
    ) -> sql.Composed:
        """SELECT of the rows to sync: those at or after ``since`` on the cursor column.

        Rows whose cursor is NULL are always included: their change time is unknown, and a
        re-read is deduplicated downstream, whereas skipping them would lose them silently.
        """
        query = sql.SQL("select {cols} from {tbl}").format(
            cols=sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
            tbl=sql.Identifier(self.schema, table),
        )
        if cursor is None or (since is None and until is None):
            return query
        cur = sql.Identifier(cursor)
        conds = []
        if since is not None:
            conds.append(sql.SQL("{} >= {}").format(cur, sql.Literal(since)))
        if until is not None:
            conds.append(sql.SQL("{} < {}").format(cur, sql.Literal(until)))
        return sql.SQL("{q} where ({cond}) or {cur} is null").format(
            q=query, cond=sql.SQL(" and ").join(conds), cur=cur
        )

    def copy_out(self, conn: psycopg.Connection, query: sql.Composed) -> Iterator[bytes]:
        """Stream the query's rows as COPY text-format chunks."""
        with conn.cursor().copy(sql.SQL("copy ({}) to stdout").format(query)) as copy:
            yield from copy
