"""The landing zone against the real warehouse: load once, quarantine, archive, replace, recover."""

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.parquet as pq
import pytest
from support.landing import pending_files
from support.trial_balance import parse_file

from aura_platform.config.loader import landing_dir
from aura_platform.ingest.landing import (
    finalize_file,
    land_file,
    landing_files,
    load_landing_zone,
)
from aura_platform.settings import Settings
from aura_platform.sources.base import Rejected
from aura_platform.warehouse.connection import connect

FIXTURES = Path(__file__).parents[1] / "fixtures" / "csv"
ACME = "acme_2026-01_cp1252.csv"
GLOBEX = "globex_2026-02_bom_semicolon.csv"
MESSY = "initech_2026-03_messy.csv"
EUROPEAN = "umbrella_2026-04_decimal_comma.csv"


@pytest.fixture
def zone(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Settings with a landing zone of their own and no trace of earlier landings."""
    own = replace(settings, data_dir=tmp_path / "data")
    landing_dir(own).mkdir(parents=True)
    with connect(settings.warehouse_url) as conn:
        conn.execute("drop table if exists raw.csv_trial_balance cascade")  # dbt views on it
        conn.execute("delete from ops.landed_files")
        conn.execute("delete from ops.quarantine where source_system = 'csv'")
        conn.execute("delete from ops.sync_jobs where source_system = 'csv'")
    yield own


def _drop(zone: Settings, fixture: str, name: str | None = None) -> Path:
    return Path(shutil.copy(FIXTURES / fixture, landing_dir(zone) / (name or fixture)))


def _query(zone: Settings, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with connect(zone.warehouse_url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def test_a_folder_of_three_files_is_loaded_quarantined_recorded_and_archived(
    zone: Settings,
) -> None:
    for name in (ACME, GLOBEX, MESSY):
        _drop(zone, name)

    report = load_landing_zone(zone, zone.warehouse_url, run_id="run-1")

    by_name = {f.file_name: f for f in report.loaded}
    counts = {
        n: (f.rows_read, f.rows_loaded, f.rows_quarantined, f.status) for n, f in by_name.items()
    }
    assert counts == {
        ACME: (6, 6, 0, "loaded"),
        GLOBEX: (5, 5, 0, "loaded"),
        MESSY: (15, 6, 9, "partial"),
    }
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (26, 17, 9)

    raw = _query(
        zone,
        "select entity, period, account_code, account_name, currency, debit, credit, balance "
        "from raw.csv_trial_balance where _deleted_at is null order by entity, account_code",
    )
    assert len(raw) == 17
    assert raw[1] == (
        "Acme SAS", date(2026, 1, 1), "1200", "Cr\u00e9ances clients", "EUR",
        Decimal("48250.75"), Decimal("0"), Decimal("48250.75"),
    )  # fmt: skip
    assert ("Globex GmbH", date(2026, 2, 1), "3000", "Eigenkapital", "EUR",
            Decimal("0"), Decimal("10000.00"), Decimal("-10000.00")) in raw  # fmt: skip
    sums = _query(
        zone,
        "select entity, sum(balance), bool_and(debit >= 0 and credit >= 0 "
        "and balance = debit - credit) from raw.csv_trial_balance group by entity order by entity",
    )
    assert sums == [
        ("Acme SAS", Decimal("0.00"), True),
        ("Globex GmbH", Decimal("0.00"), True),
        ("Initech Inc", Decimal("-2900.00"), True),
    ]

    quarantine = _query(
        zone,
        "select source_table, source_file, line_number, reason, original_payload->>'line', "
        "sync_batch_id::text from ops.quarantine where source_system = 'csv' order by line_number",
    )
    messy_lines = (FIXTURES / MESSY).read_text().splitlines()
    assert [q[2] for q in quarantine] == [3, 4, 5, 6, 8, 14, 16, 17, 18]
    for table, source_file, line, reason, original, batch in quarantine:
        assert (table, source_file, original, batch) == (
            "trial_balance", MESSY, messy_lines[line - 1], by_name[MESSY].batch_id,
        )  # fmt: skip
        assert reason
    assert quarantine[0][3] == "missing account code"

    landed = _query(
        zone,
        "select file_name, size_bytes, rows_read, rows_loaded, rows_quarantined, status, "
        "delimiter, decimal_separator from ops.landed_files order by file_name",
    )
    assert landed == [
        (ACME, (FIXTURES / ACME).stat().st_size, 6, 6, 0, "loaded", ",", "."),
        (GLOBEX, (FIXTURES / GLOBEX).stat().st_size, 5, 5, 0, "loaded", ";", ","),
        (MESSY, (FIXTURES / MESSY).stat().st_size, 15, 6, 9, "partial", ",", "."),
    ]
    jobs = _query(
        zone,
        "select status, records_processed, records_inserted, records_quarantined, dagster_run_id "
        "from ops.sync_jobs where source_system = 'csv' order by records_processed",
    )
    assert jobs == [("success", 5, 5, 0, "run-1"), ("success", 6, 6, 0, "run-1"),
                    ("success", 15, 6, 9, "run-1")]  # fmt: skip

    assert landing_files(zone) == []
    for landed_file in report.loaded:
        assert landed_file.archived_path is not None and landed_file.parquet_path is not None
        assert landed_file.archived_path.parent.parent == landing_dir(zone) / "archive"
        assert (
            landed_file.archived_path.read_bytes()
            == (FIXTURES / landed_file.file_name).read_bytes()
        )
        table = pq.read_table(landed_file.parquet_path)
        assert table.num_rows == landed_file.rows_loaded
        assert str(landed_file.parquet_path).startswith(str(zone.processed_dir))
    acme = pq.read_table(by_name[ACME].parquet_path).to_pylist()
    assert {r["account_code"]: r["balance"] for r in acme}["4000"] == Decimal("-60000.00")
    assert acme[0]["period"] == date(2026, 1, 1)


def test_a_european_export_lands_whole_with_its_number_format_recorded(zone: Settings) -> None:
    _drop(zone, EUROPEAN)

    [landed] = load_landing_zone(zone, zone.warehouse_url, run_id="run-eu").loaded

    assert (landed.rows_read, landed.rows_loaded, landed.rows_quarantined) == (4, 4, 0)
    assert _query(
        zone,
        "select delimiter, decimal_separator, status from ops.landed_files where file_name = %s",
        EUROPEAN,
    ) == [(";", ",", "loaded")]
    assert _query(
        zone,
        "select account_code, debit, credit from raw.csv_trial_balance order by account_code",
    ) == [
        ("1000", Decimal("12345"), Decimal(0)),
        ("1200", Decimal("1234.56"), Decimal(0)),
        ("1300", Decimal("0.44"), Decimal(0)),
        ("4000", Decimal(0), Decimal("13580")),
    ]


def test_the_same_bytes_under_another_name_are_archived_but_not_loaded(zone: Settings) -> None:
    _drop(zone, ACME)
    load_landing_zone(zone, zone.warehouse_url)
    state = "select count(*), max(_raw_id), max(_ingested_at) from raw.csv_trial_balance"
    before = _query(zone, state)
    copy = _drop(zone, ACME, "acme_january_again.csv")
    with connect(zone.warehouse_url, autocommit=True) as conn:
        assert pending_files(zone, conn) == []

    report = load_landing_zone(zone, zone.warehouse_url)

    assert report.loaded == []
    (duplicate,) = report.duplicates
    assert (duplicate.file_name, duplicate.duplicate_of) == ("acme_january_again.csv", ACME)
    assert duplicate.archived_path is not None and duplicate.archived_path.exists()
    assert not copy.exists()
    assert _query(zone, state) == before
    assert _query(zone, "select count(*) from ops.landed_files") == [(1,)]


def test_a_corrected_file_replaces_the_lines_of_its_entity_and_period(zone: Settings) -> None:
    _drop(zone, ACME)
    load_landing_zone(zone, zone.warehouse_url)
    corrected = (FIXTURES / ACME).read_bytes().decode("cp1252")
    for old, new in (('"48,250.75"', '"18,250.75"'), ('"50,000.00"', '"20,000.00"')):
        corrected = corrected.replace(old, new)
    corrected = "\r\n".join(line for line in corrected.split("\r\n") if not line.startswith("3000"))
    (landing_dir(zone) / "acme_2026-01_v2.csv").write_bytes(corrected.encode("cp1252"))

    (result,) = load_landing_zone(zone, zone.warehouse_url).loaded

    assert (result.rows_loaded, result.inserted, result.updated, result.replaced) == (5, 0, 5, 1)
    live = _query(
        zone,
        "select account_code, balance, file_name from raw.csv_trial_balance "
        "where _deleted_at is null order by account_code",
    )
    assert [(code, balance) for code, balance, _ in live] == [
        ("1000", Decimal("12500.00")),
        ("1200", Decimal("18250.75")),
        ("2000", Decimal("-20750.75")),
        ("4000", Decimal("-60000.00")),
        ("5000", Decimal("20000.00")),
    ]
    assert {name for _, _, name in live} == {"acme_2026-01_v2.csv"}
    assert _query(
        zone, "select account_code from raw.csv_trial_balance where _deleted_at is not null"
    ) == [("3000",)]


def test_a_failure_inside_a_file_load_leaves_no_trace_and_the_file_in_place(zone: Settings) -> None:
    path = _drop(zone, MESSY)
    load_landing_zone(zone, zone.warehouse_url)  # creates the raw table
    with connect(zone.warehouse_url) as conn:
        conn.execute("delete from raw.csv_trial_balance")
        conn.execute("delete from ops.landed_files")
        conn.execute("delete from ops.quarantine where source_system = 'csv'")
        conn.execute("alter table raw.csv_trial_balance add check (account_code <> '5000')")
    shutil.copy(FIXTURES / MESSY, path)

    with pytest.raises(psycopg.errors.CheckViolation):
        load_landing_zone(zone, zone.warehouse_url)

    assert path.exists()
    assert _query(zone, "select count(*) from raw.csv_trial_balance") == [(0,)]
    assert _query(zone, "select count(*) from ops.landed_files") == [(0,)]
    assert _query(zone, "select count(*) from ops.quarantine where source_system = 'csv'") == [(0,)]
    assert _query(
        zone,
        "select status from ops.sync_jobs where source_system = 'csv' order by id desc limit 1",
    ) == [("failed",)]


def test_a_file_loaded_but_not_archived_is_finished_without_loading_it_twice(
    zone: Settings,
) -> None:
    path = _drop(zone, GLOBEX)
    extract = parse_file(path)
    records = list(extract.records)
    rows = [r for r in records if not isinstance(r, Rejected)]
    with connect(zone.warehouse_url, autocommit=True) as conn:
        land_file(conn, extract.details, rows, [], batch_id=str(uuid.uuid4()))
        assert pending_files(zone, conn) == []  # the process "crashes" here, before archiving

    report = load_landing_zone(zone, zone.warehouse_url)

    assert (report.loaded, report.resumed) == ([], [GLOBEX])
    assert not path.exists()
    assert _query(zone, "select count(*) from raw.csv_trial_balance") == [(5,)]
    archived, parquet = _query(zone, "select archived_path, parquet_path from ops.landed_files")[0]
    assert Path(archived).read_bytes() == (FIXTURES / GLOBEX).read_bytes()
    assert pq.read_table(parquet).num_rows == 5


def test_finalizing_keeps_the_name_and_numbers_it_when_the_archive_has_it(zone: Settings) -> None:
    first, second = _drop(zone, ACME), None
    with connect(zone.warehouse_url, autocommit=True) as conn:
        archived_first, _ = finalize_file(zone, conn, first, [], "0" * 64)
        second = _drop(zone, ACME)
        archived_second, parquet = finalize_file(zone, conn, second, [], "1" * 64)
    assert archived_first.name == ACME
    assert archived_second.name == "acme_2026-01_cp1252-1.csv"
    assert archived_second.parent == archived_first.parent
    assert pq.read_table(parquet).num_rows == 0
