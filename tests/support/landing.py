"""What the landing zone still has to load, asked of ``ops.landed_files`` (tests only)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from aura_platform.ingest.landing import landing_files
from aura_platform.settings import Settings
from aura_platform.sources.csv_trial_balance import file_checksum


def pending_files(settings: Settings, conn: psycopg.Connection) -> list[Path]:
    """Landing files whose bytes were never loaded: what the sensor should still react to."""
    landed = {row[0] for row in conn.execute("select checksum from ops.landed_files").fetchall()}
    return [p for p in landing_files(settings) if file_checksum(p.read_bytes()) not in landed]
