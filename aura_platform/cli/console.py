"""What `aura run` and `aura demo` show a person while a job runs, and where the rest goes.

Dagster's event log and dbt's output run to thousands of lines; they go to a log file under
``AURA_HOME/logs`` (``--verbose`` streams them as before) and the terminal gets live progress:
steps done of the total, the steps running, the time elapsed. On a terminal that is a ``rich``
progress bar; elsewhere (CI, a pipe) a plain line every tenth of the run and one per failure.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from aura_platform.cli.runner import StepEvent
from aura_platform.settings import Settings

ENDED = ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")
PLAIN_UPDATES = 10  # lines a non-terminal gets over a whole run, besides one per failure
RUNNING_SHOWN = 2  # running steps named beside the bar; more are counted


def run_log_path(settings: Settings, job_name: str) -> Path:
    """A new log file for one run of ``job_name``, named by when it started."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return settings.home / "logs" / f"{job_name}-{stamp}.log"


@contextmanager
def output_to_file(path: Path) -> Iterator[TextIO]:
    """Send this process's stdout and stderr (and its children's) to ``path`` meanwhile.

    File descriptors 1 and 2 are redirected, so dbt's subprocesses and anything writing to them
    land in the file, and so are ``sys.stdout`` and ``sys.stderr``, in case they are not those
    descriptors (under pytest, say). Yields a stream to the real terminal.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1, encoding="utf-8")
    with path.open("a", buffering=1, encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with redirect_stdout(log), redirect_stderr(log):
                yield terminal
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            terminal.close()


class StepProgress:
    """Turns a run's step events into a progress display on ``stream``.

    Use as a context manager around the run, passing ``update`` as ``run_job``'s ``on_step``.
    """

    def __init__(self, stream: TextIO, job_name: str) -> None:
        self.console = Console(file=stream, highlight=False)
        self.job_name = job_name
        self.done = 0
        self.total: int | None = None
        self.running: list[str] = []
        self.started = time.monotonic()
        self._next_plain = 0.0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> StepProgress:
        if self.console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[running]}"),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.job_name, total=None, running="starting")
        else:
            self.console.print(f"{self.job_name}: started")
        return self

    def __exit__(self, *_: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, event: StepEvent) -> None:
        """Account for one step event; called from the run's watcher thread."""
        self.total = event.total_steps or self.total
        if event.event_type == "STEP_START":
            self.running.append(event.step_key)
        elif event.event_type in ENDED:
            self.done += 1
            if event.step_key in self.running:
                self.running.remove(event.step_key)
        if event.event_type == "STEP_FAILURE":
            first_line = (event.error or "").splitlines()[0:1]
            self.console.print(
                f"[red]failed[/red] {event.step_key}: {first_line[0] if first_line else ''}",
                markup=True,
            )
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, completed=self.done, total=self.total, running=self._running_text()
            )
        elif self.total and (
            self.done >= self._next_plain or (self.done == self.total and event.event_type in ENDED)
        ):
            # Every tenth of the run, and its last step whatever the count: the line that says
            # the run got to the end.
            self._next_plain = self.done + max(1, self.total // PLAIN_UPDATES)
            self.console.print(self.status_line())

    def status_line(self) -> str:
        """One plain line: steps done of total, elapsed time, what is running."""
        elapsed = int(time.monotonic() - self.started)
        total = self.total if self.total is not None else "?"
        running = self._running_text()
        line = f"{self.job_name}: {self.done}/{total} steps, {elapsed // 60}:{elapsed % 60:02d}"
        return line + (f", running {running}" if running else "")

    def _running_text(self) -> str:
        shown = ", ".join(self.running[:RUNNING_SHOWN])
        more = len(self.running) - RUNNING_SHOWN
        return shown + (f" +{more}" if more > 0 else "")
