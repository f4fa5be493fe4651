"""Date-range backfills from the CLI, exactly as the README documents them."""

import json
import subprocess
import sys
from datetime import date

import dagster as dg
import pytest
from support.warehouse import reset_warehouse
from support.watermarks import read_watermark

from aura_demo.generator import generate_demo
from aura_platform.cli.runner import prepare_environment, run_job
from aura_platform.config.loader import load_sources
from aura_platform.ingest.sync import TableSync, sync_table
from aura_platform.settings import Settings
from aura_platform.sources.postgres import SqlSource
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration

START, END = date(2025, 11, 10), date(2025, 11, 16)  # the backfill range, both days included
RAW_DIGEST = (
    "select count(*), md5(string_agg(concat_ws('|', id, name, stage_id, expected_revenue, "
    "write_date), ',' order by id)) from raw.odoo_crm_lead where _deleted_at is null"
)
WITH_DOWNSTREAM = 'key:"raw/odoo/crm_lead"+'  # as in the README
CORE = dg.AssetKey(["core", "odoo_opportunities"])


def _spec() -> TableSync:
    odoo = load_sources().sources["odoo"]
    return TableSync("odoo", odoo, "crm_lead", odoo.tables["crm_lead"])


def _materialize(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aura_platform.cli.main", "dagster", "asset", "materialize", *args],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _backfill(select: str, start: date = START, end: date = END) -> None:
    window = {"start": start.isoformat(), "end": end.isoformat()}
    config = json.dumps({"resources": {"backfill": {"config": window}}})
    _materialize("--select", select, "--config-json", config)


def _one(url: str, query: str) -> tuple:
    with connect(url) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return tuple(row)


def test_a_backfill_range_re_syncs_exactly_its_rows_and_is_idempotent(settings: Settings) -> None:
    generate_demo(settings, seed=11, scale=0.05)
    sync_table(_spec(), warehouse_url=settings.warehouse_url,
               source=SqlSource(settings.odoo_url), full_refresh=True)  # fmt: skip
    watermark = read_watermark(settings.warehouse_url, _spec())
    with connect(settings.odoo_url) as conn:
        # Rows changed in the source behind the sync's back: one inside the range, one outside.
        in_window = "write_date >= %(start)s and write_date < %(end)s::date + 1"
        bounds = {"start": START, "end": END}
        inside, outside = (
            conn.execute(f"select min(id) from crm_lead where {cond}", bounds).fetchone()[0]  # type: ignore[index]
            for cond in (in_window, f"not ({in_window})")
        )
        conn.execute(
            "update crm_lead set name = name || ' (edited)' where id = any(%s)",
            ([inside, outside],),
        )
    (in_range,) = _one(
        settings.odoo_url,
        f"select count(*) from crm_lead where write_date >= '{START}' "
        f"and write_date < '{END}'::date + 1",
    )
    assert in_range > 0

    _backfill("raw/odoo/crm_lead")
    first = _one(settings.warehouse_url, RAW_DIGEST)
    _backfill("raw/odoo/crm_lead")
    assert _one(settings.warehouse_url, RAW_DIGEST) == first

    jobs = _one(
        settings.warehouse_url,
        "select array_agg(sync_mode order by id), array_agg(records_processed order by id), "
        "count(distinct dagster_run_id) from (select * from ops.sync_jobs "
        "where source_table = 'crm_lead' order by id desc limit 2) last_two",
    )
    assert jobs == (["backfill", "backfill"], [in_range, in_range], 2)
    names = {
        i: _one(settings.warehouse_url, f"select name from raw.odoo_crm_lead where id = {i}")[0]
        for i in (inside, outside)
    }
    assert names[inside].endswith("(edited)")  # inside the range: re-synced
    assert not names[outside].endswith("(edited)")  # outside: left for the incremental sync
    assert read_watermark(settings.warehouse_url, _spec()) == watermark


def _rename_an_opportunity(settings: Settings, suffix: str) -> tuple[int, date]:
    """Rename, in the source, an opportunity that is in core; return its id and cursor's day."""
    with connect(settings.warehouse_url) as conn:
        in_core = [r[0] for r in conn.execute("select opportunity_id from core.odoo_opportunities")]
    with connect(settings.odoo_url) as conn:
        row = conn.execute(
            "update crm_lead set name = name || %s where id = (select min(id) from crm_lead "
            "where id = any(%s) and write_date < current_date) "
            "returning id, write_date::date",  # a past day: the run's sync already read it
            (suffix, in_core),
        ).fetchone()
    assert row is not None
    return int(row[0]), row[1]


def _core_materialized_by(settings: Settings) -> str | None:
    """The run that last materialized core/odoo_opportunities, from Aura's Dagster instance."""
    prepare_environment(settings)
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(CORE)
    return event.run_id if event else None


def test_a_backfill_then_everything_downstream_rebuilds_core_and_is_idempotent(
    settings: Settings,
) -> None:
    reset_warehouse(settings.warehouse_url)
    generate_demo(settings, seed=7, scale=0.05)
    # A backfill repairs a platform that has run: the models it rebuilds read others it does not.
    assert run_job(settings).success
    lead, day = _rename_an_opportunity(settings, " (backfilled)")
    core_name = (
        f"select opportunity_name from core.odoo_opportunities where opportunity_id = {lead}"
    )

    outcomes, builders = [], []
    for _ in range(2):
        _backfill(WITH_DOWNSTREAM, day, day)
        url = settings.warehouse_url
        outcomes.append((_one(url, RAW_DIGEST), _one(url, core_name)))
        builders.append(_core_materialized_by(settings))

    assert outcomes[0] == outcomes[1]
    (_, (name,)) = outcomes[0]
    assert name.endswith(" (backfilled)")  # the backfilled row went through dbt into core
    assert None not in builders and builders[0] != builders[1]  # core was rebuilt both times
