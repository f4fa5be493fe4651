"""Every dbt model as a Dagster asset and every dbt test as an asset check, via ``dbt build``."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from aura_platform.defs.dbt.project import aura_dbt_project
from aura_platform.defs.dbt.translator import AuraDbtTranslator, relation_under_test
from aura_platform.defs.resources import WarehouseResource
from aura_platform.quality.expectations import record_check
from aura_platform.settings import Settings


@contextmanager
def _warehouse_connection_env(run_id: str) -> Iterator[None]:
    """DbtCliResource.cli takes no env; dbt and its in-process adapter read AURA_DBT_* from here.

    DAGSTER_RUN_ID lets dbt's transformation-log hook tie each model's row to this run.
    """
    connection = {
        key: value
        for key, value in Settings.from_env().subprocess_env().items()
        if key.startswith("AURA_DBT_")
    }
    connection["DAGSTER_RUN_ID"] = run_id
    saved = {key: os.environ.get(key) for key in connection}
    os.environ.update(connection)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dbt_assets(
    manifest=aura_dbt_project.manifest_path,
    project=aura_dbt_project,
    dagster_dbt_translator=AuraDbtTranslator(),
)
def aura_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Build the selected models and run their tests, streaming row counts and column schemas.

    Each test result is also written to ``ops.data_quality_checks``, as every other check is, the
    moment dbt reports it: an ERROR failure ends the step, and the record must survive that.
    """
    with _warehouse_connection_env(context.run.run_id):
        invocation = dbt.cli(["build"], context=context)
        url = warehouse.url()
        for event in invocation.stream().fetch_row_counts().fetch_column_metadata():
            if isinstance(event, dg.AssetCheckResult):
                event = _recorded(url, invocation.manifest, event, context.run.run_id)
            yield event


def _recorded(
    url: str, manifest: Mapping[str, Any], result: dg.AssetCheckResult, run_id: str
) -> dg.AssetCheckResult:
    """Record one dbt test result in ops; the result gains the record's id, as GX checks do."""
    unique_id = str(result.metadata["unique_id"].value)
    test = manifest["nodes"][unique_id]
    schema_name, table_name = relation_under_test(manifest, unique_id)
    failures = result.metadata.get("dagster_dbt/failed_row_count")
    record_id = record_check(
        url,
        check_name=result.check_name or test["name"],
        check_type="dbt_test",
        severity=str(test.get("config", {}).get("severity") or "error").upper(),
        schema_name=schema_name,
        table_name=table_name,
        passed=result.passed,
        records_checked=None,  # dbt counts the failing rows only
        records_failed=int(str(failures.value)) if failures is not None else None,
        failure_details={
            "unique_id": unique_id,
            "status": str(result.metadata["status"].value) if "status" in result.metadata else "",
            "dbt_invocation_id": str(result.metadata["invocation_id"].value),
        },
        run_id=run_id,
    )
    record = {"ops_record_id": dg.MetadataValue.int(record_id)}
    return result._replace(metadata={**result.metadata, **record})
