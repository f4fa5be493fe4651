"""`aura doctor` against the test warehouse: each component's status, masked reasons, --json."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.odoo_rpc_server import FakeOdoo, serve

from aura_demo.generator import generate_demo
from aura_platform.cli.main import main
from aura_platform.config.models import SourcesFile
from aura_platform.ops.health import run_checks
from aura_platform.settings import APN_DEMO_DB, ODOO_DEMO_DB, Settings
from aura_platform.warehouse.connection import drop_database, ensure_database

pytestmark = pytest.mark.integration

SOURCE_URLS = ("AURA_ODOO_URL", "AURA_APN_URL", "AURA_MONGO_URL", "AURA_DAGSTER_PG_URL")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _doctor_json(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, str]]]:
    code = main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] == (code == 0)
    return code, {c["component"]: c for c in report["checks"]}


@pytest.fixture
def before_demo(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """An installation where `aura demo` never ran: no demo databases, an empty data folder."""
    monkeypatch.setenv("AURA_DATA_DIR", str(tmp_path / "data"))
    for name in SOURCE_URLS:
        monkeypatch.delenv(name, raising=False)
    for database in (ODOO_DEMO_DB, APN_DEMO_DB):
        drop_database(settings, database)
    return Settings.from_env()


def test_outside_the_demo_an_unset_source_is_not_configured_naming_its_variable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A production install with a variable missing says so, never reads the demo instead."""
    monkeypatch.delenv("AURA_DEMO")
    for name in SOURCE_URLS:
        monkeypatch.delenv(name, raising=False)

    _, checks = _doctor_json(capsys)

    for source, variable in (
        ("source odoo", "AURA_ODOO_URL"),
        ("source apn", "AURA_APN_URL"),
        ("source mongo", "AURA_MONGO_URL"),
    ):
        assert checks[source]["status"] == "not configured", checks[source]
        assert f"{variable} is not set" in checks[source]["reason"]
        assert "demo database" not in checks[source]["reason"]


def test_sources_are_degraded_before_the_demo_and_healthy_after_it(
    before_demo: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = _doctor_json(capsys)
    assert code == 0, checks
    assert checks["warehouse"]["status"] == "healthy"
    assert "pgvector" in checks["warehouse"]["reason"]
    for source in ("source odoo", "source apn"):
        assert checks[source]["status"] == "degraded"
        assert "`aura demo`" in checks[source]["reason"]
    assert checks["source ace_exports"]["status"] == "degraded"
    assert checks["source csv"]["status"] == "degraded"
    assert checks["source mongo"]["status"] == "degraded"
    assert "`aura demo`" in checks["source mongo"]["reason"]

    generate_demo(before_demo, seed=42, scale=0.05)
    code, checks = _doctor_json(capsys)
    assert code == 0, checks
    for source in ("source odoo", "source apn", "source ace_exports", "source csv"):
        assert checks[source]["status"] == "healthy", checks[source]
    assert "all 19 tables readable" in checks["source odoo"]["reason"]
    assert checks["source mongo"]["status"] == "healthy", checks["source mongo"]
    assert "mongomock" in checks["source mongo"]["reason"]

    assert main(["doctor"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["COMPONENT", "STATUS", "REASON"]
    assert any(line.startswith("warehouse ") and " healthy " in line for line in table)


def test_configured_sources_that_are_down_fail_the_doctor_without_leaking_passwords(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    env = {
        **os.environ,
        "AURA_APN_URL": f"postgresql://apn_reader:pg-pw-never-printed-7731@127.0.0.1:{port}/apn",
        "AURA_MONGO_URL": f"mongodb://reader:mongo-pw-never-printed-5512@127.0.0.1:{port}/docs",
    }
    done = subprocess.run(
        [sys.executable, "-m", "aura_platform.cli.main", "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    output = done.stdout + done.stderr
    assert "pg-pw-never-printed" not in output and "mongo-pw-never-printed" not in output
    checks = {c["component"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["source apn"]["status"] == "down"
    assert "AURA_APN_URL unreachable" in checks["source apn"]["reason"]
    assert checks["source mongo"]["status"] == "down"
    assert checks["warehouse"]["status"] == "healthy"

    # The readable table says the same, masked too.
    monkeypatch.setenv("AURA_APN_URL", env["AURA_APN_URL"])
    monkeypatch.delenv("AURA_MONGO_URL", raising=False)
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    assert "pg-pw-never-printed" not in captured.out + captured.err
    assert "1 down" in captured.out


def test_dagster_storage_is_degraded_until_dagster_initialises_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster_postgres import DagsterPostgresStorage

    drop_database(settings, "doctor_dagster")
    ensure_database(settings, "doctor_dagster")
    # The embedded server trusts loopback, so the password is only there to be masked.
    url = f"postgresql://aura:dagster-pw-4410@127.0.0.1:{settings.pg_port}/doctor_dagster"
    monkeypatch.setenv("AURA_DAGSTER_PG_URL", url)

    def dagster() -> tuple[str, str]:
        check = next(c for c in run_checks(Settings.from_env()) if c.component == "dagster storage")
        assert "dagster-pw-4410" not in check.reason
        return check.status, check.reason

    status, reason = dagster()
    assert status == "degraded" and reason.startswith("reachable but not initialised")
    DagsterPostgresStorage(url)
    assert dagster() == ("healthy", "initialised, 0 runs recorded")
    drop_database(settings, "doctor_dagster")
    assert dagster()[0] == "down"


def test_an_odoo_api_source_needs_its_variables_and_a_server_that_answers(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = SourcesFile.model_validate(
        {
            "sources": {
                "erp": {
                    "transport": "odoo_xmlrpc",
                    "connection_env": "DOCTOR_ODOO_URL",
                    "database_env": "DOCTOR_ODOO_DB",
                    "username_env": "DOCTOR_ODOO_USER",
                    "secret_env": "DOCTOR_ODOO_PASSWORD",
                    "tables": {"res_partner": {}},
                }
            }
        }
    )

    def erp() -> tuple[str, str]:
        check = next(c for c in run_checks(settings, sources) if c.component == "source erp")
        return check.status, check.reason

    assert erp() == (
        "not configured",
        "DOCTOR_ODOO_URL, DOCTOR_ODOO_DB, DOCTOR_ODOO_USER, DOCTOR_ODOO_PASSWORD not set",
    )
    odoo = FakeOdoo(models={})
    for name, value in [("DB", odoo.database), ("USER", odoo.login), ("PASSWORD", odoo.password)]:
        monkeypatch.setenv(f"DOCTOR_ODOO_{name}", value)
    with serve(odoo) as url:
        monkeypatch.setenv("DOCTOR_ODOO_URL", url)
        assert erp() == ("healthy", f"{url}: Odoo 19.0")
    status, reason = erp()
    assert status == "down" and reason.startswith(f"{url} does not answer")
