"""Benchmark the main job's wall time per executor: in-process, multiprocess, Celery (2 workers).

Run with ``.venv/bin/python bench/executors.py [--scale 5] [--workers 2]`` (needs Debian's
``redis-server``). With the developer's ``AURA_HOME`` and ``AURA_PG_PORT``, before each
executor's run, it empties the warehouse's data layers (as the integration tests do,
``tests/support/warehouse.py``) and regenerates the demo at ``--scale`` (seed 7); then it times
``run_job`` of the main job, so every executor does the same full load. Celery runs on a private
Redis and ``--workers`` workers of ``aura_platform.execution.celery_app``
(``tests/support/celery_workers.py``), one step at a time each, started before the clock starts;
each worker loads the code location at its first step, inside the measured time, as a freshly
started worker would.

Prints one line per executor with the wall time and its ratio to in-process, and the core count:
the executors' overhead per step and their gain from parallel steps depend on both. Exits 0
whatever the numbers; non-zero on errors (a failed run is an error).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.celery_workers import celery_workers, redis_server
from support.warehouse import reset_warehouse

from aura_demo.generator import generate_demo
from aura_platform.cli.console import output_to_file, run_log_path
from aura_platform.cli.runner import run_job
from aura_platform.settings import Settings
from aura_platform.warehouse.bootstrap import prepare_warehouse


def _timed_run(executor: str, scale: float) -> float:
    os.environ["AURA_EXECUTOR"] = executor
    settings = Settings.from_env()
    reset_warehouse(settings.warehouse_url)
    generate_demo(settings, seed=7, scale=scale)  # again: a run archives the landing files
    log_path = run_log_path(settings, f"main-{executor}")
    start = time.monotonic()
    with output_to_file(log_path):  # Dagster's and dbt's log, as `aura demo` keeps it
        report = run_job(settings)
    seconds = time.monotonic() - start
    if not report.success:
        raise SystemExit(f"{executor}: the main job failed: {report.steps_failed} (log {log_path})")
    print(f"  {executor:<13} {seconds:7.1f} s  ({len(report.steps_succeeded)} steps)", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    # The demo is what is being run, as with `aura demo`: unset sources read its stand-ins, here
    # and in the Celery workers started with this environment.
    os.environ["AURA_DEMO"] = "1"
    settings = Settings.from_env()
    prepare_warehouse(settings)
    print(f"main job on the demo at scale {args.scale}, {os.cpu_count()} cores", flush=True)
    times = {name: _timed_run(name, args.scale) for name in ("in_process", "multiprocess")}
    with tempfile.TemporaryDirectory() as logs, redis_server(Path(logs)) as url:
        os.environ["AURA_EXECUTOR"] = "celery"
        os.environ["AURA_CELERY_BROKER_URL"] = url
        os.environ["AURA_CELERY_BACKEND_URL"] = url
        names = [f"bench{i}" for i in range(args.workers)]
        env = Settings.from_env().subprocess_env()
        with celery_workers(names, env, Path(logs)):
            times[f"celery x{args.workers}"] = _timed_run("celery", args.scale)
    base = times["in_process"]
    print(f"\n{'executor':<14} {'wall s':>8} {'÷ in-process':>13}")
    for name, seconds in times.items():
        print(f"{name:<14} {seconds:8.1f} {seconds / base:13.2f}")


if __name__ == "__main__":
    main()
