"""Pydantic models of ``assets_config/*.yaml``: what may be configured, validated at load."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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


class SourceConfig(_Strict):
    """A source system: its transport, where its connection comes from, and its tables."""

    description: str = ""
    transport: Literal["sql"]
    connection_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    owners: list[str] = Field(default_factory=list)
    tables: dict[Identifier, TableConfig] = Field(min_length=1)


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
