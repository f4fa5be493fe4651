"""The standard checks of every raw table, run through Dagster against the real warehouse.

A throwaway source ``t_quality`` with one table, ``items``, is synced by the real ``sync_table``
from a list of rows (so tombstones and ``ops.sync_jobs`` are the real ones); a tiny downstream
asset shows what a blocking failure stops. The checks come from ``build_standard_checks`` with
the shipped ``quality.yaml`` thresholds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest
from psycopg import sql

from aura_platform.config.models import RawCheckConfig, SourceConfig, TableConfig
from aura_platform.defs.quality.standard_checks import build_standard_checks
from aura_platform.defs.quality.table_checks import build_table_check
from aura_platform.defs.resources import WarehouseResource
from aura_platform.ingest.audit import fail_sync_job, open_sync_job
from aura_platform.ingest.sync import TableSync, sync_table
from aura_platform.quality.expectations import record_check
from aura_platform.quality.sql_checks import (
    CHECK_KINDS,
    CheckKind,
    CheckOutcome,
    CheckTarget,
    load_quality,
)
from aura_platform.settings import Settings
from aura_platform.sources.base import Column, Extract, ReadWindow
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration

SOURCE = SourceConfig(
    transport="mongo", connection_env="T_QUALITY_URL", tables={"items": TableConfig()}
)
SPEC = TableSync("t_quality", SOURCE, "items", SOURCE.tables["items"])
RAW_KEY = dg.AssetKey(["raw", "t_quality", "items"])
DOWNSTREAM_KEY = dg.AssetKey(["t_quality", "downstream"])
ROWS = [(n, f"item {n}") for n in range(1, 21)]
CHECKS = build_standard_checks(SPEC, load_quality().standard)
CHECKS_ONLY = dg.AssetSelection.checks_for_assets(RAW_KEY)


@dataclass
class ListSource:
    """A source table held in a list: ``id`` and ``name``, every key known for deletes."""

    rows: list[tuple[int, str]]

    def extract(self, table: str, window: ReadWindow) -> Extract:
        return Extract([Column("id", "integer"), Column("name", "text")], iter(self.rows))

    def primary_keys(self, table: str) -> set[tuple[Any, ...]]:
        return {(row[0],) for row in self.rows}


def _raw_asset(rows: list[tuple[int, str]]) -> dg.AssetsDefinition:
    @dg.asset(key=RAW_KEY)
    def items(warehouse: WarehouseResource) -> None:
        sync_table(SPEC, warehouse_url=warehouse.url(), source=ListSource(rows))

    return items


@dg.asset(key=DOWNSTREAM_KEY, deps=[RAW_KEY])
def downstream() -> None:
    """Stands for dbt: whatever reads the raw table."""


def _run(
    rows: list[tuple[int, str]], selection: dg.AssetSelection | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [_raw_asset(rows), downstream, CHECKS],
        resources={"warehouse": WarehouseResource()},
        selection=selection,
        raise_on_error=False,
    )


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _records(settings: Settings, run_id: str) -> dict[str, dict[str, Any]]:
    """This run's ``ops.data_quality_checks`` rows by check name."""
    with connect(settings.warehouse_url) as conn:
        cursor = conn.execute(
            "select check_name, check_type, severity, passed, records_checked, records_failed, "
            "failure_details from ops.data_quality_checks where dagster_run_id = %s",
            (run_id,),
        )
        names = [d.name for d in cursor.description or []]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor}


def _execute(settings: Settings, query: str, params: tuple[Any, ...] = ()) -> None:
    with connect(settings.warehouse_url) as conn:
        conn.execute(query, params)


@pytest.fixture(autouse=True)
def clean(settings: Settings) -> Iterator[None]:
    """No raw table, syncs or check history of the throwaway source."""

    def reset() -> None:
        with connect(settings.warehouse_url) as conn:
            conn.execute("drop table if exists raw.t_quality_items")
            conn.execute("delete from ops.data_quality_checks where table_name like 't_quality%'")
            for table in ("sync_jobs", "sync_watermarks"):
                conn.execute(f"delete from ops.{table} where source_system = 't_quality'")

    reset()
    yield
    reset()


