"""APN/ACE opportunity exports dropped in a folder, read as one table: ``opportunity``.

The folder's files are read on every call (names starting with ``.``, such as partial uploads,
are skipped), and three formats are recognised by content, whatever the file is called:

* ``ace_crm_json``: the ACE CRM integration's outbound file, ``{"version", "spmsId",
  "opportunities": [...]}``. Every key of every opportunity becomes a column, camelCase to
  snake_case (``customerWebsite`` -> ``customer_website``; the dictionary's lower-cased leading
  acronyms stay whole: ``aWSStage`` -> ``aws_stage``). The envelope's ``version`` and ``spmsId``
  are repeated on each of its rows as ``version`` and ``spms_id``.
* ``csv``: an opportunity export whose header holds CRM names (``customerWebsite``) or the field
  dictionary's labels (``Customer Website``), mapped to the same columns; UTF-8 with or without
  a BOM. It must have the opportunity id column. Empty cells are NULL.
* ``selling_api_json``: a Partner Central Selling API opportunity (``GetOpportunity`` /
  ``CreateOpportunity`` shape), or a JSON array of them. Nested objects are flattened: keys
  snake_cased and joined with ``_`` (``Customer.Account.Address.CountryCode`` ->
  ``customer_account_address_country_code``); lists stay whole as jsonb. A path that the field
  dictionary gives as a CRM field's Selling API counterpart lands in that field's column instead
  (``Customer.Account.WebsiteUrl`` -> ``customer_website``, ``LifeCycle.Stage`` -> ``stage``,
  ``Id``/``Identifier`` -> ``apn_crm_unique_identifier``), matched case-insensitively; where the
  dictionary's path is not the published API's, ``FIELDS`` holds the API's and says so.

Types follow the field dictionary (``FIELDS``): Date -> date, DateTime -> timestamp (naive UTC),
Currency -> numeric, Array and multi-select picklists -> jsonb lists (a ``;``-separated string is
split), anything else -> text. Keys the dictionary does not know take the type of their values
(jsonb when files disagree). Columns are the union over the folder's files: the primary key,
then the dictionary's order, then the other columns alphabetically; the primary key and the
cursor are always there.

A file that can't be read, or a record that can't be interpreted (no opportunity id, a malformed
row, an unparsable date or number), becomes a ``Rejected`` naming its file and its line (CSV,
broken JSON) or record number (JSON); the other files and records still load.

Exports are assumed to be full snapshots: ``primary_keys`` is every opportunity id in the
folder, or None when some file or record could not be read, since a partial set would make the
loader delete opportunities that still exist. The same opportunity in several files yields
several rows; they are deduplicated downstream on the primary key.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from psycopg.types.json import Jsonb

from aura_platform.config.models import SourceConfig
from aura_platform.settings import Settings
from aura_platform.sources.base import Column, Extract, ReadWindow, Rejected
from aura_platform.sources.probing import Outcome, count
from aura_platform.sources.values import naive_utc, parse_decimal, parse_timestamp

TABLE = "opportunity"
PRIMARY_KEY = "apn_crm_unique_identifier"
CURSOR = "last_modified_date"

ExportFormat = Literal["ace_crm_json", "selling_api_json", "csv", "unknown"]
Kind = Literal["text", "numeric", "date", "timestamp", "boolean", "list", "jsonb"]

_PG_TYPES: dict[Kind, str] = {
    "text": "text",
    "numeric": "numeric",
    "date": "date",
    "timestamp": "timestamp without time zone",
    "boolean": "boolean",
    "list": "jsonb",
    "jsonb": "jsonb",
}


def snake_case(name: str) -> str:
    """A key or header as a column name: ``customerWebsite`` -> ``customer_website``.

    A leading lower-cased acronym stays whole (``aWSStage`` -> ``aws_stage``), acronym runs split
    before the next word (``awsSFCampaignName`` -> ``aws_sf_campaign_name``), and anything but
    letters and digits becomes ``_``.

    Raises:
        ValueError: When nothing usable is left (an empty or punctuation-only name).
    """
    text = re.sub(r"^([a-z])(?=[A-Z]{2})", lambda m: m.group(1).upper(), name.strip())
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    if not text:
        raise ValueError(f"{name!r} has no letters or digits to name a column")
    return f"_{text}" if text[0].isdigit() else text


@dataclass(frozen=True)
class AceField:
    """One field of the ACE field dictionary (``Opportunity-Fields.csv``).

    ``name`` is the CRM JSON name, ``label`` the ACE Pipeline Manager label (the CSV header),
    ``datatype`` the dictionary's datatype and ``api_paths`` the Partner Central Selling API
    paths holding the same value (empty when the API splits it, e.g. first and last name).
    """

    name: str
    label: str | None
    datatype: str
    api_paths: tuple[str, ...]

    @property
    def column(self) -> str:
        """The field's column: its CRM name in snake_case."""
        return snake_case(self.name)

    @property
    def kind(self) -> Kind:
        """How the field's values are typed, from the dictionary's datatype."""
        if self.datatype == "Date":
            return "date"
        if self.datatype == "DateTime":
            return "timestamp"
        if self.datatype.startswith("Currency"):
            return "numeric"
        if self.datatype in ("Array", "Multi select picklist"):
            return "list"
        return "text"


