"""Test support: what ops recorded as a table's watermark."""

from __future__ import annotations

from datetime import datetime

from aura_platform.ingest.sync import TableSync
from aura_platform.warehouse.connection import connect


def read_watermark(warehouse_url: str, spec: TableSync) -> datetime | None:
    """The watermark in ``ops.sync_watermarks``; None before the table's first sync."""
    with connect(warehouse_url) as conn:
        row = conn.execute(
            "select watermark from ops.sync_watermarks "
            "where source_system = %s and source_table = %s",
            (spec.source_name, spec.table_name),
        ).fetchone()
    return row[0] if row else None
