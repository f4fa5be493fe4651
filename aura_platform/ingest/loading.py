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
from psycopg.types.json import Jsonb

from aura_platform.ingest.drift import DriftPlan, TypeChange
from aura_platform.sources.base import Column, Rejected
from aura_platform.warehouse.catalog import table_columns

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
    revived: int = 0  # of the updated: tombstoned rows brought back (counted only on request)

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.staged + other.staged,
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.revived + other.revived,
        )

    @property
    def unchanged(self) -> int:
        return self.staged - self.inserted - self.updated


def raw_columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    """Existing columns of a raw table (name -> type); empty when the table does not exist."""
    return dict(table_columns(conn, schema, table))


def ensure_raw_table(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    columns: Sequence[Column],
    primary_key: Sequence[str],
    *,
    defer_key: bool = False,
) -> bool:
    """Create the raw mirror if it does not exist yet; return whether it was created.

    Source columns keep their source type; the primary key is the source's, so upserts and
    deduplication happen on it. ``defer_key`` leaves the key to ``add_primary_key`` after a
    bulk load, which is faster than maintaining the index row by row. The tombstone index is
    made sure of on existing tables too, as raw tables older than it lack it.
    """
    ident = sql.Identifier
    created = not raw_columns(conn, schema, table)
    if created:
        defs = [sql.SQL("{} {}").format(ident(c.name), sql.SQL(c.pg_type)) for c in columns]
        defs += [sql.SQL("{} {}").format(ident(n), sql.SQL(t)) for n, t in METADATA_COLUMNS]
        conn.execute(
            sql.SQL("create table {} ({})").format(ident(schema, table), sql.SQL(", ").join(defs))
        )
        if not defer_key:
            add_primary_key(conn, schema, table, primary_key)
    # Only tombstoned rows are in it, so it costs nothing while rows are live, and it tells a
    # batch which of its keys it revives without a probe of raw per key (_count_tombstoned).
    # Looked up first: CREATE INDEX IF NOT EXISTS would lock the table against writes anyway.
    index = ident(schema, f"{table}_tombstones")
    found = conn.execute("select to_regclass(%s)", (index.as_string(conn),)).fetchone()
    if not found or found[0] is None:
        conn.execute(
            sql.SQL("create index {} on {} ({}) where _deleted_at is not null").format(
                ident(f"{table}_tombstones"),
                ident(schema, table),
                sql.SQL(", ").join(map(ident, primary_key)),
            )
        )
    return created


def add_primary_key(
    conn: psycopg.Connection, schema: str, table: str, primary_key: Sequence[str]
) -> None:
    conn.execute(
        sql.SQL("alter table {} add primary key ({})").format(
            sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, primary_key))
        )
    )


