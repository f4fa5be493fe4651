"""The main job over the whole asset graph, the nightly schedule that runs it, failure alerts."""

import os
from datetime import UTC, datetime

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from aura_platform.defs.resources import WarehouseResource

# The whole platform in dependency order: sources -> raw -> dbt -> checks -> search. Checks run
# right after the asset they guard; a failed blocking check stops everything downstream of it.
# Every configured table is in it, so a table added to sources.yaml joins the nightly run.
main_job = dg.define_asset_job(
    name="main",
    selection=dg.AssetSelection.all(),
    description="Sync every source, build dbt, run the checks, then embeddings and matching.",
)

nightly = dg.ScheduleDefinition(
    name="nightly",
    job=main_job,
    cron_schedule=os.environ.get("AURA_SCHEDULE_CRON") or "0 2 * * *",
    execution_timezone=os.environ.get("AURA_SCHEDULE_TIMEZONE") or "UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The main job every night (AURA_SCHEDULE_CRON, default 02:00).",
)


def _root_message(error: SerializableErrorInfo | None) -> str:
    """The innermost cause's message: Dagster wraps a step's own exception in its own errors."""
    if error is None:
        return ""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


@dg.run_failure_sensor(
    name="run_failures",
    monitor_all_code_locations=True,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Records every failed run in ops.run_failures (error masked) and, when "
        "AURA_ALERT_WEBHOOK is set, posts a short JSON alert to it."
    ),
)
def run_failures(context: dg.RunFailureSensorContext, warehouse: WarehouseResource) -> None:
    """Record every failed run on the instance in ops.run_failures, and alert on it once.

    Every run, not only this location's jobs: ``aura run`` executes in-process and ``aura dagster
    asset materialize`` loads the module itself, so neither run carries this location's origin.
    """
    from aura_platform.config.loader import load_sources
    from aura_platform.ops.alerts import RunFailure, report_run_failure
    from aura_platform.settings import mask_secrets
    from aura_platform.sources.registry import known_secrets

    settings = warehouse.settings()
    run = context.dagster_run
    steps = context.get_step_failure_events()
    errors = [
        f"{e.step_key}: {_root_message(e.step_failure_data.error)}"
        for e in steps
        if e.step_failure_data.error
    ]
    if not errors:  # the run failed outside any step (e.g. its code could not load)
        job_error = context.failure_event.job_failure_data.error
        errors = [_root_message(job_error) or context.failure_event.message or "run failed"]
    record = context.instance.get_run_record_by_id(run.run_id)
    secrets = [*known_secrets(settings, load_sources()), settings.alert_webhook or ""]
    failure = RunFailure(
        run_id=run.run_id,
        job_name=run.job_name,
        error_message=mask_secrets("\n".join(errors), secrets),
        failed_at=datetime.fromtimestamp(record.end_time, UTC)
        if record and record.end_time
        else datetime.now(UTC),
        started_at=datetime.fromtimestamp(record.start_time, UTC)
        if record and record.start_time
        else None,
        failed_steps=tuple(sorted({e.step_key for e in steps if e.step_key})),
    )
    status = report_run_failure(warehouse.url(), failure, settings.alert_webhook)
    context.log.info(f"run {run.run_id} of {run.job_name} recorded; alert: {status}")
