"""Pydantic models of ``assets_config/*.yaml``: what may be configured, validated at load."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from aura_platform.config.gx_catalog import load_catalog

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
    # Deletes are detected by the first sync this long after the last reconciliation (full
    # refreshes always reconcile); 0 = every sync. Less than a day, so a nightly run whose tables
    # start a little earlier than the night before still reconciles every night.
    reconcile_deletes_every: timedelta = Field(default=timedelta(hours=20), ge=timedelta(0))
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
    # Syncs of this source running at once across all runs (its Dagster pool source_<name>);
    # unset = the instance's default pool limit (dagster.yaml).
    max_connections: int | None = Field(default=None, ge=1, le=100)
    tables: dict[Identifier, TableConfig] = Field(min_length=1)
    # sql sources: cursor (read rows whose cursor moved, reconcile deletes on a cadence) or cdc
    # (logical replication: every insert, update and delete from the WAL, in commit order).
    mode: Literal["cursor", "cdc"] = "cursor"
    # cdc: `aura doctor` warns when a slot holds back more WAL than this, or was last
    # acknowledged longer ago (a forgotten slot keeps the source's WAL until its disk fills).
    slot_warn_bytes: int = Field(default=1 << 30, ge=0)
    slot_warn_age: timedelta = Field(default=timedelta(days=1), ge=timedelta(0))

    @model_validator(mode="after")
    def _transport_needs(self) -> SourceConfig:
        """Each transport's required settings are present, so a bad file fails at load."""
        if self.mode == "cdc" and self.transport != "sql":
            raise ValueError("mode cdc needs transport sql (PostgreSQL logical replication)")
        if self.transport in _NEEDS_CONNECTION and not self.connection_env:
            raise ValueError(f"transport {self.transport} needs connection_env")
        if self.transport in _NEEDS_FOLDER and not self.folder:
            raise ValueError(f"transport {self.transport} needs folder")
        if self.transport.startswith("odoo_") and not (self.database_env and self.secret_env):
            raise ValueError(f"transport {self.transport} needs database_env and secret_env")
        if self.transport == "odoo_xmlrpc" and not self.username_env:
            raise ValueError("transport odoo_xmlrpc needs username_env")
        if self.transport == "csv_landing" and len(self.tables) != 1:
            raise ValueError("transport csv_landing takes one table (its files' trial balances)")
        return self


class SourcesFile(_Strict):
    sources: dict[Identifier, SourceConfig]

    @model_validator(mode="after")
    def _one_landing_zone(self) -> SourcesFile:
        """The landing zone is one folder loaded under one lock, so one csv_landing source."""
        landing = [name for name, s in self.sources.items() if s.transport == "csv_landing"]
        if len(landing) > 1:
            raise ValueError(f"one csv_landing source at most, not {', '.join(landing)}")
        return self

    def landing_source(self) -> tuple[str, SourceConfig]:
        """The ``csv_landing`` source and its name: where the landing zone's files come from.

        Raises:
            LookupError: no source has transport ``csv_landing``.
        """
        for name, source in self.sources.items():
            if source.transport == "csv_landing":
                return name, source
        raise LookupError("sources.yaml declares no source with transport csv_landing")


