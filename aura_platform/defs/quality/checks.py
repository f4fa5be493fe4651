"""Great Expectations suites from ``assets_config/expectations/`` as Dagster asset checks."""

from pathlib import Path

import dagster as dg

from aura_platform.config.loader import load_suites
from aura_platform.config.models import SuiteConfig
from aura_platform.defs.resources import WarehouseResource
from aura_platform.lib.quality import record_check, run_suite


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
                "records_checked": outcome.records_checked,
                "records_passed": outcome.records_passed,
                "records_failed": outcome.records_failed,
                "expectations_failed": len(failed),
                "expectations_total": len(outcome.expectations),
                "failures": dg.MetadataValue.json(failed),
                "ops_record_id": record_id,
            },
        )

    return _check


gx_checks = [build_gx_check(path, suite) for path, suite in load_suites()]
