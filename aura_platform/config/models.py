"""Pydantic models of ``assets_config/*.yaml``: what may be configured, validated at load."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _identifier(value: str) -> str:
    """Names from configuration end up in SQL; only plain lower-case identifiers are allowed."""
    if not IDENTIFIER.match(value) or len(value) > 63:
        raise ValueError(f"{value!r} is not a valid identifier (^[a-z_][a-z0-9_]*$, max 63)")
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableConfig(_Strict):
    """One source table and how to sync it."""

    description: str = ""
    primary_key: list[Identifier] = Field(default_factory=lambda: ["id"], min_length=1)
    cursor: Identifier | None = None
    lookback_minutes: int = Field(default=60, ge=0)
    full_refresh: bool = False
    reconcile_deletes: bool = True
    model: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_.]*$")  # Odoo API model name


Transport = Literal["sql", "odoo_xmlrpc", "odoo_json2", "apn_files", "mongo", "csv_landing"]
EnvName = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
_NEEDS_CONNECTION: set[str] = {"sql", "odoo_xmlrpc", "odoo_json2", "mongo"}
_NEEDS_FOLDER: set[str] = {"apn_files", "csv_landing"}


class SourceConfig(_Strict):
    """A source system: its transport, where its connection comes from, and its tables.

    Secrets are never written here: ``*_env`` fields name the environment variables holding them.
    """

    description: str = ""
    transport: Transport
    connection_env: EnvName | None = None
    database_env: EnvName | None = None  # Odoo API: database name
    username_env: EnvName | None = None  # Odoo XML-RPC: login
    secret_env: EnvName | None = None  # Odoo API: password or API key
    folder: str | None = Field(default=None, pattern=r"^[a-z0-9_/.-]+$")  # under AURA_DATA_DIR
    owners: list[str] = Field(default_factory=list)
    partitions_start: date | None = None  # daily backfill partitions on the cursor from this day
    tables: dict[Identifier, TableConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _transport_needs(self) -> SourceConfig:
        """Each transport's required settings are present, so a bad file fails at load."""
        if self.transport in _NEEDS_CONNECTION and not self.connection_env:
            raise ValueError(f"transport {self.transport} needs connection_env")
        if self.transport in _NEEDS_FOLDER and not self.folder:
            raise ValueError(f"transport {self.transport} needs folder")
        if self.transport.startswith("odoo_") and not (self.database_env and self.secret_env):
            raise ValueError(f"transport {self.transport} needs database_env and secret_env")
        if self.transport == "odoo_xmlrpc" and not self.username_env:
            raise ValueError("transport odoo_xmlrpc needs username_env")
        return self


class SourcesFile(_Strict):
    sources: dict[Identifier, SourceConfig]


class ExpectationConfig(_Strict):
    """One GX expectation by its snake_case name, e.g. ``expect_column_values_to_be_unique``."""

    expectation: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)


class SuiteConfig(_Strict):
    """A Great Expectations suite guarding one table, run as a Dagster asset check."""

    asset: str = Field(pattern=r"^[a-z_][a-z0-9_]*(/[a-z_][a-z0-9_]*)+$")
    table: str = Field(pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
    severity: Literal["ERROR", "WARN"] = "ERROR"
    key_columns: list[Identifier] = Field(default_factory=list)
    expectations: list[ExpectationConfig] = Field(min_length=1)

    @property
    def schema_name(self) -> str:
        return self.table.split(".")[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".")[1]


class EmbeddingTableConfig(_Strict):
    """A core table to embed: where its rows are and which columns make each text type."""

    source: str = Field(pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
    id_column: Identifier
    description: str = ""
    texts: dict[Literal["identity", "context"], list[Identifier]] = Field(min_length=1)

    @property
    def schema_name(self) -> str:
        return self.source.split(".")[0]

    @property
    def table_name(self) -> str:
        return self.source.split(".")[1]


class EmbeddingsFile(_Strict):
    tables: dict[Identifier, EmbeddingTableConfig] = Field(min_length=1)
