"""The main job on two real Celery workers (dagster-celery, Debian's redis-server), for real.

One in-process run and one Celery run of the same demo (seed, smallest scale) from the same empty
warehouse; mid-run, the worker syncing ``raw.odoo_crm_lead`` is SIGKILLed while the step waits on
the table's sync lock, which this test holds. Its message is never acknowledged, so Redis hands it
to the other worker after the visibility timeout, and the run must end exactly as the in-process
one did. Then source pools: two steps of one source on two workers still respect its limit.
"""

from __future__ import annotations

import gc
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from support.celery_workers import Worker, celery_workers, redis_server
from support.warehouse import reset_warehouse

from aura_demo.generator import generate_demo
from aura_platform.cli.runner import RunReport, apply_pool_limits, run_job
from aura_platform.search.matching import stored_matches
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

pytestmark = [
    pytest.mark.integration,
    pytest.mark.celery,
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="Debian's redis-server is not installed (.ci/run installs it): "
        "the Celery executor cannot be tested without a broker",
    ),
]

KILLED_STEP = dg.AssetKey(["raw", "odoo", "crm_lead"]).to_python_identifier()
VISIBILITY_TIMEOUT = 10  # seconds: how soon Redis redelivers the killed worker's step
WORKERS = ["w1", "w2"]
TESTS_DIR = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    report: RunReport
    matches: dict[int, int]
    seconds: float
    killed: list[str] = field(default_factory=list)
    workers: dict[str, Worker] = field(default_factory=dict)


def _matches(settings: Settings) -> dict[int, int]:
    with connect(settings.warehouse_url) as conn:
        return stored_matches(conn, settings.embedding_model)


def _fresh_demo(settings: Settings) -> None:
    reset_warehouse(settings.warehouse_url)
    generate_demo(settings, seed=7, scale=0.05)


def _skip_unless_kombu_accepts_redis_py(url: str) -> None:
    """Skip, naming the lock's fault, when kombu's Redis transport refuses the installed redis-py.

    kombu 5.5+ wants redis-py 6.1+, which celery 5.4's ``redis`` extra excludes: a lock pairing
    them cannot talk to Redis at all, and every worker would die at start.
    """
    from kombu import Connection
    from kombu.exceptions import VersionMismatch

    try:
        with Connection(url) as connection:
            connection.connect()
    except VersionMismatch as error:
        pytest.skip(f"requirements.lock must be relocked for Celery on Redis: {error}")


