"""Great Expectations 1.x against warehouse tables, and the ``ops.data_quality_checks`` record.

GX validates through its SQL data source, so the expectations run as queries in PostgreSQL and
the table is never pulled into pandas. GX is imported inside ``run_suite`` because it takes
seconds to import and the code location must load fast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aura_platform.config.gx_catalog import load_catalog
from aura_platform.config.models import SuiteConfig
from aura_platform.warehouse.connection import connect

SAMPLE_LIMIT = 20  # failing values/rows kept per expectation: enough to act on, bounded in size


@dataclass(frozen=True)
class SuiteOutcome:
    """What a suite run found, in the shape ``ops.data_quality_checks`` and Dagster record."""

    passed: bool
    records_checked: int
    records_failed: int
    expectations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def records_passed(self) -> int:
        return self.records_checked - self.records_failed

    @property
    def failed_expectations(self) -> list[dict[str, Any]]:
        return [e for e in self.expectations if not e["success"]]


def pass_rate(records_checked: int | None, records_failed: int | None) -> float | None:
    """Share of checked records that passed, 0 to 1; None when nothing was checked.

    Recorded as float metadata on every check so that Dagster plots it run after run.
    """
    if not records_checked:
        return None
    return round((records_checked - (records_failed or 0)) / records_checked, 4)


def _sqlalchemy_url(url: str) -> str:
    """GX's PostgreSQL data source goes through SQLAlchemy and wants a driver-qualified URL."""
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg2://{rest}" if scheme in ("postgres", "postgresql") else url


def _expectation(gx: Any, name: str, kwargs: dict[str, Any]) -> Any:
    """Instantiate a GX expectation class from its snake_case name (validated at load)."""
    return getattr(gx.expectations, load_catalog()[name].class_name)(**kwargs)


def run_suite(url: str, suite: SuiteConfig, name: str) -> SuiteOutcome:
    """Validate ``suite.table`` with GX and summarise the result, with a sample of failures."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_postgres(name="aura", connection_string=_sqlalchemy_url(url))
    asset = source.add_table_asset(
        name=suite.table_name, table_name=suite.table_name, schema_name=suite.schema_name
    )
    batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
    gx_suite = gx.ExpectationSuite(name=name)
    for item in suite.expectations:
        gx_suite.add_expectation(_expectation(gx, item.expectation, item.kwargs))
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": SAMPLE_LIMIT,
    }
    if suite.key_columns:
        result_format["unexpected_index_column_names"] = suite.key_columns
    validation = batch.validate(gx_suite, result_format=result_format)
    expectations = [_summarise(r.to_json_dict()) for r in validation.results]
    checked = _row_count(url, suite)
    failed = max((e["unexpected_count"] or 0 for e in expectations), default=0)
    return SuiteOutcome(
        passed=bool(validation.success),
        records_checked=checked,
        records_failed=min(failed, checked),
        expectations=expectations,
    )


def _summarise(result: dict[str, Any]) -> dict[str, Any]:
    """The parts of one GX expectation result worth keeping: outcome, counts, a bounded sample."""
    config = result.get("expectation_config", {})
    body = result.get("result", {}) or {}
    sample = body.get("partial_unexpected_index_list") or body.get("partial_unexpected_list") or []
    return {
        "expectation": config.get("type"),
        "kwargs": {k: v for k, v in (config.get("kwargs") or {}).items() if k != "batch_id"},
        "success": bool(result.get("success")),
        "element_count": body.get("element_count"),
        "unexpected_count": body.get("unexpected_count"),
        "unexpected_percent": body.get("unexpected_percent"),
        "observed_value": body.get("observed_value"),
        "failing_sample": sample[:SAMPLE_LIMIT],
        "exception": _exception_message(result.get("exception_info") or {}),
    }


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX reports errors flat or keyed by metric; either way, the first message is the cause."""
    if info.get("exception_message"):
        return str(info["exception_message"])
    for value in info.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"])
    return None


def _row_count(url: str, suite: SuiteConfig) -> int:
    from psycopg import sql

    with connect(url) as conn:
        row = conn.execute(
            sql.SQL("select count(*) from {}").format(
                sql.Identifier(suite.schema_name, suite.table_name)
            )
        ).fetchone()
    return int(row[0]) if row else 0


def record_check(
    url: str,
    *,
    check_name: str,
    check_type: str,
    severity: str,
    schema_name: str,
    table_name: str,
    passed: bool,
    records_checked: int | None,
    records_failed: int | None,
    failure_details: dict[str, Any],
    run_id: str | None,
) -> int:
    """Write one ``ops.data_quality_checks`` row, linked to the table's latest sync job."""
    records_passed = None if records_checked is None else records_checked - (records_failed or 0)
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            """
            insert into ops.data_quality_checks (check_name, check_type, severity, schema_name,
                table_name, passed, records_checked, records_passed, records_failed,
                failure_details, sync_job_id, dagster_run_id)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                (select id from ops.sync_jobs where target_table = %s
                 order by started_at desc limit 1), %s)
            returning id
            """,
            (
                check_name, check_type, severity, schema_name, table_name, passed,
                records_checked, records_passed, records_failed,
                json.dumps(failure_details, default=str), f"{schema_name}.{table_name}", run_id,
            ),
        ).fetchone()  # fmt: skip
    assert row is not None
    return int(row[0])