def key_fingerprint(
    conn: psycopg.Connection,
    relation: sql.Composable,
    primary_key: Sequence[str],
    where: sql.Composable | None = None,
) -> tuple[int, int]:
    """Count and order-independent hash sum of a relation's keys: equal sets, equal prints.

    Comparing the source's print with raw's tells whether any key disappeared without copying
    every key across; only when they differ is the full anti-join needed.
    """
    keys = sql.SQL(", ").join(map(sql.Identifier, primary_key))
    row = conn.execute(
        sql.SQL(
            "select count(*), coalesce(sum(hashtextextended(row({k})::text, 0)::numeric), 0) "
            "from {r} where {w}"
        ).format(k=keys, r=relation, w=where or sql.SQL("true"))
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def apply_drift(
    conn: psycopg.Connection,
    *,
    schema: str,
    table: str,
    plan: DriftPlan,
    source_system: str,
    source_table: str,
    batch_id: str,
) -> None:
    """Add new columns, widen safely widened ones, and record every change in ops."""
    target = sql.Identifier(schema, table)
    for column in plan.added:
        conn.execute(
            sql.SQL("alter table {} add column {} {}").format(
                target, sql.Identifier(column.name), sql.SQL(column.pg_type)
            )
        )
    for change in plan.widened:
        conn.execute(
            sql.SQL("alter table {t} alter column {c} type {ty} using {c}::{ty}").format(
                t=target, c=sql.Identifier(change.column), ty=sql.SQL(change.source_type)
            )
        )
    records: list[tuple[str, str, str | None, str | None]] = [
        (c.name, "added", None, c.pg_type) for c in plan.added
    ]
    records += [(c.column, "widened", c.raw_type, c.source_type) for c in plan.widened]
    records += [(c.column, "type_conflict", c.raw_type, c.source_type) for c in plan.conflicts]
    records += [(name, "removed", None, None) for name in plan.removed]
    if records:
        # A standing conflict or removal is recorded when first seen, not on every sync.
        conn.cursor().executemany(
            "insert into ops.schema_changes (source_system, source_table, column_name, change, "
            "old_type, new_type, sync_batch_id) select %s, %s, %s, %s, %s, %s, %s "
            "where not exists (select 1 from ops.schema_changes where source_system = %s "
            "and source_table = %s and column_name = %s and change = %s "
            "and new_type is not distinct from %s)",
            [
                (source_system, source_table, *r, batch_id, source_system, source_table, r[0],
                 r[1], r[3])
                for r in records
            ],
        )  # fmt: skip


def create_stage(conn: psycopg.Connection, table: str, columns: Sequence[Column]) -> str:
    """A temporary table typed like the source columns, dropped at commit.

    Typed by the source rather than by raw, so a value that does not fit a conflicting raw type
    still lands in the stage and can be quarantined row by row instead of failing the COPY.
    """
    stage = f"_stage_{table}"
    conn.execute(
        sql.SQL("create temporary table {} ({}) on commit drop").format(
            sql.Identifier(stage),
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in columns
            ),
        )
    )
    return stage


def copy_chunks_into(
    conn: psycopg.Connection,
    target: str | sql.Composable,
    columns: Sequence[Column],
    chunks: Iterable[bytes],
    *,
    freeze: bool = False,
) -> int:
    """COPY text-format data (as produced by COPY TO STDOUT) into a table; return the rows.

    ``freeze`` (only for a table created in the current subtransaction) writes the rows already
    frozen and all-visible, so the first reader after commit does not rewrite every page to set
    hint bits (with data checksums each of those writes also goes to the WAL).
    """
    cols = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
    relation = sql.Identifier(target) if isinstance(target, str) else target
    options = sql.SQL(" with (freeze)") if freeze else sql.SQL("")
    cursor = conn.cursor()
    with cursor.copy(sql.SQL("copy {} ({}) from stdin{}").format(relation, cols, options)) as copy:
        for chunk in chunks:
            copy.write(chunk)
    return cursor.rowcount


def copy_rows_into(
    conn: psycopg.Connection,
    stage: str,
    columns: Sequence[Column],
    records: Iterable[Sequence[object] | Rejected],
) -> list[Rejected]:
    """COPY row tuples into the stage; return the rejected records met on the way."""
    rejected: list[Rejected] = []
    cols = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
    with conn.cursor().copy(
        sql.SQL("copy {} ({}) from stdin").format(sql.Identifier(stage), cols)
    ) as copy:
        for record in records:
            if isinstance(record, Rejected):
                rejected.append(record)
            else:
                copy.write_row(record)
    return rejected


def quarantine_unconvertible(
    conn: psycopg.Connection,
    *,
    stage: str,
    conflicts: Sequence[TypeChange],
    source_system: str,
    source_table: str,
    batch_id: str,
) -> int:
    """Move stage rows whose value cannot take the raw column's type to ``ops.quarantine``."""
    if not conflicts:
        return 0
    bad = sql.SQL(" or ").join(
        sql.SQL("not ops.converts_exactly({c}::text, {t})").format(
            c=sql.Identifier(c.column), t=sql.Literal(c.raw_type)
        )
        for c in conflicts
    )
    reason = "type conflict: " + ", ".join(
        f"{c.column} is {c.source_type} in the source but {c.raw_type} in raw" for c in conflicts
    )
    moved = conn.execute(
        sql.SQL(
            """
            with bad as (delete from {stage} where {bad} returning *)
            insert into ops.quarantine
                (source_system, source_table, reason, original_payload, sync_batch_id)
            select %(system)s, %(table)s, %(reason)s, to_jsonb(bad), %(batch)s from bad
            where not exists (select 1 from ops.quarantine q where q.resolved_at is null
                and q.source_system = %(system)s and q.source_table = %(table)s
                and q.original_payload = to_jsonb(bad))
            """
        ).format(stage=sql.Identifier(stage), bad=bad),
        {"system": source_system, "table": source_table, "reason": reason, "batch": batch_id},
    )
    return moved.rowcount


