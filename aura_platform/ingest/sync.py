"""One table sync, end to end: read what changed, load it atomically, reconcile deletes, audit.

Odoo stamps ``write_date`` with its transaction's start time, so a long transaction can commit
rows stamped before rows another sync already saw. Re-reading ``watermark - lookback`` catches
them; the upsert's change detection makes the re-read rows free.

Deletes are reconciled (source keys compared with raw's) on a per-table cadence rather than on
every sync: it is the one step whose cost grows with the table rather than with the change. A
sync that does not reconcile keeps raw's live row count from the one recorded in ops plus what
it inserted and revived, instead of counting the table.

Everything a sync writes to raw (rows, quarantined records, schema changes, tombstones, the new
watermark, the reconciliation time and the live row count) commits in one transaction, so a
process killed mid-load leaves raw as it was and the next sync starts from the old watermark.
The audit row is written on its own connection so a failure is recorded too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import psycopg
from psycopg import sql

from aura_platform.config.models import SourceConfig, SourcesFile, TableConfig
from aura_platform.ingest import cdc, loading
from aura_platform.ingest.audit import SyncOutcome, close_sync_job, fail_sync_job, open_sync_job
from aura_platform.ingest.drift import DriftPlan, plan_drift
from aura_platform.settings import Settings
from aura_platform.sources import pgoutput
from aura_platform.sources.base import (
    Column,
    CopySource,
    Extract,
    ReadWindow,
    Rejected,
    RowSource,
)
from aura_platform.sources.postgres import SqlSource
from aura_platform.sources.postgres_cdc import ChangeFeed, cdc_name
from aura_platform.warehouse.connection import connect

_METADATA = {name for name, _ in loading.METADATA_COLUMNS}


@dataclass(frozen=True)
class TableSync:
    """What to sync: a configured table of a configured source, into ``raw``."""

    source_name: str
    source: SourceConfig
    table_name: str
    table: TableConfig

    @property
    def raw_table(self) -> str:
        return f"{self.source_name}_{self.table_name}"

    @property
    def asset_key(self) -> str:
        return f"raw/{self.source_name}/{self.table_name}"


@dataclass(frozen=True)
class SyncResult:
    job_id: int
    batch_id: str
    mode: str
    outcome: SyncOutcome
    watermark_before: datetime | None
    row_count: int
    columns: dict[str, str]
    drift: DriftPlan = field(default_factory=DriftPlan)


@dataclass
class _Loaded:
    """What the transactional part of a sync produced."""

    counts: loading.UpsertCounts
    quarantined: int
    deleted: int | None  # None: deletes were not reconciled
    watermark: datetime | None
    drift: DriftPlan
    details: dict[str, object]
    live_rows: int | None = None  # raw's live rows after the load, when already known


@dataclass(frozen=True)
class _State:
    """What ops recorded about a table: where to read from, and whether deletes are due."""

    watermark: datetime | None
    live_rows: int | None
    reconcile_due: bool


def _read_state(conn: psycopg.Connection, spec: TableSync) -> _State:
    """The table's row in ``ops.sync_watermarks``; due is judged on the warehouse's clock."""
    row = conn.execute(
        "select watermark, live_rows, deletes_reconciled_at is null "
        "or deletes_reconciled_at <= now() - %s from ops.sync_watermarks "
        "where source_system = %s and source_table = %s",
        (spec.table.reconcile_deletes_every, spec.source_name, spec.table_name),
    ).fetchone()
    return _State(*row) if row else _State(None, None, reconcile_due=True)


@contextmanager
def table_lock(warehouse_url: str, spec: TableSync) -> Iterator[psycopg.Connection]:
    """Serialise syncs of one table across processes, and retire jobs of syncs that died.

    A live sync holds this lock for as long as its job row says ``running``; so once we hold
    it, any other ``running`` row of the table belongs to a process that was killed. Yields
    the (autocommit) connection holding the lock, for reading the table's state.
    """
    with connect(warehouse_url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext(%s))", (f"raw.{spec.raw_table}",))
        try:
            conn.execute(
                "update ops.sync_jobs set status = 'failed', finished_at = now(), "
                "error_message = 'abandoned: the sync process ended before finishing; "
                "nothing of it was committed' "
                "where source_system = %s and source_table = %s and status = 'running'",
                (spec.source_name, spec.table_name),
            )
            yield conn
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (f"raw.{spec.raw_table}",))


def sync_table(
    spec: TableSync,
    *,
    warehouse_url: str,
    source: CopySource | RowSource,
    mask_urls: list[str] | None = None,
    full_refresh: bool = False,
    backfill: tuple[datetime, datetime] | None = None,
    run_id: str | None = None,
) -> SyncResult:
    """Bring the rows of one source table that changed into ``raw.<source>_<table>``.

    Args:
        spec: The configured table.
        warehouse_url: Where raw and ops live.
        source: The connector (a ``CopySource`` streams COPY; others yield rows).
        mask_urls: URLs and secrets that must not appear in a recorded error.
        full_refresh: Read everything, ignoring the watermark, and reconcile deletes
            whatever ``reconcile_deletes_every`` says.
        backfill: Re-sync exactly the rows whose cursor is in ``[start, end)``; the watermark
            and delete reconciliation are left alone.
        run_id: The Dagster run, for the audit row.
    """
    if isinstance(source, SqlSource):
        if spec.source.mode == "cdc" and not backfill:
            return _sync_cdc(spec, warehouse_url, source, mask_urls, full_refresh, run_id)
        if spec.source.mode == "cursor":
            retire_feed(warehouse_url, spec, source)
    table = spec.table
    mode = "backfill" if backfill else "full_refresh" if full_refresh or table.full_refresh else ""
    mode = mode or ("incremental" if table.cursor else "full_refresh")
    with table_lock(warehouse_url, spec) as locked:
        state = _read_state(locked, spec)
        before = state.watermark
        existed = bool(loading.raw_columns(locked, "raw", spec.raw_table))
        if not existed and not backfill:
            before = None  # raw was dropped or never built: read everything, not just news
        reconcile = (
            table.reconcile_deletes
            and mode != "backfill"
            and (mode == "full_refresh" or state.reconcile_due)
        )
        if backfill:
            window = ReadWindow(table.cursor, since=backfill[0], until=backfill[1])
        elif mode == "incremental" and before is not None:
            window = ReadWindow(
                table.cursor, since=before - timedelta(minutes=table.lookback_minutes)
            )
        else:
            window = ReadWindow(table.cursor)
        batch_id = str(uuid.uuid4())
        job_id = open_sync_job(
            warehouse_url,
            batch_id=batch_id,
            source_system=spec.source_name,
            source_table=spec.table_name,
            target_table=f"raw.{spec.raw_table}",
            sync_mode=mode,
            watermark_before=before,
            config={**table.model_dump(), "transport": spec.source.transport, "window": window},
            run_id=run_id,
            asset_key=spec.asset_key,
        )
        try:
            with connect(warehouse_url) as wh, wh.transaction():
                _abort_if_client_dies(wh)
                loaded = _load(wh, spec, source, window, batch_id, mode, reconcile)
                live = _live_rows(wh, spec, loaded, state.live_rows if existed else 0)
                after = before
                if mode != "backfill" and table.cursor is not None:
                    after = max(filter(None, [before, loaded.watermark]), default=None)
                    _store_state(wh, spec, after, batch_id, live, loaded.deleted is not None)
                elif mode == "backfill":
                    _store_live_rows(wh, spec, live)
                raw_types = loading.raw_columns(wh, "raw", spec.raw_table)
        except Exception as exc:
            fail_sync_job(warehouse_url, job_id, exc, secrets=mask_urls or [warehouse_url])
            raise
        outcome = _close_job(warehouse_url, job_id, loaded, after)
    return SyncResult(
        job_id=job_id,
        batch_id=batch_id,
        mode=mode,
        outcome=outcome,
        watermark_before=before,
        row_count=live,
        columns=raw_types,
        drift=loaded.drift,
    )


def _close_job(
    warehouse_url: str,
    job_id: int,
    loaded: _Loaded,
    watermark_after: datetime | None,
    lsn_after: int | None = None,
) -> SyncOutcome:
    """Record a finished sync in its audit row: rows read = rows loaded + rows quarantined."""
    outcome = SyncOutcome(
        processed=loaded.counts.staged + loaded.quarantined,
        inserted=loaded.counts.inserted,
        updated=loaded.counts.updated,
        deleted=loaded.deleted or 0,
        quarantined=loaded.quarantined,
        watermark_after=watermark_after,
        details=loaded.details,
        lsn_after=lsn_after,
    )
    close_sync_job(warehouse_url, job_id, outcome)
    return outcome


def _abort_if_client_dies(wh: psycopg.Connection) -> None:
    """Have the server notice within seconds if this process is killed mid-load.

    Otherwise PostgreSQL finishes the dead client's statement first, holding row locks that
    the next sync must wait for.
    """
    if wh.info.server_version >= 140000:
        wh.execute("set local client_connection_check_interval = '2s'")


def _prepare_raw(
    wh: psycopg.Connection, spec: TableSync, columns: list[Column], batch_id: str
) -> DriftPlan:
    """Create the raw mirror or bring it in line with the source's current columns."""
    created = loading.ensure_raw_table(wh, "raw", spec.raw_table, columns, spec.table.primary_key)
    if created:
        return DriftPlan()
    plan = plan_drift(loading.raw_columns(wh, "raw", spec.raw_table), columns, _METADATA)
    loading.apply_drift(
        wh,
        schema="raw",
        table=spec.raw_table,
        plan=plan,
        source_system=spec.source_name,
        source_table=spec.table_name,
        batch_id=batch_id,
    )
    return plan