# The published dictionary, in its order. Departures from it, each commented, fix what the
# dictionary gets wrong against the sample files and the published Selling API reference.
FIELDS: tuple[AceField, ...] = (
    # API reference path; the dictionary has AccessControls.NationalSecurity
    AceField(
        "doesOppBelongToNatSec",
        "Does this opportunity contain classified National Security information?",
        "Single select picklist",
        ("NationalSecurity",),
    ),
    AceField("city", "City", "Text", ("Customer.Account.Address.City",)),
    AceField("country", "Country", "Single select picklist", ("Customer.Account.Address.Country",)),
    AceField("customerWebsite", "Customer Website", "URL", ("Customer.Account.WebsiteUrl",)),
    AceField(
        "customerDuns",
        "Customer Data Universal Number System (DUNS)",
        "Text (9)",
        ("Customer.Account.Duns",),
    ),
    AceField(
        "industry", "Industry Vertical", "Single select picklist", ("Customer.Account.Industry",)
    ),
    AceField(
        "industryOther", "Other - Industry Vertical", "Text", ("Customer.Account.OtherIndustry",)
    ),
    AceField(
        "customerCompanyName", "Customer Company Name", "Text", ("Customer.Account.CompanyName",)
    ),
    AceField("postalCode", "Postal Code", "Text", ("Customer.Account.Address.PostalCode",)),
    AceField(
        "state", "State", "Single select picklist", ("Customer.Account.Address.StateOrRegion",)
    ),
    AceField("streetAddress", "Address", "Text", ("Customer.Account.Address.StreetAddress",)),
    AceField("awsSFCampaignName", "Marketing Campaign Code", "Text", ("Marketing.CampaignName",)),
    AceField("awsProducts", "AWS products", "Array", ("RelatedEntityIdentifiers.AWSProducts",)),
    # API reference path; the dictionary has TargetCloseDate
    AceField("targetCloseDate", "Target Close Date", "Date", ("LifeCycle.TargetCloseDate",)),
    # API reference path; the dictionary has Project.DeliveryModel
    AceField(
        "deliveryModel", "Delivery Model", "Multi select picklist", ("Project.DeliveryModels",)
    ),
    AceField(
        "IsOppFromMarketingActivity",
        "Is Opportunity from Marketing Activity?",
        "Single select picklist",
        ("Marketing.Source",),
    ),
    # API reference path; the dictionary has Marketing.ActivityChannels
    AceField(
        "marketingActivityChannel",
        "Marketing Activity Channel",
        "Multi select picklist",
        ("Marketing.Channels",),
    ),
    # API reference path; the dictionary has Marketing.ActivityUseCases
    AceField(
        "marketingActivityUsecase",
        "Marketing Activity Use Case",
        "Multi select picklist",
        ("Marketing.UseCases",),
    ),
    AceField(
        "isMarketingDevelopmentFunded",
        "Was Marketing Development Funds Used?",
        "Single select picklist",
        ("Marketing.AWSFundingUsed",),
    ),
    AceField("nextStepHistory", "Next Steps Log", "Long Text Area", ("LifeCycle.StepsHistory",)),
    AceField("nextStep", "Next Steps", "Text", ("LifeCycle.NextSteps",)),
    AceField("opportunityType", "Opportunity Type", "Single select picklist", ("OpportunityType",)),
    AceField(
        "otherSolutionOffered",
        "Other Solution Offered",
        "Text (255)",
        ("Project.OtherSolutionDescription",),
    ),
    AceField(
        "parentOppId",
        "Parent Opportunity ID",
        "Text (20)",
        ("Project.RelatedOpportunityIdentifier",),
    ),
    AceField(
        "partnerPrimaryNeedFromAws",
        "Partner primary need from AWS",
        "Multi select picklist",
        ("PrimaryNeedsFromAWS",),
    ),
    AceField("partnerProjectTitle", "Partner Project Title", "Text", ("Project.Title",)),
    AceField(
        "salesActivities", "Sales Activities", "Multi select picklist", ("Project.SalesActivities",)
    ),
    AceField(
        "expectedMonthlyAwsRevenue",
        "Estimated AWS Monthly Recurring Revenue",
        "Currency(18,0)",
        ("Project.ExpectedMonthlyAWSRevenue.Amount",),
    ),
    AceField(
        "projectDescription",
        "Customer Business Problem",
        "Long Text Area",
        ("Project.CustomerBusinessProblem",),
    ),
    AceField(
        "solutionOffered", "Solution offered", "Array", ("RelatedEntityIdentifiers.Solutions",)
    ),
    AceField("useCase", "Use Case", "Single select picklist", ("Project.CustomerUseCase",)),
    AceField(
        "additionalComments",
        "Additional Comments",
        "Long Text Area",
        ("Project.AdditionalComments",),
    ),
    AceField("awsAccountId", "Customer AWS Account ID", "Text", ("Customer.Account.AWSAccountId",)),
    AceField("campaignName", "APN Programs", "Multi select picklist", ("Project.APNPrograms",)),
    # API reference path; the dictionary has Project.CompetitorNames
    AceField(
        "competitiveTracking",
        "Competitive Tracking",
        "Single select picklist",
        ("Project.CompetitorName",),
    ),
    AceField(
        "competitiveTrackingOther",
        "Competitive Tracking Other",
        "Text",
        ("Project.OtherCompetitorNames",),
    ),
    AceField(
        "partnerCrmUniqueIdentifier",
        "Partner CRM Unique Identifier",
        "Text",
        ("PartnerOpportunityIdentifier",),
    ),
    AceField(
        "aWSAccountOwnerEmail",
        "AWS Account Manager Email",
        "Email",
        ("AWSOpportunityTeam.AWSAccountOwner.Email",),
    ),
    AceField("aWSAccountOwnerName", "AWS Account Manager Name", "Text", ()),
    AceField(
        "aWSISVSuccessManagerEmail",
        "AWS ISV Success Manager Email",
        "Email",
        ("AWSOpportunityTeam.ISVSM.Email",),
    ),
    AceField("aWSISVSuccessManagerName", "AWS ISV Success Manager Name", "Text", ()),
    AceField(
        "aWSSalesRepEmail",
        "AWS Sales Rep Email",
        "Email",
        ("AWSOpportunityTeam.AWSSalesRep.Email",),
    ),
    AceField("aWSSalesRepName", "AWS Sales Rep Name", "Text", ()),
    AceField("customerEmail", "Customer Email", "Email", ("Customer.Contact.Email",)),
    AceField("customerFirstName", "Customer First Name", "Text", ("Customer.Contact.FirstName",)),
    AceField("customerLastName", "Customer Last Name", "Text", ("Customer.Contact.LastName",)),
    AceField("customerPhone", "Customer Phone", "Phone", ("Customer.Contact.Phone",)),
    AceField("customerTitle", "Customer Title", "Text", ("Customer.Contact.Title",)),
    AceField(
        "partnerDeveloperManagerEmail",
        "Partner Developer Manager Email",
        "Email",
        ("AWSOpportunityTeam.PDM.Email",),
    ),
    AceField("partnerDeveloperManager", "Partner Developer Manager", "Text", ()),
    AceField(
        "primaryContactEmail",
        "Partner Sales Contact Email",
        "Email",
        ("PartnerOpportunityContact.PartnerAccountManager.Email",),
    ),
    AceField(
        "primaryContactFirstName",
        "Partner Sales Contact First Name",
        "Text",
        ("PartnerOpportunityContact.PartnerAccountManager.FirstName",),
    ),
    AceField(
        "primaryContactLastName",
        "Partner Sales Contact Last Name",
        "Text",
        ("PartnerOpportunityContact.PartnerAccountManager.LastName",),
    ),
    AceField(
        "primaryContactPhone",
        "Partner Sales Contact Primary Phone",
        "Phone",
        ("PartnerOpportunityContact.PartnerAccountManager.Phone",),
    ),
    AceField(
        "primaryContactTitle",
        "Partner Contact Title",
        "Text",
        ("PartnerOpportunityContact.PartnerAccountManager.Title",),
    ),
    # The dictionary swaps these two rows' labels and API paths.
    AceField("aWSPartnerSuccessManagerName", "AWS Partner Success Manager Name", "Text", ()),
    AceField(
        "aWSPartnerSuccessManagerEmail",
        "AWS Partner Success Manager Email",
        "Email",
        ("AWSOpportunityTeam.PSM.Email",),
    ),
    AceField("wWPSPDMEmail", "WWPS PDM Email", "Email", ("AWSOpportunityTeam.WWPSPDM.Email",)),
    AceField("wWPSPDM", "WWPS PDM", "Text", ()),
    # the dictionary gives Identifier (Update requests); GetOpportunity returns it as Id
    AceField("apnCrmUniqueIdentifier", "Opportunity ID", "Text", ("Identifier", "Id")),
    AceField(
        "opportunityOwnership", "Opportunity Ownership", "Single select picklist", ("Origin",)
    ),
    AceField(
        "opportunityOwnerEmail", "Opportunity Owner Email", "Email", ("AccessControls.Owner.Email",)
    ),
    AceField("opportunityOwnerName", "Opportunity Owner Name", "Text", ()),
    AceField(
        "engagementScore",
        "AWS Marketplace Engagement Score",
        "Single select picklist",
        ("LifeCycle.PropensityToBuyScore",),
    ),
    AceField(
        "recommendedNextBestActions",
        "AWS Recommended Action",
        "Long Text Area",
        ("LifeCycle.NextBestActions",),
    ),
    AceField("stage", "Stage", "Single select picklist", ("LifeCycle.Stage",)),
    AceField("status", "Status", "Single select picklist", ("LifeCycle.ApprovalStatus",)),
    AceField("offers", "Offer ID", "Array", ("RelatedEntityIdentifiers.AWSMarketplaceOffers",)),
    AceField(
        "contractEndDate", "Contract expiration date", "Date", ("SoftwareRevenue.ExpirationDate",)
    ),
    # API reference path; the dictionary has SoftwareRevenue.Value.Currency
    AceField(
        "customerSoftwareValueCurrency",
        "Currency",
        "Single select picklist",
        ("SoftwareRevenue.Value.CurrencyCode",),
    ),
    AceField(
        "customerSoftwareValue",
        "Customer Software Value",
        "Currency(16,2)",
        ("SoftwareRevenue.Value.Amount",),
    ),
    AceField(
        "contractStartDate", "Contract effective date", "Date", ("SoftwareRevenue.EffectiveDate",)
    ),
    AceField(
        "procurementType",
        "Procurement Type",
        "Single select picklist",
        ("SoftwareRevenue.DeliveryModel",),
    ),
    AceField("acceptBy", None, "DateTime", ("LifeCycle.AcceptBy",)),
    AceField(
        "partnerAcceptanceStatus",
        "Partner Acceptance Status",
        "Single select picklist",
        ("LifeCycle.PartnerAcceptanceStatus",),
    ),
    AceField("rejectionReason", "Rejection reason", "Single select picklist", ("RejectionReason",)),
    AceField("apnReviewerComments", None, "Long Text Area", ("LifeCycle.ReviewComments",)),
    AceField(
        "closedLostReason",
        "Closed Reason",
        "Single select picklist",
        ("LifeCycle.ClosedLostReason",),
    ),
    AceField("apnCrmLeadUniqueIdentifier", None, "Text", ()),
    AceField(
        "aWSClosedLostReason",
        "AWS Closed Lost Reason",
        "Text",
        ("AWSSalesLifeCycle.ClosedLostReason",),
    ),
    AceField("aWSCloseDate", "AWS Close Date", "Date", ("AWSSalesLifeCycle.TargetCloseDate",)),
    AceField("aWSStage", "AWS Stage", "Text", ("AWSSalesLifeCycle.Stage",)),
    AceField("createdBy", None, "Text", ()),
    # The dictionary says Date, but these carry a time ("2022-03-08T13:15:35.000Z").
    AceField("createdDate", None, "DateTime", ("CreatedDate",)),
    AceField("lastModifiedBy", None, "Text", ()),
    AceField("lastModifiedDate", None, "DateTime", ("LastModifiedDate",)),
    AceField(
        "cosellConvertReason", None, "Single select picklist", ("PrimaryNeedsFromAWSChangeReason",)
    ),
    AceField("backwardsCompatibilityChanges", None, "Text Area", ()),
)

