"""Loading into ``raw``: mirror the source schema, stage with COPY, upsert on the primary key.

A batch lands in a temporary stage table first and reaches the raw table in one INSERT ... ON
CONFLICT inside the caller's transaction, so a killed process leaves nothing half-loaded, and a
re-read of the same rows (the lookback window) changes nothing and counts as neither insert nor
update.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from aura_platform.sources.base import Column

METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_raw_id", "bigint generated always as identity"),
    ("_ingested_at", "timestamptz not null default now()"),
    ("_source_system", "text not null"),
    ("_sync_batch_id", "uuid not null"),
    ("_deleted_at", "timestamptz"),
)


@dataclass(frozen=True)
class UpsertCounts:
    staged: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.staged - self.inserted - self.updated


def raw_columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    """Existing columns of a raw table (name -> type); empty when the table does not exist."""
    rows = conn.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (schema, table),
    ).fetchall()
    return dict(rows)


def ensure_raw_table(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    columns: Sequence[Column],
    primary_key: Sequence[str],
) -> list[str]:
    """Create the raw mirror, or add source columns it lacks; return the columns added.

    Source columns keep their source type; the primary key is the source's, so upserts and
    deduplication happen on it.
    """
    existing = raw_columns(conn, schema, table)
    target = sql.Identifier(schema, table)
    if not existing:
        defs = [
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in columns
        ]
        defs += [
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in METADATA_COLUMNS
        ]
        defs.append(
            sql.SQL("primary key ({})").format(
                sql.SQL(", ").join(sql.Identifier(k) for k in primary_key)
            )
        )
        conn.execute(sql.SQL("create table {} ({})").format(target, sql.SQL(", ").join(defs)))
        return [c.name for c in columns]
    added = [c for c in columns if c.name not in existing]
    for c in added:
        conn.execute(
            sql.SQL("alter table {} add column {} {}").format(
                target, sql.Identifier(c.name), sql.SQL(c.pg_type)
            )
        )
    return [c.name for c in added]


def create_stage(
    conn: psycopg.Connection, schema: str, table: str, columns: Sequence[Column]
) -> str:
    """A temporary table shaped like the source columns of the raw table, dropped at commit."""
    stage = f"_stage_{table}"
    conn.execute(
        sql.SQL(
            "create temporary table {stage} on commit drop as select {cols} from {t} limit 0"
        ).format(
            stage=sql.Identifier(stage),
            cols=sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
            t=sql.Identifier(schema, table),
        )
    )
    return stage


def copy_chunks_into(
    conn: psycopg.Connection, stage: str, columns: Sequence[Column], chunks: Iterable[bytes]
) -> None:
    """COPY text-format data (as produced by COPY TO STDOUT) into the stage table."""
    cols = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
    with conn.cursor().copy(
        sql.SQL("copy {} ({}) from stdin").format(sql.Identifier(stage), cols)
    ) as copy:
        for chunk in chunks:
            copy.write(chunk)


def upsert_stage(
    conn: psycopg.Connection,
    *,
    schema: str,
    table: str,
    stage: str,
    columns: Sequence[Column],
    primary_key: Sequence[str],
    source_system: str,
    batch_id: str,
) -> UpsertCounts:
    """Merge the stage into the raw table and count inserted and really-updated rows.

    Duplicate keys inside one batch keep one row (the stage is deduplicated first). A row whose
    values are identical to raw is left alone, so lookback re-reads are free of churn. A row that
    reappears after being tombstoned is revived.
    """
    names = [c.name for c in columns]
    non_key = [n for n in names if n not in primary_key]
    ident = sql.Identifier
    col_list = sql.SQL(", ").join(map(ident, names))
    key_list = sql.SQL(", ").join(map(ident, primary_key))
    target = ident(schema, table)
    alias = ident(table)  # once aliased in INSERT ... AS, the target is referred to by the alias
    updates = [sql.SQL("{c} = excluded.{c}").format(c=ident(n)) for n in non_key]
    updates += [
        sql.SQL("_ingested_at = now()"),
        sql.SQL("_sync_batch_id = excluded._sync_batch_id"),
        sql.SQL("_deleted_at = null"),
    ]
    changed = sql.SQL("({old}) is distinct from ({new}) or {t}._deleted_at is not null").format(
        old=sql.SQL(", ").join(sql.SQL("{}.{}").format(alias, ident(n)) for n in non_key)
        or sql.SQL("null"),
        new=sql.SQL(", ").join(sql.SQL("excluded.{}").format(ident(n)) for n in non_key)
        or sql.SQL("null"),
        t=alias,
    )
    staged = conn.execute(sql.SQL("select count(*) from {}").format(ident(stage))).fetchone()
    query = sql.SQL(
        """
        with merged as (
            insert into {target} as {alias} ({cols}, _source_system, _sync_batch_id)
            select distinct on ({keys}) {cols}, %(source)s, %(batch)s::uuid from {stage}
            order by {keys}
            on conflict ({keys}) do update set {updates} where {changed}
            returning (xmax = 0) as inserted
        )
        select count(*) filter (where inserted), count(*) filter (where not inserted) from merged
        """
    ).format(
        target=target,
        alias=alias,
        cols=col_list,
        keys=key_list,
        stage=ident(stage),
        updates=sql.SQL(", ").join(updates),
        changed=changed,
    )
    row = conn.execute(query, {"source": source_system, "batch": batch_id}).fetchone()
    assert row is not None and staged is not None
    return UpsertCounts(staged=int(staged[0]), inserted=int(row[0]), updated=int(row[1]))