def _live_rows(wh: psycopg.Connection, spec: TableSync, loaded: _Loaded, before: int | None) -> int:
    """Raw's live rows after this load, counted only when nothing already tells us.

    Only reconciliation tombstones, so a sync that did not reconcile changed the live count by
    exactly what it inserted and revived; after a reconciliation the count is known from it or
    taken afresh, which also corrects a count gone stale (raw edited behind Aura's back).
    """
    if loaded.live_rows is not None:
        return loaded.live_rows
    if loaded.deleted is None and before is not None:
        return before + loaded.counts.inserted + loaded.counts.revived
    row = wh.execute(
        sql.SQL("select count(*) from {} where _deleted_at is null").format(
            sql.Identifier("raw", spec.raw_table)
        )
    ).fetchone()
    return int(row[0]) if row else 0


def _finish_load(
    wh: psycopg.Connection,
    spec: TableSync,
    stage: str,
    columns: list[Column],
    plan: DriftPlan,
    rejected: list[Rejected],
    batch_id: str,
    count_revived: bool,
) -> tuple[loading.UpsertCounts, int, datetime | None]:
    """Quarantine what cannot load, merge the rest, and return counts and the batch's max cursor."""
    quarantined = loading.quarantine_records(
        wh,
        rejected,
        source_system=spec.source_name,
        source_table=spec.table_name,
        batch_id=batch_id,
    )
    quarantined += loading.quarantine_unconvertible(
        wh,
        stage=stage,
        conflicts=plan.conflicts,
        source_system=spec.source_name,
        source_table=spec.table_name,
        batch_id=batch_id,
    )
    counts = loading.upsert_stage(
        wh,
        schema="raw",
        table=spec.raw_table,
        stage=stage,
        columns=columns,
        primary_key=spec.table.primary_key,
        source_system=spec.source_name,
        batch_id=batch_id,
        cursor=spec.table.cursor,
        casts={c.column: c.raw_type for c in plan.conflicts},
        removed=plan.removed,
        count_revived=count_revived,
    )
    return counts, quarantined, _max_cursor(wh, stage, spec.table.cursor, columns)


