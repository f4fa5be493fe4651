"""The embedded warehouse's lifecycle and the CLI commands that inspect it."""

import csv
import io
import os
import socket
from pathlib import Path

import psycopg
import pytest

from aura_platform.cli.main import main
from aura_platform.settings import Settings
from aura_platform.warehouse import embedded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_embedded_server_starts_on_tcp_loopback_is_reused_and_stops(tmp_path: Path) -> None:
    s = Settings.from_env({"AURA_HOME": str(tmp_path / "home"), "AURA_PG_PORT": str(_free_port())})
    try:
        url = embedded.ensure_started(s)
        assert url.startswith(f"postgresql://aura@127.0.0.1:{s.pg_port}/")
        assert embedded.status(s).running
        pid = (s.pg_data / "postmaster.pid").read_text().splitlines()[0]
        embedded.ensure_started(s)  # reused, not restarted
        assert (s.pg_data / "postmaster.pid").read_text().splitlines()[0] == pid
        with psycopg.connect(s.database_url("postgres")) as conn:
            version = conn.execute("show server_version_num").fetchone()
            assert version is not None and int(version[0]) >= 180000
            assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)
    finally:
        assert embedded.stop(s)
    assert not embedded.status(s).running
    assert not embedded.stop(s)


def test_a_taken_port_gives_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        s = Settings.from_env({"AURA_HOME": str(tmp_path / "home"), "AURA_PG_PORT": str(port)})
        with pytest.raises(embedded.WarehouseError, match="AURA_PG_PORT"):
            embedded.ensure_started(s)


def test_status_says_the_warehouse_runs_and_shows_its_url(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "running" in out
    assert f"127.0.0.1:{settings.pg_port}" in out


def test_status_masks_the_password_of_an_external_warehouse(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The embedded server trusts loopback, so any password connects: a stand-in external server.
    url = f"postgresql://aura:topsecret@127.0.0.1:{settings.pg_port}/aura"
    monkeypatch.setenv("AURA_WAREHOUSE_URL", url)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "external, reachable" in out
    assert "topsecret" not in out and "aura:***@" in out


def test_sql_prints_the_result_as_csv(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "select 1 as one, 'a,b' as two union all select 2, null order by 1"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [["one", "two"], ["1", "a,b"], ["2", ""]]


def test_a_failing_command_prints_one_masked_line_not_a_traceback(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AURA_DEBUG", raising=False)
    monkeypatch.setenv("AURA_WAREHOUSE_URL", "postgresql://aura:hunter2@127.0.0.1:1/aura")
    assert main(["sql", "select 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aura sql:") and "hunter2" not in err
    assert os.environ["AURA_WAREHOUSE_URL"].endswith(":1/aura")
