"""Ingestion under faults: dropped connections, refused credentials, a killed process, a race.

Everything is real: Dagster runs the raw asset with its own RetryPolicy, the Odoo look-alike
speaks XML-RPC over HTTP, and raw, ops and the source table live on the test PostgreSQL server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from psycopg import sql
from support.odoo_rpc_server import FakeModel, FakeOdoo, serve
from support.sync_process import sql_table_spec
from support.watermarks import read_watermark

from aura_platform.config.loader import load_sources
from aura_platform.config.models import SourceConfig, TableConfig
from aura_platform.defs.ingestion.assets import build_raw_asset
from aura_platform.defs.resources import BackfillWindow, WarehouseResource
from aura_platform.ingest.sync import TableSync, sync_table
from aura_platform.settings import Settings
from aura_platform.sources.postgres import SqlSource
from aura_platform.warehouse.connection import connect, drop_database, ensure_database

SYNC_PROCESS = Path(__file__).resolve().parents[1] / "support" / "sync_process.py"
SOURCE_DB = "faults_source"
# Enough rows that the upsert of the changed ones lasts long enough to be caught and killed.
BIG_ROWS = 300_000
# Where the odoo_xmlrpc source under test finds its URL, database, login and password.
URL_ENV = "AURA_FAULTS_ODOO_URL"
DB_ENV = "AURA_FAULTS_ODOO_DB"
USER_ENV = "AURA_FAULTS_ODOO_USER"
SECRET_ENV = "AURA_FAULTS_ODOO_SECRET"
LEAD_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "store": True},
    "name": {"type": "char", "store": True},
    "expected_revenue": {"type": "monetary", "store": True},
    "write_date": {"type": "datetime", "store": True},
}
LEADS = 25


def _query(
    url: str, query: str | sql.Composed, params: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def _raw(spec: TableSync) -> sql.Identifier:
    return sql.Identifier("raw", spec.raw_table)


def _fingerprint(url: str, table: sql.Identifier) -> tuple[Any, ...]:
    """Row count, distinct ids and a checksum of the synced columns in id order."""
    query = sql.SQL(
        "select count(*), count(distinct id), md5(string_agg(concat_ws('|', id, name, "
        "expected_revenue, write_date), ',' order by id)) from {}"
    ).format(table)
    return _query(url, query)[0]


def _forget(settings: Settings, spec: TableSync) -> None:
    """Each test starts with no raw table and no watermark for its source."""
    with connect(settings.warehouse_url) as conn:
        conn.execute(sql.SQL("drop table if exists {}").format(_raw(spec)))
        conn.execute(
            "delete from ops.sync_watermarks where source_system = %s", (spec.source_name,)
        )


def _jobs_of_run(settings: Settings, run_id: str) -> list[tuple[str, str | None]]:
    return _query(  # type: ignore[return-value]
        settings.warehouse_url,
        "select status, error_message from ops.sync_jobs where dagster_run_id = %s order by id",
        (run_id,),
    )


# --- Dagster retries against the Odoo look-alike -------------------------------------------


@pytest.fixture
def odoo() -> FakeOdoo:
    leads = [
        {
            "id": n,
            "name": f"Opportunity {n}",
            "expected_revenue": 100.25 * n,
            "write_date": f"2025-01-{n:02d} 10:00:00",
        }
        for n in range(1, LEADS + 1)
    ]
    return FakeOdoo(models={"crm.lead": FakeModel(LEAD_FIELDS, leads)})


@pytest.fixture
def odoo_spec(
    settings: Settings, odoo: FakeOdoo, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TableSync]:
    """The crm_lead table of an odoo_xmlrpc source whose environment points at the look-alike."""
    source = SourceConfig(
        transport="odoo_xmlrpc",
        connection_env=URL_ENV,
        database_env=DB_ENV,
        username_env=USER_ENV,
        secret_env=SECRET_ENV,
        tables={"crm_lead": TableConfig(cursor="write_date")},
    )
    spec = TableSync("faults_odoo", source, "crm_lead", source.tables["crm_lead"])
    _forget(settings, spec)
    with serve(odoo) as url:
        monkeypatch.setenv(URL_ENV, url)
        monkeypatch.setenv(DB_ENV, odoo.database)
        monkeypatch.setenv(USER_ENV, odoo.login)
        monkeypatch.setenv(SECRET_ENV, odoo.password)
        yield spec


def _materialize(spec: TableSync, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [build_raw_asset(spec)],
        resources={"warehouse": WarehouseResource(), "backfill": BackfillWindow()},
        instance=instance,
        raise_on_error=False,
    )


def _node(spec: TableSync) -> str:
    return spec.asset_key.replace("/", "__")


def test_connection_failures_are_retried_with_backoff_and_the_sync_then_succeeds(
    settings: Settings, odoo: FakeOdoo, odoo_spec: TableSync
) -> None:
    # xmlrpc.client resends a request once by itself after a dropped connection, so each
    # attempt needs two drops in a row to fail: four make attempts 1 and 2 fail, 3 succeed.
    odoo.fail_next = 4
    instance = dg.DagsterInstance.ephemeral()

    result = _materialize(odoo_spec, instance)

    assert result.success
    assert result.retry_attempts_for_node(_node(odoo_spec)) == 2
    assert odoo.fail_next == 0
    jobs = _jobs_of_run(settings, result.run_id)
    assert [status for status, _ in jobs] == ["failed", "failed", "success"]
    for _, message in jobs[:2]:
        assert message is not None
        assert message.startswith("RemoteDisconnected: Remote end closed connection"), message
    count = sql.SQL("select count(*) from {}").format(_raw(odoo_spec))
    assert _query(settings.warehouse_url, count) == [(LEADS,)]


def test_an_authentication_error_is_not_retried_and_no_password_is_logged(
    settings: Settings, odoo: FakeOdoo, odoo_spec: TableSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-pw-3e7b1c9d"
    monkeypatch.setenv(SECRET_ENV, wrong)
    instance = dg.DagsterInstance.ephemeral()

    result = _materialize(odoo_spec, instance)

    assert not result.success
    assert result.retry_attempts_for_node(_node(odoo_spec)) == 0
    [failure] = result.get_step_failure_events()
    user_failure = failure.step_failure_data.user_failure_data
    assert user_failure is not None and user_failure.description is not None
    description = user_failure.description
    assert description.startswith("OdooAuthError: Odoo refused the credentials of 'aura-bot'")
    [(status, message)] = _jobs_of_run(settings, result.run_id)
    assert status == "failed"
    assert message is not None and message.startswith("OdooAuthError: Odoo refused")
    logged = "\n".join(dg.serialize_value(entry) for entry in instance.all_logs(result.run_id))
    assert "refused the credentials" in logged  # the error did reach the event log...
    for text in (description, message, logged):
        for secret in (wrong, odoo.password, odoo.api_key):
            assert secret not in text  # ...without the password that was tried or the real one


def test_outside_the_demo_an_unset_source_fails_its_asset_naming_the_variable_unretried(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A production run with AURA_ODOO_URL missing fails clearly; it never reads the demo's."""
    monkeypatch.delenv("AURA_DEMO")
    monkeypatch.delenv("AURA_ODOO_URL", raising=False)
    odoo = load_sources().sources["odoo"]
    spec = TableSync("odoo", odoo, "crm_lead", odoo.tables["crm_lead"])

    result = _materialize(spec, dg.DagsterInstance.ephemeral())

    assert not result.success
    assert result.retry_attempts_for_node(_node(spec)) == 0
    [failure] = result.get_step_failure_events()
    user_failure = failure.step_failure_data.user_failure_data
    assert user_failure is not None and user_failure.description is not None
    assert "not configured: environment variable AURA_ODOO_URL is not set" in (
        user_failure.description
    )


