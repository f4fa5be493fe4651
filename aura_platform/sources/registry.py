"""Configured source -> connector object. The only place that knows every transport."""

from __future__ import annotations

import contextlib
import os

from aura_platform.config.models import SourceConfig, SourcesFile
from aura_platform.settings import Settings, SourceNotConfigured
from aura_platform.sources.base import RowSource
from aura_platform.sources.sql_database import SqlSource


class SourceConfigError(RuntimeError):
    """A source's environment is incomplete (a named variable is not set)."""


def _env(name: str | None) -> str | None:
    return os.environ.get(name) if name else None


def _required(name: str | None, source: str) -> str:
    value = _env(name)
    if not value:
        raise SourceConfigError(f"source {source}: environment variable {name} is not set")
    return value


def open_source(name: str, config: SourceConfig, settings: Settings) -> SqlSource | RowSource:
    """The connector for one configured source (nothing is connected until it is read)."""
    if config.transport == "sql":
        assert config.connection_env is not None
        return SqlSource(settings.source_url(config.connection_env))
    if config.transport in ("odoo_xmlrpc", "odoo_json2"):
        from aura_platform.sources.odoo_rpc import OdooRpcSource

        secret = _required(config.secret_env, name)
        json2 = config.transport == "odoo_json2"
        return OdooRpcSource(
            _required(config.connection_env, name),
            _required(config.database_env, name),
            username=_env(config.username_env),
            password=None if json2 else secret,
            api_key=secret if json2 else None,
            protocol="json2" if json2 else "xmlrpc",
            models={t: c.model for t, c in config.tables.items() if c.model},
        )
    if config.transport == "apn_files":
        from aura_platform.sources.apn_files import ApnFiles

        assert config.folder is not None
        return ApnFiles(settings.data_dir / config.folder)
    if config.transport == "mongo":
        from aura_platform.sources.mongo import MongoSource, mongo_client

        assert config.connection_env is not None
        return MongoSource(mongo_client(settings.source_url(config.connection_env)))
    raise ValueError(f"source {name}: transport {config.transport} has no row connector")


def source_secrets(config: SourceConfig, settings: Settings) -> list[str]:
    """Every URL and secret a source's errors could contain, so they can be masked."""
    secrets = [settings.warehouse_url, _env(config.secret_env) or ""]
    if config.transport in ("sql", "mongo") and config.connection_env:
        # Unset: nothing to leak, and opening the source says what is missing.
        with contextlib.suppress(SourceNotConfigured):
            secrets.append(settings.source_url(config.connection_env))
    elif config.connection_env:
        secrets.append(_env(config.connection_env) or "")
    return [s for s in secrets if s]


def known_secrets(settings: Settings, sources: SourcesFile) -> list[str]:
    """Every URL and secret that an error message could echo back."""
    urls = (settings.dagster_pg_url, settings.odoo_url, settings.apn_url, settings.mongo_url)
    secrets = [settings.warehouse_url, *(url for url in urls if url)]
    for config in sources.sources.values():
        try:
            secrets += source_secrets(config, settings)
        except KeyError:  # a SQL source without URL has nothing to leak
            continue
    return secrets
