"""Finance checks on the demo's trial balances, Mongo invoices and Odoo journal items.

The demo is generated at a small scale and synced for real (landing zone, Mongo stand-in, Odoo
SQL); the shipped checks run through Dagster. Breakage is applied to one raw row at a time and
undone afterwards. The GL tie is exercised on two small tables of its own, since the demo's Odoo
has no chart of accounts to map to trial-balance codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

import dagster as dg
import pytest

from aura_demo.generator import generate_demo
from aura_platform.config.models import GlTieCheckConfig
from aura_platform.defs.ingestion.assets import raw_assets, table_syncs
from aura_platform.defs.quality.table_checks import table_checks
from aura_platform.defs.resources import BackfillWindow, WarehouseResource
from aura_platform.ingest.landing import load_landing_zone
from aura_platform.ingest.sync import sync_table
from aura_platform.quality.sql_checks import CheckTarget, RawTable, gl_ties_to_trial_balance
from aura_platform.settings import Settings
from aura_platform.sources.registry import open_source
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration

TRIAL_BALANCE = dg.AssetKey(["raw", "csv", "trial_balance"])
INVOICES = dg.AssetKey(["raw", "mongo", "invoices"])
JOURNAL = dg.AssetKey(["raw", "odoo", "account_move_line"])
SYNCED = {"mongo.invoices", "odoo.account_move_line"}


@pytest.fixture(scope="module")
def demo(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo's finance tables freshly in raw, from a data folder of this module's own."""
    own = replace(settings, data_dir=tmp_path_factory.mktemp("finance_data"))
    generate_demo(own, scale=0.05)
    with connect(settings.warehouse_url) as conn:
        for table in ("csv_trial_balance", "mongo_invoices", "odoo_account_move_line"):
            # Emptied, not dropped: dbt's staging views may depend on them.
            if conn.execute("select to_regclass(%s)", (f"raw.{table}",)).fetchone() != (None,):
                conn.execute(f"delete from raw.{table}")
        conn.execute("delete from ops.landed_files")
        conn.execute(
            "delete from ops.sync_watermarks where source_system || '.' || source_table = any(%s)",
            (list(SYNCED),),
        )
    load_landing_zone(own, settings.warehouse_url)
    for spec in table_syncs():
        if f"{spec.source_name}.{spec.table_name}" in SYNCED:
            source = open_source(spec.source_name, spec.source, own)
            sync_table(spec, warehouse_url=settings.warehouse_url, source=source)
    return own


def _run(*checks: dg.AssetCheckKey) -> dg.ExecuteInProcessResult:
    """The shipped finance checks (all, or those named) through Dagster, raw assets not re-run."""
    assets = [a for a in raw_assets if a.key in {TRIAL_BALANCE, INVOICES, JOURNAL}]
    return dg.materialize(
        [*assets, *table_checks],
        resources={"warehouse": WarehouseResource(), "backfill": BackfillWindow()},
        selection=dg.AssetSelection.checks(*checks)
        if checks
        else dg.AssetSelection.all_asset_checks(),
        raise_on_error=False,
    )