def _details(plan: DriftPlan, deleted: int | None, source_rows: int | None) -> dict[str, object]:
    details: dict[str, object] = {}
    if source_rows is not None:
        details["source_rows"] = source_rows  # in the same snapshot: what raw must reconcile to
    if not plan.empty:
        details["schema_changes"] = {
            "added": [c.name for c in plan.added],
            "widened": [c.column for c in plan.widened],
            "type_conflicts": [c.column for c in plan.conflicts],
            "removed": plan.removed,
        }
    if deleted is None:
        details["deletes"] = "not reconciled"
    return details


class _TableRead(Protocol):
    """One consistent read of one source table: what a load needs, however its rows travel."""

    columns: list[Column]

    def stage(self, wh: psycopg.Connection, stage: str, window: ReadWindow) -> list[Rejected]:
        """Put the rows whose cursor falls in ``window`` into ``stage``; return the rejected."""
        ...

    def key_fingerprint(self, primary_key: list[str]) -> tuple[int, int] | None:
        """The source's key-set print, if it can take one without sending every key."""
        ...

    def stage_keys(self, wh: psycopg.Connection, stage: str, keys: list[Column]) -> int | None:
        """Put every key the source has into ``stage``; how many, or None if unknowable."""
        ...

    def details(self) -> dict[str, object]:
        """What the source reports about this read, for the audit row."""
        ...


