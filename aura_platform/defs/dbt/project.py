"""The Aura dbt project, its manifest present and current whenever the code location loads."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import fasteners
from dagster_dbt import DbtCliResource, DbtProject

from aura_platform.settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# The dbt beside this interpreter, so an unactivated virtualenv (`.venv/bin/pytest`) finds it too.
DBT_EXECUTABLE = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"

# What `dbt parse` reads; the manifest is stale once any of these is newer.
_PARSED_FILES = ("dbt_project.yml", "models/**/*", "macros/**/*", "tests/**/*", "seeds/**/*")


def _manifest_is_stale(project: DbtProject) -> bool:
    """A manifest older than the project's files would give Dagster yesterday's asset graph."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    return any(
        path.is_file() and path.stat().st_mtime > built
        for pattern in _PARSED_FILES
        for path in project.project_dir.glob(pattern)
    )


def prepare(project: DbtProject) -> None:
    """Write ``project.manifest_path`` with ``dbt parse``, which needs no database connection.

    dagster-dbt's own preparer looks for ``dbt`` on PATH only, hence this one. The lock keeps the
    webserver, daemon and run workers from parsing into the same target folder at once.
    """
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(project.manifest_path.with_suffix(".lock"))):
        if _manifest_is_stale(project):
            DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
                ["parse", "--quiet"], target_path=project.target_path
            ).wait()


def load_project() -> DbtProject:
    """The Aura dbt project, parsed first if its manifest is missing or older than its files."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if _manifest_is_stale(project):
        prepare(project)
    return project


aura_dbt_project = load_project()