# --- A killed process and a race, against a PostgreSQL source -------------------------------


@pytest.fixture(scope="module")
def source_db(settings: Settings) -> Iterator[str]:
    drop_database(settings, SOURCE_DB)
    url = ensure_database(settings, SOURCE_DB)
    yield url
    drop_database(settings, SOURCE_DB)


def _create_source_table(url: str, table: str, rows: int) -> None:
    """An Odoo-like table, rows written one second apart from the start of 2026."""
    name = sql.Identifier(table)
    with connect(url) as conn:
        conn.execute(sql.SQL("drop table if exists {}").format(name))
        conn.execute(
            sql.SQL(
                "create table {} (id integer primary key, name text, "
                "expected_revenue numeric(12,2), write_date timestamp)"
            ).format(name)
        )
        conn.execute(
            sql.SQL(
                "insert into {} select g, 'lead ' || g, g * 1.5, "
                "timestamp '2026-01-01' + g * interval '1 second' from generate_series(1, %s) g"
            ).format(name),
            (rows,),
        )


def _upsert_backend(warehouse_url: str, raw_table: str) -> int | None:
    """The warehouse backend merging a batch into the raw table right now, if any."""
    rows = _query(
        warehouse_url,
        "select pid from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() "
        "and query like %s",
        (f'%insert into "raw"."{raw_table}" as%',),
    )
    return int(rows[0][0]) if rows else None


