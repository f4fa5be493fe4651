"""What `aura run` shows while a job runs, and that everything else reaches the log file."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from aura_platform.cli.console import StepProgress, output_to_file
from aura_platform.cli.runner import StepEvent


def _run(progress: StepProgress, steps: int, failing: str | None = None) -> None:
    for i in range(steps):
        key = f"step_{i}"
        progress.update(StepEvent(key, "STEP_START", steps))
        ended = "STEP_FAILURE" if key == failing else "STEP_SUCCESS"
        progress.update(StepEvent(key, ended, steps, "ValueError: bad row\nTraceback..."))


def test_off_a_terminal_progress_is_a_line_per_tenth_and_one_per_failure() -> None:
    stream = io.StringIO()
    with StepProgress(stream, "main") as progress:
        _run(progress, 40, failing="step_7")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "main: started"
    assert "failed step_7: ValueError: bad row" in lines
    status = [line for line in lines if line.startswith("main: ") and "steps" in line]
    assert 10 <= len(status) <= 12 and status[-1].startswith("main: 40/40 steps, 0:00")


def test_off_a_terminal_the_last_step_gets_its_line_whatever_the_step_count() -> None:
    stream = io.StringIO()
    with StepProgress(stream, "main") as progress:
        _run(progress, 45)  # a line every 4 steps would end at 44
    status = [line for line in stream.getvalue().splitlines() if "steps" in line]
    assert status[-1].startswith("main: 45/45 steps") and status[-2].startswith("main: 44/45")


def test_output_of_this_process_and_its_children_goes_to_the_log_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "logs" / "main.log"
    with output_to_file(log) as terminal:
        print("dagster event", flush=True)
        print("dbt warning", file=sys.stderr, flush=True)
        subprocess.run(["sh", "-c", "echo from a child; echo child error >&2"], check=True)
        terminal.write("progress\n")
    print("after")
    out, err = capfd.readouterr()
    assert out == "progress\nafter\n" and err == ""
    assert log.read_text().splitlines() == [
        "dagster event", "dbt warning", "from a child", "child error",
    ]  # fmt: skip
