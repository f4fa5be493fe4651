"""Resources shared by every Aura asset."""

from datetime import date, datetime, time, timedelta

import dagster as dg
from pydantic import model_validator

from aura_platform.settings import Settings
from aura_platform.warehouse.bootstrap import prepare_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The Aura warehouse: resolves settings and makes sure the server is up and migrated.

    Configuration stays in the environment (``Settings``) so the CLI, dbt and Dagster agree on it.
    """

    def settings(self) -> Settings:
        return Settings.from_env()

    def url(self) -> str:
        """The warehouse URL, after starting (embedded) and migrating the warehouse if needed."""
        return prepare_warehouse(self.settings())


class BackfillWindow(dg.ConfigurableResource):
    """An optional date range that turns a run's raw syncs into backfills of exactly that range.

    Unset (the main job, the nightly schedule, the UI's Materialize) every sync is incremental.
    Set in run config, one value for the whole selection, so one run backfills any set of raw
    tables and can rebuild what is downstream of them:
    ``{"resources": {"backfill": {"config": {"start": "2025-11-10", "end": "2025-11-16"}}}}``.
    The raw assets stay unpartitioned on purpose: a run that is not a backfill covers the whole
    table, and partitions would show it as hundreds of never-materialised days.
    """

    start: str | None = None  # ISO day, included
    end: str | None = None  # ISO day, included; defaults to start

    @model_validator(mode="after")
    def _a_range(self) -> "BackfillWindow":
        """Bad dates fail when the run is launched, not half-way through a selection."""
        if self.end and not self.start:
            raise ValueError("backfill: end without start")
        window = self.window()
        if window and window[1] <= window[0]:
            raise ValueError(f"backfill: end {self.end} is before start {self.start}")
        return self

    def window(self) -> tuple[datetime, datetime] | None:
        """The range as a half-open naive-UTC cursor window [start 00:00, day after end 00:00)."""
        if not self.start:
            return None
        first = date.fromisoformat(self.start)
        last = date.fromisoformat(self.end) if self.end else first
        return datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())


defs = dg.Definitions(resources={"warehouse": WarehouseResource(), "backfill": BackfillWindow()})
