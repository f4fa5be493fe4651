"""Finance checks on raw ledgers and invoices, as configured in ``quality.yaml``'s ``finance``.

Trial balances balance, currencies are known ISO codes, invoice totals add up, and the general
ledger ties to the trial balance. Each is recorded in ``ops.data_quality_checks``.
"""

from collections.abc import Callable, Sequence
from functools import partial

import dagster as dg

from aura_platform.config.loader import load_quality
from aura_platform.config.models import FinanceChecksConfig, Severity
from aura_platform.defs.ingestion.assets import table_syncs
from aura_platform.defs.quality.standard_checks import raw_asset_key, report
from aura_platform.defs.resources import WarehouseResource
from aura_platform.lib import checks_sql
from aura_platform.lib.checks_sql import CheckOutcome
from aura_platform.lib.sync import TableSync


def build_check(
    spec: TableSync,
    *,
    name: str,
    check_type: str,
    severity: Severity,
    description: str,
    evaluate: Callable[[str], CheckOutcome],
    additional_deps: Sequence[dg.AssetKey] = (),
) -> dg.AssetChecksDefinition:
    """One recorded asset check on a raw table; ``evaluate(url)`` does the work."""
    asset_key = raw_asset_key(spec)

    @dg.asset_check(
        asset=asset_key,
        name=name,
        blocking=severity == "ERROR",
        description=f"{description} ({severity})",
        additional_deps=additional_deps,
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
            check_type=check_type,
            severity=severity,
            table=f"raw.{spec.raw_table}",
            outcome=evaluate(url),
        )

    return _check


def build_finance_checks(
    config: FinanceChecksConfig, syncs: dict[str, TableSync]
) -> list[dg.AssetChecksDefinition]:
    """The configured finance checks; ``syncs`` maps ``source.table`` to the raw table."""
    tolerance = config.tolerance
    checks = []
    if tb := config.trial_balance_balances:
        spec = syncs[tb.table]
        checks.append(
            build_check(
                spec,
                name="trial_balance_balances",
                check_type="balance",
                severity=tb.severity,
                description=f"Debits equal credits per entity and period in raw.{spec.raw_table}, "
                f"within {tolerance}.",
                evaluate=partial(
                    checks_sql.trial_balance_balances,
                    table=f"raw.{spec.raw_table}",
                    tolerance=tolerance,
                ),
            )
        )
    if currency := config.currency_is_known:
        for ref, column in currency.columns.items():
            spec = syncs[ref]
            checks.append(
                build_check(
                    spec,
                    name="currency_is_known",
                    check_type="validity",
                    severity=currency.severity,
                    description=f"Every {column} of raw.{spec.raw_table} is one of "
                    f"{len(currency.codes)} known ISO 4217 codes.",
                    evaluate=partial(
                        checks_sql.currency_is_known,
                        table=f"raw.{spec.raw_table}",
                        column=column,
                        key=spec.table.primary_key,
                        codes=currency.codes,
                    ),
                )
            )
    if invoices := config.invoice_totals_match_items:
        spec = syncs[invoices.table]
        checks.append(
            build_check(
                spec,
                name="invoice_totals_match_items",
                check_type="consistency",
                severity=invoices.severity,
                description=f"Each invoice in raw.{spec.raw_table} totals its items plus tax, "
                f"within {tolerance}.",
                evaluate=partial(
                    checks_sql.invoice_totals_match_items,
                    table=f"raw.{spec.raw_table}",
                    key=spec.table.primary_key,
                    tolerance=tolerance,
                ),
            )
        )
    if gl := config.gl_ties_to_trial_balance:
        journal, trial_balance = syncs[gl.journal], syncs[gl.trial_balance]
        checks.append(
            build_check(
                journal,
                name="gl_ties_to_trial_balance",
                check_type="reconciliation",
                severity=gl.severity,
                description=f"Trial-balance balances in raw.{trial_balance.raw_table} equal posted "
                f"items in raw.{journal.raw_table} per mapped account and period "
                f"({gl.basis}); not applicable without overlapping accounts.",
                evaluate=partial(
                    checks_sql.gl_ties_to_trial_balance,
                    journal=f"raw.{journal.raw_table}",
                    trial_balance=f"raw.{trial_balance.raw_table}",
                    entities=gl.entities,
                    accounts=gl.accounts,
                    basis=gl.basis,
                    tolerance=tolerance,
                ),
                additional_deps=[raw_asset_key(trial_balance)],
            )
        )
    return checks


finance_checks = build_finance_checks(
    load_quality().finance,
    {f"{spec.source_name}.{spec.table_name}": spec for spec in table_syncs()},
)
