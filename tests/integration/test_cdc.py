"""Change data capture (``mode: cdc``) from the Odoo demo database on the test server.

Everything is real: the embedded server runs with ``wal_level = logical``, Aura creates the
publication and the pgoutput slot, and the changes come out of the source's WAL. Raw is
compared with the source column for column; the crash tests SIGKILL a real sync process at the
two dangerous points (applied but not committed; committed but not acknowledged).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
from psycopg import sql
from support.sync_process import sql_table_spec

from aura_demo.generator import generate_demo
from aura_platform.config.models import SourceConfig, SourcesFile
from aura_platform.defs.ingestion.sensors import retired_cdc_feeds_sensor
from aura_platform.ingest.sync import (
    SyncResult,
    TableSync,
    retire_unconfigured_feeds,
    sync_table,
)
from aura_platform.ops.health import run_checks
from aura_platform.settings import Settings
from aura_platform.sources.postgres import SqlSource
from aura_platform.warehouse.connection import connect

SYNC_PROCESS = Path(__file__).resolve().parents[1] / "support" / "sync_process.py"
URL_ENV = "AURA_FAULTS_SOURCE_URL"  # the connection_env of sql_table_spec


@pytest.fixture(scope="module")
def odoo(settings: Settings) -> Iterator[str]:
    """The Odoo demo database, freshly generated; its URL is where the specs' env points."""
    generate_demo(settings, seed=16, scale=0.05)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(URL_ENV, settings.odoo_url)
        yield settings.odoo_url
    retire_unconfigured_feeds(settings, SourcesFile(sources={}))


def _query(url: str, query: str | sql.Composed, params: tuple[Any, ...] = ()) -> list[Any]:
    with connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def _columns(url: str, table: str) -> list[str]:
    rows = _query(
        url,
        "select column_name from information_schema.columns where table_schema = 'public' "
        "and table_name = %s order by ordinal_position",
        (table,),
    )
    return [r[0] for r in rows]


def _print(url: str, relation: sql.Identifier, columns: list[str], live: bool) -> tuple[Any, ...]:
    """Row count and a checksum of every column's text, in key order."""
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    where = sql.SQL("where _deleted_at is null") if live else sql.SQL("")
    query = sql.SQL(
        "select count(*), md5(string_agg(row({c})::text, ',' order by id)) from {r} {w}"
    ).format(c=cols, r=relation, w=where)
    return tuple(_query(url, query)[0])


def _assert_mirrors(settings: Settings, spec: TableSync, source_url: str) -> None:
    columns = _columns(source_url, spec.table_name)
    source = _print(source_url, sql.Identifier(spec.table_name), columns, live=False)
    raw = _print(settings.warehouse_url, sql.Identifier("raw", spec.raw_table), columns, live=True)
    assert raw == source


def _sync(settings: Settings, spec: TableSync, source_url: str) -> SyncResult:
    return sync_table(spec, warehouse_url=settings.warehouse_url, source=SqlSource(source_url))


def _forget(settings: Settings, spec: TableSync) -> None:
    with connect(settings.warehouse_url) as conn:
        conn.execute(
            sql.SQL("drop table if exists {}").format(sql.Identifier("raw", spec.raw_table))
        )
        conn.execute(
            "delete from ops.sync_watermarks where source_system = %s", (spec.source_name,)
        )


def _positions(settings: Settings, spec: TableSync, source_url: str) -> tuple[str, str]:
    """(raw's stored position, the slot's acknowledged position)."""
    [(stored, slot)] = _query(
        settings.warehouse_url,
        "select confirmed_lsn::text, slot_name from ops.cdc_slots where source_system = %s",
        (spec.source_name,),
    )
    [(acknowledged,)] = _query(
        source_url,
        "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = %s",
        (slot,),
    )
    return stored, acknowledged


def _ids(url: str, n: int) -> list[int]:
    return [r[0] for r in _query(url, "select id from crm_lead order by id limit %s", (n,))]