def _kill_during_upsert(
    process: subprocess.Popen[bytes], warehouse_url: str, raw_table: str
) -> int:
    """SIGKILL the sync process while its upsert into raw runs; the backend pid it left behind."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        backend = _upsert_backend(warehouse_url, raw_table)
        if backend is not None:
            os.kill(process.pid, signal.SIGKILL)
            process.communicate()
            return backend
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(
                f"the sync process ended (exit {process.returncode}) before its upsert into raw "
                f"was caught; raise BIG_ROWS so the load lasts longer. stderr: {err.decode()}"
            )
        time.sleep(0.01)
    process.kill()
    pytest.fail("the sync process never started its upsert into raw within 60 s")


def _wait_until_gone(warehouse_url: str, pid: int) -> None:
    """A killed client's backend finishes its statement, then finds the client gone and aborts."""
    deadline = time.monotonic() + 60
    while _query(warehouse_url, "select 1 from pg_stat_activity where pid = %s", (pid,)):
        assert time.monotonic() < deadline, f"backend {pid} outlived its killed client by 60 s"
        time.sleep(0.05)


def test_a_sync_killed_mid_load_leaves_raw_untouched_and_a_re_run_converges(
    settings: Settings, source_db: str
) -> None:
    spec = sql_table_spec("faults_killed", "crm_lead")
    _forget(settings, spec)
    _create_source_table(source_db, "crm_lead", BIG_ROWS)
    sync_table(spec, warehouse_url=settings.warehouse_url, source=SqlSource(source_db))
    before = _fingerprint(settings.warehouse_url, _raw(spec))
    assert before == _fingerprint(source_db, sql.Identifier("crm_lead"))
    watermark = read_watermark(settings.warehouse_url, spec)
    with connect(source_db) as conn:
        conn.execute(
            "update crm_lead set name = name || ' v2', expected_revenue = expected_revenue + 1, "
            "write_date = timestamp '2026-06-01' + id * interval '1 millisecond' "
            "where id % 4 <> 0"
        )
        conn.execute(
            "insert into crm_lead select g, 'lead ' || g, g * 1.5, timestamp '2026-06-02' "
            "from generate_series(%s, %s) g",
            (BIG_ROWS + 1, BIG_ROWS + BIG_ROWS // 10),
        )

    victim = subprocess.Popen(
        [sys.executable, str(SYNC_PROCESS), spec.source_name, spec.table_name, source_db],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    backend = _kill_during_upsert(victim, settings.warehouse_url, spec.raw_table)
    _wait_until_gone(settings.warehouse_url, backend)

    [(job_id, batch_id)] = _query(
        settings.warehouse_url,
        "select id, sync_batch_id from ops.sync_jobs where source_system = %s "
        "and status = 'running'",
        (spec.source_name,),
    )
    assert _fingerprint(settings.warehouse_url, _raw(spec)) == before
    of_batch = sql.SQL("select count(*) from {} where _sync_batch_id = %s").format(_raw(spec))
    assert _query(settings.warehouse_url, of_batch, (batch_id,)) == [(0,)]
    assert read_watermark(settings.warehouse_url, spec) == watermark

    sync_table(spec, warehouse_url=settings.warehouse_url, source=SqlSource(source_db))

    after = _fingerprint(settings.warehouse_url, _raw(spec))
    assert after == _fingerprint(source_db, sql.Identifier("crm_lead"))
    count, distinct, _ = after
    assert count == distinct == BIG_ROWS + BIG_ROWS // 10
    [(status, message)] = _query(
        settings.warehouse_url,
        "select status, error_message from ops.sync_jobs where id = %s",
        (job_id,),
    )
    assert status == "failed"
    assert message.startswith("abandoned: the sync process ended before finishing")


def test_concurrent_syncs_of_one_table_are_serialised(settings: Settings, source_db: str) -> None:
    rows = 20_000
    spec = sql_table_spec("faults_race", "res_partner")
    _forget(settings, spec)
    _create_source_table(source_db, "res_partner", rows)
    start = threading.Barrier(2)

    def sync() -> int:
        start.wait()
        return sync_table(
            spec, warehouse_url=settings.warehouse_url, source=SqlSource(source_db)
        ).job_id

    with ThreadPoolExecutor(max_workers=2) as pool:
        job_ids = [f.result() for f in [pool.submit(sync), pool.submit(sync)]]

    jobs = _query(
        settings.warehouse_url,
        "select status, records_inserted, started_at, finished_at from ops.sync_jobs "
        "where id = any(%s) order by started_at",
        (job_ids,),
    )
    assert [(status, inserted) for status, inserted, _, _ in jobs] == [
        ("success", rows),
        ("success", 0),  # the second started from the first's watermark and rows
    ]
    assert jobs[0][3] <= jobs[1][2]  # one finished before the other began
    raw_count, raw_ids, raw_checksum = _fingerprint(settings.warehouse_url, _raw(spec))
    assert raw_count == raw_ids == rows
    assert raw_checksum == _fingerprint(source_db, sql.Identifier("res_partner"))[2]