def test_a_freshly_synced_table_passes_every_standard_check_each_recorded_in_ops(
    settings: Settings,
) -> None:
    result = _run(ROWS)

    assert result.success
    evaluations = _evaluations(result)
    assert set(evaluations) == {
        "rows_reconcile_with_source",
        "freshness",
        "no_sudden_drop",
        "primary_key_unique_not_null",
    }
    assert all(e.passed for e in evaluations.values())
    assert DOWNSTREAM_KEY in {m.asset_key for m in result.get_asset_materialization_events()}
    records = _records(settings, result.run_id)
    summary = {
        name: (r["check_type"], r["severity"], r["passed"], r["records_checked"])
        for name, r in records.items()
    }
    assert summary == {
        "rows_reconcile_with_source": ("reconciliation", "WARN", True, len(ROWS)),
        "freshness": ("freshness", "WARN", True, 1),
        "no_sudden_drop": ("volume", "ERROR", True, len(ROWS)),
        "primary_key_unique_not_null": ("uniqueness", "ERROR", True, len(ROWS)),
    }
    metadata = evaluations["primary_key_unique_not_null"].metadata
    assert metadata["records_checked"].value == len(ROWS)
    assert metadata["ops_record_id"].value is not None


def test_a_sync_losing_over_15_percent_fails_no_sudden_drop_and_blocks_downstream(
    settings: Settings,
) -> None:
    assert _run(ROWS).success
    kept = ROWS[:16]  # the source lost 4 of 20 rows: a 20% drop

    result = _run(kept)

    assert not result.success
    drop = _evaluations(result)["no_sudden_drop"]
    assert not drop.passed and drop.severity == dg.AssetCheckSeverity.ERROR
    assert DOWNSTREAM_KEY not in {m.asset_key for m in result.get_asset_materialization_events()}
    record = _records(settings, result.run_id)["no_sudden_drop"]
    assert (record["passed"], record["records_checked"], record["records_failed"]) == (
        False,
        16,
        4,
    )
    details = record["failure_details"]
    assert (details["baseline_rows"], details["live_rows"], details["drop_percent"]) == (20, 16, 20)
    assert sorted(row["id"] for row in details["failing_sample"]) == [17, 18, 19, 20]
    assert drop.metadata["drop_percent"].value == 20

    again = _run(kept, selection=CHECKS_ONLY)  # re-checking the same sync does not accept it
    assert not _evaluations(again)["no_sudden_drop"].passed


def test_a_sync_finished_three_days_ago_fails_freshness_as_a_warning_with_the_failed_syncs(
    settings: Settings,
) -> None:
    assert _run(ROWS).success
    _execute(
        settings,
        "update ops.sync_jobs set started_at = now() - interval '3 days 1 minute', "
        "finished_at = now() - interval '3 days' where source_system = 't_quality'",
    )
    failed_job = open_sync_job(
        settings.warehouse_url, batch_id="00000000-0000-0000-0000-000000000001",
        source_system="t_quality", source_table="items", target_table="raw.t_quality_items",
        sync_mode="full_refresh", watermark_before=None, config={}, run_id=None, asset_key=None,
    )  # fmt: skip
    fail_sync_job(settings.warehouse_url, failed_job, RuntimeError("source unreachable"), [])

    result = _run(ROWS, selection=CHECKS_ONLY)

    assert result.success  # a WARN failure reports but blocks nothing
    freshness = _evaluations(result)["freshness"]
    assert not freshness.passed and freshness.severity == dg.AssetCheckSeverity.WARN
    record = _records(settings, result.run_id)["freshness"]
    assert (record["passed"], record["records_failed"]) == (False, 1)
    details = record["failure_details"]
    assert 72 <= details["age_hours"] < 73 and details["max_age_hours"] == 26
    [failed] = details["failing_sample"]
    assert failed["sync_job_id"] == failed_job and "source unreachable" in failed["error_message"]


