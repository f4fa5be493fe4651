"""Test support: a private Redis server and Celery workers running Aura's app, as real processes.

Each worker is the leader of its own process group, so a test can SIGKILL a whole worker (its
main process, its pool child and whatever the step started, e.g. dbt) the way a machine dies.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aura_platform.settings import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server(log_dir: Path) -> Iterator[str]:
    """Debian's redis-server on a free loopback port, without persistence; yields its URL."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed"
    port = _free_port()
    log = (log_dir / "redis.log").open("w")
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL the whole worker: main process, pool child, and the step's own children."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@contextmanager
def celery_workers(
    names: list[str], env: Mapping[str, str], log_dir: Path, queues: str = "dagster"
) -> Iterator[dict[str, Worker]]:
    """Celery workers of ``aura_platform.execution.celery_app``, one step at a time each."""
    workers: dict[str, Worker] = {}
    try:
        for name in names:
            argv = [
                sys.executable, "-m", "celery",
                "-A", "aura_platform.execution.celery_app", "worker",
                "-n", f"{name}@%h", "-Q", queues, "--concurrency=1", "--loglevel=INFO",
                "--without-mingle", "--without-gossip",
            ]  # fmt: skip
            log = (log_dir / f"{name}.log").open("w")
            process = subprocess.Popen(
                argv,
                env=dict(env),
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            workers[name] = Worker(name, process)
        _wait_until_ready(workers, log_dir)
        yield workers
    finally:
        for worker in workers.values():
            if worker.process.poll() is None:
                os.killpg(worker.process.pid, signal.SIGTERM)
        for worker in workers.values():
            try:
                worker.process.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()


def _wait_until_ready(workers: dict[str, Worker], log_dir: Path, timeout: float = 120) -> None:
    """Wait for each worker's "ready" line: it is consuming its queues from then on."""
    deadline = time.monotonic() + timeout
    waiting = set(workers)
    while waiting:
        for name in list(waiting):
            assert workers[name].process.poll() is None, (log_dir / f"{name}.log").read_text()
            if " ready." in (log_dir / f"{name}.log").read_text():
                waiting.discard(name)
        assert time.monotonic() < deadline, f"workers not ready: {sorted(waiting)}"
        time.sleep(0.5)
