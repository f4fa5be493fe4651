"""How the dbt project appears in Dagster, read from the project's parsed manifest."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pytest

from aura_platform.config.loader import load_sources
from aura_platform.defs.dbt.assets import aura_dbt_models
from aura_platform.defs.dbt.project import aura_dbt_project
from aura_platform.defs.dbt.translator import (
    AuraDbtTranslator,
    check_description,
    description,
    layer_group,
    materialization_kinds,
    model_asset_key,
    owners,
    relation_under_test,
    source_asset_key,
)

Props = Mapping[str, Any]


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return json.loads(aura_dbt_project.manifest_path.read_text())


def _source(manifest: dict[str, Any], table: str) -> Props:
    return manifest["sources"][f"source.aura.odoo.{table}"]


def _model(manifest: dict[str, Any], name: str) -> Props:
    return manifest["nodes"][f"model.aura.{name}"]


def test_a_source_is_keyed_by_the_raw_asset_of_its_sources_yaml_table(
    manifest: dict[str, Any],
) -> None:
    assert source_asset_key(_source(manifest, "crm_lead")) == dg.AssetKey(
        ["raw", "odoo", "crm_lead"]
    )
    assert source_asset_key(manifest["sources"]["source.aura.csv.trial_balance"]) == dg.AssetKey(
        ["raw", "csv", "trial_balance"]
    )


def test_a_source_that_is_no_sources_yaml_table_is_refused(manifest: dict[str, Any]) -> None:
    props = {**_source(manifest, "crm_lead"), "name": "crm_leads"}

    with pytest.raises(ValueError, match=r"source\.aura\.odoo\.crm_lead .*sources\.yaml"):
        source_asset_key(props)


def _dbt_sources(manifest: dict[str, Any]) -> dict[tuple[str, str], Props]:
    return {(s["source_name"], s["name"]): s for s in manifest["sources"].values()}


def test_every_dbt_source_reads_the_raw_table_its_sources_yaml_entry_loads(
    manifest: dict[str, Any],
) -> None:
    configured = {
        (source, table) for source, c in load_sources().sources.items() for table in c.tables
    }
    for (source, table), props in _dbt_sources(manifest).items():
        assert (source, table) in configured, f"dbt source {source}.{table} is not in sources.yaml"
        # The relation the raw asset writes (TableSync.raw_table), else dbt reads another table.
        assert (props["schema"], props["identifier"]) == ("raw", f"{source}_{table}")


def test_every_sources_yaml_table_is_a_dbt_source(manifest: dict[str, Any]) -> None:
    """Also raw tables no model reads yet: a GX suite can only check columns dbt declares."""
    declared = _dbt_sources(manifest)
    missing = [
        f"{source}.{table}"
        for source, config in load_sources().sources.items()
        for table in config.tables
        if (source, table) not in declared
    ]
    assert missing == [], (
        f"declare {missing} in dbt_project/models/staging/<source>/_<source>__sources.yml"
    )


def test_a_model_is_keyed_by_the_schema_and_table_it_builds(manifest: dict[str, Any]) -> None:
    assert model_asset_key(_model(manifest, "odoo_opportunities")) == dg.AssetKey(
        ["core", "odoo_opportunities"]
    )
    assert model_asset_key(_model(manifest, "stg_odoo__crm_leads")) == dg.AssetKey(
        ["staging", "stg_odoo__crm_leads"]
    )
    # The key's first part is the layer the group names too, not the schema of another layer.
    assert model_asset_key(
        _model(manifest, "int_opportunities_joined_to_related_records")
    ) == dg.AssetKey(["intermediate", "int_opportunities_joined_to_related_records"])


def test_a_model_is_grouped_by_its_layer_folder(manifest: dict[str, Any]) -> None:
    assert layer_group(_model(manifest, "stg_odoo__res_partners")) == "staging"
    assert (
        layer_group(_model(manifest, "int_opportunities_joined_to_related_records"))
        == "intermediate"
    )
    assert layer_group(_model(manifest, "odoo_opportunities")) == "core"


def test_a_model_is_owned_by_the_team_in_dbt_project_yml(manifest: dict[str, Any]) -> None:
    assert owners(_model(manifest, "odoo_opportunities")) == ["team:data-platform"]


def test_a_model_description_is_its_yaml_text_without_sql(manifest: dict[str, Any]) -> None:
    text = description(_model(manifest, "odoo_opportunities"))

    assert text.startswith("One row per Odoo opportunity")
    assert "select" not in text


def test_a_model_without_a_description_is_named_instead() -> None:
    assert description({"resource_type": "model", "name": "x"}) == "dbt model x"


def test_tables_and_views_carry_their_materialization_as_a_kind(
    manifest: dict[str, Any],
) -> None:
    assert materialization_kinds(_model(manifest, "odoo_opportunities")) == {"table"}
    assert materialization_kinds(_model(manifest, "stg_odoo__crm_leads")) == {"view"}
    assert materialization_kinds(_source(manifest, "crm_lead")) == set()


def test_the_translator_enables_dbt_tests_as_asset_checks() -> None:
    assert AuraDbtTranslator().settings.enable_asset_checks


def test_staging_models_depend_on_the_raw_ingestion_assets() -> None:
    deps = {
        key.path[-1]: {dep.asset_key for dep in spec.deps}
        for key, spec in aura_dbt_models.specs_by_key.items()
    }

    assert deps["stg_odoo__crm_leads"] == {dg.AssetKey(["raw", "odoo", "crm_lead"])}
    assert deps["stg_odoo__res_partners"] == {dg.AssetKey(["raw", "odoo", "res_partner"])}


def _attached_to_one_node(test: Props) -> bool:
    """dagster-dbt checks a test of one node, or of the node its ``meta.dagster.ref`` names."""
    meta = test.get("config", {}).get("meta", {}).get("dagster", {})
    return bool(test.get("attached_node")) or len(test["depends_on"]["nodes"]) == 1 or "ref" in meta


def test_every_dbt_data_test_on_one_model_is_an_asset_check(manifest: dict[str, Any]) -> None:
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    attached = {node["name"] for node in tests if _attached_to_one_node(node)}

    assert {spec.name for spec in aura_dbt_models.check_specs} == attached
    # The row-count test spans every core table; it runs in `dbt build`, outside any asset.
    assert {node["name"] for node in tests} - attached == {"assert_core_row_counts_do_not_drop"}


def test_core_assets_are_tables_owned_and_grouped_for_the_ui() -> None:
    spec = aura_dbt_models.specs_by_key[dg.AssetKey(["core", "odoo_opportunities"])]

    assert spec.group_name == "core"
    assert spec.owners == ["team:data-platform"]
    assert spec.kinds == {"dbt", "postgres", "table"}


def _test(manifest: dict[str, Any], prefix: str) -> tuple[str, Props]:
    return next((k, n) for k, n in manifest["nodes"].items() if k.startswith(prefix))


def test_a_generic_test_is_described_by_a_sentence_of_its_kind_column_and_model(
    manifest: dict[str, Any],
) -> None:
    _, not_null = _test(manifest, "test.aura.not_null_odoo_opportunities_opportunity_id")
    assert check_description(not_null) == (
        "`opportunity_id` is never null in odoo_opportunities. A failure blocks what is downstream."
    )
    _, accepted = _test(manifest, "test.aura.accepted_values_odoo_opportunities_pod_type")
    assert "only takes the values `partner_originated`, `aws_originated`" in check_description(
        accepted
    )


def test_a_singular_test_keeps_its_yaml_description(manifest: dict[str, Any]) -> None:
    _, row_counts = _test(manifest, "test.aura.assert_core_row_counts_do_not_drop")
    assert check_description(row_counts).startswith("No core table loses more than 15%")


def test_a_test_is_recorded_against_the_relation_it_checks(manifest: dict[str, Any]) -> None:
    unique_id, _ = _test(manifest, "test.aura.not_null_odoo_opportunities_opportunity_id")
    assert relation_under_test(manifest, unique_id) == ("core", "odoo_opportunities")
    unique_id, _ = _test(manifest, "test.aura.not_null_int_users_joined_to_partners_user_id")
    assert relation_under_test(manifest, unique_id) == (
        "intermediate",
        "int_users_joined_to_partners",
    )
