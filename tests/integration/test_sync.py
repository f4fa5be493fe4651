"""One table sync against real PostgreSQL source and warehouse databases."""

from collections.abc import Iterator

import psycopg
import pytest

from aura_platform.config.models import SourceConfig, TableConfig
from aura_platform.ingest.sync import TableSync, sync_table
from aura_platform.settings import Settings
from aura_platform.sources.postgres import SqlSource
from aura_platform.warehouse.connection import connect, drop_database, ensure_database


@pytest.fixture
def source(settings: Settings) -> Iterator[str]:
    """A small Odoo-like source table: 100 rows written one minute apart."""
    drop_database(settings, "sync_source")
    url = ensure_database(settings, "sync_source")
    with connect(url) as conn:
        conn.execute(
            "create table crm_lead (id serial primary key, name varchar, "
            "expected_revenue numeric(12,2), write_date timestamp, description text, "
            "lead_properties jsonb)"
        )
        conn.execute(
            "insert into crm_lead "
            "(name, expected_revenue, write_date, description, lead_properties) "
            "select 'lead ' || g, g * 10.5, timestamp '2026-01-01' + g * interval '1 minute', "
            "E'tab\\there\\nnew line', '{\"a\": 1}' from generate_series(1, 100) g"
        )
    with connect(settings.warehouse_url) as conn:
        conn.execute("drop table if exists raw.test_crm_lead")
        conn.execute("delete from ops.sync_watermarks where source_system = 'test'")
    yield url
    drop_database(settings, "sync_source")


def _spec(lookback: int = 5) -> TableSync:
    source = SourceConfig(
        transport="sql",
        connection_env="AURA_TEST_SOURCE_URL",
        tables={"crm_lead": TableConfig(cursor="write_date", lookback_minutes=lookback)},
    )
    return TableSync("test", source, "crm_lead", source.tables["crm_lead"])


def _raw(settings: Settings, query: str) -> list[tuple]:
    with connect(settings.warehouse_url) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def test_a_first_sync_mirrors_every_row_and_column_type(settings: Settings, source: str) -> None:
    result = sync_table(_spec(), warehouse_url=settings.warehouse_url, source=SqlSource(source))
    assert (result.outcome.processed, result.outcome.inserted, result.outcome.updated) == (
        100,
        100,
        0,
    )
    assert result.columns["expected_revenue"] == "numeric(12,2)"
    assert result.columns["lead_properties"] == "jsonb"
    assert {"_raw_id", "_ingested_at", "_source_system", "_sync_batch_id", "_deleted_at"} <= set(
        result.columns
    )
    rows = _raw(settings, "select description, lead_properties from raw.test_crm_lead where id = 7")
    assert rows == [("tab\there\nnew line", {"a": 1})]


def test_a_re_sync_without_changes_reads_the_lookback_but_changes_nothing(
    settings: Settings, source: str
) -> None:
    sync_table(_spec(), warehouse_url=settings.warehouse_url, source=SqlSource(source))
    again = sync_table(_spec(), warehouse_url=settings.warehouse_url, source=SqlSource(source))
    assert again.outcome.processed == 6  # the last 5 minutes re-read, inclusive
    assert (again.outcome.inserted, again.outcome.updated) == (0, 0)
    assert _raw(settings, "select count(*) from raw.test_crm_lead") == [(100,)]


def test_a_late_commit_stamped_before_the_watermark_is_still_picked_up(
    settings: Settings, source: str
) -> None:
    first = sync_table(_spec(), warehouse_url=settings.warehouse_url, source=SqlSource(source))
    with connect(source) as conn:
        # Stamped 3 minutes before the watermark, as a long Odoo transaction would be.
        conn.execute(
            "insert into crm_lead (name, write_date) "
            "values ('late', %s::timestamp - interval '3 minutes')",
            (first.outcome.watermark_after,),
        )
        conn.execute(
            "update crm_lead set name = 'renamed', write_date = %s where id = 100",
            (first.outcome.watermark_after,),
        )
    second = sync_table(_spec(), warehouse_url=settings.warehouse_url, source=SqlSource(source))
    assert (second.outcome.inserted, second.outcome.updated) == (1, 1)
    assert second.watermark_before == first.outcome.watermark_after
    assert _raw(
        settings, "select count(*), count(*) filter (where name = 'late') from raw.test_crm_lead"
    ) == [(101, 1)]


def test_a_new_source_column_is_added_to_raw_and_filled(settings: Settings, source: str) -> None:
    sync_table(_spec(), warehouse_url=settings.warehouse_url, source=SqlSource(source))
    with connect(source) as conn:
        conn.execute("alter table crm_lead add column x_region text")
        conn.execute(
            "update crm_lead set x_region = 'emea', write_date = timestamp '2026-02-01' "
            "where id = 1"
        )
    result = sync_table(_spec(), warehouse_url=settings.warehouse_url, source=SqlSource(source))
    assert [c.name for c in result.drift.added] == ["x_region"]
    assert _raw(settings, "select x_region from raw.test_crm_lead where id = 1") == [("emea",)]


def test_every_sync_is_audited_with_counts_and_watermarks(settings: Settings, source: str) -> None:
    result = sync_table(
        _spec(), warehouse_url=settings.warehouse_url, source=SqlSource(source), run_id="r1"
    )
    rows = _raw(
        settings,
        f"select status, records_processed, records_inserted, watermark_after, dagster_run_id "
        f"from ops.sync_jobs where id = {result.job_id}",
    )
    assert rows == [("success", 100, 100, result.outcome.watermark_after, "r1")]


def test_a_failed_sync_is_recorded_without_the_password_and_leaves_raw_untouched(
    settings: Settings, source: str
) -> None:
    sync_table(_spec(), warehouse_url=settings.warehouse_url, source=SqlSource(source))
    bad = source.replace("sync_source", "no_such_database").replace("aura@", "aura:pa55word@")
    with pytest.raises(psycopg.OperationalError):
        sync_table(
            _spec(), warehouse_url=settings.warehouse_url, source=SqlSource(bad), mask_urls=[bad]
        )
    rows = _raw(
        settings,
        "select status, error_message from ops.sync_jobs where source_system = 'test' "
        "order by id desc limit 1",
    )
    assert rows[0][0] == "failed"
    assert "no_such_database" in rows[0][1] and "pa55word" not in rows[0][1]
    assert _raw(settings, "select count(*) from raw.test_crm_lead") == [(100,)]
