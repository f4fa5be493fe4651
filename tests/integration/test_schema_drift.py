"""Schema drift between a real PostgreSQL source and its raw mirror: the sync adapts, never aborts.

Policy (``ingest/drift.py``): a new column is added; a lossless type change widens raw; any other
type change keeps raw's type and quarantines only the rows whose value does not convert; a
dropped column stays in raw, NULL for the rows synced afterwards. Every change is recorded in
``ops.schema_changes``.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from aura_platform.config.models import SourceConfig, TableConfig
from aura_platform.ingest.sync import SyncResult, TableSync, sync_table
from aura_platform.settings import Settings
from aura_platform.sources.postgres import SqlSource
from aura_platform.warehouse.connection import connect, drop_database, ensure_database

SOURCE_DB = "drift_source"
SYSTEM = "t_drift"
TABLE = TableConfig(cursor="write_date", lookback_minutes=0)
SPEC = TableSync(
    SYSTEM,
    SourceConfig(transport="sql", connection_env="AURA_T_DRIFT_URL", tables={"items": TABLE}),
    "items",
    TABLE,
)
LATER = datetime(2026, 2, 1)


@pytest.fixture
def source(settings: Settings) -> Iterator[str]:
    """Five items written on January 1st to 5th, 2026, and no raw mirror or watermark yet."""
    drop_database(settings, SOURCE_DB)
    url = ensure_database(settings, SOURCE_DB)
    with connect(url) as conn:
        conn.execute(
            "create table items (id integer primary key, qty integer, code varchar(20), "
            "label varchar(20), note text, write_date timestamp)"
        )
        conn.execute(
            "insert into items select g, g * 10, 'C-' || g, 'label ' || g, 'note ' || g, "
            "timestamp '2026-01-01' + (g - 1) * interval '1 day' from generate_series(1, 5) g"
        )
    with connect(settings.warehouse_url) as conn:
        conn.execute(f"drop table if exists raw.{SYSTEM}_items")
        conn.execute("delete from ops.sync_watermarks where source_system = %s", (SYSTEM,))
    yield url
    drop_database(settings, SOURCE_DB)


def _sync(settings: Settings, url: str) -> SyncResult:
    return sync_table(SPEC, warehouse_url=settings.warehouse_url, source=SqlSource(url))


def _change_source(url: str, *statements: str) -> None:
    with connect(url) as conn:
        for statement in statements:
            conn.execute(statement)


def _query(settings: Settings, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connect(settings.warehouse_url) as conn:
        return conn.execute(query, params).fetchall()


def _raw_type(settings: Settings, column: str) -> str:
    [(pg_type,)] = _query(
        settings,
        "select format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = %s::regclass and attname = %s",
        (f"raw.{SYSTEM}_items", column),
    )
    return str(pg_type)


def _changes(settings: Settings, result: SyncResult) -> list[tuple[Any, ...]]:
    return _query(
        settings,
        "select column_name, change, old_type, new_type from ops.schema_changes "
        "where sync_batch_id = %s order by column_name",
        (result.batch_id,),
    )


def _succeeded(settings: Settings, result: SyncResult) -> bool:
    [(status,)] = _query(
        settings, "select status from ops.sync_jobs where id = %s", (result.job_id,)
    )
    return bool(status == "success")


def test_a_new_source_column_is_added_to_raw_and_recorded(settings: Settings, source: str) -> None:
    _sync(settings, source)
    _change_source(
        source,
        "alter table items add column region text",
        f"update items set region = 'emea', write_date = '{LATER}' where id = 2",
    )

    result = _sync(settings, source)

    assert _succeeded(settings, result)
    assert _changes(settings, result) == [("region", "added", None, "text")]
    assert _raw_type(settings, "region") == "text"
    assert _query(settings, f"select id, region from raw.{SYSTEM}_items order by id") == [
        (1, None),
        (2, "emea"),
        (3, None),
        (4, None),
        (5, None),
    ]


def test_a_lossless_type_change_widens_the_raw_column_and_keeps_its_values(
    settings: Settings, source: str
) -> None:
    _sync(settings, source)
    before = _query(settings, f"select id, qty, code, label from raw.{SYSTEM}_items order by id")
    big, long_code = 5_000_000_000, "C-" + "x" * 60
    _change_source(
        source,
        "alter table items alter column qty type bigint",
        "alter table items alter column code type varchar(100)",
        "alter table items alter column label type text",
        f"insert into items values (6, {big}, '{long_code}', '{'y' * 40}', 'n', '{LATER}')",
    )

    result = _sync(settings, source)

    assert _succeeded(settings, result)
    assert (_raw_type(settings, "qty"), _raw_type(settings, "code")) == (
        "bigint",
        "character varying(100)",
    )
    assert _raw_type(settings, "label") == "text"
    assert _changes(settings, result) == [
        ("code", "widened", "character varying(20)", "character varying(100)"),
        ("label", "widened", "character varying(20)", "text"),
        ("qty", "widened", "integer", "bigint"),
    ]
    after = _query(settings, f"select id, qty, code, label from raw.{SYSTEM}_items order by id")
    assert after == [*before, (6, big, long_code, "y" * 40)]


def test_an_unsafe_type_change_keeps_the_raw_type_and_quarantines_only_unconvertible_rows(
    settings: Settings, source: str
) -> None:
    _sync(settings, source)
    _change_source(
        source,
        "alter table items alter column qty type text using qty::text",
        f"update items set qty = '12 boxes', write_date = '{LATER}' where id = 2",
        f"update items set qty = '7', write_date = '{LATER}' where id = 3",
        f"insert into items (id, qty, code, write_date) values (6, 'lots', 'C-6', '{LATER}')",
        f"insert into items (id, qty, code, write_date) values (7, '70', 'C-7', '{LATER}')",
    )

    result = _sync(settings, source)

    assert _succeeded(settings, result)
    assert _raw_type(settings, "qty") == "integer"
    assert _changes(settings, result) == [("qty", "type_conflict", "integer", "text")]
    quarantined = _query(
        settings,
        "select original_payload->>'id', original_payload->>'qty', reason from ops.quarantine "
        "where sync_batch_id = %s order by 1",
        (result.batch_id,),
    )
    assert [(key, qty) for key, qty, _ in quarantined] == [("2", "12 boxes"), ("6", "lots")]
    assert all("qty" in reason and "integer" in reason for _, _, reason in quarantined)
    # Row 2 keeps what raw had; the convertible values load as integers.
    assert _query(settings, f"select id, qty from raw.{SYSTEM}_items order by id") == [
        (1, 10),
        (2, 20),
        (3, 7),
        (4, 40),
        (5, 50),
        (7, 70),
    ]
    counts = result.outcome
    assert counts.quarantined == 2 and (counts.inserted, counts.updated) == (1, 1)
    # Read: rows 2, 3, 6, 7 and row 5, stamped at the watermark the window starts from.
    assert counts.processed == 5


def test_a_column_dropped_in_the_source_stays_in_raw_and_is_null_for_rows_synced_afterwards(
    settings: Settings, source: str
) -> None:
    _sync(settings, source)
    _change_source(
        source,
        "alter table items drop column note",
        f"update items set qty = 11, write_date = '{LATER}' where id = 1",
        f"insert into items (id, qty, write_date) values (6, 60, '{LATER}')",
    )

    result = _sync(settings, source)

    assert _succeeded(settings, result)
    assert _changes(settings, result) == [("note", "removed", None, None)]
    assert _raw_type(settings, "note") == "text"
    # Rows 1 and 6 were synced after the drop (and 5, at the watermark); 2 to 4 keep their note.
    assert _query(settings, f"select id, qty, note from raw.{SYSTEM}_items order by id") == [
        (1, 11, None),
        (2, 20, "note 2"),
        (3, 30, "note 3"),
        (4, 40, "note 4"),
        (5, 50, None),
        (6, 60, None),
    ]
