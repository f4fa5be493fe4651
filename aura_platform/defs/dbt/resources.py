"""The dbt CLI resource, under the key the dbt assets ask for."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from aura_platform.defs.dbt.project import DBT_EXECUTABLE, aura_dbt_project


def dbt_resource() -> DbtCliResource:
    """dbt CLI bound to the Aura project and the dbt installed beside this interpreter."""
    return DbtCliResource(project_dir=aura_dbt_project, dbt_executable=DBT_EXECUTABLE)


defs = dg.Definitions(resources={"dbt": dbt_resource()})
