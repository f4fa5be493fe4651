"""The main job over the whole asset graph and the nightly schedule that runs it."""

import os

import dagster as dg

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
