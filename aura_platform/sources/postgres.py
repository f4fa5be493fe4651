"""PostgreSQL source transport (Odoo, APN): schema discovery and COPY extraction, read-only.

The one transport with the COPY fast path (``CopySource``): rows go from the source to the
warehouse as COPY text, never as Python objects.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
import psycopg.errors
from psycopg import sql

from aura_platform.config.models import SourceConfig
from aura_platform.settings import Settings, SourceNotConfigured
from aura_platform.sources.base import Column
from aura_platform.sources.probing import (
    Outcome,
    database_name,
    listed,
    missing_database,
    one_line,
    quick_connect,
)
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


# --- the transport: what the registry needs -------------------------------------------------


def open_source(name: str, config: SourceConfig, settings: Settings) -> SqlSource:
    """The source database named by ``connection_env`` (in the demo, the demo's when unset).

    Raises:
        SourceNotConfigured: The variable is unset outside the demo.
    """
    assert config.connection_env is not None
    return SqlSource(settings.source_url(config.connection_env))


def source_secrets(config: SourceConfig, settings: Settings) -> list[str]:
    """The source's URL; none while it is not configured (then there is nothing to leak)."""
    assert config.connection_env is not None
    try:
        return [settings.source_url(config.connection_env)]
    except SourceNotConfigured:
        return []


def is_permanent(error: BaseException) -> bool:
    """A refused password or a missing right: PostgreSQL will say the same on every retry."""
    if isinstance(
        error,
        psycopg.errors.InvalidPassword
        | psycopg.errors.InvalidAuthorizationSpecification
        | psycopg.errors.InsufficientPrivilege,
    ):
        return True
    return isinstance(error, psycopg.OperationalError) and "password authentication failed" in str(
        error
    )


def check_health(config: SourceConfig, settings: Settings) -> Outcome:
    """Connect read-only, ``select 1``, and look for every configured table."""
    assert config.connection_env is not None
    env = config.connection_env
    configured = bool(os.environ.get(env))
    try:
        source = SqlSource(settings.source_url(env))
    except KeyError:
        return "not configured", f"{env} is not set (AURA_DEMO=1 reads the demo's instead)"
    where = env if configured else f"demo database {database_name(source.url)} (AURA_DEMO=1)"
    try:
        conn = quick_connect(source.url, read_only=True)
    except psycopg.Error as exc:
        if configured:
            return "down", f"{env} unreachable: {one_line(exc)}"
        if missing_database(settings, source.url):
            return "degraded", f"{where} does not exist yet: `aura demo` generates it"
        return "degraded", f"{where} unreachable: {one_line(exc)}"
    with conn:
        conn.execute("select 1")
        version = conn.execute("show server_version").fetchone()
        readable: dict[str, bool] = dict(
            conn.execute(
                "select c.relname, has_table_privilege(c.oid, 'select') "
                "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %s and c.relname = any(%s) "
                "and c.relkind in ('r', 'p', 'v', 'm', 'f')",
                (source.schema, list(config.tables)),
            ).fetchall()
        )
    summary = f"{where}: PostgreSQL {version[0] if version else '?'}"
    missing = [t for t in config.tables if t not in readable]
    denied = [t for t in config.tables if readable.get(t) is False]
    problems = []
    if missing:
        total = len(config.tables)
        problems.append(f"{len(missing)} of {total} tables missing: {listed(missing)}")
    if denied:
        problems.append(f"no SELECT right on {listed(denied)}")
    if problems:
        return "degraded", f"{summary}; {'; '.join(problems)}"
    return "healthy", f"{summary}, all {len(config.tables)} tables readable"
