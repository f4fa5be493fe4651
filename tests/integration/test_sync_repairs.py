"""Edge cases found in testing: exact type conflicts, rows back with old cursors, records once.

Repairs of raw happen when deletes are reconciled, so this table reconciles on every sync.
"""

from collections.abc import Iterator

import pytest

from aura_platform.config.models import SourceConfig, TableConfig
from aura_platform.ingest.sync import TableSync, sync_table
from aura_platform.settings import Settings
from aura_platform.sources.postgres import SqlSource
from aura_platform.warehouse.connection import connect, drop_database, ensure_database

pytestmark = pytest.mark.integration
SPEC_SOURCE = SourceConfig(
    transport="sql",
    connection_env="AURA_REPAIR_URL",
    tables={
        "lead": TableConfig(cursor="write_date", lookback_minutes=0, reconcile_deletes_every=0)
    },
)
SPEC = TableSync("repair", SPEC_SOURCE, "lead", SPEC_SOURCE.tables["lead"])


@pytest.fixture
def source(settings: Settings) -> Iterator[str]:
    drop_database(settings, "repair_source")
    url = ensure_database(settings, "repair_source")
    with connect(url) as conn:
        conn.execute(
            "create table lead (id int primary key, code varchar(5), amount numeric(12,2), "
            "small numeric(5,2), write_date timestamp)"
        )
        conn.execute(
            "insert into lead select g, 'c' || g, g * 1.5, 1, "
            "timestamp '2026-01-01' + g * interval '1 hour' from generate_series(1, 10) g"
        )
    with connect(settings.warehouse_url) as conn:
        conn.execute("drop table if exists raw.repair_lead")
        conn.execute("delete from ops.sync_watermarks where source_system = 'repair'")
        conn.execute("delete from ops.schema_changes where source_system = 'repair'")
        conn.execute("delete from ops.quarantine where source_system = 'repair'")
    yield url
    drop_database(settings, "repair_source")


def _sync(settings: Settings, url: str):  # type: ignore[no-untyped-def]
    return sync_table(SPEC, warehouse_url=settings.warehouse_url, source=SqlSource(url))


def _raw(settings: Settings, query: str) -> list[tuple]:
    with connect(settings.warehouse_url) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def test_a_conflicting_type_change_quarantines_values_that_would_be_truncated_or_rounded(
    settings: Settings, source: str
) -> None:
    _sync(settings, source)
    with connect(source) as conn:
        conn.execute("alter table lead alter column code type integer using 7")
        conn.execute("alter table lead alter column amount type numeric(12,4)")
        conn.execute("alter table lead alter column small type integer using 1")
        conn.execute("update lead set code = 1234567, write_date = '2026-02-01' where id = 1")
        conn.execute("update lead set amount = 1.2345, write_date = '2026-02-01' where id = 2")
        conn.execute("update lead set small = 100000, write_date = '2026-02-01' where id = 3")
        conn.execute("update lead set amount = 9.5, write_date = '2026-02-01' where id = 4")
    result = _sync(settings, source)  # does not abort on the overflow
    assert result.outcome.quarantined == 3
    # id 4 (9.5000 fits numeric(12,2) exactly) and id 10, re-read at the watermark, whose code
    # the ALTER ... USING 7 above changed in the source.
    assert result.outcome.updated == 2
    assert _raw(settings, "select code, amount, small from raw.repair_lead where id in (1, 2, 3) "
                "order by id") == [("c1", 1.5, 1), ("c2", 3, 1), ("c3", 4.5, 1)]  # fmt: skip


def test_a_row_that_comes_back_with_an_old_cursor_is_revived(
    settings: Settings, source: str
) -> None:
    _sync(settings, source)
    with connect(source) as conn:
        conn.execute("delete from lead where id = 4")
    assert _sync(settings, source).outcome.deleted == 1
    with connect(source) as conn:  # restored from a backup: its old write_date comes back too
        conn.execute("insert into lead values (4, 'back', 6, 1, timestamp '2026-01-01 04:00')")
    result = _sync(settings, source)
    assert result.outcome.details["healed_missing_keys"] == 1
    assert _raw(settings, "select code, _deleted_at from raw.repair_lead where id = 4") == [
        ("back", None)
    ]


def test_raw_emptied_behind_auras_back_is_refilled_by_the_next_sync(
    settings: Settings, source: str
) -> None:
    _sync(settings, source)
    with connect(settings.warehouse_url) as conn:
        conn.execute("delete from raw.repair_lead where id > 2")
    result = _sync(settings, source)
    assert result.row_count == 10
    assert result.outcome.inserted == 8


def test_a_standing_schema_change_is_recorded_once(settings: Settings, source: str) -> None:
    _sync(settings, source)
    with connect(source) as conn:
        conn.execute("alter table lead drop column small")
    for _ in range(3):
        _sync(settings, source)
    assert _raw(settings, "select change, count(*) from ops.schema_changes "
                "where source_system = 'repair' group by 1") == [("removed", 1)]  # fmt: skip
