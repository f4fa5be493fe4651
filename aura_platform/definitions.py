"""The Aura code location: everything under ``aura_platform/defs`` plus project-wide policy."""

from pathlib import Path

import dagster as dg

from aura_platform.execution.executors import executor_def
from aura_platform.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    # The executor is the location's default, so the main and landing-zone jobs and every ad hoc
    # run (a backfill through `aura dagster asset materialize`, a launch from the UI) use it.
    return dg.Definitions.merge(
        dg.load_from_defs_folder(project_root=Path(__file__).resolve().parents[1]),
        dg.Definitions(executor=executor_def(Settings.from_env())),
    )
