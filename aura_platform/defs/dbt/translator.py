"""How dbt nodes appear in Dagster: keys, groups, owners, kinds and descriptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

DbtProps = Mapping[str, Any]


def _dagster_meta(props: DbtProps) -> Mapping[str, Any]:
    """dbt 1.10+ keeps ``meta`` under ``config``; older manifests only at the top level."""
    meta = props.get("config", {}).get("meta") or props.get("meta") or {}
    return meta.get("dagster", {})


def source_asset_key(props: DbtProps) -> dg.AssetKey:
    """The key of the raw asset that loads a dbt source, from ``meta.dagster.asset_key``.

    Raises:
        ValueError: the source's YAML does not name its raw asset, which would leave the dbt
            graph disconnected from ingestion.
    """
    key = _dagster_meta(props).get("asset_key")
    if not key:
        raise ValueError(
            f"dbt source {props['unique_id']} has no meta.dagster.asset_key; set it in its "
            "_<source>__sources.yml to the key of the raw asset that loads the table"
        )
    return dg.AssetKey(key)


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


def materialization_kinds(props: DbtProps) -> set[str]:
    """``table`` or ``view`` beside the dbt and postgres kinds, so the UI tells them apart."""
    materialized = props.get("config", {}).get("materialized")
    return {materialized} if materialized else set()


class AuraDbtTranslator(DagsterDbtTranslator):
    """dbt sources point at the raw ingestion assets; models are keyed and grouped by layer."""

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
        kinds = materialization_kinds(self.get_resource_props(manifest, unique_id))
        return spec.merge_attributes(kinds=kinds) if kinds else spec