class _CopyRead:
    """The fast path: rows go by COPY from the source's snapshot straight into the warehouse."""

    def __init__(self, source: CopySource, conn: psycopg.Connection, table: str) -> None:
        self.source, self.conn, self.table = source, conn, table
        self.columns = source.columns(conn, table)

    def copy_into(
        self,
        wh: psycopg.Connection,
        target: str | sql.Composable,
        columns: list[Column],
        window: ReadWindow,
        *,
        freeze: bool = False,
    ) -> int:
        """COPY the window's rows into ``target``; return how many."""
        query = self.source.select(self.table, columns, window.cursor, window.since, window.until)
        chunks = self.source.copy_out(self.conn, query)
        return loading.copy_chunks_into(wh, target, columns, chunks, freeze=freeze)

    def stage(self, wh: psycopg.Connection, stage: str, window: ReadWindow) -> list[Rejected]:
        """Typed by the source's own columns, a COPY row cannot be rejected here."""
        self.copy_into(wh, stage, self.columns, window)
        return []

    def key_fingerprint(self, primary_key: list[str]) -> tuple[int, int]:
        relation = sql.Identifier(self.source.schema, self.table)
        return loading.key_fingerprint(self.conn, relation, primary_key)

    def stage_keys(self, wh: psycopg.Connection, stage: str, keys: list[Column]) -> int:
        return self.copy_into(wh, stage, keys, ReadWindow(None))

    def details(self) -> dict[str, object]:
        return {}


class _RowRead:
    """Any other connector: its rows are staged with ``write_row``, rejected ones kept aside."""

    def __init__(self, source: RowSource, table: str, window: ReadWindow) -> None:
        self.source, self.table = source, table
        self.first = source.extract(table, window)  # the columns are known once a read starts
        self.window = window
        self.columns = self.first.columns
        self.pending: Extract | None = self.first

    def stage(self, wh: psycopg.Connection, stage: str, window: ReadWindow) -> list[Rejected]:
        extract, self.pending = self.pending, None
        if extract is None or window != self.window:
            extract = self.source.extract(self.table, window)
        return loading.copy_rows_into(wh, stage, self.columns, extract.records)

    def key_fingerprint(self, primary_key: list[str]) -> None:
        return None

    def stage_keys(self, wh: psycopg.Connection, stage: str, keys: list[Column]) -> int | None:
        found = self.source.primary_keys(self.table)
        if found is None:
            return None
        loading.copy_rows_into(wh, stage, keys, iter(found))
        return len(found)

    def details(self) -> dict[str, object]:
        # Read after the rows: a connector may fill its details while they stream.
        return {"source": self.first.details} if self.first.details else {}


@contextmanager
def _open_read(
    source: CopySource | RowSource, table: str, window: ReadWindow, exported: str | None
) -> Iterator[_CopyRead | _RowRead]:
    """The read of ``table``: by COPY inside one snapshot when the source offers it."""
    if isinstance(source, CopySource):
        with source.snapshot(exported) as conn:
            yield _CopyRead(source, conn, table)
    else:
        yield _RowRead(source, table, window)


def _load(
    wh: psycopg.Connection,
    spec: TableSync,
    source: CopySource | RowSource,
    window: ReadWindow,
    batch_id: str,
    mode: str,
    reconcile: bool,
    exported: str | None = None,
) -> _Loaded:
    """Stage what changed, merge it into raw, reconcile deletes and heal: for every source.

    ``exported`` reads in a replication slot's exported snapshot (the CDC initial copy).
    """
    with _open_read(source, spec.table_name, window, exported) as read:
        columns = read.columns
        new_table = mode != "backfill" and not loading.raw_columns(wh, "raw", spec.raw_table)
        if new_table and isinstance(read, _CopyRead):
            first = _first_load(wh, spec, read, batch_id)
            if first is not None:
                return first
        plan = _prepare_raw(wh, spec, columns, batch_id)

        def load(
            window: ReadWindow, name: str
        ) -> tuple[loading.UpsertCounts, int, datetime | None]:
            stage = loading.create_stage(wh, name, columns)
            rejected = read.stage(wh, stage, window)
            return _finish_load(wh, spec, stage, columns, plan, rejected, batch_id, not reconcile)

        counts, quarantined, watermark = load(window, spec.raw_table)
        deleted = source_rows = live = None
        details: dict[str, object] = {}
        checked = _reconcile_keys(wh, spec, read) if reconcile else None
        if checked is not None:
            deleted, source_rows, missing, same = checked
            if same:
                live = source_rows  # equal key sets: raw's live rows are the source's rows
            if _unexplained(wh, spec, missing):
                # Keys the source has but raw lacks (a row back with an old cursor, raw rebuilt
                # behind Aura's back): read the whole table again so no row is ever lost.
                healed, more, _ = load(ReadWindow(spec.table.cursor), f"{spec.raw_table}_heal")
                counts, quarantined = counts + healed, quarantined + more
                details["healed_missing_keys"] = missing
        details |= _details(plan, deleted, source_rows) | read.details()
    return _Loaded(counts, quarantined, deleted, watermark, plan, details, live)


