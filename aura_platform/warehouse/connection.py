"""Connections to the warehouse and its sibling databases."""

from __future__ import annotations

import psycopg
from psycopg import sql

from aura_platform.settings import Settings, with_database
from aura_platform.warehouse import embedded


def connect(url: str, *, autocommit: bool = False, read_only: bool = False) -> psycopg.Connection:
    """Open a psycopg 3 connection; ``read_only`` makes every transaction READ ONLY (sources).

    Sessions run in UTC: Odoo's cursors are naive UTC timestamps, and comparing them with a
    ``timestamptz`` cursor (APN) must not depend on the server's time zone.
    """
    conn = psycopg.connect(
        url, autocommit=autocommit, application_name="aura", options="-c TimeZone=UTC"
    )
    if read_only:
        conn.read_only = True
    return conn


def ensure_database(settings: Settings, database: str) -> str:
    """Create ``database`` on the warehouse server if missing; return its URL."""
    url = embedded.ensure_started(settings)
    with connect(with_database(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    return settings.database_url(database)


def drop_database(settings: Settings, database: str) -> None:
    """Drop ``database`` (closing its connections first); used to rebuild demo sources.

    Its replication slots (CDC tables) go first: PostgreSQL refuses to drop a database that
    has any, and they would mean nothing for the database rebuilt in its place.
    """
    url = embedded.ensure_started(settings)
    with connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(active_pid) from pg_replication_slots "
            "where database = %s and active_pid is not null",
            (database,),
        )
        conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
            "where database = %s",
            (database,),
        )
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database))
        )
