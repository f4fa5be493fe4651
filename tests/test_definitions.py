"""The code location: what it defines (a snapshot, as a regression net) and how it loads."""

import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.metadata import normalize_metadata
from syrupy.assertion import SnapshotAssertion

from aura_platform.cli.runner import prepare_environment
from aura_platform.definitions import defs
from aura_platform.settings import Settings

HEAVY_MODULES = ("torch", "FlagEmbedding", "transformers", "great_expectations")
# The UI renders descriptions as Markdown: a <word> outside a code span is taken for HTML, dropped.
HTML_LIKE = re.compile(r"<[A-Za-z_/][^>]*>")
# Metadata the UI itself hides (its webapp lists these keys); any other object it cannot
# serialise shows as a "[Class] (unserializable)" row.
HIDDEN_BY_THE_UI = {"dagster_dbt/manifest", "dagster_dbt/dagster_dbt_translator"}


def _describe(definitions: dg.Definitions) -> list[str]:
    """Every asset key, check, job, schedule and sensor, one per line, sorted."""
    graph = definitions.resolve_asset_graph()
    lines = [f"asset {k.to_user_string()}" for k in graph.get_all_asset_keys()]
    lines += [f"check {c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys]
    lines += [
        f"job {j.name}" for j in definitions.resolve_all_job_defs() if not j.name.startswith("__")
    ]
    lines += [f"schedule {s.name}" for s in definitions.schedules or []]
    lines += [f"sensor {s.name}" for s in definitions.sensors or []]
    return sorted(lines)


def test_the_definitions_match_the_snapshot(snapshot: SnapshotAssertion) -> None:
    """A regression net for the graph (tests/__snapshots__/); after an intended change, refresh
    it with ``pytest tests/test_definitions.py --snapshot-update`` and review the diff."""
    assert _describe(defs()) == snapshot


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


def _reads_wrong(text: str | None) -> bool:
    return (
        not text or "No description" in text or bool(HTML_LIKE.search(re.sub(r"`[^`]*`", "", text)))
    )


def test_every_asset_column_and_check_reads_right_in_the_ui() -> None:
    graph = defs().resolve_asset_graph()
    wrong = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        spec = node.to_asset_spec()
        schema = spec.metadata.get("dagster/column_schema")
        columns = schema.columns if isinstance(schema, dg.TableSchema) else []
        wrong += [
            f"{key.to_user_string()} description" for t in [spec.description] if _reads_wrong(t)
        ]
        wrong += [
            f"{key.to_user_string()}.{c.name}"
            for c in columns
            if c.description and _reads_wrong(c.description)
        ]
        shown = normalize_metadata(dict(spec.metadata), allow_invalid=True)
        wrong += [
            f"{key.to_user_string()} metadata {name}"
            for name, value in shown.items()
            if name not in HIDDEN_BY_THE_UI and "(unserializable)" in str(value.value)
        ]
    for check in graph.asset_check_keys:
        if _reads_wrong(graph.get_check_spec(check).description):
            wrong.append(f"check {check.asset_key.to_user_string()}:{check.name}")
    assert wrong == []


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
