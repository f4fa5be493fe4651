"""Test support: put the shared test warehouse back to a freshly migrated state."""

from psycopg import sql

from aura_platform.warehouse.connection import connect

# Data tables the platform writes; the migrations' own bookkeeping stays.
_OPS_TABLES = (
    "sync_jobs", "sync_watermarks", "data_quality_checks", "transformation_log", "quarantine",
    "schema_changes", "landed_files", "cdc_slots",
)  # fmt: skip


def reset_warehouse(url: str) -> None:
    """Drop every raw table and dbt schema, and empty ops and search.

    Test modules share one warehouse; a module that asserts a whole run's outcome starts from
    nothing, so history left by other modules (other demo seeds, restores) cannot trip its
    volume checks.
    """
    with connect(url, autocommit=True) as conn:
        raw = conn.execute("select tablename from pg_tables where schemaname = 'raw'").fetchall()
        for (table,) in raw:
            conn.execute(sql.SQL("drop table {} cascade").format(sql.Identifier("raw", table)))
        for schema in ("core", "staging"):
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        conn.execute("create schema core")
        conn.execute("drop table if exists ops.model_row_counts")
        tables = [sql.Identifier("ops", t) for t in _OPS_TABLES]
        tables += [
            sql.Identifier("search", "embeddings"),
            sql.Identifier("search", "similarity_cache"),
            sql.Identifier("search", "opportunity_matches"),
        ]
        conn.execute(sql.SQL("truncate {} cascade").format(sql.SQL(", ").join(tables)))
