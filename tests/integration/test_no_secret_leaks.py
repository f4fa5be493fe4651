"""A run that fails on a source's DSN leaves its password nowhere: not in the CLI's output, the
Dagster event log, the run record, files under AURA_HOME, ops rows or the run-failure alert."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import RunsFilter
from dagster_shared.serdes import serialize_value
from psycopg import sql
from support.webhook import Webhook, serve_webhook

from aura_platform.cli.runner import prepare_environment
from aura_platform.defs.automation import run_failures
from aura_platform.defs.resources import WarehouseResource
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration

# Nothing listens on port 1, so the sync fails whatever the password. libpq echoes a malformed
# percent-escape back in its error, as it would a password pasted into a URL unescaped. Each case:
# the password, and what its step failure says instead.
CASES = {
    "refused": ("Canary-Refused-7731", "Connection refused"),
    "echoed by libpq": ("Canary-Echoed%zz-7731", 'invalid percent-encoded token: \\"***\\"'),
}

BACKFILL = '{"resources": {"backfill": {"config": {"start": "2025-11-10", "end": "2025-11-11"}}}}'


def _materialize(odoo_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aura_platform.cli.main", "dagster", "asset", "materialize",
         "--select", "raw/odoo/crm_lead", "--config-json", BACKFILL],
        capture_output=True, text=True, env={**os.environ, "AURA_ODOO_URL": odoo_url},
    )  # fmt: skip


def _files_containing(root: Path, secret: bytes) -> list[Path]:
    """Every file under ``root`` (logs, compute logs, the database files themselves) with it."""
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and secret in path.read_bytes():
                found.append(path)
        except OSError:  # a file the server removed meanwhile
            continue
    return found


def _ops_rows_containing(url: str, secret: str) -> list[str]:
    with connect(url) as conn:
        tables = conn.execute(
            "select tablename from pg_tables where schemaname = 'ops' order by 1"
        ).fetchall()
        return [
            table
            for (table,) in tables
            if conn.execute(
                sql.SQL("select count(*) from {} t where strpos(t::text, %s) > 0").format(
                    sql.Identifier("ops", table)
                ),
                (secret,),
            ).fetchone()
            != (0,)
        ]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with serve_webhook() as hook:
        yield hook


@pytest.mark.parametrize("password, error", CASES.values(), ids=CASES.keys())
def test_a_failed_run_leaves_the_password_nowhere(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    webhook: Webhook,
    password: str,
    error: str,
) -> None:
    odoo_url = f"postgresql://aura:{password}@127.0.0.1:1/odoo"
    started = time.time()
    done = _materialize(odoo_url)
    assert done.returncode != 0
    assert password not in done.stdout + done.stderr

    prepare_environment(settings)
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs(
            RunsFilter(
                statuses=[dg.DagsterRunStatus.FAILURE],
                created_after=datetime.fromtimestamp(started, UTC),
            )
        )
        events = instance.all_logs(run.run_id)
        failures = [e for e in events if e.dagster_event and e.dagster_event.is_step_failure]
        assert failures, "the sync step should have failed"
        assert error in serialize_value(failures[-1])  # the error was recorded, only masked
        assert password not in serialize_value(run)
        assert [e.user_message for e in events if password in serialize_value(e)] == []

        # The failure sensor's record and alert, with the source's URL in its environment as
        # the daemon has it.
        monkeypatch.setenv("AURA_ODOO_URL", odoo_url)
        monkeypatch.setenv("AURA_ALERT_WEBHOOK", webhook.url)
        [failure] = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        run_failures(
            dg.build_run_status_sensor_context(
                sensor_name="run_failures",
                dagster_event=failure.event_log_entry.dagster_event,
                dagster_instance=instance,
                dagster_run=run,
                resources={"warehouse": WarehouseResource()},
            ).for_run_failure()
        )
    with connect(settings.warehouse_url) as conn:
        recorded = conn.execute(
            "select failed_steps from ops.run_failures where dagster_run_id = %s", (run.run_id,)
        ).fetchall()
    assert recorded == [(["raw__odoo__crm_lead"],)]
    [alert] = webhook.received
    assert alert["run_id"] == run.run_id and password not in json.dumps(alert)
    assert _ops_rows_containing(settings.warehouse_url, password) == []
    assert _files_containing(settings.home, password.encode()) == []
