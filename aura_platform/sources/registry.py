"""The one table of transports: everything Aura knows about each way of reaching a source.

A transport is a module of ``aura_platform.sources`` that provides four functions (the
``TransportModule`` protocol): how a configured source opens, which secrets its errors could
echo, how ``aura doctor`` checks it, and which of its errors are permanent. ``TRANSPORTS``
names that module and says what else the platform needs to know: the Dagster kind of its raw
assets, whether it offers the COPY fast path, and whether ``sync_table`` loads it. Health,
fault classification, secret masking and asset kinds all read this table; adding a transport
is one module plus one entry here (see "Adding a transport" in ``docs/ingestion.md``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol, cast

from aura_platform.config.models import SourceConfig, SourcesFile
from aura_platform.settings import Settings
from aura_platform.sources.base import CopySource, RowSource, SourceConfigError, env_value
from aura_platform.sources.probing import Outcome

__all__ = ["TRANSPORTS", "SourceConfigError", "Transport", "TransportModule", "transport"]


class TransportModule(Protocol):
    """What a transport's module provides (as module-level functions)."""

    def open_source(
        self, name: str, config: SourceConfig, settings: Settings
    ) -> CopySource | RowSource:
        """The connector for one configured source; nothing is connected until it is read."""
        ...

    def source_secrets(self, config: SourceConfig, settings: Settings) -> list[str]:
        """URLs and secrets of this source beyond the warehouse URL and ``secret_env``."""
        ...

    def check_health(self, config: SourceConfig, settings: Settings) -> Outcome:
        """Status and one-line reason for ``aura doctor``, bounded by a short timeout."""
        ...

    def is_permanent(self, error: BaseException) -> bool:
        """Whether retrying ``error`` (one of this transport's) could only repeat it."""
        ...


@dataclass(frozen=True)
class Transport:
    """One transport's entry: its module and what the platform needs to know about it."""

    module: str  # under aura_platform.sources; imported on first use (pymongo is not cheap)
    kind: str  # the Dagster kind its raw assets show, next to "postgres"
    copy: bool = False  # a CopySource: COPY straight into the warehouse, no rows in Python
    synced: bool = True  # loaded by sync_table; False: by its own asset (the landing zone)

    @property
    def impl(self) -> TransportModule:
        return cast(
            TransportModule, importlib.import_module(f"aura_platform.sources.{self.module}")
        )


TRANSPORTS: dict[str, Transport] = {
    "sql": Transport("postgres", kind="postgres", copy=True),
    "odoo_xmlrpc": Transport("odoo_rpc", kind="python"),
    "odoo_json2": Transport("odoo_rpc", kind="python"),
    "apn_files": Transport("apn_files", kind="json"),
    "mongo": Transport("mongo", kind="mongodb"),
    "csv_landing": Transport("csv_trial_balance", kind="csv", synced=False),
}


def transport(config: SourceConfig) -> Transport:
    """The entry of a configured source's transport."""
    return TRANSPORTS[config.transport]


def open_source(name: str, config: SourceConfig, settings: Settings) -> CopySource | RowSource:
    """The connector for one configured source (nothing is connected until it is read)."""
    return transport(config).impl.open_source(name, config, settings)


def source_secrets(config: SourceConfig, settings: Settings) -> list[str]:
    """Every URL and secret a source's errors could contain, so they can be masked."""
    secrets = [settings.warehouse_url, env_value(config.secret_env) or ""]
    secrets += transport(config).impl.source_secrets(config, settings)
    return [s for s in secrets if s]


def check_health(config: SourceConfig, settings: Settings) -> Outcome:
    """The source's health, checked the way its connector reaches it."""
    return transport(config).impl.check_health(config, settings)


def known_secrets(settings: Settings, sources: SourcesFile) -> list[str]:
    """Every URL and secret that an error message could echo back."""
    urls = (settings.dagster_pg_url, settings.odoo_url, settings.apn_url, settings.mongo_url)
    secrets = [settings.warehouse_url, *(url for url in urls if url)]
    for config in sources.sources.values():
        secrets += source_secrets(config, settings)
    return secrets
