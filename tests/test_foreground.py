"""Ctrl-C on a server the aura CLI runs (`aura dev`, `aura docs`): a clean stop, nothing left."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# A stand-in server: starts a worker of its own (as `dagster dev` starts a webserver and a daemon)
# and, on SIGINT, takes a moment to shut down, as servers do.
SERVER = """
import signal, subprocess, sys, time
worker = subprocess.Popen(["sleep", "120"])
open(sys.argv[1], "w").write(f"{worker.pid}\\n")
def stop(*_):
    time.sleep(1)
    sys.exit(0)
signal.signal(signal.SIGINT, stop)
time.sleep(120)
"""
LAUNCHER = (
    "import sys; from aura_platform.cli.main import _foreground; "
    "sys.exit(_foreground([sys.executable, '-c', sys.argv[1], sys.argv[2]]))"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (ended, not yet reaped by its parent) counts as gone.
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def test_ctrl_c_stops_the_server_and_its_workers_without_a_traceback(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    aura = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, SERVER, str(pid_file)],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, like a command in a terminal
    )
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text().endswith("\n"):
        assert time.monotonic() < deadline, "the stand-in server did not start"
        time.sleep(0.1)
    worker = int(pid_file.read_text())

    os.killpg(aura.pid, signal.SIGINT)  # what the terminal sends its foreground group on Ctrl-C
    _, stderr = aura.communicate(timeout=30)

    assert aura.returncode == 130
    assert "Traceback" not in stderr and stderr.strip().endswith("stopped")
    assert not _alive(worker)
