"""Standard checks on every raw table in ``sources.yaml``: freshness, volume and primary key.

Generated without per-table code, thresholds and severities from ``quality.yaml``. The three
checks of a table run in one step after its raw asset; each writes one
``ops.data_quality_checks`` row and reports the same figures as Dagster metadata. An ERROR
failure blocks the table's downstream assets in the run.
"""

from collections.abc import Callable, Iterator
from functools import partial

import dagster as dg

from aura_platform.config.loader import load_quality
from aura_platform.config.models import Severity, StandardChecksConfig
from aura_platform.defs.ingestion.assets import table_syncs
from aura_platform.defs.resources import WarehouseResource
from aura_platform.lib import checks_sql
from aura_platform.lib.checks_sql import CheckOutcome
from aura_platform.lib.quality import pass_rate, record_check
from aura_platform.lib.sync import TableSync

FRESHNESS = "freshness"
NO_SUDDEN_DROP = "no_sudden_drop"
PRIMARY_KEY = "primary_key_unique_not_null"


def raw_asset_key(spec: TableSync) -> dg.AssetKey:
    return dg.AssetKey(["raw", spec.source_name, spec.table_name])


def report(
    context: dg.AssetCheckExecutionContext,
    url: str,
    *,
    asset_key: dg.AssetKey,
    check_name: str,
    check_type: str,
    severity: Severity,
    table: str,
    outcome: CheckOutcome,
) -> dg.AssetCheckResult:
    """Record ``outcome`` in ``ops.data_quality_checks`` and return it as the check's result.

    A check that was not applicable (nothing to compare) passes as a warning.
    """
    severity = severity if outcome.applicable else "WARN"
    schema_name, table_name = table.split(".")
    record_id = record_check(
        url,
        check_name=check_name,
        check_type=check_type,
        severity=severity,
        schema_name=schema_name,
        table_name=table_name,
        passed=outcome.passed,
        records_checked=outcome.records_checked,
        records_failed=outcome.records_failed,
        failure_details=outcome.details,
        run_id=context.run.run_id,
    )
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(severity),
        description=outcome.description,
        metadata={
            "records_checked": dg.MetadataValue.int(outcome.records_checked),
            "records_passed": dg.MetadataValue.int(
                outcome.records_checked - outcome.records_failed
            ),
            "records_failed": dg.MetadataValue.int(outcome.records_failed),
            "pass_rate": pass_rate(outcome.records_checked, outcome.records_failed),
            **outcome.figures,
            "failing_sample": dg.MetadataValue.json(outcome.failing_sample),
            "ops_record_id": record_id,
        },
    )


def build_standard_checks(
    spec: TableSync, config: StandardChecksConfig
) -> dg.AssetChecksDefinition:
    """The three standard checks of one raw table, in one step (each selectable on its own)."""
    asset_key = raw_asset_key(spec)
    table = f"raw.{spec.raw_table}"
    key = spec.table.primary_key
    hours = config.freshness.hours_for(spec.source_name, spec.table_name)
    percent = config.no_sudden_drop.percent_for(spec.source_name, spec.table_name)
    kinds: dict[str, tuple[str, Severity, str, Callable[[str], CheckOutcome]]] = {
        FRESHNESS: (
            "freshness",
            config.freshness.severity,
            f"The last successful sync of {table} finished less than {hours:g} hours ago.",
            partial(
                checks_sql.freshness,
                source_system=spec.source_name,
                source_table=spec.table_name,
                max_age_hours=hours,
            ),
        ),
        NO_SUDDEN_DROP: (
            "volume",
            config.no_sudden_drop.severity,
            f"{table}'s live rows (tombstones excluded) fell by at most {percent:g}% since the "
            "previous successful sync.",
            partial(
                checks_sql.no_sudden_drop,
                table=table,
                key=key,
                source_system=spec.source_name,
                source_table=spec.table_name,
                check_name=NO_SUDDEN_DROP,
                max_drop_percent=percent,
            ),
        ),
        PRIMARY_KEY: (
            "uniqueness",
            config.primary_key_unique_not_null.severity,
            f"Every live row of {table} has a non-null, unique {', '.join(key)}. Raw's primary "
            "key constraint enforces it on load; the check keeps the contract visible and "
            "guards the live rows downstream models read.",
            partial(checks_sql.primary_key_unique_not_null, table=table, key=key),
        ),
    }

    @dg.multi_asset_check(
        name=f"standard_checks_raw_{spec.raw_table}",
        specs=[
            dg.AssetCheckSpec(
                name,
                asset=asset_key,
                blocking=severity == "ERROR",
                description=f"{description} ({severity})",
            )
            for name, (_, severity, description, _) in kinds.items()
        ],
        can_subset=True,
        description=f"Freshness, volume and primary-key checks of {table}.",
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        url = warehouse.url()
        selected = {check.name for check in context.selected_asset_check_keys}
        for name, (check_type, severity, _, evaluate) in kinds.items():
            if name in selected:
                yield report(
                    context,
                    url,
                    asset_key=asset_key,
                    check_name=name,
                    check_type=check_type,
                    severity=severity,
                    table=table,
                    outcome=evaluate(url),
                )

    return _checks


standard_checks = [build_standard_checks(spec, load_quality().standard) for spec in table_syncs()]
