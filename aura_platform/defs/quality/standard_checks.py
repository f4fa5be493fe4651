"""Standard checks on every raw table in ``sources.yaml``: reconciliation, freshness, volume, key.

Generated without per-table code from the standard kinds of the check registry
(``lib.checks_sql.CHECK_KINDS``), thresholds and severities from ``quality.yaml``. The checks of
a table run in one step after its raw asset; each writes one ``ops.data_quality_checks`` row and
reports the same figures as Dagster metadata. An ERROR failure blocks the table's downstream
assets in the run.
"""

from collections.abc import Iterator, Mapping

import dagster as dg

from aura_platform.config.models import RawCheckConfig, Severity
from aura_platform.defs.ingestion.assets import table_syncs
from aura_platform.defs.resources import WarehouseResource
from aura_platform.ingest.sync import TableSync
from aura_platform.quality.expectations import pass_rate, record_check
from aura_platform.quality.sql_checks import (
    CHECK_KINDS,
    CheckOutcome,
    CheckTarget,
    RawTable,
    load_quality,
)


def raw_asset_key(spec: TableSync) -> dg.AssetKey:
    return dg.AssetKey(["raw", spec.source_name, spec.table_name])


def raw_table(spec: TableSync) -> RawTable:
    """The raw table of a configured source table, as the SQL checks see it."""
    return RawTable(
        spec.source_name,
        spec.table_name,
        f"raw.{spec.raw_table}",
        tuple(spec.table.primary_key),
        # The landing zone records no source row count; others do when they reconcile deletes.
        source_rows_counted=spec.table.reconcile_deletes and spec.source.transport != "csv_landing",
    )


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
    spec: TableSync, config: Mapping[str, RawCheckConfig]
) -> dg.AssetChecksDefinition:
    """The standard checks of one raw table, in one step (each selectable on its own).

    ``config`` is ``quality.yaml``'s ``standard`` section: each kind's settings, applied to this
    table (its overrides) here.
    """
    asset_key = raw_asset_key(spec)
    table = raw_table(spec)
    settings = {
        name: kind.for_table(spec.source_name, spec.table_name)
        for name, kind in config.items()
        if CHECK_KINDS[name].applies(table)
    }

    @dg.multi_asset_check(
        name=f"standard_checks_raw_{spec.raw_table}",
        specs=[
            dg.AssetCheckSpec(
                name,
                asset=asset_key,
                blocking=check.severity == "ERROR",
                description=CHECK_KINDS[name].describe(check, CheckTarget(name, table)),
            )
            for name, check in settings.items()
        ],
        can_subset=True,
        description=f"Standard checks ({', '.join(settings)}) of {table.relation}.",
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        url = warehouse.url()
        selected = {check.name for check in context.selected_asset_check_keys}
        for name, check in settings.items():
            if name in selected:
                kind = CHECK_KINDS[name]
                yield report(
                    context,
                    url,
                    asset_key=asset_key,
                    check_name=name,
                    check_type=kind.check_type,
                    severity=check.severity,
                    table=table.relation,
                    outcome=kind.evaluate(url, check, CheckTarget(name, table)),
                )

    return _checks


standard_checks = [build_standard_checks(spec, load_quality().standard) for spec in table_syncs()]