def _unexplained(wh: psycopg.Connection, spec: TableSync, missing: int) -> bool:
    """Whether raw lacks more source keys than there are records waiting in quarantine.

    Quarantined records are accounted for (rows read = loaded + quarantined), so their keys
    are expected to be missing; anything beyond them is a row a windowed read would never
    bring back.
    """
    return missing > loading.unresolved_quarantine(wh, spec.source_name, spec.table_name)


def _first_load(
    wh: psycopg.Connection, spec: TableSync, read: _CopyRead, batch_id: str
) -> _Loaded | None:
    """A table's first load: COPY the whole snapshot straight into a new raw table.

    Nobody sees the table before commit, so there is nothing to merge with: the data is written
    once instead of stage-then-upsert, and the key is built after the load. Duplicate keys in
    the source (no usable key) undo it and return None, and the staged path deduplicates.
    """
    raw = sql.Identifier("raw", spec.raw_table)
    columns = read.columns
    try:
        with wh.transaction():
            loading.ensure_raw_table(
                wh, "raw", spec.raw_table, columns, spec.table.primary_key, defer_key=True
            )
            wh.execute(
                sql.SQL(
                    "alter table {t} alter column _source_system set default {s}, "
                    "alter column _sync_batch_id set default {b}"
                ).format(t=raw, s=sql.Literal(spec.source_name), b=sql.Literal(batch_id))
            )
            rows = read.copy_into(wh, raw, columns, ReadWindow(None), freeze=True)
            wh.execute(
                sql.SQL(
                    "alter table {} alter column _source_system drop default, "
                    "alter column _sync_batch_id drop default"
                ).format(raw)
            )
            loading.add_primary_key(wh, "raw", spec.raw_table, spec.table.primary_key)
    except (psycopg.errors.UniqueViolation, psycopg.errors.NotNullViolation):
        return None
    watermark = _max_cursor(wh, spec.raw_table, spec.table.cursor, columns, schema="raw")
    return _Loaded(
        counts=loading.UpsertCounts(staged=rows, inserted=rows, updated=0),
        quarantined=0,
        deleted=0,
        watermark=watermark,
        drift=DriftPlan(),
        details=_details(DriftPlan(), 0, rows) | {"first_load": True},
        live_rows=rows,
    )


def _reconcile_keys(
    wh: psycopg.Connection, spec: TableSync, read: _TableRead
) -> tuple[int, int, int, bool] | None:
    """Compare source and raw keys; None when the source cannot list its keys.

    Returns (tombstoned, source rows, source keys raw lacks, whether the key sets matched).
    Where the source can fingerprint its key set, prints are compared first: when the sets
    match (the usual night), no key needs to cross the wire.
    """
    pk = spec.table.primary_key
    source_print = read.key_fingerprint(pk)
    if source_print is not None:
        raw_print = loading.key_fingerprint(
            wh, sql.Identifier("raw", spec.raw_table), pk, sql.SQL("_deleted_at is null")
        )
        if source_print == raw_print:
            return 0, source_print[0], 0, True
    by_name = {c.name: c for c in read.columns}
    keys = [by_name[k] for k in pk]
    key_stage = loading.create_stage(wh, f"{spec.raw_table}_keys", keys)
    source_rows = read.stage_keys(wh, key_stage, keys)
    if source_rows is None:
        return None
    key_args = {"schema": "raw", "table": spec.raw_table, "primary_key": pk,
                "key_table": key_stage}  # fmt: skip
    deleted = loading.tombstone_missing(wh, **key_args)  # type: ignore[arg-type]
    missing = loading.count_missing(wh, **key_args)  # type: ignore[arg-type]
    return deleted, source_rows, missing, False


def _store_state(
    wh: psycopg.Connection,
    spec: TableSync,
    watermark: datetime | None,
    batch_id: str,
    live_rows: int,
    reconciled: bool,
) -> None:
    """Record the new watermark and live row count and, if deletes were reconciled, when."""
    wh.execute(
        """
        insert into ops.sync_watermarks (source_system, source_table, cursor_column, watermark,
            sync_batch_id, live_rows, deletes_reconciled_at)
        values (%s, %s, %s, %s, %s, %s, case when %s then now() end)
        on conflict (source_system, source_table) do update set
            watermark = excluded.watermark, sync_batch_id = excluded.sync_batch_id,
            cursor_column = excluded.cursor_column, updated_at = now(),
            live_rows = excluded.live_rows, deletes_reconciled_at = coalesce(
                excluded.deletes_reconciled_at, ops.sync_watermarks.deletes_reconciled_at)
        """,
        (spec.source_name, spec.table_name, spec.table.cursor, watermark, batch_id, live_rows,
         reconciled),
    )  # fmt: skip


