"""Running a job of the code location from Python (the CLI's `aura run`) and summarising it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from psycopg import sql

from aura_platform.config.models import SourceConfig
from aura_platform.settings import PROJECT_ROOT, Settings
from aura_platform.warehouse.bootstrap import prepare_warehouse
from aura_platform.warehouse.connection import connect

if TYPE_CHECKING:
    from dagster import DagsterInstance, ExecuteInProcessResult, JobDefinition, JobExecutionResult


@dataclass
class CheckLine:
    asset: str
    name: str
    passed: bool
    severity: str
    description: str = ""


@dataclass
class RunReport:
    run_id: str
    success: bool
    steps_succeeded: list[str] = field(default_factory=list)
    steps_failed: list[str] = field(default_factory=list)
    steps_skipped: list[str] = field(default_factory=list)
    not_materialized: list[str] = field(default_factory=list)
    checks: list[CheckLine] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)


def prepare_environment(settings: Settings) -> None:
    """Export the derived environment (DAGSTER_HOME, storage URL, dbt connection) to this process.

    DAGSTER_HOME gets a copy of the repository's dagster.yaml so the instance configuration lives
    in one reviewed file, and the instance gets each source's pool limit from sources.yaml.
    """
    import dagster as dg

    from aura_platform.config.loader import load_sources

    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", settings.dagster_home / "dagster.yaml")
    os.environ.update(settings.subprocess_env())
    with dg.DagsterInstance.get() as instance:
        apply_pool_limits(instance, load_sources().sources)


def apply_pool_limits(
    instance: DagsterInstance, sources: Mapping[str, SourceConfig]
) -> dict[str, int | None]:
    """Make the instance's ``source_<name>`` pools match ``max_connections`` in the config.

    sources.yaml is the truth for these pools: a limit set in the UI lasts until the next
    ``aura`` command, and a source without ``max_connections`` falls back to the default limit.

    Returns:
        Each source's pool and the limit set on it (``None``: the default applies).
    """
    storage = instance.event_log_storage
    explicit = {p.name for p in storage.get_pool_limits() if not p.from_default}
    applied: dict[str, int | None] = {}
    for name, source in sources.items():
        pool = f"source_{name}"  # the pool of every raw asset of the source (defs/ingestion)
        if source.max_connections is not None:
            storage.set_concurrency_slots(pool, source.max_connections)
        elif pool in explicit:
            storage.delete_concurrency_limit(pool)
        applied[pool] = source.max_connections
    return applied


def check_embedding_stack(settings: Settings, job_name: str) -> None:
    """Refuse, in seconds, a job whose embedding steps could not import their libraries.

    Jobs without a ``search`` asset (the landing-zone job) start whatever the stack's state.

    Raises:
        EmbeddingStackError: Naming the package that fails and the installed versions.
    """
    from aura_platform.definitions import defs
    from aura_platform.lib import embedding_stack

    job = defs().resolve_job_def(job_name)
    if any(key.path[0] == "search" for key in job.asset_layer.selected_asset_keys):
        embedding_stack.check_imports()
        embedding_stack.locate_model(settings.embedding_model)


def run_job(settings: Settings, job_name: str = "main") -> RunReport:
    """Execute a job in this process on the persistent Dagster instance (so the UI shows it)."""
    import dagster as dg

    from aura_platform.definitions import defs

    prepare_warehouse(settings)
    prepare_environment(settings)
    job = defs().resolve_job_def(job_name)
    with dg.DagsterInstance.get() as instance:
        result = _execute(job_name, job, settings, instance)
    report = RunReport(run_id=result.run_id, success=result.success)
    for event in result.all_events:
        if event.step_key is None:
            continue
        if event.event_type_value == "STEP_SUCCESS":
            report.steps_succeeded.append(event.step_key)
        elif event.event_type_value == "STEP_FAILURE":
            report.steps_failed.append(event.step_key)
        elif event.event_type_value == "STEP_SKIPPED":
            report.steps_skipped.append(event.step_key)
    planned = job.asset_layer.selected_asset_keys
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    report.not_materialized = sorted(k.to_user_string() for k in planned - done)
    for evaluation in result.get_asset_check_evaluations():
        report.checks.append(
            CheckLine(
                asset=evaluation.asset_key.to_user_string(),
                name=evaluation.check_name,
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                description=evaluation.description or "",
            )
        )
    report.table_rows = table_row_counts(settings.warehouse_url)
    return report


def _execute(
    job_name: str, job: JobDefinition, settings: Settings, instance: DagsterInstance
) -> ExecuteInProcessResult | JobExecutionResult:
    """Run the job here, or, for another executor, hand its steps to that executor.

    ``execute_in_process`` ignores the job's executor; ``execute_job`` orchestrates in this
    process and runs each step where the executor puts it (child processes, Celery workers),
    which must be able to load the job again: hence the module pointer.
    """
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    if settings.executor == "in_process":
        return job.execute_in_process(instance=instance, raise_on_error=False)
    repository = ReconstructableRepository.for_module("aura_platform.definitions", "defs")
    with dg.execute_job(
        repository.get_reconstructable_job(job_name), instance=instance, raise_on_error=False
    ) as result:
        return result


def table_row_counts(
    url: str, schemas: tuple[str, ...] = ("raw", "core", "search")
) -> dict[str, int]:
    """Exact live row counts of every table in the data layers, as ``schema.table``.

    Rows tombstoned in raw (deleted in the source) are not counted.
    """
    counts: dict[str, int] = {}
    with connect(url) as conn:
        tables = conn.execute(
            "select t.table_schema, t.table_name, c.column_name is not null "
            "from information_schema.tables t left join information_schema.columns c "
            "on c.table_schema = t.table_schema and c.table_name = t.table_name "
            "and c.column_name = '_deleted_at' "
            "where t.table_schema = any(%s) and t.table_type = 'BASE TABLE' order by 1, 2",
            (list(schemas),),
        ).fetchall()
        for schema, table, tombstoned in tables:
            live = sql.SQL(" where _deleted_at is null" if tombstoned else "")
            row = conn.execute(
                sql.SQL("select count(*) from {}{}").format(sql.Identifier(schema, table), live)
            ).fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts
