"""One call that makes the warehouse usable: server up, databases present, migrations applied."""

from __future__ import annotations

from aura_platform.settings import DAGSTER_DB, WAREHOUSE_DB, Settings
from aura_platform.warehouse import embedded
from aura_platform.warehouse.connection import ensure_database
from aura_platform.warehouse.migrate import apply_migrations

_prepared: set[str] = set()


def prepare_warehouse(settings: Settings) -> str:
    """Start (embedded only), create the warehouse and Dagster databases, migrate; return the URL.

    Cheap after the first call in a process, so every entry point may call it.
    """
    url = settings.warehouse_url
    if url in _prepared:
        return url
    if settings.embedded:
        embedded.ensure_started(settings)
        ensure_database(settings, WAREHOUSE_DB)
        if settings.dagster_pg_url_override is None:
            ensure_database(settings, DAGSTER_DB)
    apply_migrations(url)
    _prepared.add(url)
    return url