_BY_COLUMN: dict[str, AceField] = {field.column: field for field in FIELDS}
# CSV headers may be dictionary labels; compared case- and spacing-insensitively.
_LABELS: dict[str, str] = {
    " ".join(field.label.casefold().split()): field.column for field in FIELDS if field.label
}
# Selling API paths the dictionary pairs with a CRM field, compared case-insensitively
# (the dictionary writes AWSAccountId where the API has AwsAccountId).
_API_COLUMNS: dict[str, str] = {
    path.casefold(): field.column for field in FIELDS for path in field.api_paths
}

# Top-level keys of a Selling API opportunity, to tell one apart from other JSON.
_SELLING_API_KEYS = frozenset(
    {"Catalog", "Customer", "Id", "Identifier", "LifeCycle", "PartnerOpportunityIdentifier"}
)


@dataclass(frozen=True)
class ExportFile:
    """A file of the drop folder and the export format its content was recognised as."""

    path: Path
    format: ExportFormat


class ApnFiles:
    """The APN/ACE export drop folder as a ``RowSource`` with the one table ``opportunity``.

    Args:
        folder: Where exports are dropped; its non-hidden files are read, subfolders are not.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def files(self) -> list[ExportFile]:
        """The folder's files, by name, each with the format detected from its content."""
        return [loaded.export for loaded in self._load()]

    def extract(self, table: str, window: ReadWindow) -> Extract:
        """Columns of ``opportunity`` over all files, and its rows changed in ``window``.

        Args:
            table: Must be ``opportunity``.
            window: Filters on ``last_modified_date`` (or not at all when its cursor is None);
                rows without one are always included.

        Raises:
            ValueError: For another table or another cursor.
        """
        _check_table(table)
        if window.cursor not in (None, CURSOR):
            raise ValueError(f"{TABLE} exports have the cursor {CURSOR!r}, not {window.cursor!r}")
        loaded = self._load()
        kinds = _column_kinds(loaded)
        columns = [Column(name, _PG_TYPES[kind]) for name, kind in kinds.items()]
        return Extract(
            columns=columns,
            records=_rows(loaded, kinds, window),
            details={
                "files": [{"file": f.export.path.name, "format": f.export.format} for f in loaded]
            },
        )

    def primary_keys(self, table: str) -> set[tuple[Any, ...]] | None:
        """Every opportunity id in the folder, or None if some file or record is unreadable."""
        _check_table(table)
        keys: set[tuple[Any, ...]] = set()
        for loaded in self._load():
            for record in loaded.records:
                if isinstance(record, Rejected):
                    return None
                try:
                    key = _convert(PRIMARY_KEY, "text", record.values.get(PRIMARY_KEY))
                except _Unreadable:
                    return None
                if key:
                    keys.add((key,))
        return keys

    def _load(self) -> list[_LoadedFile]:
        """Read and parse every file now, since the columns are the union over all of them."""
        paths = sorted(
            p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")
        )
        return [_read_file(path) for path in paths]


