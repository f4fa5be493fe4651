"""Browser fixtures: Debian's Chromium driven by Playwright, and Aura's servers on free ports.

Playwright's own browser download is not used (CI has no access to it); the tests drive the
system `chromium` through `executable_path` and skip, saying why, when it is not installed.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from support.warehouse import reset_warehouse

from aura_demo.generator import generate_demo
from aura_platform.cli.runner import run_job
from aura_platform.settings import Settings

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"

# Headless without a sandbox (CI runs as root), and without the background services that would
# keep dialling out from a machine that may have no network.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

# Dagster's "join the community" dialog, shown once per browser on a loopback UI, would cover
# the page; this is the flag its "Skip" button stores.
DISMISS_DAGSTER_NUX = "window.localStorage.setItem('communityNux', JSON.stringify('1'))"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the system Chromium; skips the browser tests when there is none."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(
            "Chromium is not installed: the browser tests drive Debian's `chromium` package "
            "(`apt-get install chromium`; `.ci/run` installs it)"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so `page` knows whether its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context per test; a failing test leaves a screenshot of where it stood."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.add_init_script(DISMISS_DAGSTER_NUX)
    context.set_default_timeout(60_000)
    current = context.new_page()
    yield current
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(current, f"{request.node.name}-failure")
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact, `test-artifacts/ui/<name>.png`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.mouse.move(0, 0)  # no hover tooltip over what the picture is meant to show
    page.screenshot(path=path, full_page=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def shot(page: Page) -> Callable[[str], Path]:
    """Save a full-page screenshot of the test's page as `test-artifacts/ui/<name>.png`."""
    return lambda name: screenshot(page, name)


@pytest.fixture(scope="module")
def dagster_ui(chromium: str, settings: Settings) -> Iterator[str]:
    """`aura dev` (webserver and daemon) on the instance that holds one main run of the demo."""
    reset_warehouse(settings.warehouse_url)
    generate_demo(settings, seed=7, scale=0.05)
    assert run_job(settings).success
    # Started after the run: the landing-zone sensor finds the demo's files already loaded. The
    # nightly schedule moves to midnight on 1 January, so it does not start a run mid-test.
    env = {"AURA_SCHEDULE_CRON": "0 0 1 1 *"}
    with aura_server(["dev"], "/server_info", "dagster", env) as url:
        yield url


@pytest.fixture(scope="module")
def dbt_docs(chromium: str, settings: Settings) -> Iterator[str]:
    """`aura docs`: dbt docs generated from the project and the warehouse, served."""
    with aura_server(["docs"], "/index.html", "dbt-docs") as url:
        yield url


@contextlib.contextmanager
def aura_server(
    args: list[str],
    ready_path: str,
    log_name: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Iterator[str]:
    """Run `aura <args>` on a free loopback port; yield its URL once `ready_path` answers.

    The command runs in its own process group, so teardown stops it and every child it started
    (Dagster's webserver and daemon, dbt's docs server). Its output goes to a log artifact.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / f"{log_name}.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "aura_platform.cli.main", *args, "--port", str(port)],
            env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait_until_answering(server, url + ready_path, timeout)
            yield url
        finally:
            _stop_group(server)


def _stop_group(leader: subprocess.Popen[bytes], grace: float = 5) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left after `grace` seconds.

    The `aura` process exits at once, but `dagster dev` can sit waiting for its webserver and
    daemon long after; waiting on the leader alone would leave them running.
    """
    with contextlib.suppress(ProcessLookupError):  # the whole group may be gone already
        os.killpg(leader.pid, signal.SIGTERM)
    leader.wait()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(leader.pid, 0)  # raises once no process of the group is left
        except ProcessLookupError:
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader.pid, signal.SIGKILL)


def _wait_until_answering(server: subprocess.Popen[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {server.returncode} (see its log)")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