def _store_live_rows(wh: psycopg.Connection, spec: TableSync, live_rows: int) -> None:
    """A backfill leaves the watermark alone but may add rows: keep the live count right."""
    wh.execute(
        "update ops.sync_watermarks set live_rows = %s where source_system = %s "
        "and source_table = %s",
        (live_rows, spec.source_name, spec.table_name),
    )


def _max_cursor(
    conn: psycopg.Connection,
    table: str,
    cursor: str | None,
    columns: list[Column],
    schema: str | None = None,
) -> datetime | None:
    """Highest cursor value in this batch: the next watermark (naive UTC)."""
    if cursor is None or cursor not in {c.name for c in columns}:
        return None
    relation = sql.Identifier(schema, table) if schema else sql.Identifier(table)
    row = conn.execute(
        sql.SQL("select max({})::timestamp from {}").format(sql.Identifier(cursor), relation)
    ).fetchone()
    return row[0] if row else None


# --- change data capture ----------------------------------------------------------------------


def _stored_position(conn: psycopg.Connection, spec: TableSync) -> tuple[str, int] | None:
    """The slot raw's CDC position belongs to, and that position; None before the first."""
    row = conn.execute(
        "select slot_name, confirmed_lsn::text from ops.cdc_slots "
        "where source_system = %s and source_table = %s",
        (spec.source_name, spec.table_name),
    ).fetchone()
    return (row[0], pgoutput.parse_lsn(row[1])) if row else None


def _store_position(wh: psycopg.Connection, spec: TableSync, name: str, lsn: int) -> None:
    """Raw's new position, in the transaction of the rows it covers."""
    wh.execute(
        """
        insert into ops.cdc_slots (source_system, source_table, connection_env, slot_name,
            publication_name, confirmed_lsn)
        values (%s, %s, %s, %s, %s, %s::pg_lsn)
        on conflict (source_system, source_table) do update set
            connection_env = excluded.connection_env, slot_name = excluded.slot_name,
            publication_name = excluded.publication_name, confirmed_lsn = excluded.confirmed_lsn,
            confirmed_at = now(),
            created_at = case when ops.cdc_slots.slot_name = excluded.slot_name
                and ops.cdc_slots.confirmed_lsn <= excluded.confirmed_lsn
                then ops.cdc_slots.created_at else now() end
        """,
        (spec.source_name, spec.table_name, spec.source.connection_env, name, name,
         pgoutput.format_lsn(lsn)),
    )  # fmt: skip


def retire_feed(warehouse_url: str, spec: TableSync, source: SqlSource) -> bool:
    """Drop the table's slot and publication if it has one (it went back to cursor mode).

    A slot nobody reads keeps every WAL segment from its position on, until the source's disk
    fills; so it goes as soon as the table is synced without it.
    """
    with connect(warehouse_url, autocommit=True) as wh:
        stored = _stored_position(wh, spec)
        if stored is None:
            return False
        with connect(source.url, autocommit=True) as src:
            ChangeFeed(source, stored[0], spec.table_name).drop(src)
        wh.execute(
            "delete from ops.cdc_slots where source_system = %s and source_table = %s",
            (spec.source_name, spec.table_name),
        )
    return True


def retire_unconfigured_feeds(settings: Settings, sources: SourcesFile) -> list[str]:
    """Drop the slots of tables no longer configured in mode cdc (source or table removed).

    Returns the slots dropped. A source that cannot be reached keeps its slot for a later
    run (and ``aura doctor`` keeps warning about it).
    """
    wanted = {
        (name, table)
        for name, config in sources.sources.items()
        if config.mode == "cdc"
        for table in config.tables
    }
    with connect(settings.warehouse_url, autocommit=True) as wh:
        rows = wh.execute(
            "select source_system, source_table, connection_env, slot_name from ops.cdc_slots"
        ).fetchall()
        dropped = []
        for system, table, env, slot_name in rows:
            if (system, table) in wanted:
                continue
            try:
                source = SqlSource(settings.source_url(env))
                with connect(source.url, autocommit=True) as src:
                    ChangeFeed(source, slot_name, table).drop(src)
            except (KeyError, psycopg.OperationalError):
                continue
            wh.execute(
                "delete from ops.cdc_slots where source_system = %s and source_table = %s",
                (system, table),
            )
            dropped.append(slot_name)
    return dropped


