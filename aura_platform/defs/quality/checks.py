"""Great Expectations suites from ``assets_config/expectations/`` as Dagster asset checks."""

from pathlib import Path

import dagster as dg

from aura_platform.config.loader import check_suite_columns, load_suites
from aura_platform.config.models import SuiteConfig
from aura_platform.defs.dbt.project import aura_dbt_project
from aura_platform.defs.resources import WarehouseResource
from aura_platform.ingest.loading import METADATA_COLUMNS
from aura_platform.quality.dbt_manifest import declared_columns
from aura_platform.quality.expectations import pass_rate, record_check, run_suite


def build_gx_check(path: Path, suite: SuiteConfig) -> dg.AssetChecksDefinition:
    """One asset check per suite file; ERROR severity blocks downstream assets in the run."""
    name = f"gx_{path.stem}"

    @dg.asset_check(
        asset=dg.AssetKey(suite.asset.split("/")),
        name=name,
        blocking=suite.severity == "ERROR",
        description=(
            f"Great Expectations suite {path.name}: {len(suite.expectations)} expectations on "
            f"{suite.table} ({suite.severity})."
        ),
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        url = warehouse.url()
        outcome = run_suite(url, suite, name)
        record_id = record_check(
            url,
            check_name=name,
            check_type="great_expectations",
            severity=suite.severity,
            schema_name=suite.schema_name,
            table_name=suite.table_name,
            passed=outcome.passed,
            records_checked=outcome.records_checked,
            records_failed=outcome.records_failed,
            failure_details={"expectations": outcome.expectations},
            run_id=context.run.run_id,
        )
        failed = outcome.failed_expectations
        return dg.AssetCheckResult(
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity(suite.severity),
            description=(
                "all expectations met"
                if outcome.passed
                else "failed: " + ", ".join(str(e["expectation"]) for e in failed)
            ),
            metadata={
                "records_checked": dg.MetadataValue.int(outcome.records_checked),
                "records_passed": dg.MetadataValue.int(outcome.records_passed),
                "records_failed": dg.MetadataValue.int(outcome.records_failed),
                # float (None: null) so that Dagster plots it run after run
                "pass_rate": pass_rate(outcome.records_checked, outcome.records_failed),
                "expectations_failed": dg.MetadataValue.int(len(failed)),
                "expectations_total": dg.MetadataValue.int(len(outcome.expectations)),
                "failures": dg.MetadataValue.json(failed),
                "ops_record_id": record_id,
            },
        )

    return _check


def _declared_columns() -> dict[str, frozenset[str]]:
    """Columns per table as the dbt project declares them; raw tables add Aura's own columns."""
    declared = declared_columns(aura_dbt_project.manifest_path)
    metadata = frozenset(name for name, _ in METADATA_COLUMNS)
    return {
        table: columns | metadata if table.startswith("raw.") and columns else columns
        for table, columns in declared.items()
    }


def _validated_suites() -> list[tuple[Path, SuiteConfig]]:
    """Every suite, its columns checked against the dbt project before any check is built."""
    declared = _declared_columns()
    suites = list(load_suites())
    for path, suite in suites:
        check_suite_columns(path, suite, declared)
    return suites


gx_checks = [build_gx_check(path, suite) for path, suite in _validated_suites()]
