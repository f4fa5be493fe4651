"""Deletes, backfills and NULL cursors, synced from a real PostgreSQL source and a fake Odoo API.

A row gone from the source is tombstoned (``_deleted_at``), never removed; an archived Odoo record
is data, not a delete. Deletes are reconciled on a cadence (and on every full refresh); most tests
here reconcile on every sync to watch the mechanism. A backfill re-syncs one cursor window and
touches nothing else.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from support.odoo_rpc_server import FakeModel, FakeOdoo, serve
from support.watermarks import read_watermark

from aura_platform.config.models import SourceConfig, TableConfig
from aura_platform.ingest.sync import SyncResult, TableSync, sync_table
from aura_platform.settings import Settings
from aura_platform.sources.odoo_rpc import OdooRpcSource
from aura_platform.sources.postgres import SqlSource
from aura_platform.warehouse.connection import connect, drop_database, ensure_database

SOURCE_DB = "deletes_source"
SYSTEM = "t_deletes"
LATER = datetime(2026, 2, 1)


def _spec(system: str = SYSTEM, table: str = "lead", **options: Any) -> TableSync:
    """The table, reconciling deletes on every sync unless ``options`` say otherwise."""
    options = {"reconcile_deletes_every": 0, **options}
    config = TableConfig(cursor="write_date", lookback_minutes=0, **options)
    source = SourceConfig(transport="sql", connection_env="AURA_T_URL", tables={table: config})
    return TableSync(system, source, table, config)


def _reset(settings: Settings, spec: TableSync) -> None:
    """No raw mirror and no watermark: the next sync is a first one."""
    with connect(settings.warehouse_url) as conn:
        conn.execute(f"drop table if exists raw.{spec.raw_table}")
        conn.execute(
            "delete from ops.sync_watermarks where source_system = %s", (spec.source_name,)
        )


@pytest.fixture
def source(settings: Settings) -> Iterator[str]:
    """Ten leads, lead n written on January n, 2026."""
    drop_database(settings, SOURCE_DB)
    url = ensure_database(settings, SOURCE_DB)
    with connect(url) as conn:
        conn.execute("create table lead (id integer primary key, name text, write_date timestamp)")
        conn.execute(
            "insert into lead select g, 'lead ' || g, timestamp '2026-01-01' + (g - 1) * "
            "interval '1 day' from generate_series(1, 10) g"
        )
    _reset(settings, _spec())
    yield url
    drop_database(settings, SOURCE_DB)


def _sync(settings: Settings, url: str, spec: TableSync | None = None, **kw: Any) -> SyncResult:
    return sync_table(
        spec or _spec(), warehouse_url=settings.warehouse_url, source=SqlSource(url), **kw
    )


def _execute(url: str, *statements: str) -> None:
    with connect(url) as conn:
        for statement in statements:
            conn.execute(statement)


def _query(settings: Settings, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connect(settings.warehouse_url) as conn:
        return conn.execute(query, params).fetchall()


def _tombstoned(settings: Settings, raw_table: str = f"{SYSTEM}_lead") -> list[int]:
    rows = _query(settings, f"select id from raw.{raw_table} where _deleted_at is not null")
    return sorted(r[0] for r in rows)


def _job(settings: Settings, result: SyncResult) -> tuple[Any, ...]:
    [row] = _query(
        settings,
        "select status, records_processed, records_deleted from ops.sync_jobs where id = %s",
        (result.job_id,),
    )
    return row


def test_a_row_deleted_in_the_source_is_tombstoned_and_revived_when_it_reappears(
    settings: Settings, source: str
) -> None:
    _sync(settings, source)
    _execute(source, "delete from lead where id in (3, 4)")

    deleted = _sync(settings, source)

    assert deleted.outcome.deleted == 2
    assert _job(settings, deleted)[2] == 2
    assert _tombstoned(settings) == [3, 4]
    assert deleted.row_count == 8
    assert _query(settings, f"select count(*) from raw.{SYSTEM}_lead") == [(10,)]

    _execute(source, f"insert into lead values (3, 'lead 3 is back', '{LATER}')")
    revived = _sync(settings, source)

    assert (revived.outcome.updated, revived.outcome.deleted) == (1, 0)
    assert _tombstoned(settings) == [4]
    assert _query(settings, f"select name from raw.{SYSTEM}_lead where id = 3") == [
        ("lead 3 is back",)
    ]


def _live(settings: Settings) -> int:
    [(count,)] = _query(
        settings, f"select count(*) from raw.{SYSTEM}_lead where _deleted_at is null"
    )
    return int(count)


def _reconciled_long_ago(settings: Settings, spec: TableSync, ago: timedelta) -> None:
    """Pretend the last reconciliation happened ``ago`` earlier than ops says."""
    with connect(settings.warehouse_url) as conn:
        conn.execute(
            "update ops.sync_watermarks set deletes_reconciled_at = deletes_reconciled_at - %s "
            "where source_system = %s and source_table = %s",
            (ago, spec.source_name, spec.table_name),
        )


def test_a_deleted_row_is_tombstoned_by_the_first_sync_after_the_reconciliation_cadence(
    settings: Settings, source: str
) -> None:
    daily = _spec(reconcile_deletes_every=timedelta(hours=20))
    _sync(settings, source, daily)
    _execute(source, "delete from lead where id = 3")

    within = _sync(settings, source, daily)

    assert (within.outcome.deleted, within.outcome.details["deletes"]) == (0, "not reconciled")
    assert _tombstoned(settings) == []
    assert within.row_count == _live(settings) == 10

    _reconciled_long_ago(settings, daily, timedelta(hours=19))
    assert _sync(settings, source, daily).outcome.deleted == 0  # 19 h + a moment: not yet
    _reconciled_long_ago(settings, daily, timedelta(hours=1))

    due = _sync(settings, source, daily)

    assert due.outcome.deleted == 1
    assert _tombstoned(settings) == [3]
    assert due.row_count == _live(settings) == 9
    again = _sync(settings, source, daily)  # the cadence starts over from that reconciliation
    assert again.outcome.details["deletes"] == "not reconciled"


def test_a_full_refresh_reconciles_deletes_whatever_the_cadence(
    settings: Settings, source: str
) -> None:
    daily = _spec(reconcile_deletes_every=timedelta(hours=20))
    _sync(settings, source, daily)
    _execute(source, "delete from lead where id in (5, 6)")

    refreshed = _sync(settings, source, daily, full_refresh=True)

    assert (refreshed.mode, refreshed.outcome.deleted) == ("full_refresh", 2)
    assert _tombstoned(settings) == [5, 6]
    assert refreshed.row_count == _live(settings) == 8


def test_between_reconciliations_the_live_row_count_follows_inserts_and_revivals(
    settings: Settings, source: str
) -> None:
    daily = _spec(reconcile_deletes_every=timedelta(hours=20))
    _sync(settings, source, daily)
    _execute(source, "delete from lead where id in (2, 7)")
    assert _sync(settings, source, daily, full_refresh=True).row_count == 8
    _execute(
        source,
        f"insert into lead values (2, 'lead 2 is back', '{LATER}'), (11, 'new', '{LATER}')",
    )

    result = _sync(settings, source, daily)

    assert result.outcome.details["deletes"] == "not reconciled"
    assert (result.outcome.inserted, result.outcome.updated) == (1, 1)
    assert _tombstoned(settings) == [7]
    assert result.row_count == _live(settings) == 10


def test_without_delete_reconciliation_raw_keeps_rows_gone_from_the_source(
    settings: Settings, source: str
) -> None:
    spec = _spec(reconcile_deletes=False)
    _sync(settings, source, spec)
    before = _query(settings, f"select * from raw.{SYSTEM}_lead order by id")
    _execute(source, "delete from lead where id in (1, 2)")

    result = _sync(settings, source, spec)

    assert result.outcome.deleted == 0
    assert result.outcome.details["deletes"] == "not reconciled"
    assert _query(settings, f"select * from raw.{SYSTEM}_lead order by id") == before
    assert _tombstoned(settings) == []


def test_a_backfill_re_syncs_exactly_its_window_and_leaves_watermark_and_deletes_alone(
    settings: Settings, source: str
) -> None:
    _sync(settings, source)
    watermark = read_watermark(settings.warehouse_url, _spec())
    _execute(
        source,
        "update lead set name = name || ' (renamed)'",  # every row, write_date unchanged
        "delete from lead where id = 10",
    )

    result = _sync(settings, source, backfill=(datetime(2026, 1, 3), datetime(2026, 1, 6)))

    assert result.mode == "backfill"
    assert _job(settings, result) == ("success", 3, 0)  # January 3rd, 4th and 5th
    assert (result.outcome.updated, result.outcome.deleted) == (3, 0)
    renamed = _query(
        settings, f"select id from raw.{SYSTEM}_lead where name like '%%(renamed)' order by id"
    )
    assert renamed == [(3,), (4,), (5,)]
    assert read_watermark(settings.warehouse_url, _spec()) == watermark
    assert result.outcome.watermark_after == watermark
    assert _tombstoned(settings) == []


def test_a_row_without_cursor_value_is_re_read_on_every_sync_without_duplicating(
    settings: Settings, source: str
) -> None:
    _execute(source, "insert into lead values (11, 'undated', null)")
    first = _sync(settings, source)
    assert first.outcome.inserted == 11

    again = _sync(settings, source)

    # Lead 10 sits at the watermark the window starts from; lead 11 has no cursor value.
    assert again.outcome.processed == 2
    assert (again.outcome.inserted, again.outcome.updated) == (0, 0)
    assert _query(settings, f"select count(*) from raw.{SYSTEM}_lead where id = 11") == [(1,)]

    _execute(source, "update lead set name = 'still undated' where id = 11")
    changed = _sync(settings, source)

    assert (changed.outcome.processed, changed.outcome.updated) == (2, 1)
    assert _query(settings, f"select name from raw.{SYSTEM}_lead where id = 11") == [
        ("still undated",)
    ]
    assert _query(settings, f"select count(*) from raw.{SYSTEM}_lead") == [(11,)]


PARTNER_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "store": True},
    "name": {"type": "char", "store": True},
    "active": {"type": "boolean", "store": True},
    "write_date": {"type": "datetime", "store": True},
}


def test_archived_odoo_records_stay_as_data_while_deleted_ones_are_tombstoned(
    settings: Settings,
) -> None:
    partners = [
        {"id": n, "name": f"Partner {n}", "active": n != 2, "write_date": f"2025-01-0{n} 09:00:00"}
        for n in range(1, 5)
    ]
    odoo = FakeOdoo(models={"res.partner": FakeModel(PARTNER_FIELDS, partners)})
    spec = _spec("t_deletes_odoo", "res_partner")
    _reset(settings, spec)
    with serve(odoo) as url:
        api = OdooRpcSource(url, odoo.database, odoo.login, password=odoo.password)
        sync_table(spec, warehouse_url=settings.warehouse_url, source=api)
        partners.pop(2)  # partner 3 deleted in Odoo
        partners[0].update(active=False, write_date="2025-02-01 09:00:00")  # partner 1 archived
        result = sync_table(spec, warehouse_url=settings.warehouse_url, source=api)

    assert result.outcome.deleted == 1
    rows = _query(
        settings,
        "select id, active, _deleted_at is not null "
        "from raw.t_deletes_odoo_res_partner order by id",
    )
    assert rows == [(1, False, False), (2, False, False), (3, True, True), (4, True, False)]