def _sync_cdc(
    spec: TableSync,
    warehouse_url: str,
    source: SqlSource,
    mask_urls: list[str] | None,
    full_refresh: bool,
    run_id: str | None,
) -> SyncResult:
    """Apply the table's change stream to raw, or take the initial snapshot with a new slot.

    The order is what makes a crash harmless: changes are peeked (not consumed), applied to raw
    together with their end position in one warehouse transaction, and only after that commit is
    the slot advanced. Dying before the commit leaves raw and the slot as they were; dying after
    it leaves the slot behind raw, and the next sync skips the transactions raw already has.
    """
    name = cdc_name(spec.source_name, spec.table_name)
    feed = ChangeFeed(source, name, spec.table_name)
    with table_lock(warehouse_url, spec) as locked, connect(source.url, autocommit=True) as src:
        state = _read_state(locked, spec)
        stored = _stored_position(locked, spec)
        slot = feed.slot(src)
        existed = bool(loading.raw_columns(locked, "raw", spec.raw_table))
        snapshot = (
            full_refresh or not existed or slot is None or stored is None or stored[0] != name
        )
        before = None if snapshot or stored is None else stored[1]
        batch_id = str(uuid.uuid4())
        job_id = open_sync_job(
            warehouse_url,
            batch_id=batch_id,
            source_system=spec.source_name,
            source_table=spec.table_name,
            target_table=f"raw.{spec.raw_table}",
            sync_mode="cdc_snapshot" if snapshot else "cdc",
            watermark_before=state.watermark,
            config={**spec.table.model_dump(), "transport": "sql", "mode": "cdc", "slot": name},
            run_id=run_id,
            asset_key=spec.asset_key,
            lsn_before=before,
        )
        try:
            if snapshot:
                if slot is not None or stored is not None:
                    feed.drop(src)  # a slot raw has no position for: start again from a snapshot
                feed.ensure_publication(src, spec.table.primary_key)
                with feed.create_slot() as (after, exported):
                    loaded, live = _cdc_snapshot(
                        warehouse_url, spec, source, exported, batch_id, existed, state, name, after
                    )
            else:
                assert stored is not None and slot is not None
                if slot.confirmed_lsn < stored[1]:
                    feed.advance(src, stored[1])  # the last sync committed, then died
                feed.heartbeat(src)
                loaded, live, after = _cdc_changes(
                    warehouse_url, spec, feed, stored[1], batch_id, state, name
                )
                if after > stored[1]:
                    feed.advance(src, after)
            raw_types = loading.raw_columns(locked, "raw", spec.raw_table)
        except Exception as exc:
            fail_sync_job(warehouse_url, job_id, exc, secrets=mask_urls or [warehouse_url])
            raise
        outcome = _close_job(warehouse_url, job_id, loaded, loaded.watermark, after)
    return SyncResult(
        job_id=job_id,
        batch_id=batch_id,
        mode="cdc_snapshot" if snapshot else "cdc",
        outcome=outcome,
        watermark_before=state.watermark,
        row_count=live,
        columns=raw_types,
        drift=loaded.drift,
    )


def _cdc_snapshot(
    warehouse_url: str,
    spec: TableSync,
    source: SqlSource,
    exported: str,
    batch_id: str,
    existed: bool,
    state: _State,
    name: str,
    start: int,
) -> tuple[_Loaded, int]:
    """The whole table as of the slot's start, merged into raw (deletes reconciled if raw was
    there before), committed with the slot's start as raw's position."""
    with connect(warehouse_url) as wh, wh.transaction():
        _abort_if_client_dies(wh)
        loaded = _load(
            wh, spec, source, ReadWindow(None), batch_id, "full_refresh", existed, exported
        )
        live = _live_rows(wh, spec, loaded, state.live_rows if existed else 0)
        watermark = max(filter(None, [state.watermark, loaded.watermark]), default=None)
        _store_state(wh, spec, watermark, batch_id, live, True)
        _store_position(wh, spec, name, start)
    loaded.watermark = watermark
    loaded.details["cdc"] = {"slot": name, "snapshot_lsn": pgoutput.format_lsn(start)}
    return loaded, live


