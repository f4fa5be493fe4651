"""Every dbt model as a Dagster asset and every dbt test as an asset check, via ``dbt build``."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from aura_platform.defs.dbt.project import aura_dbt_project
from aura_platform.defs.dbt.translator import AuraDbtTranslator
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
def aura_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """Build the selected models and run their tests, streaming row counts and column schemas."""
    with _warehouse_connection_env(context.run.run_id):
        yield from (
            dbt.cli(["build"], context=context).stream().fetch_row_counts().fetch_column_metadata()
        )