def _records(settings: Settings, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """This run's ``ops.data_quality_checks`` rows by (table, check name)."""
    with connect(settings.warehouse_url) as conn:
        cursor = conn.execute(
            "select table_name, check_name, severity, passed, records_checked, records_failed, "
            "failure_details from ops.data_quality_checks where dagster_run_id = %s",
            (run_id,),
        )
        names = [d.name for d in cursor.description or []]
        return {(row[0], row[1]): dict(zip(names, row, strict=True)) for row in cursor}


def _one(settings: Settings, query: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    with connect(settings.warehouse_url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return tuple(row)


Statement = tuple[str, tuple[Any, ...]]


@contextmanager
def _tampered(settings: Settings, change: Statement, undo: Statement) -> Iterator[None]:
    """One raw row broken for the duration of the block."""
    with connect(settings.warehouse_url) as conn:
        conn.execute(*change)
    try:
        yield
    finally:
        with connect(settings.warehouse_url) as conn:
            conn.execute(*undo)


def test_every_finance_check_passes_on_the_demo_data_and_is_recorded(demo: Settings) -> None:
    result = _run()

    assert result.success
    evaluations = {(e.asset_key, e.check_name): e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {
        (TRIAL_BALANCE, "trial_balance_balances"),
        (TRIAL_BALANCE, "currency_is_known"),
        (INVOICES, "currency_is_known"),
        (INVOICES, "invoice_totals_match_items"),
        (JOURNAL, "gl_ties_to_trial_balance"),
    }
    assert all(e.passed for e in evaluations.values())
    gl = evaluations[(JOURNAL, "gl_ties_to_trial_balance")]
    assert gl.severity == dg.AssetCheckSeverity.WARN and "no overlapping accounts" in (
        gl.description or ""
    )
    lines, periods = _one(
        demo, "select count(*), count(distinct (entity, period)) from raw.csv_trial_balance"
    )
    (invoices,) = _one(demo, "select count(*) from raw.mongo_invoices")
    records = _records(demo, result.run_id)
    checked = {key: (r["passed"], r["records_checked"]) for key, r in records.items()}
    assert checked == {
        ("csv_trial_balance", "trial_balance_balances"): (True, periods),
        ("csv_trial_balance", "currency_is_known"): (True, lines),
        ("mongo_invoices", "currency_is_known"): (True, invoices),
        ("mongo_invoices", "invoice_totals_match_items"): (True, invoices),
        ("odoo_account_move_line", "gl_ties_to_trial_balance"): (True, 0),
    }
    assert periods == 6 and invoices > 0


def test_an_unbalanced_trial_balance_fails_and_blocks_with_its_entity_and_period_sampled(
    demo: Settings,
) -> None:
    update = "update raw.csv_trial_balance set debit = debit + %s where entity = 'US01' "
    update += "and period = '2025-10-01' and account_code = '1000'"
    with _tampered(demo, (update, (Decimal(100),)), (update, (Decimal(-100),))):
        result = _run(dg.AssetCheckKey(TRIAL_BALANCE, "trial_balance_balances"))

    assert not result.success  # ERROR severity, blocking
    record = _records(demo, result.run_id)[("csv_trial_balance", "trial_balance_balances")]
    assert (record["passed"], record["severity"], record["records_failed"]) == (False, "ERROR", 1)
    [pair] = record["failure_details"]["failing_sample"]
    assert (pair["entity"], pair["period"], pair["difference"]) == ("US01", "2025-10-01", 100)


def test_an_invoice_whose_total_differs_from_its_items_plus_tax_fails_with_it_sampled(
    demo: Settings,
) -> None:
    invoice_id, invoice_number, total = _one(
        demo, "select id, invoice_number, total from raw.mongo_invoices order by id limit 1"
    )
    update = "update raw.mongo_invoices set total = total + %s where id = %s"
    with _tampered(demo, (update, (5, invoice_id)), (update, (-5, invoice_id))):
        result = _run(dg.AssetCheckKey(INVOICES, "invoice_totals_match_items"))

    assert not result.success
    record = _records(demo, result.run_id)[("mongo_invoices", "invoice_totals_match_items")]
    assert (record["passed"], record["records_failed"]) == (False, 1)
    [invoice] = record["failure_details"]["failing_sample"]
    assert invoice["id"] == invoice_id and invoice["invoice_number"] == invoice_number
    assert invoice["difference"] == 5 and Decimal(str(invoice["total"])) == total + 5


def test_an_unknown_or_missing_currency_is_a_warning_with_the_rows_sampled(demo: Settings) -> None:
    invoice_id, currency = _one(demo, "select id, currency from raw.mongo_invoices limit 1")
    on_invoice = "update raw.mongo_invoices set currency = %s where id = %s"
    on_line = "update raw.csv_trial_balance set currency = %s where entity = 'UK01' "
    on_line += "and period = '2025-11-01' and account_code = '6000'"
    with (
        _tampered(demo, (on_invoice, ("US$", invoice_id)), (on_invoice, (currency, invoice_id))),
        _tampered(demo, (on_line, (None,)), (on_line, ("GBP",))),
    ):
        result = _run(
            dg.AssetCheckKey(INVOICES, "currency_is_known"),
            dg.AssetCheckKey(TRIAL_BALANCE, "currency_is_known"),
        )

    assert result.success  # WARN: reported, nothing blocked
    records = _records(demo, result.run_id)
    invoice = records[("mongo_invoices", "currency_is_known")]
    assert (invoice["passed"], invoice["severity"], invoice["records_failed"]) == (False, "WARN", 1)
    assert invoice["failure_details"]["failing_sample"] == [{"id": invoice_id, "currency": "US$"}]
    [tb_line] = records[("csv_trial_balance", "currency_is_known")]["failure_details"][
        "failing_sample"
    ]
    assert (tb_line["entity"], tb_line["account_code"], tb_line["currency"]) == (
        "UK01",
        "6000",
        None,
    )


@pytest.fixture
def ledgers(settings: Settings) -> Iterator[tuple[str, str]]:
    """A trial balance and a journal of a few rows, in the raw tables' shapes."""
    tb, journal = "raw.t_finance_trial_balance", "raw.t_finance_journal"
    with connect(settings.warehouse_url) as conn:
        conn.execute(
            f"create table {tb} (entity text, period date, account_code text, debit numeric, "
            "credit numeric, _deleted_at timestamptz)"
        )
        conn.execute(
            f"create table {journal} (company_id integer, account_id integer, date date, "
            "debit numeric, credit numeric, parent_state text, _deleted_at timestamptz)"
        )
        conn.execute(
            f"insert into {tb} values ('US01', '2025-10-01', '1200', 150, 0, null), "
            "('US01', '2025-10-01', '4000', 0, 150, null)"
        )
        conn.execute(
            f"insert into {journal} values (1, 6, '2025-09-15', 100, 0, 'posted', null), "
            "(1, 6, '2025-10-10', 50, 0, 'posted', null), "
            "(1, 6, '2025-10-11', 999, 0, 'draft', null), "  # not posted
            "(1, 6, '2025-10-12', 999, 0, 'posted', now()), "  # deleted
            "(1, 6, '2025-11-02', 70, 0, 'posted', null), "  # after the period
            "(2, 6, '2025-10-10', 999, 0, 'posted', null)"  # another company
        )
    yield tb, journal
    with connect(settings.warehouse_url) as conn:
        conn.execute(f"drop table {tb}, {journal}")


def _tie(settings: Settings, ledgers: tuple[str, str], **kwargs: Any) -> Any:
    tb, journal = ledgers
    options: dict[str, Any] = {
        "journal": "odoo.account_move_line",
        "trial_balance": "csv.trial_balance",
        "entities": {1: "US01"},
        "accounts": {6: "1200"},
    }
    target = CheckTarget(
        "gl_ties_to_trial_balance",
        RawTable("odoo", "account_move_line", journal, ("id",)),
        {"trial_balance": RawTable("csv", "trial_balance", tb, ("entity", "period"))},
    )
    return gl_ties_to_trial_balance(
        settings.warehouse_url, GlTieCheckConfig(**(options | kwargs)), target
    )


def test_gl_balances_tie_to_posted_journal_items_of_mapped_accounts_up_to_the_period_end(
    settings: Settings, ledgers: tuple[str, str]
) -> None:
    closing = _tie(settings, ledgers)
    assert (closing.passed, closing.records_checked, closing.records_failed) == (True, 1, 0)

    movement = _tie(settings, ledgers, basis="movement")  # October alone is 50, not 150
    assert (movement.passed, movement.records_failed) == (False, 1)
    [row] = movement.failing_sample
    assert (row["account_code"], row["trial_balance"], row["journal"], row["difference"]) == (
        "1200",
        150,
        50,
        100,
    )


def test_gl_tie_is_not_applicable_without_overlapping_accounts(
    settings: Settings, ledgers: tuple[str, str]
) -> None:
    unmapped = _tie(settings, ledgers, accounts={})
    assert unmapped.passed and not unmapped.applicable and unmapped.records_checked == 0
    assert "no overlapping accounts" in unmapped.description


def test_gl_tie_is_not_applicable_before_the_trial_balance_was_ever_loaded(
    settings: Settings, ledgers: tuple[str, str]
) -> None:
    _, journal = ledgers
    outcome = _tie(settings, ("raw.never_loaded_trial_balance", journal))
    assert (outcome.passed, outcome.applicable, outcome.records_checked) == (True, False, 0)
    assert "raw.never_loaded_trial_balance not loaded yet" in outcome.description
