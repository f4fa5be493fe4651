"""Plain `dagster` and `dg` commands work with the .env that `aura` writes, as a new shell has it.

Dagster loads ``.env`` from the folder it runs in and dg from the project root; the commands get
an environment without any Aura or Dagster variable, so what they reach comes from the file.
"""

import json
import os
import subprocess
from pathlib import Path

import dotenv
import pytest

from aura_platform.cli.runner import prepare_environment, write_env_file
from aura_platform.settings import ENV_VARS, PROJECT_ROOT, Settings

pytestmark = pytest.mark.integration

BIN = Path(os.environ.get("VIRTUAL_ENV") or PROJECT_ROOT / ".venv") / "bin"


def _bare_shell() -> dict[str, str]:
    """This environment without anything `aura` would otherwise hand down."""
    ours = {*ENV_VARS, "DAGSTER_HOME"}
    return {k: v for k, v in os.environ.items() if k not in ours and not k.startswith("AURA_")}


@pytest.fixture(scope="module")
def env_file(settings: Settings) -> Path:
    assert settings.env_file is not None and settings.env_file != PROJECT_ROOT / ".env"
    prepare_environment(settings)
    return settings.env_file


def test_the_env_file_names_the_instance_and_warehouse_and_keeps_other_lines(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / ".env"
    path.write_text("# compose reads this file too\nPOSTGRES_PASSWORD=secret\nAURA_PG_PORT=1\n")

    write_env_file(settings, path)

    values = dotenv.dotenv_values(path)
    assert values["POSTGRES_PASSWORD"] == "secret"
    assert values["DAGSTER_HOME"] == str(settings.dagster_home)
    assert values["AURA_DAGSTER_PG_URL"] == settings.dagster_pg_url
    assert values["AURA_PG_PORT"] == str(settings.pg_port)
    assert path.read_text().startswith("# compose reads this file too\n")


def test_dagster_definitions_validate_in_the_env_files_folder(env_file: Path) -> None:
    result = subprocess.run(
        [BIN / "dagster", "definitions", "validate", "-w", PROJECT_ROOT / "workspace.yaml"],
        cwd=env_file.parent,
        env=_bare_shell(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "Loaded environment variables from .env file" in output
    assert "Validation successful for code location aura" in output
    assert "does not match the name" not in output


def test_dg_lists_every_definition_under_the_location_name_aura(env_file: Path) -> None:
    result = subprocess.run(
        [BIN / "dg", "list", "defs", "--json"],
        cwd=PROJECT_ROOT,
        # dg runs in the project root, whose .env (if any) is the developer's; listing needs no
        # instance, and the test's own values are handed down as variables.
        env={**_bare_shell(), **dotenv.dotenv_values(env_file)},  # type: ignore[dict-item]
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "does not match the name" not in result.stderr
    listed = json.loads(result.stdout)
    # The asset lines of the definitions snapshot (syrupy's file: one quoted line per entry).
    snapshot = (PROJECT_ROOT / "tests" / "__snapshots__" / "test_definitions.ambr").read_text()
    entries = [line.strip().removesuffix(",").strip("'") for line in snapshot.splitlines()]
    expected = {entry.split(" ", 1)[1] for entry in entries if entry.startswith("asset ")}
    assert {a["asset_key"] for a in listed["assets"]} == expected