class _Unreadable(Exception):
    """A file or record that can't be interpreted; its message becomes the rejection reason."""


@dataclass(frozen=True)
class _Record:
    """One opportunity as read: column -> value as found (JSON value or CSV text)."""

    source_file: str
    position: int
    values: dict[str, Any]
    payload: dict[str, Any]


@dataclass(frozen=True)
class _LoadedFile:
    """A file parsed once per read, so detection, columns and rows agree with each other."""

    export: ExportFile
    records: list[_Record | Rejected]


def _check_table(table: str) -> None:
    """APN exports hold opportunities only; another name is a configuration error."""
    if table != TABLE:
        raise ValueError(f"APN export files hold the table {TABLE!r}, not {table!r}")


def _read_file(path: Path) -> _LoadedFile:
    """Detect the format from the content and parse the file into records or rejections."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return _unknown(path, f"unreadable file: {exc}")
    if text.lstrip().startswith(("{", "[")):
        return _read_json(path, text)
    return _read_csv(path, text)


def _unknown(path: Path, reason: str, line: int | None = None) -> _LoadedFile:
    """A file that is not an export we can read: one rejection, so it shows in quarantine."""
    rejected = Rejected(reason, {"file": path.name}, path.name, line)
    return _LoadedFile(ExportFile(path, "unknown"), [rejected])


def _read_json(path: Path, text: str) -> _LoadedFile:
    """An ACE CRM outbound file, or Selling API opportunities (one object or an array)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return _unknown(path, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno)
    if isinstance(document, dict) and "opportunities" in document:
        return _LoadedFile(ExportFile(path, "ace_crm_json"), _crm_records(path.name, document))
    if isinstance(document, list) or (
        isinstance(document, dict) and _SELLING_API_KEYS & document.keys()
    ):
        items = document if isinstance(document, list) else [document]
        records = [
            _record(path.name, number, item, _selling_api_values)
            for number, item in enumerate(items, 1)
        ]
        return _LoadedFile(ExportFile(path, "selling_api_json"), records)
    return _unknown(path, "JSON that is neither an ACE CRM export nor Selling API opportunities")


