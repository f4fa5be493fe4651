"""The code location: what it defines (a snapshot, as a regression net) and how it loads."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from aura_platform.definitions import defs
from aura_platform.runner import prepare_environment
from aura_platform.settings import Settings

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.txt"
HEAVY_MODULES = ("torch", "FlagEmbedding", "transformers", "great_expectations")


def _describe(definitions: dg.Definitions) -> str:
    """Every asset key, check, job and schedule, one per line, sorted."""
    graph = definitions.resolve_asset_graph()
    lines = [f"asset {k.to_user_string()}" for k in graph.get_all_asset_keys()]
    lines += [f"check {c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys]
    lines += [
        f"job {j.name}" for j in definitions.resolve_all_job_defs() if not j.name.startswith("__")
    ]
    lines += [f"schedule {s.name}" for s in definitions.schedules or []]
    lines += [f"sensor {s.name}" for s in definitions.sensors or []]
    return "\n".join(sorted(lines)) + "\n"


def test_the_definitions_match_the_snapshot() -> None:
    """Update with AURA_UPDATE_SNAPSHOTS=1 when a change to the graph is intended."""
    current = _describe(defs())
    if os.environ.get("AURA_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text()


def test_lineage_runs_from_raw_through_core_to_search() -> None:
    graph = defs().resolve_asset_graph()
    search = dg.AssetKey(["search", "odoo_opportunities"])
    upstream = graph.get(search).parent_keys
    assert dg.AssetKey(["core", "odoo_opportunities"]) in upstream
    ancestors = graph.upstream_key_iterator(search)
    assert {
        dg.AssetKey(["raw", "odoo", "crm_lead"]),
        dg.AssetKey(["raw", "odoo", "res_partner"]),
    } <= set(ancestors)


def test_every_asset_has_a_group_an_owner_a_kind_and_a_description() -> None:
    graph = defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        spec = node.to_asset_spec()
        assert spec.group_name and spec.group_name != "default", key
        assert spec.description, key
        assert spec.kinds, key
        assert spec.owners, key


def test_loading_the_code_location_does_not_import_ml_or_gx_libraries() -> None:
    code = (
        "import sys; from aura_platform.definitions import defs; defs(); "
        f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.integration
def test_dagster_definitions_validate_passes_against_the_postgres_instance(
    settings: Settings, project_root: Path
) -> None:
    prepare_environment(settings)  # DAGSTER_HOME with dagster.yaml, storage URL, as `aura` does
    dagster = Path(sys.executable).parent / "dagster"
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=project_root,
        capture_output=True,
        text=True,
        env=settings.subprocess_env(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
