"""Running a job of the code location from Python (the CLI's `aura run`) and summarising it."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg import sql

from aura_platform.config.models import SourceConfig
from aura_platform.settings import PROJECT_ROOT, Settings
from aura_platform.warehouse.bootstrap import prepare_warehouse
from aura_platform.warehouse.connection import connect

if TYPE_CHECKING:
    from dagster import (
        DagsterInstance,
        EventLogEntry,
        ExecuteInProcessResult,
        JobDefinition,
        JobExecutionResult,
    )

POLL_SECONDS = 0.5  # how often a watched run's new step events are read back from the event log


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
    errors: dict[str, str] = field(default_factory=dict)  # failed step -> the error's root cause


@dataclass(frozen=True)
class StepEvent:
    """A step starting or ending in a watched run, with the run's step count for progress."""

    step_key: str
    event_type: str  # STEP_START, STEP_SUCCESS, STEP_FAILURE or STEP_SKIPPED
    total_steps: int | None
    error: str | None = None


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
    if settings.env_file is not None:
        write_env_file(settings, settings.env_file)
    with dg.DagsterInstance.get() as instance:
        apply_pool_limits(instance, load_sources().sources)


def write_env_file(settings: Settings, path: Path) -> None:
    """Set the variables Dagster and dbt read in a ``.env`` file, keeping its other lines.

    ``dagster dev``, ``dagster definitions validate`` and ``dg`` load ``.env`` from the folder
    they run in, so in the project folder they reach the same instance and warehouse as
    ``aura``. Other lines stay (docker compose reads the same file); a variable that no longer
    applies (the embedded port, once the warehouse is external) is removed. The file may hold a
    warehouse password, so it is created readable by its owner only (and is gitignored).
    """
    import dotenv

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
    derived = settings.derived_env()
    current = dotenv.dotenv_values(path)
    for key, value in derived.items():
        if current.get(key) != value:
            dotenv.set_key(path, key, value, quote_mode="auto")
    if "AURA_PG_PORT" not in derived and "AURA_PG_PORT" in current:
        dotenv.unset_key(path, "AURA_PG_PORT")


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
    from aura_platform.search import embedding_stack

    job = defs().resolve_job_def(job_name)
    if any(key.path[0] == "search" for key in job.asset_layer.selected_asset_keys):
        embedding_stack.check_imports()
        embedding_stack.locate_model(settings.embedding_model)


def run_job(
    settings: Settings,
    job_name: str = "main",
    on_step: Callable[[StepEvent], None] | None = None,
) -> RunReport:
    """Execute a job in this process on the persistent Dagster instance (so the UI shows it).

    Args:
        on_step: called from a watcher thread as steps start and end, for live progress; the
            events are read back from the instance's event log, as the UI reads them.
    """
    import dagster as dg

    from aura_platform.config.loader import load_sources
    from aura_platform.definitions import defs
    from aura_platform.ingest.sync import retire_unconfigured_feeds

    prepare_warehouse(settings)
    prepare_environment(settings)
    # Slots of tables taken out of cdc mode or out of the configuration hold the source's WAL.
    retire_unconfigured_feeds(settings, load_sources())
    job = defs().resolve_job_def(job_name)
    run_id = str(uuid.uuid4())  # chosen here so the watcher knows which run to follow
    finished = threading.Event()
    watcher = threading.Thread(
        target=_watch_steps, args=(run_id, on_step, finished), name="aura-progress", daemon=True
    )
    # Progress follows the run by its id, which only an in-process run lets us choose.
    if on_step is not None and settings.executor == "in_process":
        watcher.start()
    try:
        with dg.DagsterInstance.get() as instance:
            result = _execute(job_name, job, settings, instance, run_id)
    finally:
        finished.set()
        if watcher.is_alive():
            watcher.join()
    report = RunReport(run_id=result.run_id, success=result.success)
    for event in result.all_events:
        if event.step_key is None:
            continue
        if event.event_type_value == "STEP_SUCCESS":
            report.steps_succeeded.append(event.step_key)
        elif event.event_type_value == "STEP_FAILURE":
            report.steps_failed.append(event.step_key)
            report.errors[event.step_key] = _root_cause(event.event_specific_data)
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


STEP_EVENTS = ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")


def _watch_steps(
    run_id: str, on_step: Callable[[StepEvent], None] | None, done: threading.Event
) -> None:
    """Feed ``on_step`` the run's step events until the run has ended and all were read."""
    import dagster as dg

    assert on_step is not None
    types = {dg.DagsterEventType(name) for name in STEP_EVENTS}
    cursor: str | None = None
    total: int | None = None
    with dg.DagsterInstance.get() as instance:
        while True:
            finished = done.is_set()  # read before polling, so the last events are not missed
            if total is None:
                total = _step_count(instance, run_id)
            while True:
                page = instance.get_records_for_run(run_id, cursor=cursor, of_type=types)
                cursor = page.cursor
                for record in page.records:
                    on_step(_step_event(record.event_log_entry, total))
                if not page.has_more:
                    break
            if finished:
                return
            done.wait(POLL_SECONDS)


def _step_count(instance: DagsterInstance, run_id: str) -> int | None:
    """Steps in the run's execution plan; None until the run is stored."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.execution_plan_snapshot_id is None:
        return None
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    return len(plan.step_keys_to_execute or plan.steps)


def _step_event(entry: EventLogEntry, total: int | None) -> StepEvent:
    event = entry.dagster_event
    assert event is not None and entry.step_key is not None  # asked for step events only
    failed = event.event_type_value == "STEP_FAILURE"
    return StepEvent(
        step_key=entry.step_key,
        event_type=event.event_type_value,
        total_steps=total,
        error=_root_cause(event.event_specific_data) if failed else None,
    )


def _root_cause(data: object) -> str:
    """The innermost error of a step failure: the user's exception, not Dagster's wrapper."""
    error = getattr(data, "error", None)
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "unknown error"
    return error.message.strip()


def _execute(
    job_name: str,
    job: JobDefinition,
    settings: Settings,
    instance: DagsterInstance,
    run_id: str,
) -> ExecuteInProcessResult | JobExecutionResult:
    """Run the job here, or, for another executor, hand its steps to that executor.

    ``execute_in_process`` ignores the job's executor; ``execute_job`` orchestrates in this
    process and runs each step where the executor puts it (child processes, Celery workers),
    which must be able to load the job again: hence the module pointer.
    """
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    if settings.executor == "in_process":
        return job.execute_in_process(instance=instance, raise_on_error=False, run_id=run_id)
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