def _crm_records(name: str, document: dict[str, Any]) -> list[_Record | Rejected]:
    """The file's opportunities, each carrying the envelope's other keys (version, spmsId)."""
    opportunities = document["opportunities"]
    if not isinstance(opportunities, list):
        return [Rejected('"opportunities" is not a JSON array', {"file": name}, name, None)]
    envelope = {k: v for k, v in document.items() if k != "opportunities"}

    def values(item: dict[str, Any]) -> dict[str, Any]:
        pairs = [*envelope.items(), *item.items()]
        return _assign((_column(key), value) for key, value in pairs)

    return [_record(name, number, item, values) for number, item in enumerate(opportunities, 1)]


def _selling_api_values(item: dict[str, Any]) -> dict[str, Any]:
    """Flattened Selling API fields, in the CRM column when the dictionary pairs them."""
    return _assign((_api_column(path), value) for path, value in _flatten(item))


def _record(
    name: str, number: int, item: Any, values: Callable[[dict[str, Any]], dict[str, Any]]
) -> _Record | Rejected:
    """One JSON opportunity, or its rejection when it is not an object or its keys clash."""
    if not isinstance(item, dict):
        return Rejected("opportunity is not a JSON object", {"record": item}, name, number)
    try:
        return _Record(name, number, values(item), item)
    except _Unreadable as exc:
        return Rejected(str(exc), item, name, number)


