"""The Aura code location: everything under ``aura_platform/defs`` plus project-wide policy."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(project_root=Path(__file__).resolve().parents[1])
