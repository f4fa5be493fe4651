"""One table sync, end to end: read since the watermark minus lookback, load, audit, advance.

Odoo stamps ``write_date`` with its transaction's start time, so a long transaction can commit
rows stamped before rows another sync already saw. Re-reading ``watermark - lookback`` catches
them; the upsert's change detection makes the re-read rows free.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg import sql

from aura_platform.config.models import SourceConfig, TableConfig
from aura_platform.lib import loading
from aura_platform.lib.audit import SyncOutcome, close_sync_job, fail_sync_job, open_sync_job
from aura_platform.sources.sql_database import SqlSource
from aura_platform.warehouse.connection import connect


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
    outcome: SyncOutcome
    watermark_before: datetime | None
    row_count: int
    columns: dict[str, str]
    columns_added: list[str]


def read_watermark(warehouse_url: str, spec: TableSync) -> datetime | None:
    with connect(warehouse_url) as conn:
        row = conn.execute(
            "select watermark from ops.sync_watermarks where source_system = %s "
            "and source_table = %s",
            (spec.source_name, spec.table_name),
        ).fetchone()
    return row[0] if row else None


def sync_table(
    spec: TableSync,
    *,
    warehouse_url: str,
    source_url: str,
    full_refresh: bool = False,
    run_id: str | None = None,
) -> SyncResult:
    """Bring the rows of one source table that changed into ``raw.<source>_<table>``.

    Everything a sync writes to raw, including its new watermark, commits in one transaction;
    the audit row is written separately so a failure is recorded too.
    """
    batch_id = str(uuid.uuid4())
    full = full_refresh or spec.table.full_refresh or spec.table.cursor is None
    before = None if full else read_watermark(warehouse_url, spec)
    since = before - timedelta(minutes=spec.table.lookback_minutes) if before else None
    job_id = open_sync_job(
        warehouse_url,
        batch_id=batch_id,
        source_system=spec.source_name,
        source_table=spec.table_name,
        target_table=f"raw.{spec.raw_table}",
        sync_mode="full_refresh" if full else "incremental",
        watermark_before=before,
        config={**spec.table.model_dump(), "transport": spec.source.transport},
        run_id=run_id,
        asset_key=spec.asset_key,
    )
    source = SqlSource(source_url)
    try:
        with source.snapshot() as src, connect(warehouse_url) as wh, wh.transaction():
            columns = source.columns(src, spec.table_name)
            added = loading.ensure_raw_table(
                wh, "raw", spec.raw_table, columns, spec.table.primary_key
            )
            stage = loading.create_stage(wh, "raw", spec.raw_table, columns)
            query = source.select(spec.table_name, columns, spec.table.cursor, since)
            loading.copy_chunks_into(wh, stage, columns, source.copy_out(src, query))
            counts = loading.upsert_stage(
                wh,
                schema="raw",
                table=spec.raw_table,
                stage=stage,
                columns=columns,
                primary_key=spec.table.primary_key,
                source_system=spec.source_name,
                batch_id=batch_id,
            )
            after = _max_cursor(wh, stage, spec.table.cursor) or before
            if spec.table.cursor is not None:
                wh.execute(
                    """
                    insert into ops.sync_watermarks
                        (source_system, source_table, cursor_column, watermark, sync_batch_id)
                    values (%s, %s, %s, %s, %s)
                    on conflict (source_system, source_table) do update set
                        watermark = excluded.watermark, sync_batch_id = excluded.sync_batch_id,
                        cursor_column = excluded.cursor_column, updated_at = now()
                    """,
                    (spec.source_name, spec.table_name, spec.table.cursor, after, batch_id),
                )
            total = wh.execute(
                sql.SQL("select count(*) from {} where _deleted_at is null").format(
                    sql.Identifier("raw", spec.raw_table)
                )
            ).fetchone()
            raw_types = loading.raw_columns(wh, "raw", spec.raw_table)
    except Exception as exc:
        fail_sync_job(warehouse_url, job_id, exc, urls=[source_url, warehouse_url])
        raise
    outcome = SyncOutcome(
        processed=counts.staged,
        inserted=counts.inserted,
        updated=counts.updated,
        watermark_after=after,
        details={"columns_added": added} if added and before is not None else {},
    )
    close_sync_job(warehouse_url, job_id, outcome)
    return SyncResult(
        job_id=job_id,
        batch_id=batch_id,
        outcome=outcome,
        watermark_before=before,
        row_count=int(total[0]) if total else 0,
        columns=raw_types,
        columns_added=added,
    )


def _max_cursor(conn, stage: str, cursor: str | None) -> datetime | None:  # type: ignore[no-untyped-def]
    """Highest cursor value in this batch: the next watermark."""
    if cursor is None:
        return None
    row = conn.execute(
        sql.SQL("select max({}) from {}").format(sql.Identifier(cursor), sql.Identifier(stage))
    ).fetchone()
    return row[0] if row else None