class ExpectationConfig(_Strict):
    """One GX expectation by its snake_case name, e.g. ``expect_column_values_to_be_unique``."""

    expectation: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("expectation")
    @classmethod
    def _known_expectation(cls, name: str) -> str:
        """A typo would otherwise surface only when the check runs, after the load it guards."""
        catalog = load_catalog()
        if name not in catalog:
            close = difflib.get_close_matches(name, catalog, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown Great Expectations expectation {name!r}{hint}")
        return name

    @field_validator("kwargs")
    @classmethod
    def _known_arguments(cls, kwargs: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        spec = load_catalog().get(info.data.get("expectation", ""))
        if spec is None:  # the name itself failed; that error says enough
            return kwargs
        unknown = sorted(set(kwargs) - spec.arguments)
        if unknown:
            raise ValueError(
                f"{info.data['expectation']} takes no argument {', '.join(map(repr, unknown))} "
                f"(it takes: {', '.join(sorted(spec.arguments))})"
            )
        mostly = kwargs.get("mostly")
        if mostly is not None and (
            isinstance(mostly, bool) or not isinstance(mostly, int | float) or not 0 <= mostly <= 1
        ):
            # GX would only refuse it when the check runs; 95 for 0.95 is the likely slip.
            raise ValueError(f"mostly is the share of rows that must pass, 0 to 1; got {mostly!r}")
        return kwargs


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
    # text type (one of the file's text_types) -> the columns its text joins
    texts: dict[Identifier, list[Identifier]] = Field(min_length=1)

    @property
    def schema_name(self) -> str:
        return self.source.split(".")[0]

    @property
    def table_name(self) -> str:
        return self.source.split(".")[1]


class EmbeddingsFile(_Strict):
    """``embeddings.yaml``: the text types, and which texts of which core tables are embedded."""

    # name -> what a text of that type says; stored as search.embeddings.embedding_type
    text_types: dict[Identifier, str] = Field(min_length=1)
    tables: dict[Identifier, EmbeddingTableConfig] = Field(min_length=1)

    def unknown_text_types(self) -> list[tuple[list[str | int], str]]:
        """Each table's text type not declared in ``text_types``, with its key path."""
        return [
            (["tables", name, "texts", text_type], text_type)
            for name, table in self.tables.items()
            for text_type in table.texts
            if text_type not in self.text_types
        ]


class RecallCheckConfig(_Strict):
    """The share of ground-truth pairs the chosen matches must find."""

    severity: Literal["ERROR", "WARN"] = "ERROR"
    min_recall: float = Field(default=0.9, ge=0, le=1)


class MatchingFile(_Strict):
    """``matching.yaml``: how Odoo opportunities are paired with ACE opportunities."""

    top_k: int = Field(ge=1, le=100)  # neighbours per embedding type and side; rows kept per deal
    # Name-token blocks joining more pairs than this are skipped: a common word proves nothing.
    max_block_pairs: int = Field(default=2000, ge=1)
    match_probability: float = Field(gt=0.5, lt=1)  # abstain below: no match
    review_probability: float = Field(gt=0.5, lt=1)  # from here to match_probability: review
    prior_match_share: float = Field(default=0.8, gt=0, le=1)  # of the smaller side
    u_sample_pairs: int = Field(default=200_000, ge=100)  # random pairs estimating u
    recall_at_1: RecallCheckConfig = Field(default_factory=RecallCheckConfig)

    @model_validator(mode="after")
    def _review_below_match(self) -> MatchingFile:
        if self.review_probability > self.match_probability:
            raise ValueError("review_probability must not exceed match_probability")
        return self


Severity = Literal["ERROR", "WARN"]
TableRef = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")]  # source.table
SourceOrTableRef = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Tolerance = Annotated[Decimal, Field(ge=0)]  # amounts closer than this are equal (ledger rounding)


class RawCheckConfig(_Strict):
    """The settings of one kind of raw-level SQL check in ``quality.yaml``; each kind subclasses it.

    A kind under ``standard`` guards every raw table; a kind under ``checks`` guards the tables
    its settings name (``attached_to``), one Dagster check per table. The kind's function and
    this model are paired in ``aura_platform.quality.sql_checks.CHECK_KINDS``.
    """

    severity: Severity = "ERROR"

    def attached_to(self) -> dict[str, str]:
        """``source.table`` of each table the check is defined on, by its key in the settings."""
        return {}

    def reads(self) -> dict[str, str]:
        """Other tables the check reads, by their key in the settings: it runs after them."""
        return {}

    def for_table(self, source: str, table: str) -> Self:
        """These settings as they apply to one table: a standard check's override, say."""
        return self


class TableCheckConfig(RawCheckConfig):
    """A check of one named table."""

    table: TableRef

    def attached_to(self) -> dict[str, str]:
        return {"table": self.table}


class _Thresholds(RawCheckConfig):
    """A standard check whose threshold has a default and overrides per source or table."""

    threshold_field: ClassVar[str]  # the setting the overrides replace
    overrides: dict[SourceOrTableRef, float] = Field(default_factory=dict)

    def for_table(self, source: str, table: str) -> Self:
        """The table's override, else its source's, else the default, as the threshold."""
        default = getattr(self, self.threshold_field)
        value = self.overrides.get(f"{source}.{table}", self.overrides.get(source, default))
        return self.model_copy(update={self.threshold_field: value})


class FreshnessConfig(_Thresholds):
    """The table's last successful sync finished at most ``max_age_hours`` ago."""

    threshold_field: ClassVar[str] = "max_age_hours"
    severity: Severity = "WARN"
    max_age_hours: float = Field(default=26, gt=0)


class VolumeConfig(_Thresholds):
    """Live rows fell by at most ``max_drop_percent`` since the previous sync."""

    threshold_field: ClassVar[str] = "max_drop_percent"
    max_drop_percent: float = Field(default=15, gt=0, le=100)


class UniquenessConfig(RawCheckConfig):
    """Live rows have a non-null, unique primary key."""


class ReconciliationConfig(RawCheckConfig):
    """Live rows equal the source's row count seen by the last sync that reconciled deletes."""

    severity: Severity = "WARN"


class TrialBalanceCheckConfig(TableCheckConfig):
    """Debits equal credits per entity and period in a trial-balance table."""

    tolerance: Tolerance = Decimal("0.01")


class CurrencyCheckConfig(RawCheckConfig):
    """Every amount's currency is one of ``codes``; ``columns`` maps table -> currency column."""

    severity: Severity = "WARN"
    codes: list[CurrencyCode] = Field(min_length=1)
    columns: dict[TableRef, Identifier] = Field(min_length=1)

    def attached_to(self) -> dict[str, str]:
        return {f"columns.{ref}": ref for ref in self.columns}


class InvoiceTotalsCheckConfig(TableCheckConfig):
    """Invoice total = sum of item amounts + tax, and subtotal = sum of item amounts."""

    tolerance: Tolerance = Decimal("0.01")


class GlTieCheckConfig(RawCheckConfig):
    """Trial-balance balances tie to posted journal items, through an explicit mapping.

    ``entities`` maps the journal's company id to a trial-balance entity and ``accounts`` its
    account id to a trial-balance account code; only mapped pairs are compared. ``closing``
    compares with every posted item up to the period's end, ``movement`` with the period's own.
    """

    journal: TableRef
    trial_balance: TableRef
    tolerance: Tolerance = Decimal("0.01")
    basis: Literal["closing", "movement"] = "closing"
    entities: dict[int, str] = Field(default_factory=dict)
    accounts: dict[int, str] = Field(default_factory=dict)

    def attached_to(self) -> dict[str, str]:
        return {"journal": self.journal}

    def reads(self) -> dict[str, str]:
        return {"trial_balance": self.trial_balance}


def quality_file_model(
    standard: Mapping[str, type[RawCheckConfig]], checks: Mapping[str, type[RawCheckConfig]]
) -> type[BaseModel]:
    """The pydantic model of ``quality.yaml`` for these check kinds, by section.

    Built from the registry of kinds, so a new kind needs no field here; a kind or key that does
    not exist is refused, with its line, like any other unknown key. A standard kind left out
    takes its defaults; a table kind left out is not defined.
    """
    standard_fields: dict[str, Any] = {
        name: (kind, Field(default_factory=kind)) for name, kind in standard.items()
    }
    checks_fields: dict[str, Any] = {name: (kind | None, None) for name, kind in checks.items()}
    standard_model = create_model("StandardChecks", __base__=_Strict, **standard_fields)
    checks_model = create_model("TableChecks", __base__=_Strict, **checks_fields)
    return create_model(
        "QualityFile",
        __base__=_Strict,
        standard=(standard_model, Field(default_factory=standard_model)),
        checks=(checks_model, Field(default_factory=checks_model)),
    )


@dataclass(frozen=True)
class QualityFile:
    """``quality.yaml``, validated: the settings of every raw-level check kind it defines.

    ``standard`` holds every standard kind (its defaults where the file is silent), ``checks``
    only the table kinds the file names.
    """

    standard: Mapping[str, RawCheckConfig]
    checks: Mapping[str, RawCheckConfig]

    @classmethod
    def from_model(cls, parsed: BaseModel) -> QualityFile:
        """The sections of a ``quality_file_model`` instance, as kind name -> settings."""
        sections = [getattr(parsed, section) for section in ("standard", "checks")]
        standard, checks = (
            {name: value for name, value in section if value is not None} for section in sections
        )
        return cls(standard=standard, checks=checks)

    def references(self) -> list[tuple[str, str]]:
        """Every source or ``source.table`` named, with its key path, to check against sources."""
        refs = [
            (f"standard.{kind}.overrides.{ref}", ref)
            for kind, check in self.standard.items()
            if isinstance(check, _Thresholds)
            for ref in check.overrides
        ]
        for kind, check in self.checks.items():
            named = {**check.attached_to(), **check.reads()}
            refs += [(f"checks.{kind}.{key}", ref) for key, ref in named.items()]
        return refs
