"""`aura backup` and `aura restore` against the test warehouse: round trip, safety, retention."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from psycopg import sql

from aura_platform.cli.main import main
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration

SCHEMAS = ["raw", "core", "ops", "search"]
DUMP_NAME = re.compile(r"^aura-aura-\d{8}T\d{6}Z\.dump$")


def _row_counts(url: str) -> dict[str, int]:
    """Rows of every table in Aura's schemas: what a restore must bring back."""
    with connect(url) as conn:
        tables = conn.execute(
            "select schemaname, tablename from pg_tables where schemaname = any(%s)", (SCHEMAS,)
        ).fetchall()
        return {
            f"{schema}.{table}": conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
            ).fetchone()[0]  # type: ignore[index]
            for schema, table in tables
        }


def _execute(url: str, *statements: str) -> None:
    with connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def test_a_restore_brings_back_every_table_and_row_after_a_backup(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = settings.warehouse_url
    _execute(
        url,
        "drop table if exists raw.backup_probe, raw.backup_dropped, raw.backup_created_later",
        "create table raw.backup_probe (id integer primary key, name text)",
        "insert into raw.backup_probe select g, 'row ' || g from generate_series(1, 25) g",
        "create table raw.backup_dropped as select g as id from generate_series(1, 7) g",
        "insert into ops.quarantine (source_system, source_table, reason, original_payload) "
        "values ('backup_test', 'backup_probe', 'kept by the backup', '{}')",
    )
    before = _row_counts(url)
    assert before["raw.backup_probe"] == 25 and before["raw.backup_dropped"] == 7

    assert main(["backup", "--dir", str(tmp_path)]) == 0
    (dump,) = tmp_path.iterdir()
    assert DUMP_NAME.match(dump.name)
    assert dump.read_bytes()[:5] == b"PGDMP"
    assert f"backup written: {dump}" in capsys.readouterr().out

    _execute(
        url,
        "delete from raw.backup_probe where id > 5",
        "drop table raw.backup_dropped",
        "delete from ops.quarantine where source_system = 'backup_test'",
        "create table raw.backup_created_later (id integer)",
    )
    damaged = _row_counts(url)
    assert damaged != before

    # No terminal and no --yes: refused, nothing touched.
    assert main(["restore", str(dump)]) == 2
    assert "--yes" in capsys.readouterr().err
    # A damaged file: rolled back, nothing touched.
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(dump.read_bytes()[:-100])
    assert main(["restore", str(truncated), "--yes"]) == 2
    assert "nothing changed" in capsys.readouterr().err
    assert _row_counts(url) == damaged

    assert main(["restore", str(dump), "--yes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"restored {dump} (") and "raw" in out
    assert _row_counts(url) == before
    _execute(
        url,
        "drop table raw.backup_probe, raw.backup_dropped",
        "delete from ops.quarantine where source_system = 'backup_test'",
    )


def test_backups_keep_the_last_n_and_leave_other_files_alone(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    others = [tmp_path / "notes.txt", tmp_path / "aura-otherdb-20200101T000000Z.dump"]
    for path in others:
        path.write_text("not ours to delete")
    for _ in range(3):
        assert main(["backup", "--dir", str(tmp_path), "--keep", "1"]) == 0
    dumps = sorted(p.name for p in tmp_path.iterdir() if DUMP_NAME.match(p.name))
    assert len(dumps) == 1
    assert all(path.read_text() == "not ours to delete" for path in others)
    removed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("removed")]
    assert len(removed) == 2 and dumps[0] not in "".join(removed)
