"""The CSV landing zone: every trial-balance file dropped in ``data/raw/`` is loaded once.

The zone is the ``csv_landing`` source of ``sources.yaml``: its name, its one table and its folder
(under ``AURA_DATA_DIR``) come from there, as ``csv/trial_balance`` and ``raw`` do in the shipped
file; the paths below are those.

A file is known by the SHA-256 of its bytes, recorded in ``ops.landed_files``: the same bytes
under another name are not loaded again but archived and reported as a duplicate. Each file is
loaded in one transaction: its good lines are upserted into ``raw.csv_trial_balance``, the lines
of the same entity and period that an earlier file had and this one lacks are tombstoned (a
corrected file replaces its predecessor), its bad lines go to ``ops.quarantine`` and the file is
recorded. Only after the commit is the file moved to ``data/raw/archive/<UTC date>/`` and its
good rows written to ``data/processed/trial_balance/`` as Parquet. A crash before the commit loads
nothing; a crash after it leaves a file whose checksum is loaded but not archived, which the next
run finishes without loading it again.

Files should be dropped atomically (written elsewhere, then moved in); only ``.csv``, ``.tsv`` and
``.txt`` files directly in the folder are considered, so ``.part`` files and the archive are not.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

from aura_platform.config.loader import landing_dir, load_sources
from aura_platform.ingest import loading
from aura_platform.ingest.audit import SyncOutcome, close_sync_job, fail_sync_job, open_sync_job
from aura_platform.ingest.sync import TableSync
from aura_platform.settings import Settings
from aura_platform.sources import csv_trial_balance
from aura_platform.sources.base import Column, Extract, Rejected
from aura_platform.warehouse.connection import connect

RAW_SCHEMA = "raw"
LANDING_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
_LOCK_KEY = 0x4C414E44  # "LAND": one file at a time, so replacements and table creation never race

_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.int32(),
    "date": pa.date32(),
    "numeric": pa.decimal128(38, csv_trial_balance.AMOUNT_SCALE),
}

Status = Literal["loaded", "partial", "rejected", "empty"]


@dataclass(frozen=True)
class LandedFile:
    """One file loaded: its counts in ``raw`` and quarantine, and where it went afterwards."""

    file_name: str
    checksum: str
    batch_id: str
    status: Status
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    inserted: int
    updated: int
    replaced: int
    archived_path: Path | None = None
    parquet_path: Path | None = None


@dataclass(frozen=True)
class DuplicateFile:
    """A file whose bytes were already loaded under ``duplicate_of``; archived, not loaded."""

    file_name: str
    checksum: str
    duplicate_of: str
    archived_path: Path | None


@dataclass
class LandingReport:
    """What one pass over the landing zone did."""

    loaded: list[LandedFile] = field(default_factory=list)
    duplicates: list[DuplicateFile] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.loaded)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.loaded)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.loaded)


def landing_zone() -> TableSync:
    """The ``csv_landing`` source of ``sources.yaml`` and its one table, named as every raw table.

    Its folder is ``config.loader.landing_dir``, read from the same entry.
    """
    name, source = load_sources().landing_source()
    ((table_name, table),) = source.tables.items()
    return TableSync(name, source, table_name, table)


def landing_files(settings: Settings) -> list[Path]:
    """Candidate files in the landing folder, oldest first so a correction follows its original."""
    folder = landing_dir(settings)
    if not folder.is_dir():
        return []
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in LANDING_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def land_file(
    conn: psycopg.Connection,
    details: dict[str, Any],
    rows: Sequence[Sequence[Any]],
    rejected: Sequence[Rejected],
    *,
    batch_id: str,
) -> LandedFile | None:
    """Load one parsed file in one transaction; ``None`` if its checksum was already loaded.

    Args:
        conn: an autocommit warehouse connection; the transaction is opened here.
        details: the ``Extract.details`` of ``csv_trial_balance.parse_bytes``.
        rows: the file's good rows, in ``csv_trial_balance.COLUMNS`` order.
        rejected: the file's rejected lines.
        batch_id: the sync batch recorded on the rows, the quarantine and the landed file.
    """
    columns = csv_trial_balance.COLUMNS
    status = _status(len(rows), len(rejected))
    zone = landing_zone()
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        recorded = conn.execute(
            """
            insert into ops.landed_files (file_name, checksum, size_bytes, rows_read, rows_loaded,
                rows_quarantined, status, sync_batch_id, delimiter, decimal_separator)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (checksum) do nothing
            returning id
            """,
            (
                details["file_name"],
                details["file_checksum"],
                details["size_bytes"],
                len(rows) + len(rejected),
                len(rows),
                len(rejected),
                status,
                batch_id,
                details.get("delimiter"),
                details.get("decimal_separator"),
            ),
        ).fetchone()
        if recorded is None:
            return None
        loading.ensure_raw_table(
            conn, RAW_SCHEMA, zone.raw_table, columns, csv_trial_balance.PRIMARY_KEY
        )
        stage = loading.create_stage(conn, zone.raw_table, columns)
        loading.copy_rows_into(conn, stage, columns, rows)
        counts = loading.upsert_stage(
            conn,
            schema=RAW_SCHEMA,
            table=zone.raw_table,
            stage=stage,
            columns=columns,
            primary_key=csv_trial_balance.PRIMARY_KEY,
            source_system=zone.source_name,
            batch_id=batch_id,
        )
        replaced = _tombstone_replaced_lines(conn, zone.raw_table, stage)
        loading.quarantine_records(
            conn,
            rejected,
            source_system=zone.source_name,
            source_table=zone.table_name,
            batch_id=batch_id,
        )
    return LandedFile(
        file_name=details["file_name"],
        checksum=details["file_checksum"],
        batch_id=batch_id,
        status=status,
        rows_read=len(rows) + len(rejected),
        rows_loaded=len(rows),
        rows_quarantined=len(rejected),
        inserted=counts.inserted,
        updated=counts.updated,
        replaced=replaced,
    )


def finalize_file(
    settings: Settings,
    conn: psycopg.Connection,
    path: Path,
    rows: Sequence[Sequence[Any]],
    checksum: str,
) -> tuple[Path, Path]:
    """After the load committed: write the good rows as Parquet, archive the file, record both.

    ``conn`` is an autocommit connection. Safe to repeat after a crash: the Parquet file is named
    by the checksum and replaced whole.

    Returns:
        The archived file's path and the Parquet file's path.
    """
    folder = settings.processed_dir / landing_zone().table_name
    parquet_path = folder / f"{path.stem}.{checksum[:16]}.parquet"
    write_parquet(rows, csv_trial_balance.COLUMNS, parquet_path)
    archived = _archive(settings, path)
    conn.execute(
        "update ops.landed_files set archived_path = %s, parquet_path = %s where checksum = %s",
        (str(archived), str(parquet_path), checksum),
    )
    return archived, parquet_path


def write_parquet(rows: Sequence[Sequence[Any]], columns: Sequence[Column], path: Path) -> None:
    """Write rows to a Parquet file atomically, typed like their raw columns."""
    schema = pa.schema([(c.name, _ARROW_TYPES[c.pg_type]) for c in columns])
    table = pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows], schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)


def load_landing_zone(
    settings: Settings,
    url: str,
    run_id: str | None = None,
    *,
    default_currency: str = "USD",
) -> LandingReport:
    """Load every new file of the landing zone, archive it, and report what happened.

    Each file gets its own sync batch and ``ops.sync_jobs`` row. Files are taken oldest first,
    so a corrected trial balance dropped after the original replaces it.

    Args:
        settings: where the landing, archive and processed folders are.
        url: the warehouse.
        run_id: the Dagster run, recorded on the sync jobs.
        default_currency: ISO code for files without a currency column.
    """
    report = LandingReport()
    with connect(url, autocommit=True) as conn:
        for path in landing_files(settings):
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # taken by a concurrent run since the folder was listed
                continue
            checksum = csv_trial_balance.file_checksum(data)
            landed = _landed(conn, checksum)
            if landed is not None and landed[1] is not None:
                archived = _archive(settings, path)
                report.duplicates.append(DuplicateFile(path.name, checksum, landed[0], archived))
                continue
            extract = csv_trial_balance.parse_bytes(
                path.name, data, default_currency=default_currency
            )
            rows, rejected = _split(extract)
            if landed is not None:  # loaded by a run that stopped before archiving
                finalize_file(settings, conn, path, rows, checksum)
                report.resumed.append(path.name)
                continue
            result = _load_with_audit(conn, url, extract, rows, rejected, run_id)
            if result is None:  # another process loaded the same bytes meanwhile; it archives
                first = _landed(conn, checksum)
                name = first[0] if first else path.name
                report.duplicates.append(DuplicateFile(path.name, checksum, name, None))
                continue
            archived, parquet = finalize_file(settings, conn, path, rows, checksum)
            report.loaded.append(replace(result, archived_path=archived, parquet_path=parquet))
    return report


def _load_with_audit(
    conn: psycopg.Connection,
    url: str,
    extract: Extract,
    rows: list[Sequence[Any]],
    rejected: list[Rejected],
    run_id: str | None,
) -> LandedFile | None:
    """``land_file`` inside an ``ops.sync_jobs`` record, failed or closed with the file's counts."""
    batch_id = str(uuid.uuid4())
    zone = landing_zone()
    job_id = open_sync_job(
        url,
        batch_id=batch_id,
        source_system=zone.source_name,
        source_table=zone.table_name,
        target_table=f"{RAW_SCHEMA}.{zone.raw_table}",
        sync_mode="incremental",
        watermark_before=None,
        config=extract.details,
        run_id=run_id,
        asset_key=zone.asset_key,
    )
    try:
        result = land_file(conn, extract.details, rows, rejected, batch_id=batch_id)
    except Exception as exc:
        fail_sync_job(url, job_id, exc, secrets=[url])
        raise
    outcome = SyncOutcome(
        processed=result.rows_read if result else 0,
        inserted=result.inserted if result else 0,
        updated=result.updated if result else 0,
        deleted=result.replaced if result else 0,
        quarantined=result.rows_quarantined if result else 0,
        details={} if result else {"skipped": "checksum loaded by another process"},
    )
    close_sync_job(url, job_id, outcome)
    return result


