"""How dbt nodes appear in Dagster: keys, groups, owners, kinds and descriptions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from aura_platform.config.loader import load_sources
from aura_platform.defs.ingestion.assets import raw_asset_key

# dagster-dbt keeps the DbtProject object in each asset's metadata for its own use at run time;
# the UI can only show it as "[DbtProject] (unserializable)", and nothing of Aura's reads it.
PROJECT_METADATA_KEY = "dagster_dbt/project"

DbtProps = Mapping[str, Any]


def _dagster_meta(props: DbtProps) -> Mapping[str, Any]:
    """dbt 1.10+ keeps ``meta`` under ``config``; older manifests only at the top level."""
    meta = props.get("config", {}).get("meta") or props.get("meta") or {}
    return meta.get("dagster", {})


def source_asset_key(props: DbtProps) -> dg.AssetKey:
    """The key of the raw asset that loads a dbt source: ``raw/<source>/<table>``.

    A dbt source is named after its ``sources.yaml`` source and table, so the key is derived as
    the ingestion assets derive theirs, and no ``meta.dagster.asset_key`` is written in dbt YAML.

    Raises:
        ValueError: the dbt source is not a table of ``sources.yaml``; nothing would load it, and
            the dbt graph would hang off an asset that does not exist.
    """
    source, table = props["source_name"], props["name"]
    configured = load_sources().sources.get(source)
    if configured is None or table not in configured.tables:
        raise ValueError(
            f"dbt source {props['unique_id']} is not a table of assets_config/sources.yaml; "
            f"name the dbt source and table after the sources.yaml source {source!r} and its table"
        )
    return raw_asset_key(source, table)


def model_asset_key(props: DbtProps) -> dg.AssetKey:
    """A model's key is the relation it builds, e.g. ``core/odoo_opportunities``."""
    return dg.AssetKey([props["schema"], props["alias"]])


def layer_group(props: DbtProps) -> str | None:
    """The ``models/`` folder a node lives in (staging, intermediate, core) names its group."""
    fqn = props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else None


def owners(props: DbtProps) -> Sequence[str] | None:
    """Owners set as ``+meta: {dagster: {owners: [...]}}`` in dbt_project.yml or model YAML."""
    return _dagster_meta(props).get("owners")


def description(props: DbtProps) -> str:
    """The YAML description, without the SQL dagster-dbt appends by default (the UI shows code)."""
    return props.get("description") or f"dbt {props['resource_type']} {props['name']}"


def _model_name(ref: object) -> str:
    """``{{ get_where_subquery(ref('x')) }}`` or ``ref('x')`` -> ``x``: the name a user knows."""
    found = re.search(r"""(?:ref|source)\(([^)]*)\)""", str(ref))
    return found.group(1).replace("'", "").replace('"', "").split(",")[-1].strip() if found else ""


def check_description(test: DbtProps) -> str:
    """A dbt test's description: its YAML one, else a sentence from its kind, column and model.

    Generic tests (``not_null``, ``unique`` ...) are rarely described in YAML, and Dagster would
    show every one of their checks as "No description provided".
    """
    severity = str(test.get("config", {}).get("severity") or "error").lower()
    effect = (
        " A failure blocks what is downstream."
        if severity == "error"
        else " A failure is a warning."
    )
    if test.get("description"):
        return str(test["description"]).strip() + effect
    meta = test.get("test_metadata") or {}
    kwargs = meta.get("kwargs") or {}
    column = f"`{kwargs['column_name']}`" if kwargs.get("column_name") else "the row"
    model = _model_name(kwargs.get("model")) or str(test.get("attached_node", "")).split(".")[-1]
    kind = meta.get("name")
    if kind == "not_null":
        sentence = f"{column} is never null in {model}."
    elif kind == "unique":
        sentence = f"{column} is unique in {model}: no two rows share it."
    elif kind == "accepted_values":
        values = ", ".join(f"`{v}`" for v in kwargs.get("values") or [])
        sentence = f"{column} of {model} only takes the values {values}."
    elif kind == "relationships":
        target = _model_name(kwargs.get("to"))
        sentence = f"Every {column} of {model} is a `{kwargs.get('field')}` in {target}."
    elif kind:
        sentence = f"dbt test {kind} on {column} of {model}."
    else:
        sentence = f"dbt test {test['name']} on {model}."
    return sentence + effect


def relation_under_test(manifest: Mapping[str, Any], test_unique_id: str) -> tuple[str, str]:
    """The schema and table a dbt test checks (its attached model or source), for the record."""
    test = manifest["nodes"][test_unique_id]
    attached = test.get("attached_node") or next(
        iter(test.get("depends_on", {}).get("nodes", [])), ""
    )
    node = manifest["nodes"].get(attached) or manifest["sources"].get(attached)
    if node is None:
        return "", test["name"]
    return node["schema"], node.get("alias") or node.get("identifier") or node["name"]


def materialization_kinds(props: DbtProps) -> set[str]:
    """``table`` or ``view`` beside the dbt and postgres kinds, so the UI tells them apart."""
    materialized = props.get("config", {}).get("materialized")
    return {materialized} if materialized else set()


class AuraDbtTranslator(DagsterDbtTranslator):
    """dbt sources are the raw ingestion assets (by name); models are keyed and grouped by layer."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: DbtProps) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return source_asset_key(dbt_resource_props)
        return model_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: DbtProps) -> str | None:
        return layer_group(dbt_resource_props)

    def get_owners(self, dbt_resource_props: DbtProps) -> Sequence[str] | None:
        return owners(dbt_resource_props)

    def get_description(self, dbt_resource_props: DbtProps) -> str:
        return description(dbt_resource_props)

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if PROJECT_METADATA_KEY in spec.metadata:
            spec = spec.replace_attributes(
                metadata={k: v for k, v in spec.metadata.items() if k != PROJECT_METADATA_KEY}
            )
        kinds = materialization_kinds(self.get_resource_props(manifest, unique_id))
        return spec.merge_attributes(kinds=kinds) if kinds else spec

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return spec._replace(description=check_description(manifest["nodes"][unique_id]))
