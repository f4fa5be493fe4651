"""The ``ops.sync_jobs`` audit trail: a row opened when a sync starts, closed when it ends.

The row is written on its own autocommit connection so that a failed load, whose transaction is
rolled back, still leaves its record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aura_platform.settings import mask_secrets
from aura_platform.warehouse.connection import connect


@dataclass
class SyncOutcome:
    processed: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    quarantined: int = 0
    watermark_after: datetime | None = None
    lsn_after: int | None = None  # change data capture: the source position raw holds
    details: dict[str, Any] = field(default_factory=dict)


def open_sync_job(
    url: str,
    *,
    batch_id: str,
    source_system: str,
    source_table: str,
    target_table: str,
    sync_mode: str,
    watermark_before: datetime | None,
    config: dict[str, Any],
    run_id: str | None,
    asset_key: str | None,
    lsn_before: int | None = None,
) -> int:
    """Insert a ``running`` sync job and return its id."""
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            """
            insert into ops.sync_jobs (sync_batch_id, source_system, source_table, target_table,
                sync_mode, watermark_before, config, dagster_run_id, dagster_asset_key, lsn_before)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::pg_lsn) returning id
            """,
            (
                batch_id,
                source_system,
                source_table,
                target_table,
                sync_mode,
                watermark_before,
                json.dumps(config, default=str),
                run_id,
                asset_key,
                _lsn(lsn_before),
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])


def close_sync_job(url: str, job_id: int, outcome: SyncOutcome) -> None:
    """Mark the job successful with its counts."""
    with connect(url, autocommit=True) as conn:
        conn.execute(
            """
            update ops.sync_jobs set status = 'success', finished_at = now(),
                records_processed = %s, records_inserted = %s, records_updated = %s,
                records_deleted = %s, records_failed = %s, records_quarantined = %s,
                watermark_after = %s, details = %s, lsn_after = %s::pg_lsn
            where id = %s
            """,
            (
                outcome.processed,
                outcome.inserted,
                outcome.updated,
                outcome.deleted,
                outcome.failed,
                outcome.quarantined,
                outcome.watermark_after,
                json.dumps(outcome.details, default=str),
                _lsn(outcome.lsn_after),
                job_id,
            ),
        )


def _lsn(lsn: int | None) -> str | None:
    return None if lsn is None else f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def fail_sync_job(url: str, job_id: int, error: BaseException, secrets: list[str]) -> None:
    """Mark the job failed with a readable error in which none of ``secrets`` appears."""
    message = mask_secrets(f"{type(error).__name__}: {error}", secrets)
    with connect(url, autocommit=True) as conn:
        conn.execute(
            """
            update ops.sync_jobs set status = 'failed', finished_at = now(),
                error_message = %s, error_details = %s where id = %s
            """,
            (message, json.dumps({"error_type": type(error).__name__}), job_id),
        )


def forget_watermarks(url: str, source_systems: tuple[str, ...]) -> int:
    """Drop the stored watermarks of ``source_systems``, so their next sync reads everything.

    For sources that were rebuilt from scratch: their rows may carry cursor values older than
    the watermark of the source they replace, and an incremental sync would never see them.
    """
    with connect(url, autocommit=True) as conn:
        # Their CDC positions belong to slots that went with the old databases.
        conn.execute(
            "delete from ops.cdc_slots where source_system = any(%s)", (list(source_systems),)
        )
        cursor = conn.execute(
            "delete from ops.sync_watermarks where source_system = any(%s)", (list(source_systems),)
        )
        return cursor.rowcount
