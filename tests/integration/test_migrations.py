"""Migrations against the real embedded PostgreSQL."""

from pathlib import Path

import pytest

from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect, ensure_database
from aura_platform.warehouse.migrate import (
    MIGRATIONS_DIR,
    MigrationError,
    apply_migrations,
    discover,
)

EXPECTED_COLUMNS = {
    "ops.sync_jobs": {
        "records_processed",
        "records_inserted",
        "records_updated",
        "records_failed",
        "error_message",
        "error_details",
        "config",
        "status",
        "dagster_run_id",
        "watermark_before",
        "watermark_after",
    },
    "ops.data_quality_checks": {
        "passed",
        "records_checked",
        "records_passed",
        "records_failed",
        "failure_details",
        "check_type",
        "table_name",
        "sync_job_id",
        "dagster_run_id",
    },
    "ops.transformation_log": {
        "source_tables",
        "target_table",
        "rows_affected",
        "dbt_invocation_id",
        "status",
    },
    "ops.quarantine": {"source_system", "source_table", "reason", "original_payload"},
    "search.embeddings": {
        "source_table",
        "source_id",
        "embedding_type",
        "model",
        "content_hash",
        "embedding",
    },
    "search.similarity_cache": {"source_id", "target_id", "similarity", "score", "components"},
}


def _columns(url: str, qualified: str) -> set[str]:
    schema, table = qualified.split(".")
    with connect(url) as conn:
        rows = conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = %s and table_name = %s",
            (schema, table),
        ).fetchall()
    return {r[0] for r in rows}


def test_a_fresh_database_gets_every_migration_once_and_a_second_run_is_a_no_op(
    settings: Settings,
) -> None:
    url = ensure_database(settings, "migration_twice")
    first = apply_migrations(url)
    second = apply_migrations(url)
    assert [m.version for m in first] == [m.version for m in discover()]
    assert second == []
    with connect(url) as conn:
        recorded = conn.execute("select version from ops.schema_migrations order by 1").fetchall()
    assert [r[0] for r in recorded] == [m.version for m in discover()]


@pytest.mark.parametrize("table", sorted(EXPECTED_COLUMNS))
def test_the_seed_design_tables_exist_with_their_columns(settings: Settings, table: str) -> None:
    missing = EXPECTED_COLUMNS[table] - _columns(settings.warehouse_url, table)
    assert not missing, f"{table} lacks {missing}"


def test_the_vector_extension_is_installed(settings: Settings) -> None:
    with connect(settings.warehouse_url) as conn:
        row = conn.execute(
            "select extversion from pg_extension where extname = 'vector'"
        ).fetchone()
    assert row is not None


def test_an_applied_migration_that_was_edited_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    url = ensure_database(settings, "migration_edited")
    for path in MIGRATIONS_DIR.glob("*.sql"):
        (tmp_path / path.name).write_text(path.read_text())
    apply_migrations(url, tmp_path)
    first = sorted(tmp_path.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        apply_migrations(url, tmp_path)


def test_a_migration_file_with_a_bad_name_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "1_init.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="NNNN_lower_snake"):
        discover(tmp_path)