def test_cdc_mirrors_late_commits_deletes_double_updates_and_rollbacks_exactly(
    settings: Settings, odoo: str
) -> None:
    spec = sql_table_spec("cdc_odoo", "crm_lead", "cdc")
    _forget(settings, spec)
    first = _sync(settings, spec, odoo)
    assert first.mode == "cdc_snapshot"
    _assert_mirrors(settings, spec, odoo)

    late, gone, twice, toasted, other = _ids(odoo, 5)
    # A transaction that writes first and commits last, stamped long before everything else.
    slow = psycopg.connect(odoo)
    slow.execute(
        "update crm_lead set name = 'committed late', write_date = '2020-01-01' where id = %s",
        (late,),
    )
    with connect(odoo) as conn:
        conn.execute("delete from crm_lead where id = %s", (gone,))
        conn.execute("update crm_lead set name = 'first' where id = %s", (twice,))
        conn.execute(
            "update crm_lead set name = 'second', expected_revenue = 1.5 where id = %s", (twice,)
        )
        conn.execute(
            "update crm_lead set description = %s where id = %s",
            ("".join(f"{n:x}" for n in range(4000)) + "ÿ\\\t\n", toasted),
        )
        conn.execute(
            "insert into crm_lead (name, type, active, write_date) "
            "values ('inserted', 'lead', true, now())"
        )
    with connect(odoo) as conn:
        conn.execute("update crm_lead set name = 'rolled back' where id = %s", (other,))
        conn.execute("delete from crm_lead where id = %s", (twice,))
        conn.rollback()
    middle = _sync(settings, spec, odoo)  # the slow transaction is still open
    assert middle.mode == "cdc"
    assert (middle.outcome.inserted, middle.outcome.updated, middle.outcome.deleted) == (1, 2, 1)
    slow.commit()
    slow.close()
    with connect(odoo) as conn:  # the TOASTed description is not resent by this update
        conn.execute("update crm_lead set priority = '3' where id = %s", (toasted,))
    last = _sync(settings, spec, odoo)
    assert (last.outcome.inserted, last.outcome.updated, last.outcome.deleted) == (0, 2, 0)
    _assert_mirrors(settings, spec, odoo)
    o = last.outcome
    assert o.processed == o.inserted + o.updated + (o.processed - o.inserted - o.updated)
    assert o.quarantined == 0 and o.processed == 2  # rows read = rows loaded + quarantined
    [(tombstoned,)] = _query(
        settings.warehouse_url,
        sql.SQL("select _deleted_at is not null from {} where id = %s").format(
            sql.Identifier("raw", spec.raw_table)
        ),
        (gone,),
    )
    assert tombstoned
    jobs = _query(
        settings.warehouse_url,
        "select sync_mode, lsn_before, lsn_after from ops.sync_jobs where source_system = %s "
        "order by id",
        (spec.source_name,),
    )
    assert [j[0] for j in jobs] == ["cdc_snapshot", "cdc", "cdc"]
    assert jobs[0][1] is None and jobs[1][1] == jobs[0][2] and jobs[2][1] == jobs[1][2]
    assert jobs[2][2] > jobs[2][1]


@pytest.mark.parametrize("die_at", ["applied", "committed"])
def test_a_cdc_sync_killed_before_commit_or_before_acknowledging_loses_and_repeats_nothing(
    settings: Settings, odoo: str, die_at: str
) -> None:
    spec = sql_table_spec(f"cdc_kill_{die_at}", "crm_lead", "cdc")
    _forget(settings, spec)
    _sync(settings, spec, odoo)
    ids = _ids(odoo, 12)
    with connect(odoo) as conn:
        conn.execute("update crm_lead set color = color + 1 where id = any(%s)", (ids[:10],))
        conn.execute("delete from crm_lead where id = any(%s)", (ids[10:],))
        conn.execute(
            "insert into crm_lead (name, type, active, write_date) select 'new ' || g, 'lead', "
            "true, now() from generate_series(1, 3) g"
        )
    raw = sql.Identifier("raw", spec.raw_table)
    everything = [*_columns(odoo, "crm_lead"), "_deleted_at", "_sync_batch_id"]
    before_raw = _print(settings.warehouse_url, raw, everything, live=False)
    before_positions = _positions(settings, spec, odoo)

    victim = subprocess.run(
        [sys.executable, str(SYNC_PROCESS), spec.source_name, "crm_lead", odoo, "cdc", die_at],
        capture_output=True,
        env=os.environ,
        timeout=120,
    )
    assert victim.returncode == -9, victim.stderr.decode()
    stored, acknowledged = _positions(settings, spec, odoo)
    if die_at == "applied":
        assert _print(settings.warehouse_url, raw, everything, live=False) == before_raw
        assert (stored, acknowledged) == before_positions
    else:
        _assert_mirrors(settings, spec, odoo)
        assert acknowledged == before_positions[1] and stored != acknowledged

    with connect(odoo) as conn:
        conn.execute("update crm_lead set color = color + 1 where id = %s", (ids[0],))
    again = _sync(settings, spec, odoo)
    _assert_mirrors(settings, spec, odoo)
    counts = (again.outcome.inserted, again.outcome.updated, again.outcome.deleted)
    cdc = again.outcome.details["cdc"]
    if die_at == "applied":
        assert counts == (3, 10, 2)
        assert cdc["skipped_transactions"] == 0
    else:
        # The killed sync's changes are not applied twice: the slot is first moved up to raw's
        # position, so only the one new change is read.
        assert counts == (0, 1, 0)
        assert cdc["transactions"] <= 3  # the new change and the heartbeats
    stored, acknowledged = _positions(settings, spec, odoo)
    assert stored == acknowledged