@pytest.fixture(scope="module")
def celery_env(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Redis and the environment the executor and the workers share (restored afterwards)."""
    logs = tmp_path_factory.mktemp("celery")
    with redis_server(logs) as url, pytest.MonkeyPatch.context() as patch:
        _skip_unless_kombu_accepts_redis_py(url)
        variables = {
            "AURA_CELERY_BROKER_URL": url,
            "AURA_CELERY_BACKEND_URL": url.replace("/0", "/1"),
            "AURA_CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        }
        for name, value in variables.items():
            patch.setenv(name, value)
        yield {"logs": logs, "variables": variables}
        # The runs' Celery results unsubscribe from Redis when they are collected. Collected after
        # Redis stopped (pytest collects at exit), each retries its reconnect: five minutes of
        # warnings after the last test. Collected here, Redis still answers them.
        gc.collect()


@pytest.fixture(scope="module")
def in_process(settings: Settings, celery_env: dict) -> Outcome:
    _fresh_demo(settings)
    start = time.monotonic()
    report = run_job(settings)
    return Outcome(report, _matches(settings), time.monotonic() - start)


def _kill_the_worker_syncing(
    workers: dict[str, Worker], logs: Path, lock: psycopg.Connection
) -> list[str]:
    """Wait for the step to start on a worker and block on our lock, SIGKILL it, release.

    The worker is found by its own log, which echoes the step's events.
    """
    started = f"- {KILLED_STEP} - STEP_START -"
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:
            running = [n for n in workers if started in (logs / f"{n}.log").read_text()]
            waiting = lock.execute(
                "select count(*) from pg_locks where locktype = 'advisory' and not granted"
            ).fetchone()
            if running and waiting and waiting[0]:
                workers[running[0]].kill()
                return running[:1]
            time.sleep(0.5)
        return []
    finally:
        lock.execute("select pg_advisory_unlock_all()")


def _worker_of_each_attempt(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[str]]:
    """Step key -> the Celery worker of each attempt, from dagster-celery's engine events."""
    hosts: dict[str, list[str]] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        if event is None or not entry.step_key or "in celery worker" not in entry.message:
            continue
        metadata = event.engine_event_data.metadata
        hosts.setdefault(entry.step_key, []).append(str(metadata["Celery worker"].value))
    return hosts


def _worker_env(settings: Settings) -> dict[str, str]:
    """Aura's environment, plus tests/ on the path: workers load this module's pool job by file."""
    env = settings.subprocess_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def on_celery(settings: Settings, celery_env: dict, in_process: Outcome) -> Iterator[Outcome]:
    _fresh_demo(settings)
    os.environ["AURA_EXECUTOR"] = "celery"
    try:
        celery_settings = Settings.from_env()
        with (
            celery_workers(WORKERS, _worker_env(celery_settings), celery_env["logs"]) as workers,
            connect(settings.warehouse_url, autocommit=True) as lock,
        ):
            lock.execute("select pg_advisory_lock(hashtext(%s))", ("raw.odoo_crm_lead",))
            killed: list[str] = []
            killer = threading.Thread(
                target=lambda: killed.extend(
                    _kill_the_worker_syncing(workers, celery_env["logs"], lock)
                )
            )
            start = time.monotonic()
            killer.start()
            report = run_job(celery_settings)
            killer.join()
            seconds = time.monotonic() - start
            outcome = Outcome(report, _matches(settings), seconds, killed, workers)
            print(f"\nmain job: in-process {in_process.seconds:.0f} s, Celery {seconds:.0f} s")
            yield outcome
    finally:
        os.environ.pop("AURA_EXECUTOR", None)


def test_the_celery_run_ends_exactly_as_the_in_process_run(
    in_process: Outcome, on_celery: Outcome
) -> None:
    assert in_process.report.success and on_celery.report.success, on_celery.report.steps_failed
    assert on_celery.report.table_rows == in_process.report.table_rows
    assert on_celery.matches == in_process.matches and on_celery.matches

    def checks(outcome: Outcome) -> dict[tuple[str, str], bool]:
        return {(c.asset, c.name): c.passed for c in outcome.report.checks}

    assert checks(on_celery) == checks(in_process)
    assert sorted(on_celery.report.steps_succeeded) == sorted(in_process.report.steps_succeeded)


def test_every_step_ran_in_a_worker_process_and_both_workers_took_steps(
    on_celery: Outcome,
) -> None:
    with dg.DagsterInstance.get() as instance:
        hosts = _worker_of_each_attempt(instance, on_celery.report.run_id)
        starts = instance.all_logs(on_celery.report.run_id, of_type=dg.DagsterEventType.STEP_START)
    assert set(hosts) == set(on_celery.report.steps_succeeded)
    assert {h.split("@")[0] for attempts in hosts.values() for h in attempts} == set(WORKERS)
    pids = {entry.dagster_event.pid for entry in starts if entry.dagster_event}
    assert len(pids) >= 2 and None not in pids and os.getpid() not in pids


def test_the_step_of_a_killed_worker_is_rerun_on_the_other_with_nothing_duplicated(
    settings: Settings, on_celery: Outcome
) -> None:
    assert on_celery.killed, "the sync step never waited on the lock"
    with dg.DagsterInstance.get() as instance:
        attempts = _worker_of_each_attempt(instance, on_celery.report.run_id)[KILLED_STEP]
    [killed] = on_celery.killed
    assert [h.split("@")[0] for h in attempts] == [killed, *(set(WORKERS) - {killed})]
    with connect(settings.warehouse_url) as conn:
        counted = conn.execute("select count(*), count(distinct id) from raw.odoo_crm_lead")
        rows, ids = counted.fetchone() or (0, 0)
        statuses = conn.execute(
            "select status from ops.sync_jobs where source_system = 'odoo' "
            "and source_table = 'crm_lead' and dagster_run_id = %s",
            (on_celery.report.run_id,),
        ).fetchall()
    assert rows == ids == on_celery.report.table_rows["raw.odoo_crm_lead"]
    assert [s for (s,) in statuses].count("success") == 1


# Source pools across workers: two steps of one source, free to run in parallel on two workers.
POOL_STEP_SECONDS = 3.0


def _sleeper(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, pool="source_celerypool")
    def _asset() -> None:
        time.sleep(POOL_STEP_SECONDS)

    return _asset


def celery_pool_job() -> dg.JobDefinition:
    from aura_platform.execution.executors import executor_def

    assets = [_sleeper("first_table"), _sleeper("second_table")]
    job = dg.define_asset_job(
        "celery_pool_job", selection=assets, executor_def=executor_def(Settings.from_env())
    )
    return dg.Definitions(assets=assets, jobs=[job]).resolve_job_def("celery_pool_job")


def _step_windows(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    starts, ends = {}, {}
    for entry in instance.all_logs(run_id):
        if entry.dagster_event is None or entry.step_key is None:
            continue
        if entry.dagster_event.event_type_value == "STEP_START":
            starts[entry.step_key] = entry.timestamp
        elif entry.dagster_event.event_type_value == "STEP_SUCCESS":
            ends[entry.step_key] = entry.timestamp
    assert starts.keys() == ends.keys() == {"first_table", "second_table"}
    return sorted((starts[k], ends[k]) for k in starts)


def test_a_source_pool_of_one_serialises_its_steps_across_two_celery_workers(
    settings: Settings, celery_env: dict, on_celery: Outcome
) -> None:
    from dagster._core.definitions.reconstruct import ReconstructableJob

    from aura_platform.config.models import SourceConfig, TableConfig

    os.environ["AURA_EXECUTOR"] = "celery"
    source = SourceConfig(
        transport="apn_files", folder="x", tables={"t": TableConfig()}, max_connections=1
    )
    try:
        # The worker that survived the kill and a fresh one: two idle workers, one slot.
        env = _worker_env(Settings.from_env())
        with celery_workers(["w3"], env, celery_env["logs"]), dg.DagsterInstance.get() as instance:
            apply_pool_limits(instance, {"celerypool": source})
            try:
                job = ReconstructableJob.for_file(__file__, celery_pool_job.__name__)
                with dg.execute_job(job, instance=instance) as result:
                    assert result.success
                (_, first_end), (second_start, _) = _step_windows(instance, result.run_id)
                hosts = _worker_of_each_attempt(instance, result.run_id)
            finally:
                instance.event_log_storage.delete_concurrency_limit("source_celerypool")
    finally:
        os.environ.pop("AURA_EXECUTOR", None)
    assert set(hosts) == {"first_table", "second_table"}
    assert second_start >= first_end