def _split(extract: Extract) -> tuple[list[Sequence[Any]], list[Rejected]]:
    """Good rows and rejections apart: both are needed whole, for COPY and for Parquet."""
    rows: list[Sequence[Any]] = []
    rejected: list[Rejected] = []
    for record in extract.records:
        if isinstance(record, Rejected):
            rejected.append(record)
        else:
            rows.append(record)
    return rows, rejected


def _status(loaded: int, quarantined: int) -> Status:
    """One word for the file's outcome, for people scanning ``ops.landed_files``."""
    if loaded and quarantined:
        return "partial"
    if loaded:
        return "loaded"
    return "rejected" if quarantined else "empty"


def _landed(conn: psycopg.Connection, checksum: str) -> tuple[str, str | None] | None:
    """Name and archive path of the file loaded with these bytes, if any."""
    row = conn.execute(
        "select file_name, archived_path from ops.landed_files where checksum = %s", (checksum,)
    ).fetchone()
    return (row[0], row[1]) if row else None


def _tombstone_replaced_lines(conn: psycopg.Connection, raw_table: str, stage: str) -> int:
    """Mark gone the lines of the file's entities and periods that the file no longer has."""
    cursor = conn.execute(
        sql.SQL(
            """
            update {target} as t set _deleted_at = now()
            where t._deleted_at is null
              and (t.entity, t.period) in (select entity, period from {stage})
              and not exists (
                  select 1 from {stage} as s
                  where (s.entity, s.period, s.account_code)
                      = (t.entity, t.period, t.account_code)
              )
            """
        ).format(target=sql.Identifier(RAW_SCHEMA, raw_table), stage=sql.Identifier(stage))
    )
    return cursor.rowcount


def _archive(settings: Settings, path: Path) -> Path:
    """Move a file to ``archive/<UTC date>/`` under its name, numbered if the name is taken."""
    folder = landing_dir(settings) / "archive" / datetime.now(UTC).date().isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.stem}-{n}{path.suffix}"
        n += 1
    return path.rename(target)