def test_relation_messages_go_through_drift_handling(settings: Settings, odoo: str) -> None:
    with connect(odoo) as conn:
        conn.execute("drop table if exists cdc_drift")
        conn.execute(
            "create table cdc_drift (id serial primary key, amount integer, code integer, "
            "write_date timestamp default now())"
        )
        conn.execute("insert into cdc_drift (amount, code) values (1, 10), (2, 20)")
    spec = sql_table_spec("cdc_drift", "cdc_drift", "cdc")
    _forget(settings, spec)
    with connect(settings.warehouse_url) as conn:
        conn.execute("delete from ops.quarantine where source_system = 'cdc_drift'")
    _sync(settings, spec, odoo)
    with connect(odoo) as conn:
        conn.execute("insert into cdc_drift (amount, code) values (3, 30)")
        conn.execute("alter table cdc_drift add column note text")
        conn.execute("alter table cdc_drift alter column amount type bigint")
        conn.execute("insert into cdc_drift (amount, code, note) values (4000000000, 40, 'wide')")
    with connect(odoo) as conn:
        conn.execute("alter table cdc_drift alter column code type text")
        conn.execute("insert into cdc_drift (amount, code) values (5, 'not a number'), (6, '60')")
    result = _sync(settings, spec, odoo)
    o = result.outcome
    assert (o.inserted, o.quarantined) == (3, 1)
    assert o.processed == o.inserted + o.updated + o.quarantined  # rows read = loaded + quarantined
    changes = _query(
        settings.warehouse_url,
        "select column_name, change from ops.schema_changes where source_system = 'cdc_drift' "
        "order by column_name",
    )
    assert changes == [("amount", "widened"), ("code", "type_conflict"), ("note", "added")]
    rows = _query(
        settings.warehouse_url,
        "select id, amount, code, note from raw.cdc_drift_cdc_drift order by id",
    )
    assert rows[2:] == [(3, 3, 30, None), (4, 4000000000, 40, "wide"), (6, 6, 60, None)]


def test_doctor_reports_slot_lag_and_slots_go_with_cursor_mode_or_the_source(
    settings: Settings, odoo: str
) -> None:
    spec = sql_table_spec("cdc_ops", "crm_lead", "cdc")
    _forget(settings, spec)
    _sync(settings, spec, odoo)
    # The other tests' tables are no longer configured: their slots are dropped.
    config = spec.source
    dropped = retire_unconfigured_feeds(settings, SourcesFile(sources={"cdc_ops": config}))
    assert "aura_cdc_ops_crm_lead" not in dropped
    slots = [r[0] for r in _query(odoo, "select slot_name from pg_replication_slots")]
    assert slots == ["aura_cdc_ops_crm_lead"]

    def doctor(**limits: Any) -> tuple[str, str]:
        source = SourceConfig(**{**config.model_dump(), **limits})
        [check] = [
            c
            for c in run_checks(settings, SourcesFile(sources={"cdc_ops": source}))
            if c.component == "cdc slots"
        ]
        return check.status, check.reason

    status, reason = doctor()
    assert status == "healthy" and "1 slot, most WAL held" in reason
    with connect(odoo) as conn:
        conn.execute("update crm_lead set color = color + 1, write_date = now()")
    status, reason = doctor(slot_warn_bytes=0)
    assert status == "degraded" and "aura_cdc_ops_crm_lead holds" in reason

    cursor = sql_table_spec("cdc_ops", "crm_lead", "cursor")
    back = _sync(settings, cursor, odoo)
    assert back.mode == "incremental"
    _assert_mirrors(settings, spec, odoo)
    assert _query(odoo, "select slot_name from pg_replication_slots") == []
    assert _query(odoo, "select pubname from pg_publication") == []
    assert _query(settings.warehouse_url, "select * from ops.cdc_slots") == []


def test_the_daemon_drops_the_slot_of_a_table_taken_out_of_the_configuration(
    settings: Settings, odoo: str
) -> None:
    """Scheduled runs never pass through `aura run`: a sensor retires the feeds there."""
    spec = sql_table_spec("cdc_gone", "crm_lead", "cdc")  # not in assets_config/sources.yaml
    _forget(settings, spec)
    _sync(settings, spec, odoo)

    def slots() -> list[str]:
        return [r[0] for r in _query(odoo, "select slot_name from pg_replication_slots")]

    assert "aura_cdc_gone_crm_lead" in slots()
    result = retired_cdc_feeds_sensor(dg.build_sensor_context())
    assert isinstance(result, dg.SkipReason)
    assert "aura_cdc_gone_crm_lead" in (result.skip_message or "")
    assert "aura_cdc_gone_crm_lead" not in slots()
    assert "aura_cdc_gone_crm_lead" not in [
        r[0] for r in _query(odoo, "select pubname from pg_publication")
    ]
    assert (
        _query(
            settings.warehouse_url, "select 1 from ops.cdc_slots where source_system = 'cdc_gone'"
        )
        == []
    )
    again = retired_cdc_feeds_sensor(dg.build_sensor_context())
    assert isinstance(again, dg.SkipReason)
    assert again.skip_message == "every CDC slot belongs to a configured table"


def test_a_table_without_a_usable_replica_identity_is_refused(
    settings: Settings, odoo: str
) -> None:
    with connect(odoo) as conn:
        conn.execute("drop table if exists cdc_keyless")
        conn.execute("create table cdc_keyless (id integer, write_date timestamp)")
    spec = sql_table_spec("cdc_keyless", "cdc_keyless", "cdc")
    _forget(settings, spec)
    with pytest.raises(Exception, match="no replica identity covering id"):
        _sync(settings, spec, odoo)
    assert _query(odoo, "select pubname from pg_publication") == []