def test_a_null_or_duplicate_live_key_fails_the_primary_key_check_with_the_rows_sampled(
    settings: Settings,
) -> None:
    assert _run(ROWS).success
    # Raw's primary key forbids this; without it, a null key and a live duplicate of id 3 fail,
    # while a tombstoned copy of id 5 is history and does not.
    _execute(
        settings,
        "alter table raw.t_quality_items drop constraint t_quality_items_pkey, "
        "alter column id drop not null",
    )
    _execute(
        settings,
        "insert into raw.t_quality_items (id, name, _source_system, _sync_batch_id, _deleted_at) "
        "values (null, 'no key', 't_quality', gen_random_uuid(), null), "
        "(3, 'item 3 again', 't_quality', gen_random_uuid(), null), "
        "(5, 'item 5, deleted', 't_quality', gen_random_uuid(), now())",
    )

    result = _run(ROWS, selection=CHECKS_ONLY)

    assert not result.success  # blocking ERROR
    pk = _evaluations(result)["primary_key_unique_not_null"]
    assert not pk.passed and pk.metadata["records_failed"].value == 3
    record = _records(settings, result.run_id)["primary_key_unique_not_null"]
    assert (record["records_checked"], record["records_failed"]) == (22, 3)
    sample = sorted(
        (row["id"] or 0, row["problem"], row["live_rows"])
        for row in record["failure_details"]["failing_sample"]
    )
    assert sample == [(0, "null key", 1), (3, "duplicate key", 2), (3, "duplicate key", 2)]
    # Two live rows more than the source had: reported by reconciliation, as a warning.
    reconciled = _records(settings, result.run_id)["rows_reconcile_with_source"]
    assert (reconciled["passed"], reconciled["severity"], reconciled["records_failed"]) == (
        False,
        "WARN",
        2,
    )
    assert reconciled["failure_details"]["raw_rows"] == len(ROWS) + 2


def test_the_pass_rate_view_counts_checks_and_passes_per_table_and_day(settings: Settings) -> None:
    outcomes = [(True, "0 days"), (True, "0 days"), (False, "0 days"), (False, "2 days")]
    for passed, age in outcomes:
        record_id = record_check(
            settings.warehouse_url, check_name="freshness", check_type="freshness",
            severity="WARN", schema_name="raw", table_name="t_quality_rate", passed=passed,
            records_checked=1, records_failed=0 if passed else 1, failure_details={}, run_id=None,
        )  # fmt: skip
        _execute(
            settings,
            "update ops.data_quality_checks set checked_at = (date_trunc('day', now() at time "
            "zone 'UTC') + interval '12 hours' - %s::interval) at time zone 'UTC' where id = %s",
            (age, record_id),
        )

    with connect(settings.warehouse_url) as conn:
        rows = conn.execute(
            "select day = (now() at time zone 'UTC')::date, checks, passed, pass_rate::float "
            "from ops.data_quality_pass_rate "
            "where schema_name = 'raw' and table_name = 't_quality_rate' order by day"
        ).fetchall()

    assert rows == [(False, 1, 0, 0.0), (True, 3, 2, 0.6667)]


class HasRowsConfig(RawCheckConfig):
    """A kind made up here: the table has at least ``min_rows`` live rows."""

    min_rows: int = 1


def has_rows(url: str, config: HasRowsConfig, target: CheckTarget) -> CheckOutcome:
    with connect(url) as conn:
        row = conn.execute(
            sql.SQL("select count(*) from {} where _deleted_at is null").format(
                sql.Identifier(*target.table.relation.split("."))
            )
        ).fetchone()
    live = int(row[0]) if row else 0
    passed = live >= config.min_rows
    return CheckOutcome(passed, 1, 0 if passed else 1, f"{live} live rows", {"live_rows": live})


def test_a_kind_added_to_the_registry_runs_records_and_blocks_like_the_shipped_ones(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = CheckKind(
        HasRowsConfig,
        has_rows,
        check_type="volume",
        description="{table} has at least {config.min_rows} live rows.",
    )
    monkeypatch.setitem(CHECK_KINDS, "has_rows", kind)
    check = build_table_check("has_rows", HasRowsConfig(min_rows=len(ROWS) + 1), SPEC, {})

    result = dg.materialize(
        [_raw_asset(ROWS), downstream, check],
        resources={"warehouse": WarehouseResource()},
        raise_on_error=False,
    )

    assert not result.success  # ERROR, the default severity: blocking
    evaluation = _evaluations(result)["has_rows"]
    assert not evaluation.passed and evaluation.metadata["live_rows"].value == len(ROWS)
    assert DOWNSTREAM_KEY not in {m.asset_key for m in result.get_asset_materialization_events()}
    record = _records(settings, result.run_id)["has_rows"]
    assert (record["check_type"], record["severity"], record["passed"]) == (
        "volume",
        "ERROR",
        False,
    )
    assert record["failure_details"]["live_rows"] == len(ROWS)
