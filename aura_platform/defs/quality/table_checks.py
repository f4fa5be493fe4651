"""Raw-level checks of the tables ``quality.yaml``'s ``checks`` section names.

Trial balances balance, currencies are known ISO codes, invoice totals add up, and the general
ledger ties to the trial balance: each a kind of the check registry
(``lib.checks_sql.CHECK_KINDS``), built here without knowing which. Each is recorded in
``ops.data_quality_checks``; an ERROR one blocks what is downstream of its table, dbt included.
"""

from collections.abc import Mapping

import dagster as dg

from aura_platform.config.models import RawCheckConfig
from aura_platform.defs.ingestion.assets import table_syncs
from aura_platform.defs.quality.standard_checks import raw_asset_key, raw_table, report
from aura_platform.defs.resources import WarehouseResource
from aura_platform.ingest.sync import TableSync
from aura_platform.quality.sql_checks import CHECK_KINDS, CheckTarget, load_quality


def build_table_check(
    name: str, config: RawCheckConfig, spec: TableSync, reads: Mapping[str, TableSync]
) -> dg.AssetChecksDefinition:
    """The check of kind ``name`` on ``spec``'s raw table, after the tables it ``reads``."""
    kind = CHECK_KINDS[name]
    asset_key = raw_asset_key(spec)
    target = CheckTarget(
        name, raw_table(spec), {role: raw_table(other) for role, other in reads.items()}
    )

    @dg.asset_check(
        asset=asset_key,
        name=name,
        blocking=config.severity == "ERROR",
        description=kind.describe(config, target),
        additional_deps=[raw_asset_key(other) for other in reads.values()],
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        url = warehouse.url()
        return report(
            context,
            url,
            asset_key=asset_key,
            check_name=name,
            check_type=kind.check_type,
            severity=config.severity,
            table=target.table.relation,
            outcome=kind.evaluate(url, config, target),
        )

    return _check


def build_table_checks(
    checks: Mapping[str, RawCheckConfig], syncs: Mapping[str, TableSync]
) -> list[dg.AssetChecksDefinition]:
    """One check per configured kind and table it names; ``syncs`` maps ``source.table``."""
    return [
        build_table_check(
            name, config, syncs[ref], {role: syncs[other] for role, other in config.reads().items()}
        )
        for name, config in checks.items()
        for ref in config.attached_to().values()
    ]


table_checks = build_table_checks(
    load_quality().checks,
    {f"{spec.source_name}.{spec.table_name}": spec for spec in table_syncs()},
)
