"""What a transport's health check returns, and the helpers every check shares.

``aura doctor`` asks each transport (through the registry) how its source is; the answer is a
status and a one-line reason. These helpers keep the checks quick (a short connect timeout)
and their reasons short and alike.
"""

from __future__ import annotations

from typing import Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

Status = Literal["healthy", "degraded", "not configured", "down"]
Outcome = tuple[Status, str]

CONNECT_TIMEOUT = 3  # seconds; doctor must answer quickly even when a host drops packets
MAX_LISTED = 5


def one_line(exc: BaseException) -> str:
    """libpq and pymongo explain over several lines; the first one says what failed."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def count(n: int, noun: str) -> str:
    """``1 file``, ``2 files``: the table is read by people."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def listed(names: list[str]) -> str:
    """Long lists would drown the table; the first few and a count say enough."""
    shown = ", ".join(names[:MAX_LISTED])
    return f"{shown} and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else shown


def quick_connect(url: str, *, read_only: bool = False) -> psycopg.Connection:
    """A connection that gives up after ``CONNECT_TIMEOUT`` instead of libpq's default wait."""
    return connect(make_conninfo(url, connect_timeout=CONNECT_TIMEOUT), read_only=read_only)


def database_name(url: str) -> str:
    return str(conninfo_to_dict(url).get("dbname", ""))


def missing_database(settings: Settings, url: str) -> bool:
    """Whether ``url``'s database is absent from the reachable warehouse server.

    Tells "not created yet" (degraded, with a hint) from "server unreachable" for the databases
    Aura keeps next to the warehouse by default.
    """
    try:
        with quick_connect(settings.warehouse_url, read_only=True) as conn:
            found = conn.execute(
                "select 1 from pg_database where datname = %s", (database_name(url),)
            ).fetchone()
    except psycopg.Error:
        return False
    return found is None