def quarantine_records(
    conn: psycopg.Connection,
    rejected: Sequence[Rejected],
    *,
    source_system: str,
    source_table: str,
    batch_id: str,
) -> int:
    """Write records a connector could not read to ``ops.quarantine``, in the load's transaction."""
    if rejected:
        # A bad record still in the source is met again by the next sync; it stays quarantined
        # once (until resolved) rather than piling up a copy per run.
        conn.cursor().executemany(
            "insert into ops.quarantine (source_system, source_table, source_file, line_number, "
            "reason, original_payload, sync_batch_id) select %s, %s, %s, %s, %s, %s, %s "
            "where not exists (select 1 from ops.quarantine q where q.resolved_at is null "
            "and q.source_system = %s and q.source_table = %s "
            "and q.source_file is not distinct from %s and q.line_number is not distinct from %s "
            "and q.reason = %s and q.original_payload = %s)",
            [
                (source_system, source_table, r.source_file, r.line_number, r.reason,
                 Jsonb(r.payload), batch_id, source_system, source_table, r.source_file,
                 r.line_number, r.reason, Jsonb(r.payload))
                for r in rejected
            ],
        )  # fmt: skip
    return len(rejected)


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
    cursor: str | None = None,
    casts: dict[str, str] | None = None,
    removed: Sequence[str] = (),
    count_revived: bool = False,
) -> UpsertCounts:
    """Merge the stage into the raw table and count inserted and really-updated rows.

    Duplicate keys inside one batch keep the newest row by ``cursor``. A row whose values equal
    raw's is left alone, so lookback re-reads are free of churn. A row that reappears after being
    tombstoned is revived; ``count_revived`` counts those, for a caller that keeps the live row
    count up to date without counting the table. ``casts`` converts conflicting columns to their
    raw type; ``removed`` columns (gone from the source) become NULL on the rows this batch
    touches.
    """
    casts = casts or {}
    ident = sql.Identifier
    names = [c.name for c in columns]
    non_key = [n for n in names if n not in primary_key]
    target = ident(schema, table)
    alias = ident(table)  # once aliased in INSERT ... AS, the target is referred to by the alias
    selected = [
        sql.SQL("{c}::{t}").format(c=ident(n), t=sql.SQL(casts[n])) if n in casts else ident(n)
        for n in names
    ]
    updates: list[sql.Composable] = [
        sql.SQL("{c} = excluded.{c}").format(c=ident(n)) for n in non_key
    ]
    updates += [sql.SQL("{} = null").format(ident(n)) for n in removed]
    updates += [
        sql.SQL("_ingested_at = now()"),
        sql.SQL("_sync_batch_id = excluded._sync_batch_id"),
        sql.SQL("_deleted_at = null"),
    ]
    compared = [*non_key, *removed]
    changed = sql.SQL("({old}) is distinct from ({new}) or {t}._deleted_at is not null").format(
        old=sql.SQL(", ").join(sql.SQL("{}.{}").format(alias, ident(n)) for n in compared)
        or sql.SQL("null"),
        new=sql.SQL(", ").join(
            sql.SQL("excluded.{}").format(ident(n)) if n in non_key else sql.SQL("null")
            for n in compared
        )
        or sql.SQL("null"),
        t=alias,
    )
    key_list = sql.SQL(", ").join(map(ident, primary_key))
    newest_first = (
        sql.SQL(", {} desc nulls last").format(ident(cursor)) if cursor in names else sql.SQL("")
    )
    staged = conn.execute(sql.SQL("select count(*) from {}").format(ident(stage))).fetchone()
    revived = _count_tombstoned(conn, target, stage, primary_key) if count_revived else 0
    query = sql.SQL(
        """
        with merged as (
            insert into {target} as {alias} ({cols}, _source_system, _sync_batch_id)
            select distinct on ({keys}) {selected}, %(source)s, %(batch)s::uuid from {stage}
            order by {keys}{newest_first}
            on conflict ({keys}) do update set {updates} where {changed}
            returning (xmax = 0) as inserted
        )
        select count(*) filter (where inserted), count(*) filter (where not inserted) from merged
        """
    ).format(
        target=target,
        alias=alias,
        cols=sql.SQL(", ").join(map(ident, names)),
        keys=key_list,
        selected=sql.SQL(", ").join(selected),
        stage=ident(stage),
        newest_first=newest_first,
        updates=sql.SQL(", ").join(updates),
        changed=changed,
    )
    row = conn.execute(query, {"source": source_system, "batch": batch_id}).fetchone()
    assert row is not None and staged is not None
    return UpsertCounts(
        staged=int(staged[0]), inserted=int(row[0]), updated=int(row[1]), revived=revived
    )


