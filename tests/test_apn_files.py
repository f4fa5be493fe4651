"""APN/ACE export files read as the ``opportunity`` table, from the real published samples."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from aura_platform.settings import Settings
from aura_platform.sources.apn_files import FIELDS, ApnFiles, snake_case
from aura_platform.sources.base import Extract, ReadWindow, Rejected
from aura_platform.warehouse.connection import connect

FIXTURES = Path(__file__).parent / "fixtures" / "apn"
CRM_SAMPLE = FIXTURES / "Opportunity-Outbound-Sample.json"
SELLING_SAMPLE = FIXTURES / "opportunity_1.json"
EVERYTHING = ReadWindow(cursor=None)


def _folder(tmp_path: Path, *fixtures: str, **written: str) -> Path:
    """A drop folder with copies of fixtures and files written by the test (``a__csv``: a.csv)."""
    folder = tmp_path / "drop"
    folder.mkdir(parents=True)
    for name in fixtures:
        shutil.copy(FIXTURES / name, folder / name)
    for name, text in written.items():
        (folder / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return folder


def _read(
    folder: Path, window: ReadWindow = EVERYTHING
) -> tuple[list[dict[str, Any]], list[Rejected], Extract]:
    """Rows as column -> plain value (jsonb unwrapped), rejections apart."""
    extract = ApnFiles(folder).extract("opportunity", window)
    names = [c.name for c in extract.columns]
    rows, rejected = [], []
    for record in extract.records:
        if isinstance(record, Rejected):
            rejected.append(record)
        else:
            assert len(record) == len(names)
            rows.append(
                {
                    n: v.obj if isinstance(v, Jsonb) else v
                    for n, v in zip(names, record, strict=True)
                }
            )
    return rows, rejected, extract


def _crm_sample() -> dict[str, Any]:
    return json.loads(CRM_SAMPLE.read_text(encoding="utf-8"))


def _selling_sample(**extra: Any) -> str:
    return json.dumps({**json.loads(SELLING_SAMPLE.read_text(encoding="utf-8")), **extra})


def _crm_file(*opportunities: dict[str, Any]) -> str:
    return json.dumps({"version": "2.0", "spmsId": "spmsId", "opportunities": list(opportunities)})


def _expected(value: Any, pg_type: str) -> Any:
    """What a sample value should become in a column of ``pg_type``."""
    if value is None:
        return None
    if pg_type == "date":
        return date.fromisoformat(value)
    if pg_type == "timestamp without time zone":
        return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)
    if pg_type == "numeric":
        return Decimal(str(value))
    if pg_type == "jsonb" and isinstance(value, str):
        return [part.strip() for part in value.split(";")]
    return value


def test_every_key_of_the_ace_sample_lands_as_a_column_with_its_value(tmp_path: Path) -> None:
    rows, rejected, extract = _read(_folder(tmp_path, CRM_SAMPLE.name))
    types = {c.name: c.pg_type for c in extract.columns}
    opportunities = _crm_sample()["opportunities"]
    assert rejected == [] and len(rows) == len(opportunities)
    for opportunity, row in zip(opportunities, rows, strict=True):
        for key, value in opportunity.items():
            # The column's name is the key with word breaks as underscores, whatever the casing.
            [column] = [c for c in types if c.replace("_", "") == key.lower()]
            assert row[column] == _expected(value, types[column]), key
        assert (row["version"], row["spms_id"]) == ("2.0", "spmsId")


def test_the_dictionary_types_the_sample_columns(tmp_path: Path) -> None:
    [row], _, extract = _read(_folder(tmp_path, CRM_SAMPLE.name))
    types = {c.name: c.pg_type for c in extract.columns}
    assert extract.columns[0].name == "apn_crm_unique_identifier"
    assert row["apn_crm_unique_identifier"] == "OXXXXXX"
    assert types["target_close_date"] == "date"
    assert types["last_modified_date"] == "timestamp without time zone"
    assert row["last_modified_date"] == datetime(2022, 3, 8, 13, 15, 35)
    assert (types["expected_monthly_aws_revenue"], row["expected_monthly_aws_revenue"]) == (
        "numeric",
        Decimal("100.0"),
    )
    assert (types["campaign_name"], row["campaign_name"]) == ("jsonb", ["WWPS NDPP", "P3"])
    assert row["aws_products"] == ["Lambda", "AWSManagedServices", "WorkLink"]
    assert (row["aws_stage"], row["wwpspdm_email"]) == ("Prospect", "test@amazon.com")
    assert row["is_opp_from_marketing_activity"] == "Yes"
    # A key the dictionary doesn't list still lands, typed by its values.
    assert types["partner_developer_manager_phone"] == "text"


def _dictionary_rows() -> Iterator[tuple[str, str | None, str, tuple[str, ...]]]:
    """The published dictionary, normalised as ``FIELDS`` holds it."""
    with (FIXTURES / "Opportunity-Fields.csv").open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            paths = [p.strip() for p in row["Field Name - AWS Partner Selling APIs"].splitlines()]
            paths = [p for p in paths if p and p != "#N/A"]
            yield (
                row["Field Name - APN CRM JSON Name"].strip(),
                None
                if row["Name on ACE pipeline Manager"] == "#N/A"
                else row["Name on ACE pipeline Manager"],
                row["Datatype"].split(", ")[0],  # without its explanatory sentence
                tuple(paths) if len(paths) == 1 else (),  # first + last name: no single path
            )


def test_the_field_table_is_the_published_dictionary_but_for_documented_fixes() -> None:
    fixed = {
        "doesOppBelongToNatSec", "targetCloseDate", "deliveryModel", "marketingActivityChannel",
        "marketingActivityUsecase", "competitiveTracking", "customerSoftwareValueCurrency",
        "apnCrmUniqueIdentifier", "aWSPartnerSuccessManagerName", "aWSPartnerSuccessManagerEmail",
        "createdDate", "lastModifiedDate",
    }  # fmt: skip
    published = list(_dictionary_rows())
    assert [f.name for f in FIELDS] == [name for name, *_ in published]
    for field, row in zip(FIELDS, published, strict=True):
        if field.name not in fixed:
            assert (field.name, field.label, field.datatype, field.api_paths) == row
    labels = [f.label for f in FIELDS if f.label]
    assert len(labels) == len(set(labels))


def _label_csv(opportunity: dict[str, Any], *, bom: bool = False) -> str:
    """The sample opportunity as a CSV export headed by dictionary labels where there is one."""
    labels = {f.name: f.label for f in FIELDS}
    header = [labels.get(key) or key for key in opportunity]
    cells = [
        "" if v is None else ";".join(v) if isinstance(v, list) else str(v)
        for v in opportunity.values()
    ]
    text = io.StringIO()
    csv.writer(text).writerows([header, cells])
    return ("\ufeff" if bom else "") + text.getvalue()


def test_a_label_headed_csv_lands_in_the_same_columns_as_the_json(tmp_path: Path) -> None:
    opportunity = _crm_sample()["opportunities"][0]
    assert "Customer Website" in _label_csv(opportunity)
    [from_json], _, json_extract = _read(_folder(tmp_path / "json", CRM_SAMPLE.name))
    [from_csv], rejected, csv_extract = _read(
        _folder(tmp_path / "csv", opportunities__csv=_label_csv(opportunity))
    )
    assert rejected == []
    json_columns = {c.name: c.pg_type for c in json_extract.columns}
    csv_columns = {c.name: c.pg_type for c in csv_extract.columns}
    # Everything but the JSON envelope (version, spmsId), with the same types and values.
    assert set(json_columns) - set(csv_columns) == {"version", "spms_id"}
    assert all(json_columns[name] == pg_type for name, pg_type in csv_columns.items())
    assert {name: from_json[name] for name in csv_columns} == from_csv


def test_a_csv_with_a_byte_order_mark_is_read_from_its_first_header(tmp_path: Path) -> None:
    assert (FIXTURES / "opportunities_bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    rows, rejected, extract = _read(_folder(tmp_path, "opportunities_bom.csv"))
    assert rejected == []
    assert extract.columns[0].name == "apn_crm_unique_identifier"
    assert [r["apn_crm_unique_identifier"] for r in rows] == ["O1000001", "O1000002"]
    first, second = rows
    assert first["customer_company_name"] == "Café Müller GmbH"
    assert first["campaign_name"] == ["WWPS NDPP", "P3"]
    assert first["expected_monthly_aws_revenue"] == Decimal("2500")
    assert first["last_modified_date"] == datetime(2025, 3, 1, 9, 30)
    assert (second["campaign_name"], second["last_modified_date"]) == (None, None)


def test_a_selling_api_opportunity_fills_the_crm_columns_and_flattens_the_rest(
    tmp_path: Path,
) -> None:
    folder = _folder(
        tmp_path,
        CRM_SAMPLE.name,
        selling__json=_selling_sample(Id="O9000001", LastModifiedDate="2024-05-01T10:00:00Z"),
    )
    rows, rejected, _ = _read(folder)
    assert rejected == []
    row = next(r for r in rows if r["apn_crm_unique_identifier"] == "O9000001")
    assert row["customer_company_name"] == "ValidSandboxCreate6"
    assert row["customer_website"] == "www.testsite011.com"
    assert row["aws_account_id"] == "111111111111"
    assert row["stage"] == "Prospect"
    assert row["target_close_date"] == date(2029, 10, 11)
    assert (row["state"], row["postal_code"], row["industry"]) == (
        "New York",
        "10001",
        "Life Sciences",
    )
    assert row["partner_crm_unique_identifier"] is None
    assert row["partner_project_title"] == "Some New Project Name"
    assert row["delivery_model"] == ["SaaS or PaaS"]
    assert row["partner_primary_need_from_aws"] == ["Co-Sell - Architectural Validation"]
    assert row["customer_software_value"] == Decimal("10000.0")
    assert row["contract_end_date"] == date(2024, 3, 31)
    assert row["last_modified_date"] == datetime(2024, 5, 1, 10, 0)
    # No CRM counterpart: the flattened snake_case path.
    assert row["client_token"] == "test-do312212312331345696"
    assert row["customer_account_address_country_code"] == "US"
    assert row["life_cycle_review_status"] == "Pending Submission"
    assert row["project_expected_customer_spend"] == [
        {"Amount": "12500", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}
    ]
    assert row["customer_contacts"][0]["Email"] == "testnamelast09@test.com"
    assert row["opportunity_team"][0]["LastName"] == "CLastName001"
    # The CRM sample's row shares those columns.
    crm = next(r for r in rows if r["apn_crm_unique_identifier"] == "OXXXXXX")
    assert (crm["customer_company_name"], crm["client_token"]) == ("Test LLC", None)


def test_a_selling_api_opportunity_without_an_id_is_rejected_whole(tmp_path: Path) -> None:
    rows, [rejected], _ = _read(_folder(tmp_path, SELLING_SAMPLE.name))
    assert rows == []
    assert "apn_crm_unique_identifier" in rejected.reason
    assert (rejected.source_file, rejected.line_number) == ("opportunity_1.json", 1)
    assert rejected.payload == json.loads(SELLING_SAMPLE.read_text(encoding="utf-8"))


def test_broken_files_and_records_are_rejected_with_their_place_and_the_rest_loads(
    tmp_path: Path,
) -> None:
    sample = _crm_sample()["opportunities"][0]
    folder = _folder(
        tmp_path,
        CRM_SAMPLE.name,
        broken__json='{"version": "2.0",\n  "opportunities": [\n    {"apnCrmUniqueIdentifier": ',
        dates__json=_crm_file(
            {**sample, "apnCrmUniqueIdentifier": "O2"},
            {**sample, "apnCrmUniqueIdentifier": "O3", "lastModifiedDate": "last tuesday"},
            "not an object",
        ),
        rows__csv=(
            "apnCrmUniqueIdentifier,expectedMonthlyAwsRevenue,targetCloseDate\n"
            "O4,100,2025-01-31\n"
            "O5,100\n"
            "O6,a lot,2025-01-31\n"
            '"O7",200,"2025-02-28"\n'
        ),
    )
    rows, rejected, _ = _read(folder)
    assert sorted(r["apn_crm_unique_identifier"] for r in rows) == ["O2", "O4", "O7", "OXXXXXX"]
    places = {(r.source_file, r.line_number): r.reason for r in rejected}
    assert places.keys() == {
        ("broken.json", 3),
        ("dates.json", 2),
        ("dates.json", 3),
        ("rows.csv", 3),
        ("rows.csv", 4),
    }
    assert places["broken.json", 3].startswith("invalid JSON")
    assert (
        "last_modified_date" in places["dates.json", 2]
        and "last tuesday" in places["dates.json", 2]
    )
    assert places["rows.csv", 3] == "2 fields where the header has 3"
    assert (
        "expected_monthly_aws_revenue" in places["rows.csv", 4] and "a lot" in places["rows.csv", 4]
    )
    assert next(r for r in rejected if r.line_number == 4).payload == {
        "apnCrmUniqueIdentifier": "O6",
        "expectedMonthlyAwsRevenue": "a lot",
        "targetCloseDate": "2025-01-31",
    }


def _dated(*stamps: str | None) -> str:
    return _crm_file(
        *({"apnCrmUniqueIdentifier": f"O{i}", "lastModifiedDate": s} for i, s in enumerate(stamps))
    )


def test_the_window_filters_on_last_modified_date_and_keeps_undated_rows(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        export__json=_dated(
            "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z", None
        ),
    )

    def ids(window: ReadWindow) -> list[str]:
        rows, rejected, _ = _read(folder, window)
        assert rejected == []
        return [r["apn_crm_unique_identifier"] for r in rows]

    cursor = "last_modified_date"
    assert ids(EVERYTHING) == ["O0", "O1", "O2", "O3"]
    assert ids(ReadWindow(cursor, since=datetime(2025, 2, 1))) == ["O1", "O2", "O3"]
    assert ids(ReadWindow(cursor, until=datetime(2025, 2, 1))) == ["O0", "O3"]
    assert ids(ReadWindow(cursor, datetime(2025, 1, 15), datetime(2025, 3, 1))) == ["O1", "O3"]
    # A watermark read back from timestamptz is aware; it compares in UTC.
    paris = timezone(timedelta(hours=1))
    assert ids(ReadWindow(cursor, since=datetime(2025, 2, 1, 1, 0, tzinfo=paris))) == [
        "O1",
        "O2",
        "O3",
    ]


def test_another_cursor_or_table_is_a_configuration_error(tmp_path: Path) -> None:
    source = ApnFiles(_folder(tmp_path, CRM_SAMPLE.name))
    with pytest.raises(ValueError, match="cursor"):
        source.extract("opportunity", ReadWindow("created_date", since=datetime(2025, 1, 1)))
    with pytest.raises(ValueError, match="opportunity"):
        source.extract("funding_request", EVERYTHING)
    with pytest.raises(ValueError, match="opportunity"):
        source.primary_keys("funding_request")


def test_primary_keys_are_every_id_in_the_folder_whatever_the_window(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        CRM_SAMPLE.name,
        "opportunities_bom.csv",
        later__json=_dated("2030-01-01T00:00:00Z"),
        selling__json=_selling_sample(Id="O9000001"),
    )
    assert ApnFiles(folder).primary_keys("opportunity") == {
        ("OXXXXXX",),
        ("O1000001",),
        ("O1000002",),
        ("O0",),
        ("O9000001",),
    }


def test_primary_keys_are_unknown_while_a_file_is_unreadable(tmp_path: Path) -> None:
    folder = _folder(tmp_path, CRM_SAMPLE.name, broken__json="{")
    assert ApnFiles(folder).primary_keys("opportunity") is None
    folder = _folder(tmp_path / "csv", rows__csv="apnCrmUniqueIdentifier,stage\nO1,Prospect\nO2\n")
    assert ApnFiles(folder).primary_keys("opportunity") is None


def test_files_are_recognised_by_content_not_by_name(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        crm__txt=CRM_SAMPLE.read_text(encoding="utf-8"),
        selling__export=_selling_sample(Id="O9000001"),
        labels__dat=_label_csv(_crm_sample()["opportunities"][0], bom=True),
        notes__json='{"note": "not an export"}',
        dictionary__csv=(FIXTURES / "Opportunity-Fields.csv").read_text(encoding="utf-8-sig"),
    )
    (folder / ".partial.json").write_text("{", encoding="utf-8")
    source = ApnFiles(folder)
    assert [(f.path.name, f.format) for f in source.files()] == [
        ("crm.txt", "ace_crm_json"),
        ("dictionary.csv", "unknown"),
        ("labels.dat", "csv"),
        ("notes.json", "unknown"),
        ("selling.export", "selling_api_json"),
    ]
    rows, rejected, extract = _read(folder)
    assert len(rows) == 3
    assert sorted(r.source_file for r in rejected) == ["dictionary.csv", "notes.json"]
    assert extract.details["files"][0] == {"file": "crm.txt", "format": "ace_crm_json"}


def test_columns_keep_one_order_whatever_the_files_are_called(tmp_path: Path) -> None:
    selling = _selling_sample(Id="O9000001")
    crm = CRM_SAMPLE.read_text(encoding="utf-8")
    first = _folder(tmp_path / "a", a__json=crm, b__json=selling)
    second = _folder(tmp_path / "b", a__json=selling, b__json=crm)
    _, _, one = _read(first)
    _, _, other = _read(second)
    assert one.columns == other.columns
    names = [c.name for c in one.columns]
    assert (
        names.index("customer_website")
        < names.index("last_modified_date")
        < names.index("client_token")
    )


def test_an_empty_folder_still_has_the_key_and_cursor_columns(tmp_path: Path) -> None:
    rows, rejected, extract = _read(_folder(tmp_path))
    assert rows == rejected == []
    assert [(c.name, c.pg_type) for c in extract.columns] == [
        ("apn_crm_unique_identifier", "text"),
        ("last_modified_date", "timestamp without time zone"),
    ]


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("customerWebsite", "customer_website"),
        ("aWSStage", "aws_stage"),
        ("wWPSPDMEmail", "wwpspdm_email"),
        ("awsSFCampaignName", "aws_sf_campaign_name"),
        ("IsOppFromMarketingActivity", "is_opp_from_marketing_activity"),
        ("cosellConvertReason ", "cosell_convert_reason"),
        ("AwsAccountId", "aws_account_id"),
        ("Customer Website", "customer_website"),
        ("2nd Contact", "_2nd_contact"),
    ],
)
def test_snake_case_names_columns_the_way_the_dictionary_reads(name: str, column: str) -> None:
    assert snake_case(name) == column


@pytest.mark.integration
def test_every_row_copies_into_its_declared_column_types(
    settings: Settings, tmp_path: Path
) -> None:
    folder = _folder(
        tmp_path,
        CRM_SAMPLE.name,
        "opportunities_bom.csv",
        selling__json=_selling_sample(Id="O9000001", LastModifiedDate="2024-05-01T10:00:00Z"),
    )
    extract = ApnFiles(folder).extract("opportunity", EVERYTHING)
    rows = [r for r in extract.records if not isinstance(r, Rejected)]
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in extract.columns
    )
    with connect(settings.warehouse_url) as conn:
        conn.execute(sql.SQL("create temporary table apn_opportunity ({})").format(columns))
        with conn.cursor().copy("copy apn_opportunity from stdin") as copy:
            for row in rows:
                copy.write_row(row)
        loaded = conn.execute(
            "select apn_crm_unique_identifier, customer_website, campaign_name, last_modified_date "
            "from apn_opportunity order by 1"
        ).fetchall()
    assert loaded == [
        ("O1000001", "cafe-mueller.example", ["WWPS NDPP", "P3"], datetime(2025, 3, 1, 9, 30)),
        ("O1000002", "test.example", None, None),
        ("O9000001", "www.testsite011.com", None, datetime(2024, 5, 1, 10, 0)),
        ("OXXXXXX", "test@test.com", ["WWPS NDPP", "P3"], datetime(2022, 3, 8, 13, 15, 35)),
    ]
