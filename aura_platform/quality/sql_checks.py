"""Raw-level data-quality checks as SQL in the warehouse, and the registry of their kinds; no
Dagster.

A check names a population (the rows, groups or syncs it examines) and the failing part of it;
one statement counts both and returns a bounded sample of the failing part as JSON, so a
failure can be acted on from its record alone. Tables are quoted identifiers; thresholds and
lists are parameters.

Every kind is one function ``(warehouse url, settings, target) -> CheckOutcome`` and one entry
in ``CHECK_KINDS`` pairing it with its settings model (``aura_platform.config.models``): the
entry's name is the key in ``quality.yaml`` and the check's name in Dagster and
``ops.data_quality_checks``. ``defs/quality`` builds the Dagster checks from the registry alone.

Raw tables are read through their live rows (``_deleted_at is null``): tombstones are history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import psycopg
from psycopg import sql
from psycopg.abc import Params

from aura_platform.config.loader import CONFIG_DIR, ConfigError, load_sources, load_yaml_model
from aura_platform.config.models import (
    CurrencyCheckConfig,
    FreshnessConfig,
    GlTieCheckConfig,
    InvoiceTotalsCheckConfig,
    QualityFile,
    RawCheckConfig,
    ReconciliationConfig,
    TrialBalanceCheckConfig,
    UniquenessConfig,
    VolumeConfig,
    quality_file_model,
)
from aura_platform.quality.expectations import SAMPLE_LIMIT
from aura_platform.warehouse.connection import connect

C = TypeVar("C", bound=RawCheckConfig)


@dataclass(frozen=True)
class CheckOutcome:
    """What one check found: the counts, a sample of failures, and the figures behind it.

    ``applicable`` is False when there was nothing to compare (the check passes, as a warning).
    """

    passed: bool
    records_checked: int
    records_failed: int
    description: str
    figures: dict[str, Any] = field(default_factory=dict)
    failing_sample: list[dict[str, Any]] = field(default_factory=list)
    applicable: bool = True

    @property
    def details(self) -> dict[str, Any]:
        """The figures and the sample: what ``ops.data_quality_checks.failure_details`` keeps."""
        return {**self.figures, "failing_sample": self.failing_sample}


@dataclass(frozen=True)
class RawTable:
    """A raw table as a check sees it: its name in ``sources.yaml``, its relation and its key."""

    source: str
    table: str
    relation: str  # raw.<source>_<table>
    key: tuple[str, ...]
    # Its syncs record the source's row count (those that reconcile deletes do).
    source_rows_counted: bool = False

    @property
    def ref(self) -> str:
        """``source.table``, as ``quality.yaml`` names it."""
        return f"{self.source}.{self.table}"


@dataclass(frozen=True)
class CheckTarget:
    """Where one check runs: its name, the table it guards, and the other tables it reads."""

    name: str
    table: RawTable
    reads: Mapping[str, RawTable] = field(default_factory=dict)


def _table(qualified: str) -> sql.Identifier:
    """``schema.table`` as a quoted identifier."""
    schema, table = qualified.split(".")
    return sql.Identifier(schema, table)


def _columns(names: list[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def _evaluate(
    conn: psycopg.Connection,
    population: sql.Composable,
    failing: sql.Composable,
    params: Params | None = None,
) -> tuple[int, int, list[dict[str, Any]]]:
    """Count a population and its failing part (a query over ``population``), and sample it."""
    row = conn.execute(
        sql.SQL(
            "with population as ({population}), failing as ({failing}) "
            "select (select count(*) from population), (select count(*) from failing), "
            "(select coalesce(json_agg(to_json(s)), '[]') "
            " from (select * from failing limit {limit}) s)"
        ).format(population=population, failing=failing, limit=sql.Literal(SAMPLE_LIMIT)),
        params,
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), list(row[2])


# --- Standard checks, on every raw table --------------------------------------------------------


def freshness(url: str, config: FreshnessConfig, target: CheckTarget) -> CheckOutcome:
    """The table's last successful sync (``ops.sync_jobs``) finished within ``max_age_hours``.

    The record is that one sync: checked 1, failed 1 when it is too old or missing. The sample
    holds the unsuccessful syncs since it, which usually explain the staleness.
    """
    source_system, source_table = target.table.source, target.table.table
    max_age_hours = config.max_age_hours
    with connect(url) as conn:
        last = conn.execute(
            "select id, finished_at, extract(epoch from now() - finished_at) / 3600 "
            "from ops.sync_jobs where source_system = %s and source_table = %s "
            "and status = 'success' order by finished_at desc limit 1",
            (source_system, source_table),
        ).fetchone()
        job_id, finished_at, age = last if last else (None, None, None)
        _, _, sample = _evaluate(
            conn,
            sql.SQL(
                "select id as sync_job_id, status, started_at, finished_at, error_message "
                "from ops.sync_jobs where source_system = %s and source_table = %s "
                "and status <> 'success' and started_at > coalesce(%s, '-infinity'::timestamptz)"
            ),
            sql.SQL("select * from population order by started_at desc"),
            (source_system, source_table, finished_at),
        )
    passed = age is not None and float(age) <= max_age_hours
    figures = {
        "last_success_sync_job_id": job_id,
        "last_success_finished_at": finished_at.isoformat() if finished_at else None,
        "age_hours": round(float(age), 2) if age is not None else None,
        "max_age_hours": max_age_hours,
    }
    description = (
        f"last successful sync {float(age):.1f} h ago (limit {max_age_hours:g} h)"
        if age is not None
        else "no successful sync yet"
    )
    return CheckOutcome(passed, 1, 0 if passed else 1, description, figures, sample)


def no_sudden_drop(url: str, config: VolumeConfig, target: CheckTarget) -> CheckOutcome:
    """Live rows fell by at most ``max_drop_percent`` since the previous successful sync.

    The baseline is this check's own history: each execution records the live row count and the
    sync it followed (``live_rows``, ``sync_job_id`` in its details, under the check's name), and
    the count compared with is the latest one recorded after an earlier sync. So re-running the
    check after a drop fails again until the next sync, every transport is covered (the landing
    zone records no source row count), and a table with no earlier record passes. The sample holds
    the rows tombstoned since the baseline was taken.
    """
    table, key, check_name = target.table.relation, list(target.table.key), target.name
    source_system, source_table = target.table.source, target.table.table
    max_drop_percent = config.max_drop_percent
    schema_name, table_name = table.split(".")
    with connect(url) as conn:
        job = conn.execute(
            "select max(id) from ops.sync_jobs where source_system = %s and source_table = %s "
            "and status = 'success'",
            (source_system, source_table),
        ).fetchone()
        job_id = job[0] if job else None
        counted = conn.execute(
            sql.SQL("select count(*) from {} where _deleted_at is null").format(_table(table))
        ).fetchone()
        live = int(counted[0]) if counted else 0
        baseline = conn.execute(
            "select (failure_details ->> 'live_rows')::bigint, checked_at, "
            "(failure_details ->> 'sync_job_id')::bigint from ops.data_quality_checks "
            "where check_name = %s and schema_name = %s and table_name = %s "
            "and (failure_details ->> 'sync_job_id')::bigint < %s order by id desc limit 1",
            (check_name, schema_name, table_name, job_id),
        ).fetchone()
        figures: dict[str, Any] = {
            "live_rows": live,
            "sync_job_id": job_id,
            "max_drop_percent": max_drop_percent,
        }
        if baseline is None:
            return CheckOutcome(
                True, live, 0, f"{live} live rows; no earlier sync to compare with", figures
            )
        before, taken_at, before_job = baseline
        drop = (before - live) * 100 / before if before else 0.0
        passed = drop <= max_drop_percent
        sample: list[dict[str, Any]] = []
        if not passed:
            _, _, sample = _evaluate(
                conn,
                sql.SQL("select {}, _deleted_at from {} where _deleted_at >= %s").format(
                    _columns(key), _table(table)
                ),
                sql.SQL("select * from population order by _deleted_at desc"),
                (taken_at,),
            )
    figures |= {
        "baseline_rows": before,
        "baseline_sync_job_id": before_job,
        "drop_percent": round(drop, 2),
    }
    description = (
        f"{live} live rows, {before} after the previous sync: {-drop:+.1f}% "
        f"(limit -{max_drop_percent:g}%)"
    )
    return CheckOutcome(
        passed, live, max(before - live, 0) if not passed else 0, description, figures, sample
    )


def primary_key_unique_not_null(
    url: str, config: UniquenessConfig, target: CheckTarget
) -> CheckOutcome:
    """Every live row has its key columns set, and no two live rows share a key.

    Each failing row is counted and sampled with its key and how many live rows share it.
    """
    table, key = target.table.relation, list(target.table.key)
    keys = _columns(key)
    any_null = sql.SQL(" or ").join(sql.SQL("{} is null").format(sql.Identifier(k)) for k in key)
    with connect(url) as conn:
        checked, failed, sample = _evaluate(
            conn,
            sql.SQL("select {} from {} where _deleted_at is null").format(keys, _table(table)),
            sql.SQL(
                "select * from (select {keys}, count(*) over (partition by {keys}) as live_rows, "
                "case when {any_null} then 'null key' else 'duplicate key' end as problem "
                "from population) p where live_rows > 1 or problem = 'null key'"
            ).format(keys=keys, any_null=any_null),
        )
    description = (
        f"{checked} live rows, every key ({', '.join(key)}) set and unique"
        if not failed
        else f"{failed} of {checked} live rows have a null or duplicate key ({', '.join(key)})"
    )
    return CheckOutcome(not failed, checked, failed, description, {"key": key}, sample)


def rows_reconcile_with_source(
    url: str, config: ReconciliationConfig, target: CheckTarget
) -> CheckOutcome:
    """Raw's live rows equal the source's row count in the last reconciling sync's snapshot.

    Only a sync that reconciled deletes knows the source's row count (``details.source_rows``);
    backfills are left out, and one in between (deletes not due, see
    ``reconcile_deletes_every``) may have added rows since. Before any such sync the check is
    not applicable. The record counts the source's rows, failed by the difference.
    """
    table = target.table
    with connect(url) as conn:
        job = conn.execute(
            "select id, (details ->> 'source_rows')::bigint, records_quarantined "
            "from ops.sync_jobs where source_system = %s and source_table = %s "
            "and status = 'success' and sync_mode <> 'backfill' "
            "order by started_at desc limit 1",
            (table.source, table.table),
        ).fetchone()
        live = conn.execute(
            sql.SQL("select count(*) from {} where _deleted_at is null").format(
                _table(table.relation)
            )
        ).fetchone()
    if job is None or job[1] is None:
        return CheckOutcome(
            True,
            0,
            0,
            "not applicable: the last sync did not reconcile deletes, nothing to compare yet",
            applicable=False,
        )
    job_id, source_rows, quarantined = job
    raw_rows = int(live[0]) if live else 0
    figures = {
        "source_rows": source_rows,
        "raw_rows": raw_rows,
        "quarantined_in_sync": quarantined,
        "sync_job_id": job_id,
    }
    return CheckOutcome(
        raw_rows == source_rows,
        source_rows,
        abs(source_rows - raw_rows),
        f"raw {raw_rows} rows, source {source_rows} rows",
        figures,
    )


# --- Finance checks -----------------------------------------------------------------------------


def trial_balance_balances(
    url: str, config: TrialBalanceCheckConfig, target: CheckTarget
) -> CheckOutcome:
    """Per entity and period, the live lines' debits equal their credits within ``tolerance``.

    Expects the trial-balance columns ``entity``, ``period``, ``debit`` and ``credit``; the
    records are (entity, period) pairs.
    """
    table, tolerance = target.table.relation, config.tolerance
    with connect(url) as conn:
        checked, failed, sample = _evaluate(
            conn,
            sql.SQL(
                "select entity, period, count(*) as lines, sum(coalesce(debit, 0)) as debit, "
                "sum(coalesce(credit, 0)) as credit, "
                "sum(coalesce(debit, 0)) - sum(coalesce(credit, 0)) as difference "
                "from {} where _deleted_at is null group by entity, period"
            ).format(_table(table)),
            sql.SQL("select * from population where abs(difference) > %s order by entity, period"),
            (tolerance,),
        )
    description = (
        f"{checked} entity-periods balance (tolerance {tolerance})"
        if not failed
        else f"{failed} of {checked} entity-periods do not balance (tolerance {tolerance})"
    )
    return CheckOutcome(
        not failed, checked, failed, description, {"tolerance": float(tolerance)}, sample
    )


def currency_is_known(url: str, config: CurrencyCheckConfig, target: CheckTarget) -> CheckOutcome:
    """Every live row's currency column is one of the ISO 4217 ``codes`` (exactly; null is
    unknown)."""
    table, key, codes = target.table.relation, list(target.table.key), config.codes
    column = config.columns[target.table.ref]
    with connect(url) as conn:
        checked, failed, sample = _evaluate(
            conn,
            sql.SQL("select {}, {} as currency from {} where _deleted_at is null").format(
                _columns(key), sql.Identifier(column), _table(table)
            ),
            sql.SQL("select * from population where not coalesce(currency = any(%s), false)"),
            (codes,),
        )
    description = (
        f"{checked} rows, every {column} a known currency"
        if not failed
        else f"{failed} of {checked} rows have an unknown or missing {column}"
    )
    return CheckOutcome(
        not failed,
        checked,
        failed,
        description,
        {"column": column, "known_codes": len(codes)},
        sample,
    )


def invoice_totals_match_items(
    url: str, config: InvoiceTotalsCheckConfig, target: CheckTarget
) -> CheckOutcome:
    """Each live invoice's ``total`` is its items' amounts plus ``tax``, and ``subtotal`` theirs.

    Expects the Mongo invoice mirror: ``document`` jsonb with ``items[].amount``, and the
    extracted ``invoice_number``, ``subtotal``, ``tax`` and ``total``. A missing total or an item
    whose amount is not a number fails the invoice; a missing tax counts as zero.
    """
    table, key, tolerance = target.table.relation, target.table.key, config.tolerance
    with connect(url) as conn:
        checked, failed, sample = _evaluate(
            conn,
            sql.SQL(
                "select {key}, i.invoice_number, i.subtotal, i.tax, i.total, s.items, "
                "s.items_amount, s.items_without_amount, "
                "i.total - (s.items_amount + coalesce(i.tax, 0)) as difference "
                "from {table} i cross join lateral ("
                " select count(*) as items, coalesce(sum(case when jsonb_typeof(item -> 'amount')"
                " = 'number' then (item ->> 'amount')::numeric end), 0) as items_amount,"
                " count(*) filter (where jsonb_typeof(item -> 'amount') is distinct from"
                " 'number') as items_without_amount"
                " from jsonb_array_elements(case when jsonb_typeof(i.document -> 'items') ="
                " 'array' then i.document -> 'items' else '[]'::jsonb end) item) s "
                "where i._deleted_at is null"
            ).format(
                key=sql.SQL(", ").join(sql.Identifier("i", k) for k in key), table=_table(table)
            ),
            sql.SQL(
                "select * from population where items_without_amount > 0 "
                "or not coalesce(abs(difference) <= %(tolerance)s, false) "
                "or abs(subtotal - items_amount) > %(tolerance)s"
            ),
            {"tolerance": tolerance},
        )
    description = (
        f"{checked} invoices, each total = items + tax (tolerance {tolerance})"
        if not failed
        else f"{failed} of {checked} invoices: total or subtotal differs from their items"
    )
    return CheckOutcome(
        not failed, checked, failed, description, {"tolerance": float(tolerance)}, sample
    )


def gl_ties_to_trial_balance(
    url: str, config: GlTieCheckConfig, target: CheckTarget
) -> CheckOutcome:
    """Trial-balance balances equal the posted journal items of the same account and period.

    The target is the journal; it reads the trial balance (``reads["trial_balance"]``). Journal
    items (Odoo ``account_move_line``: ``company_id``, ``account_id``, ``date``,
    ``debit``, ``credit``, ``parent_state``) are mapped to trial-balance entities and account
    codes by ``entities`` and ``accounts``; only (entity, account, period) triples present on both
    sides are compared, ``closing`` against every posted item up to the period's end, ``movement``
    against the period's own. Periods are months, as the trial balance's ``period`` first days.
    With no overlap, or before one of the two tables was ever loaded, the check is not
    applicable and passes.
    """
    journal, trial_balance = target.table.relation, target.reads["trial_balance"].relation
    entities, accounts, basis = config.entities, config.accounts, config.basis
    tolerance = config.tolerance
    figures = {
        "basis": basis,
        "tolerance": float(tolerance),
        "mapped_entities": len(entities),
        "mapped_accounts": len(accounts),
    }
    with connect(url) as conn:
        missing = [
            table
            for table in (journal, trial_balance)
            if conn.execute("select to_regclass(%s)", (table,)).fetchone() == (None,)
        ]
        if missing:
            return CheckOutcome(
                True,
                0,
                0,
                f"not applicable: {' and '.join(missing)} not loaded yet",
                figures,
                applicable=False,
            )
        checked, failed, sample = _evaluate(
            conn,
            sql.SQL(
                "with entities (company_id, entity) as "
                " (select * from unnest(%(company_ids)s::bigint[], %(entities)s::text[])), "
                "accounts (account_id, account_code) as "
                " (select * from unnest(%(account_ids)s::bigint[], %(codes)s::text[])), "
                "posted as (select e.entity, a.account_code, j.date, "
                " coalesce(j.debit, 0) - coalesce(j.credit, 0) as amount from {journal} j "
                " join entities e on e.company_id = j.company_id "
                " join accounts a on a.account_id = j.account_id "
                " where j._deleted_at is null and j.parent_state = 'posted'), "
                "tb as (select entity, period, account_code, "
                " sum(coalesce(debit, 0) - coalesce(credit, 0)) as trial_balance "
                " from {trial_balance} where _deleted_at is null group by 1, 2, 3) "
                "select tb.entity, tb.period, tb.account_code, tb.trial_balance, g.journal, "
                " g.journal_items, tb.trial_balance - g.journal as difference "
                "from tb cross join lateral (select sum(p.amount) as journal, "
                " count(*) as journal_items from posted p where p.entity = tb.entity "
                " and p.account_code = tb.account_code "
                " and p.date < (tb.period + interval '1 month')::date "
                " and (%(closing)s or p.date >= tb.period)) g where g.journal_items > 0"
            ).format(journal=_table(journal), trial_balance=_table(trial_balance)),
            sql.SQL(
                "select * from population where abs(difference) > %(tolerance)s "
                "order by entity, period, account_code"
            ),
            {
                "company_ids": list(entities),
                "entities": list(entities.values()),
                "account_ids": list(accounts),
                "codes": list(accounts.values()),
                "closing": basis == "closing",
                "tolerance": tolerance,
            },
        )
    if not checked:
        return CheckOutcome(
            True,
            0,
            0,
            "not applicable: no overlapping accounts (no trial-balance account and period has "
            "mapped, posted journal items)",
            figures,
            applicable=False,
        )
    description = (
        f"{checked} account-periods tie to the journal ({basis}, tolerance {tolerance})"
        if not failed
        else f"{failed} of {checked} account-periods differ from the journal ({basis})"
    )
    return CheckOutcome(not failed, checked, failed, description, figures, sample)


# --- The registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckKind(Generic[C]):
    """One kind of raw-level SQL check: its settings model and the function that runs it.

    Attributes:
        config: The pydantic model of its settings in ``quality.yaml``.
        evaluate: Runs the check on one target with the table's settings (overrides applied).
        check_type: What ``ops.data_quality_checks.check_type`` records.
        description: The check's description in Dagster, formatted with ``table`` (the raw
            relation), ``key`` (its primary key), ``config`` (the table's settings) and each table
            it reads by its key (e.g. ``trial_balance``).
        every_table: A standard kind (``standard`` in ``quality.yaml``), defined on every raw
            table; otherwise on the tables its settings name (``checks``).
        applies: For a standard kind, the raw tables it makes sense on (default: all).
    """

    config: type[C]
    evaluate: Callable[[str, C, CheckTarget], CheckOutcome]
    check_type: str
    description: str
    every_table: bool = False
    applies: Callable[[RawTable], bool] = lambda table: True

    def describe(self, config: RawCheckConfig, target: CheckTarget) -> str:
        """The description of this kind's check on ``target``, severity appended."""
        text = self.description.format(
            table=target.table.relation,
            key=", ".join(target.table.key),
            config=config,
            **{role: table.relation for role, table in target.reads.items()},
        )
        return f"{text} ({config.severity})"


CHECK_KINDS: dict[str, CheckKind[Any]] = {
    "rows_reconcile_with_source": CheckKind(
        ReconciliationConfig,
        rows_reconcile_with_source,
        check_type="reconciliation",
        description="{table} holds exactly as many live rows (tombstones excluded) as the "
        "source had in the last sync's snapshot: nothing lost, nothing duplicated.",
        every_table=True,
        applies=lambda table: table.source_rows_counted,
    ),
    "freshness": CheckKind(
        FreshnessConfig,
        freshness,
        check_type="freshness",
        description="The last successful sync of {table} finished less than "
        "{config.max_age_hours:g} hours ago.",
        every_table=True,
    ),
    "no_sudden_drop": CheckKind(
        VolumeConfig,
        no_sudden_drop,
        check_type="volume",
        description="{table}'s live rows (tombstones excluded) fell by at most "
        "{config.max_drop_percent:g}% since the previous successful sync.",
        every_table=True,
    ),
    "primary_key_unique_not_null": CheckKind(
        UniquenessConfig,
        primary_key_unique_not_null,
        check_type="uniqueness",
        description="Every live row of {table} has a non-null, unique {key}. Raw's primary key "
        "constraint enforces it on load; the check keeps the contract visible and guards the "
        "live rows downstream models read.",
        every_table=True,
    ),
    "trial_balance_balances": CheckKind(
        TrialBalanceCheckConfig,
        trial_balance_balances,
        check_type="balance",
        description="Debits equal credits per entity and period in {table}, within "
        "{config.tolerance}.",
    ),
    "currency_is_known": CheckKind(
        CurrencyCheckConfig,
        currency_is_known,
        check_type="validity",
        description="Every currency in {table} is one of the known ISO 4217 codes listed in "
        "quality.yaml.",
    ),
    "invoice_totals_match_items": CheckKind(
        InvoiceTotalsCheckConfig,
        invoice_totals_match_items,
        check_type="consistency",
        description="Each invoice in {table} totals its items plus tax, within {config.tolerance}.",
    ),
    "gl_ties_to_trial_balance": CheckKind(
        GlTieCheckConfig,
        gl_ties_to_trial_balance,
        check_type="reconciliation",
        description="Trial-balance balances in {trial_balance} equal posted items in {table} per "
        "mapped account and period ({config.basis}); not applicable without overlapping "
        "accounts.",
    ),
}


@cache
def load_quality(config_dir: Path = CONFIG_DIR) -> QualityFile:
    """The validated ``quality.yaml``, whose sources and tables must exist in ``sources.yaml``.

    Its sections are validated against the registry of check kinds, so a kind is known here as
    soon as it has its entry in ``CHECK_KINDS``.
    """
    path = config_dir / "quality.yaml"
    model = quality_file_model(
        {name: kind.config for name, kind in CHECK_KINDS.items() if kind.every_table},
        {name: kind.config for name, kind in CHECK_KINDS.items() if not kind.every_table},
    )
    quality = QualityFile.from_model(load_yaml_model(path, model))
    sources = load_sources(config_dir).sources
    for key, ref in quality.references():
        source, _, table = ref.partition(".")
        if source not in sources or (table and table not in sources[source].tables):
            raise ConfigError(f"{path}: {key}: {ref!r} is not a source or table in sources.yaml")
    return quality
