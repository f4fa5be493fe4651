"""The landing-zone sensor: a file dropped in the landing folder is loaded within a minute; and
the housekeeping sensor that drops the replication slots of CDC tables taken out of the
configuration.

The cursor holds the fingerprints (name, size, modification time) of the files waiting in the
folder at the last evaluation; a fingerprint not in it is new and requests one run, keyed by the
new fingerprints so the same set never runs twice. Loaded files are archived out of the folder,
so the cursor only ever holds what is still waiting and never grows. A file replaced under the
same name has a new fingerprint and is picked up again. A file whose run failed stays in the
folder and in the cursor: it is not retried every 30 seconds, the next main run or a re-execution
from the UI loads it.

The sensor reads the folder only: whether a file's bytes were already loaded is decided by the
asset (checksums in ``ops.landed_files``), which archives duplicates without loading them.
"""

import hashlib
import json

import dagster as dg

from aura_platform.config.loader import load_sources
from aura_platform.ingest.landing import landing_files
from aura_platform.ingest.sync import retire_unconfigured_feeds
from aura_platform.settings import Settings

# The landing asset and everything that reads it (the dbt models built on trial balances, their
# checks): a new trial balance is in core, checked, minutes after it lands. The models also read
# other raw tables; those are used as they are, not re-synced.
landing_zone_job = dg.define_asset_job(
    name="landing_zone",
    selection=dg.AssetSelection.tag("aura/transport", "csv_landing").downstream(),
    description="Load new landing-zone files, then rebuild the models and checks that read them.",
)


def waiting_files(settings: Settings) -> list[str]:
    """A fingerprint of each file waiting in the landing folder, sorted."""
    fingerprints = []
    for path in landing_files(settings):
        try:
            stat = path.stat()
        except FileNotFoundError:  # archived by a run since the folder was listed
            continue
        fingerprints.append(f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}")
    return sorted(fingerprints)


# RUNNING by default: dropping a file is the whole user interface of the landing zone, so it must
# work without a visit to the UI. It only runs where the daemon does (`aura dev`, compose), costs
# a directory listing per tick, and can be stopped in the UI.
@dg.sensor(
    job=landing_zone_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts the landing_zone job when a new file appears in the landing folder.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    waiting = waiting_files(Settings.from_env())
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    new = [f for f in waiting if f not in seen]
    cursor = json.dumps(waiting)
    if not new:
        return dg.SensorResult(skip_reason="no new file in the landing folder", cursor=cursor)
    names = [f.split("|", 1)[0] for f in new]
    context.log.info(f"{len(new)} new landing file(s): {', '.join(names)}")
    run_key = hashlib.sha256("\n".join(new).encode()).hexdigest()[:32]
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key)], cursor=cursor)


# A slot nobody reads keeps its source's WAL until the source's disk fills. `aura run` drops the
# slots of tables no longer configured in cdc mode before it starts; this does the same where
# runs start from the daemon (the nightly schedule, the UI), which never pass through `aura run`.
# Switching a table back to cursor mode needs no sensor: its next sync drops its slot.
@dg.sensor(
    name="retired_cdc_feeds",
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Drops the replication slot and publication of each CDC table no longer configured "
        "in mode cdc (source or table removed from sources.yaml); starts no runs."
    ),
)
def retired_cdc_feeds_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    dropped = retire_unconfigured_feeds(Settings.from_env(), load_sources())
    if not dropped:
        return dg.SkipReason("every CDC slot belongs to a configured table")
    context.log.info(f"dropped the slots of unconfigured CDC tables: {', '.join(dropped)}")
    return dg.SkipReason(f"dropped {len(dropped)} slot(s): {', '.join(dropped)}")