def _count_tombstoned(
    conn: psycopg.Connection, target: sql.Identifier, stage: str, primary_key: Sequence[str]
) -> int:
    """Distinct stage keys whose raw row is tombstoned: the rows the upsert will revive.

    Raw's partial index of tombstoned keys makes this a join against the (usually few)
    tombstones rather than a probe of raw per staged key.
    """
    keys = sql.SQL(", ").join(map(sql.Identifier, primary_key))
    row = conn.execute(
        sql.SQL(
            "select count(*) from (select distinct {keys} from {stage}) as k join {t} as r "
            "on {match} where r._deleted_at is not null"
        ).format(keys=keys, stage=sql.Identifier(stage), t=target, match=keys_match(primary_key))
    ).fetchone()
    return int(row[0]) if row else 0


def keys_match(primary_key: Sequence[str]) -> sql.Composable:
    """``k.<key> = r.<key> and ...``: a key table ``k`` joined to a raw table ``r``."""
    return sql.SQL(" and ").join(
        sql.SQL("k.{c} = r.{c}").format(c=sql.Identifier(c)) for c in primary_key
    )


def tombstone_missing(
    conn: psycopg.Connection,
    *,
    schema: str,
    table: str,
    primary_key: Sequence[str],
    key_table: str,
) -> int:
    """Set ``_deleted_at`` on raw rows whose key is no longer among the source's keys."""
    return _tombstone(conn, schema, table, primary_key, key_table, listed=False)


def tombstone_keys(
    conn: psycopg.Connection,
    *,
    schema: str,
    table: str,
    primary_key: Sequence[str],
    key_table: str,
) -> int:
    """Set ``_deleted_at`` on the live raw rows whose key is in ``key_table`` (known deletes)."""
    return _tombstone(conn, schema, table, primary_key, key_table, listed=True)


def _tombstone(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    primary_key: Sequence[str],
    key_table: str,
    *,
    listed: bool,
) -> int:
    """Tombstone the live raw rows whose key is (``listed``) or is not in ``key_table``."""
    done = conn.execute(
        sql.SQL(
            "update {t} as r set _deleted_at = now() where r._deleted_at is null "
            "and {negation}exists (select 1 from {k} as k where {match})"
        ).format(
            t=sql.Identifier(schema, table),
            k=sql.Identifier(key_table),
            negation=sql.SQL("" if listed else "not "),
            match=keys_match(primary_key),
        )
    )
    return done.rowcount


def count_missing(
    conn: psycopg.Connection,
    *,
    schema: str,
    table: str,
    primary_key: Sequence[str],
    key_table: str,
) -> int:
    """Source keys with no live raw row: rows a windowed read could never bring back."""
    ident = sql.Identifier
    match = keys_match(primary_key)
    row = conn.execute(
        sql.SQL(
            "select count(*) from {k} as k where not exists "
            "(select 1 from {t} as r where {match} and r._deleted_at is null)"
        ).format(t=ident(schema, table), k=ident(key_table), match=match)
    ).fetchone()
    return int(row[0]) if row else 0


def unresolved_quarantine(conn: psycopg.Connection, source_system: str, source_table: str) -> int:
    """Records of a table waiting in quarantine: raw legitimately lacks their keys."""
    row = conn.execute(
        "select count(*) from ops.quarantine where source_system = %s and source_table = %s "
        "and resolved_at is null",
        (source_system, source_table),
    ).fetchone()
    return int(row[0]) if row else 0
