"""The landing-zone sensor: each new file requests one run, a file already seen none.

Also where the zone is: the csv_landing source of sources.yaml names its folder and table.
"""

import os
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pydantic import ValidationError

from aura_platform.config import loader
from aura_platform.config.loader import landing_dir
from aura_platform.config.models import SourcesFile
from aura_platform.definitions import defs
from aura_platform.defs.ingestion.sensors import landing_zone_sensor, waiting_files
from aura_platform.ingest import landing as landing_module
from aura_platform.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "csv"


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AURA_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "data" / "raw"
    folder.mkdir(parents=True)
    return folder


def _tick(cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
    """Evaluate the sensor once, as the daemon would, from ``cursor``."""
    result = landing_zone_sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor))
    return list(result.run_requests or []), result.cursor


def _drop(folder: Path, fixture: str) -> Path:
    target = folder / fixture
    target.write_bytes((FIXTURES / fixture).read_bytes())
    return target


def test_each_new_file_requests_one_run_and_a_file_already_seen_none(landing: Path) -> None:
    requests, cursor = _tick(None)
    assert requests == []

    _drop(landing, "acme_2026-01_cp1252.csv")
    requests, cursor = _tick(cursor)
    assert len(requests) == 1
    first_key = requests[0].run_key

    requests, cursor = _tick(cursor)
    assert requests == []  # the same file, still waiting (its run may be queued)

    _drop(landing, "globex_2026-02_bom_semicolon.csv")
    requests, cursor = _tick(cursor)
    assert len(requests) == 1
    assert requests[0].run_key != first_key


def test_files_that_are_not_landing_files_are_ignored(landing: Path) -> None:
    (landing / "upload.csv.part").write_text("entity,period\n")
    (landing / ".hidden.csv").write_text("entity,period\n")
    (landing / "archive").mkdir()
    requests, _ = _tick(None)
    assert requests == []


def test_a_file_replaced_under_the_same_name_is_new_again(landing: Path) -> None:
    path = _drop(landing, "acme_2026-01_cp1252.csv")
    _, cursor = _tick(None)
    path.write_bytes(path.read_bytes() + b"\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    requests, _ = _tick(cursor)
    assert len(requests) == 1


def test_the_cursor_forgets_files_that_left_the_folder(landing: Path) -> None:
    path = _drop(landing, "acme_2026-01_cp1252.csv")
    _, cursor = _tick(None)
    path.rename(landing.parent / path.name)  # archived by the run
    _, cursor = _tick(cursor)
    assert cursor == "[]"


def test_the_landing_job_loads_the_landing_zone_and_rebuilds_what_reads_it() -> None:
    job = defs().resolve_job_def("landing_zone")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert "raw/csv/trial_balance" in selected
    assert {"core/gl_balances", "staging/stg_csv__trial_balance_lines"} <= selected
    assert not any(key.startswith(("raw/odoo", "raw/apn")) for key in selected)
    assert landing_zone_sensor.job_name == "landing_zone"
    assert landing_zone_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def _with_landing_source(name: str, csv: dict[str, Any]) -> dict[str, Any]:
    """The shipped sources.yaml with its csv source replaced by ``name``: ``csv``."""
    shipped = loader.load_sources().model_dump()
    del shipped["sources"]["csv"]
    return {"sources": {**shipped["sources"], name: csv}}


def test_the_landing_zone_is_the_csv_landing_source_of_sources_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = loader.load_sources().sources["csv"].model_dump()
    renamed = SourcesFile.model_validate(
        _with_landing_source(
            "ledger",
            {
                **csv,
                "folder": "drop/ledgers",
                "tables": {"balances": csv["tables"]["trial_balance"]},
            },
        )
    )
    monkeypatch.setattr(loader, "load_sources", lambda: renamed)
    monkeypatch.setattr(landing_module, "load_sources", lambda: renamed)
    settings = Settings.from_env({"AURA_DATA_DIR": str(tmp_path)})

    zone = landing_module.landing_zone()
    assert (zone.raw_table, zone.asset_key) == ("ledger_balances", "raw/ledger/balances")
    assert landing_dir(settings) == tmp_path / "drop" / "ledgers"
    landing_dir(settings).mkdir(parents=True)
    _drop(landing_dir(settings), "acme_2026-01_cp1252.csv")
    assert [f.split("|")[0] for f in waiting_files(settings)] == ["acme_2026-01_cp1252.csv"]


def test_one_landing_source_with_one_table_is_all_sources_yaml_may_declare() -> None:
    csv = loader.load_sources().sources["csv"].model_dump()
    two_tables = {**csv, "tables": {**csv["tables"], "other": csv["tables"]["trial_balance"]}}
    with pytest.raises(ValidationError, match="csv_landing takes one table"):
        SourcesFile.model_validate(_with_landing_source("csv", two_tables))
    second = _with_landing_source("csv", csv)
    second["sources"]["ledger"] = {**csv, "folder": "ledgers"}
    with pytest.raises(ValidationError, match="one csv_landing source at most, not csv, ledger"):
        SourcesFile.model_validate(second)