def _flatten(
    obj: dict[str, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Leaf paths of nested objects; lists and empty objects are leaves, kept whole."""
    for key, value in obj.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value:
            yield from _flatten(value, path)
        else:
            yield path, value


def _api_column(path: tuple[str, ...]) -> str:
    """The CRM column the dictionary pairs with a Selling API path, else the flattened name."""
    paired = _API_COLUMNS.get(".".join(path).casefold())
    return paired or "_".join(_column(key) for key in path)


def _column(key: str) -> str:
    """``snake_case`` for a record's key, an unusable key rejecting the record."""
    try:
        return snake_case(key)
    except ValueError as exc:
        raise _Unreadable(str(exc)) from None


def _assign(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Column -> value; two keys landing in one column must agree, or the record is unreadable."""
    values: dict[str, Any] = {}
    for column, value in pairs:
        if column in values and values[column] != value:
            raise _Unreadable(f"two keys give column {column} different values")
        values[column] = value
    return values


def _header_column(header: str) -> str:
    """A CSV header cell, CRM name or dictionary label, as its column."""
    return _LABELS.get(" ".join(header.casefold().split())) or _column(header)


def _read_csv(path: Path, text: str) -> _LoadedFile:
    """A CSV opportunity export; one rejection per row whose fields don't match the header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        columns = [_header_column(cell) for cell in header]
    except (csv.Error, _Unreadable) as exc:
        return _unknown(path, f"unreadable CSV header: {exc}", 1)
    if PRIMARY_KEY not in columns:
        return _unknown(path, "neither JSON nor a CSV with an opportunity id column", 1)
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        reason = f"CSV header gives columns {', '.join(duplicates)} twice"
        return _LoadedFile(
            ExportFile(path, "csv"), [Rejected(reason, {"header": header}, path.name, 1)]
        )
    return _LoadedFile(
        ExportFile(path, "csv"), list(_csv_records(path.name, reader, header, columns))
    )


def _csv_records(
    name: str, reader: Any, header: list[str], columns: list[str]
) -> Iterator[_Record | Rejected]:
    """Rows after the header, numbered by the line they start on; blank lines are skipped."""
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Rejected(f"unreadable CSV row: {exc}", {"file": name}, name, line)
            continue
        if not row:
            continue
        if len(row) != len(columns):
            reason = f"{len(row)} fields where the header has {len(columns)}"
            yield Rejected(reason, {"fields": row}, name, line)
            continue
        values = {column: cell or None for column, cell in zip(columns, row, strict=True)}
        yield _Record(name, line, values, dict(zip(header, row, strict=True)))


def _column_kinds(files: Sequence[_LoadedFile]) -> dict[str, Kind]:
    """Columns in their stable order, typed by the dictionary or else by their values."""
    found: dict[str, set[Kind]] = {PRIMARY_KEY: set(), CURSOR: set()}
    for loaded in files:
        for record in loaded.records:
            if isinstance(record, Rejected):
                continue
            for column, value in record.values.items():
                kinds = found.setdefault(column, set())
                if value is not None:
                    kinds.add(_value_kind(value))
    known = [f.column for f in FIELDS if f.column in found and f.column != PRIMARY_KEY]
    others = sorted(c for c in found if c not in _BY_COLUMN)
    typed: dict[str, Kind] = {c: _BY_COLUMN[c].kind for c in [PRIMARY_KEY, *known]}
    for column in others:
        seen = found[column]
        typed[column] = seen.pop() if len(seen) == 1 else "text" if not seen else "jsonb"
    return typed


def _value_kind(value: Any) -> Kind:
    """The type a value of a key the dictionary doesn't know calls for."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "numeric"
    if isinstance(value, str):
        return "text"
    return "jsonb"


def _rows(
    files: Sequence[_LoadedFile], kinds: dict[str, Kind], window: ReadWindow
) -> Iterator[tuple[Any, ...] | Rejected]:
    """Typed rows in column order, skipping those outside the window; rejections pass through."""
    since = naive_utc(window.since) if window.since else None
    until = naive_utc(window.until) if window.until else None
    for loaded in files:
        for record in loaded.records:
            if isinstance(record, Rejected):
                yield record
                continue
            try:
                changed = _convert(CURSOR, "timestamp", record.values.get(CURSOR))
                if window.cursor and changed and not _within(changed, since, until):
                    continue
                row = tuple(_convert(c, kind, record.values.get(c)) for c, kind in kinds.items())
                if not row[0]:
                    raise _Unreadable(f"no opportunity id ({PRIMARY_KEY})")
            except _Unreadable as exc:
                yield Rejected(str(exc), record.payload, record.source_file, record.position)
                continue
            yield row


def _within(changed: datetime, since: datetime | None, until: datetime | None) -> bool:
    """The window is half-open: since <= changed < until."""
    return (since is None or changed >= since) and (until is None or changed < until)


def _convert(column: str, kind: Kind, value: Any) -> Any:
    """A value as found, as the Python value psycopg copies into the column's type."""
    if value is None or (kind != "text" and isinstance(value, str) and not value.strip()):
        return None
    try:
        return _CONVERTERS[kind](value)
    except ValueError as exc:
        raise _Unreadable(f"{column}: {exc}") from None


def _text(value: Any) -> str:
    """Text as is; numbers, as some exports write ids and postal codes, as their digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {_json_type(value)}")


def _numeric(value: Any) -> Decimal:
    """Decimal from a JSON number or a numeric string (Selling API amounts are strings)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {_json_type(value)}")
    return parse_decimal(value)


def _date(value: Any) -> date:
    """An ISO date, as the exports write them ("2022-09-24")."""
    try:
        return date.fromisoformat(_iso_text(value, "date"))
    except ValueError:
        raise ValueError(f"unparsable date {value!r}") from None


def _timestamp(value: Any) -> datetime:
    """An ISO date-time as naive UTC; one without an offset is taken as UTC already."""
    try:
        return parse_timestamp(_iso_text(value, "timestamp"))
    except ValueError:
        raise ValueError(f"unparsable timestamp {value!r}") from None


def _iso_text(value: Any, what: str) -> str:
    """Dates only come as ISO strings; a JSON number there is a mistake, not a date."""
    if not isinstance(value, str):
        raise ValueError(f"expected a {what}, got {_json_type(value)}")
    return value.strip()


def _list(value: Any) -> Jsonb:
    """A multi-value field as a JSON array: CSV cells hold a JSON array or ``a;b`` values."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else _split(text)
        except json.JSONDecodeError:
            raise ValueError(f"unparsable list {text!r}") from None
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {_json_type(value)}")
    return Jsonb(value)


def _split(text: str) -> list[str]:
    """Multi-select picklists separate their values with semicolons."""
    return [part.strip() for part in text.split(";") if part.strip()]


def _boolean(value: Any) -> bool:
    """Only for keys whose values were all JSON booleans."""
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    """The JSON name of a value's type, for rejection reasons."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string"


_CONVERTERS: dict[Kind, Callable[[Any], Any]] = {
    "text": _text,
    "numeric": _numeric,
    "date": _date,
    "timestamp": _timestamp,
    "boolean": _boolean,
    "list": _list,
    "jsonb": Jsonb,
}


# --- the transport: what the registry needs -------------------------------------------------


def open_source(name: str, config: SourceConfig, settings: Settings) -> ApnFiles:
    """The export folder under the data directory."""
    assert config.folder is not None
    return ApnFiles(settings.data_dir / config.folder)


def source_secrets(config: SourceConfig, settings: Settings) -> list[str]:
    """A folder of files holds no credentials."""
    return []


def is_permanent(error: BaseException) -> bool:
    """A file that cannot be read may be readable on retry (a copy still being written)."""
    return False


def check_health(config: SourceConfig, settings: Settings) -> Outcome:
    """A missing drop folder is degraded (nothing dropped yet), an unreadable one is down."""
    assert config.folder is not None
    folder = settings.data_dir / config.folder
    if not folder.is_dir():
        return "degraded", f"{folder} does not exist: drop exports there (`aura demo` adds one)"
    if not os.access(folder, os.R_OK | os.X_OK):
        return "down", f"{folder} is not readable"
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return "healthy", f"{folder}: {count(len(files), 'export file')}"