def _cdc_changes(
    warehouse_url: str,
    spec: TableSync,
    feed: ChangeFeed,
    applied_until: int,
    batch_id: str,
    state: _State,
    name: str,
) -> tuple[_Loaded, int, int]:
    """Fold the slot's pending changes and apply them, segment by segment, in one transaction.

    Returns what was loaded, raw's live rows and raw's new position.
    """
    stats = cdc.FoldStats()
    counts = loading.UpsertCounts(0, 0, 0)
    quarantined = deleted = 0
    plan = DriftPlan()
    watermark = state.watermark
    truncated = False
    with connect(warehouse_url) as wh, wh.transaction():
        _abort_if_client_dies(wh)
        segments = cdc.fold(
            feed.peek(),
            schema=feed.source.schema,
            table=spec.table_name,
            primary_key=spec.table.primary_key,
            applied_until=applied_until,
            type_names=feed.type_names,
            stats=stats,
        )
        for n, segment in enumerate(segments):
            step = _prepare_raw(wh, spec, segment.columns, batch_id)
            plan = _merge_plans(plan, step)
            more, quarantined_now, deleted_now, cursor = _apply_segment(
                wh, spec, segment, step, batch_id, n
            )
            counts, quarantined, deleted = (
                counts + more,
                quarantined + quarantined_now,
                (deleted + deleted_now),
            )
            truncated = truncated or segment.truncated
            watermark = max(filter(None, [watermark, cursor]), default=None)
        known = state.live_rows is not None and not truncated
        live = (
            state.live_rows + counts.inserted + counts.revived - deleted  # type: ignore[operator]
            if known
            else _live_rows(wh, spec, _Loaded(counts, quarantined, 0, None, plan, {}), None)
        )
        after = max(applied_until, stats.last_commit_end)
        _store_state(wh, spec, watermark, batch_id, live, True)
        _store_position(wh, spec, name, after)
    details = _details(plan, deleted, None)
    details["cdc"] = {
        "slot": name,
        "transactions": stats.transactions,
        "skipped_transactions": stats.skipped_transactions,
        "changes": stats.changes,
        "truncates": stats.truncates,
    }
    loaded = _Loaded(counts, quarantined, deleted, watermark, plan, details, live)
    return loaded, live, after


def _merge_plans(total: DriftPlan, step: DriftPlan) -> DriftPlan:
    """The drift of a whole sync, for its report: every segment's changes together."""
    return DriftPlan(
        added=total.added + step.added,
        widened=total.widened + step.widened,
        conflicts=[*total.conflicts, *(c for c in step.conflicts if c not in total.conflicts)],
        removed=sorted(set(total.removed) | set(step.removed)),
    )


def _apply_segment(
    wh: psycopg.Connection,
    spec: TableSync,
    segment: cdc.Segment,
    plan: DriftPlan,
    batch_id: str,
    n: int,
) -> tuple[loading.UpsertCounts, int, int, datetime | None]:
    """Truncate, upsert and tombstone one segment's net changes; counts and max cursor."""
    raw = sql.Identifier("raw", spec.raw_table)
    pk = spec.table.primary_key
    tombstoned = 0
    if segment.truncated:
        tombstoned += wh.execute(
            sql.SQL("update {} set _deleted_at = now() where _deleted_at is null").format(raw)
        ).rowcount
    columns = segment.columns
    marker = Column("_cdc_unchanged", "text[]")
    stage = loading.create_stage(wh, f"{spec.raw_table}_cdc{n}", [*columns, marker])
    unchanged: set[str] = set()
    deletes: list[cdc.Key] = []
    with wh.cursor().copy(sql.SQL("copy {} from stdin").format(sql.Identifier(stage))) as copy:
        for key, row in segment.rows.items():
            if row is None:
                deletes.append(key)
            elif pgoutput.UNCHANGED not in row:  # most rows: written as they came
                copy.write_row((*row, None))
            else:
                missing = [
                    c.name for c, v in zip(columns, row, strict=True) if v is pgoutput.UNCHANGED
                ]
                unchanged.update(missing)
                copy.write_row([*(None if v is pgoutput.UNCHANGED else v for v in row), missing])
    for column in sorted(unchanged):
        # A TOASTed value the update did not touch is not in the stream: raw still has it.
        wh.execute(
            sql.SQL(
                "update {s} as k set {c} = r.{c} from {raw} as r "
                "where {match} and {name} = any(k._cdc_unchanged)"
            ).format(
                s=sql.Identifier(stage),
                c=sql.Identifier(column),
                raw=raw,
                match=loading.keys_match(pk),
                name=sql.Literal(column),
            )
        )
    counts, quarantined, cursor = _finish_load(
        wh, spec, stage, columns, plan, [], batch_id, count_revived=True
    )
    if deletes:
        keys = [c for c in columns if c.name in pk]
        keys.sort(key=lambda c: pk.index(c.name))
        key_stage = loading.create_stage(wh, f"{spec.raw_table}_cdcdel{n}", keys)
        with wh.cursor().copy(
            sql.SQL("copy {} from stdin").format(sql.Identifier(key_stage))
        ) as copy:
            for key in deletes:
                copy.write_row(key)
        tombstoned += loading.tombstone_keys(
            wh, schema="raw", table=spec.raw_table, primary_key=pk, key_table=key_stage
        )
    return counts, quarantined, tombstoned, cursor
