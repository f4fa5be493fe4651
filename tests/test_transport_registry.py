"""The transport registry: one entry per configurable transport, each module complete."""

from pathlib import Path
from typing import Any, get_args

import psycopg
import pytest
from pymongo.errors import OperationFailure

from aura_platform.config.models import SourceConfig, Transport
from aura_platform.ingest.faults import is_permanent
from aura_platform.settings import Settings
from aura_platform.sources.base import CopySource, SourceConfigError
from aura_platform.sources.odoo_rpc import OdooAuthError, OdooUnavailableError
from aura_platform.sources.registry import TRANSPORTS, open_source, source_secrets

TABLES = {"t": {"primary_key": ["id"]}}
CONFIGS: dict[str, dict[str, Any]] = {
    "sql": {"connection_env": "T_SRC_URL"},
    "odoo_xmlrpc": {"connection_env": "T_ODOO_URL", "database_env": "T_DB",
                    "username_env": "T_USER", "secret_env": "T_SECRET"},
    "odoo_json2": {"connection_env": "T_ODOO_URL", "database_env": "T_DB",
                   "secret_env": "T_SECRET"},
    "apn_files": {"folder": "apn_exports"},
    "mongo": {"connection_env": "AURA_MONGO_URL"},
    "csv_landing": {"folder": "raw"},
}  # fmt: skip


def _config(transport: str) -> SourceConfig:
    return SourceConfig.model_validate(
        {"transport": transport, "tables": TABLES, **CONFIGS[transport]}
    )


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "T_SRC_URL": "postgresql://reader:s3cret-url@db.example/src",
        "T_ODOO_URL": "https://aura:s3cret-url@erp.example",
        "T_DB": "erp",
        "T_USER": "aura",
        "T_SECRET": "s3cret-key",
    }.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env({"AURA_HOME": str(tmp_path), "AURA_DATA_DIR": str(tmp_path)})


def test_every_configurable_transport_has_one_entry_and_every_module_all_four_functions() -> None:
    assert set(TRANSPORTS) == set(get_args(Transport)) == set(CONFIGS)
    for entry in TRANSPORTS.values():
        for function in ("open_source", "source_secrets", "check_health", "is_permanent"):
            assert callable(getattr(entry.impl, function)), (entry.module, function)


@pytest.mark.parametrize("name", ["sql", "odoo_xmlrpc", "odoo_json2", "apn_files"])
def test_a_transport_offers_the_copy_fast_path_exactly_when_its_entry_says_so(
    name: str, settings: Settings
) -> None:
    connector = open_source("s", _config(name), settings)
    assert isinstance(connector, CopySource) is TRANSPORTS[name].copy


def test_only_the_landing_zone_is_loaded_outside_sync_table(settings: Settings) -> None:
    assert [n for n, t in TRANSPORTS.items() if not t.synced] == ["csv_landing"]
    with pytest.raises(ValueError, match="landing zone"):
        open_source("s", _config("csv_landing"), settings)


def test_secrets_are_the_warehouse_url_the_secret_and_what_the_transport_adds(
    settings: Settings,
) -> None:
    assert source_secrets(_config("odoo_json2"), settings) == [
        settings.warehouse_url,
        "s3cret-key",
        "https://aura:s3cret-url@erp.example",
    ]
    assert source_secrets(_config("apn_files"), settings) == [settings.warehouse_url]


def test_refusals_are_permanent_and_outages_are_not() -> None:
    assert is_permanent(SourceConfigError("source s: environment variable T is not set"))
    assert is_permanent(OdooAuthError("login refused"))
    assert is_permanent(OperationFailure("auth failed", code=18))
    assert is_permanent(psycopg.errors.InvalidPassword())
    assert not is_permanent(OperationFailure("interrupted", code=11601))
    assert not is_permanent(OdooUnavailableError("503"))
    assert not is_permanent(psycopg.OperationalError("connection reset by peer"))
