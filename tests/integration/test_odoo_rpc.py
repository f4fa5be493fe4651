"""The Odoo external-API connector against a local Odoo look-alike served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from psycopg import sql
from psycopg.types.json import Jsonb
from support.odoo_rpc_server import FakeModel, FakeOdoo, serve

from aura_platform.settings import Settings
from aura_platform.sources.base import ReadWindow, Rejected
from aura_platform.sources.odoo_rpc import (
    OdooAuthError,
    OdooRpcError,
    OdooRpcSource,
    model_name,
)
from aura_platform.warehouse.connection import connect

PARTNER_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "store": True, "string": "ID"},
    "name": {"type": "char", "store": True, "string": "Name"},
    "display_name": {"type": "char", "store": False, "string": "Display Name"},
    "is_company": {"type": "boolean", "store": True, "string": "Is a Company"},
    "email": {"type": "char", "store": True, "string": "Email"},
    "parent_id": {"type": "many2one", "store": True, "relation": "res.partner"},
    "child_ids": {"type": "one2many", "store": True, "relation": "res.partner"},
    "category_id": {"type": "many2many", "store": True, "relation": "res.partner.category"},
    "image_1920": {"type": "binary", "store": True},
    "active": {"type": "boolean", "store": True},
    "write_date": {"type": "datetime", "store": True},
}

LEAD_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "store": True},
    "name": {"type": "char", "store": True},
    "partner_id": {"type": "many2one", "store": True, "relation": "res.partner"},
    "expected_revenue": {"type": "monetary", "store": True},
    "probability": {"type": "float", "store": True},
    "color": {"type": "integer", "store": True},
    "type": {"type": "selection", "store": True},
    "description": {"type": "html", "store": True},
    "date_deadline": {"type": "date", "store": True},
    "lead_properties": {"type": "properties", "store": True},
    "tag_ids": {"type": "many2many", "store": True, "relation": "crm.tag"},
    "days_to_convert": {"type": "float", "store": False},
    "active": {"type": "boolean", "store": True},
    "write_date": {"type": "datetime", "store": True},
}

LEAD_COUNT = 11


def _partners() -> list[dict[str, Any]]:
    return [
        {"id": 1, "name": "Deco Addict", "is_company": True, "email": "info@deco.example"},
        {"id": 2, "name": "Azure Interior", "is_company": True, "email": None},
        {"id": 3, "name": "Brandon Freeman", "is_company": False, "parent_id": 2},
        {"id": 4, "name": "Old Supplier", "is_company": True, "active": False},
        {"id": 5, "name": "Gemini Furniture", "is_company": True, "email": "hi@gemini.example"},
        {"id": 6, "name": "Colleen Diaz", "is_company": False, "parent_id": 2},
    ]


def _leads() -> list[dict[str, Any]]:
    """Lead n was written on January n; the last has no write_date (unknown change time)."""
    leads = []
    for n in range(1, LEAD_COUNT + 1):
        leads.append(
            {
                "id": n,
                "name": f"Opportunity {n}",
                "partner_id": None if n % 3 == 0 else (n % 6) + 1,
                "expected_revenue": None if n == 5 else 1000.5 * n,
                "probability": 10.0 * (n % 10),
                "color": n % 4,
                "type": "lead" if n % 2 else "opportunity",
                "description": f"<p>Deal {n}</p>" if n % 2 else None,
                "date_deadline": f"2025-03-{n:02d}" if n % 2 == 0 else None,
                "lead_properties": [{"name": "region", "type": "char", "value": f"r{n}"}],
                "tag_ids": [1, 2],
                "active": n != 4,
                "write_date": None if n == LEAD_COUNT else f"2025-01-{n:02d} 10:00:00",
            }
        )
    return leads


@pytest.fixture
def odoo() -> FakeOdoo:
    partners = _partners()
    for partner in partners:
        partner.setdefault("active", True)
        partner["write_date"] = f"2025-02-0{partner['id']} 08:30:00"
    return FakeOdoo(
        models={
            "res.partner": FakeModel(PARTNER_FIELDS, partners),
            "crm.lead": FakeModel(LEAD_FIELDS, _leads()),
        }
    )


@pytest.fixture
def odoo_url(odoo: FakeOdoo) -> Iterator[str]:
    with serve(odoo) as url:
        yield url


def _xmlrpc(url: str, odoo: FakeOdoo, **options: Any) -> OdooRpcSource:
    return OdooRpcSource(url, odoo.database, odoo.login, password=odoo.password, **options)


def _json2(url: str, odoo: FakeOdoo, **options: Any) -> OdooRpcSource:
    return OdooRpcSource(url, odoo.database, api_key=odoo.api_key, protocol="json2", **options)


def _rows(source: OdooRpcSource, table: str, window: ReadWindow) -> list[dict[str, Any]]:
    """Rows as dicts by column name, jsonb values unwrapped so rows compare by value."""
    extract = source.extract(table, window)
    names = [c.name for c in extract.columns]
    rows = []
    for record in extract.records:
        assert not isinstance(record, Rejected), record
        values = [v.obj if isinstance(v, Jsonb) else v for v in record]
        rows.append(dict(zip(names, values, strict=True)))
    return rows


def test_all_rows_are_read_across_pages(odoo_url: str, odoo: FakeOdoo) -> None:
    rows = _rows(_xmlrpc(odoo_url, odoo, page_size=3), "crm_lead", ReadWindow("write_date"))

    assert [r["id"] for r in rows] == [lead["id"] for lead in _leads()]
    pages = sum(1 for call in odoo.calls if call == ("crm.lead", "search_read"))
    assert pages == -(-LEAD_COUNT // 3)


def test_values_are_converted_from_odoo_shapes(odoo_url: str, odoo: FakeOdoo) -> None:
    rows = {r["id"]: r for r in _rows(_xmlrpc(odoo_url, odoo), "crm_lead", ReadWindow(None))}

    for lead in _leads():
        row = rows[lead["id"]]
        assert row["partner_id"] == lead["partner_id"]
        revenue = lead["expected_revenue"]
        assert row["expected_revenue"] == (None if revenue is None else Decimal(str(revenue)))
        assert row["description"] == lead["description"]
        deadline = lead["date_deadline"]
        assert row["date_deadline"] == (deadline and date.fromisoformat(deadline))
        stamp = lead["write_date"]
        assert row["write_date"] == (stamp and datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S"))
        assert row["lead_properties"] == lead["lead_properties"]
        assert row["active"] is lead["active"]


def test_many2one_becomes_the_related_id_and_false_becomes_null(
    odoo_url: str, odoo: FakeOdoo
) -> None:
    rows = {r["id"]: r for r in _rows(_xmlrpc(odoo_url, odoo), "res_partner", ReadWindow(None))}

    assert rows[3]["parent_id"] == 2
    assert rows[1]["parent_id"] is None
    assert rows[2]["email"] is None
    assert rows[3]["is_company"] is False


def test_archived_rows_are_read(odoo_url: str, odoo: FakeOdoo) -> None:
    leads = _rows(_xmlrpc(odoo_url, odoo), "crm_lead", ReadWindow(None))
    partners = _rows(_xmlrpc(odoo_url, odoo), "res_partner", ReadWindow(None))

    assert {r["id"] for r in leads if r["active"] is False} == {4}
    assert {r["id"] for r in partners if r["active"] is False} == {4}


def test_window_reads_cursor_in_range_and_rows_without_cursor(
    odoo_url: str, odoo: FakeOdoo
) -> None:
    window = ReadWindow(
        "write_date", since=datetime(2025, 1, 3, 10), until=datetime(2025, 1, 6, 10)
    )

    rows = _rows(_xmlrpc(odoo_url, odoo, page_size=2), "crm_lead", window)

    assert [r["id"] for r in rows] == [3, 4, 5, LEAD_COUNT]


def test_window_until_with_fraction_of_second_keeps_that_second(
    odoo_url: str, odoo: FakeOdoo
) -> None:
    # Odoo compares whole seconds: lead 1, written at 10:00:00, is before 10:00:00.5.
    window = ReadWindow("write_date", until=datetime(2025, 1, 1, 10, 0, 0, 500_000))

    rows = _rows(_xmlrpc(odoo_url, odoo), "crm_lead", window)

    assert [r["id"] for r in rows] == [1, LEAD_COUNT]


def test_columns_and_types_come_from_fields_get(odoo_url: str, odoo: FakeOdoo) -> None:
    extract = _xmlrpc(odoo_url, odoo).extract("crm_lead", ReadWindow("write_date"))

    assert [(c.name, c.pg_type) for c in extract.columns] == [
        ("id", "integer"),
        ("name", "text"),
        ("partner_id", "integer"),
        ("expected_revenue", "numeric"),
        ("probability", "double precision"),
        ("color", "integer"),
        ("type", "text"),
        ("description", "text"),
        ("date_deadline", "date"),
        ("lead_properties", "jsonb"),
        ("active", "boolean"),
        ("write_date", "timestamp without time zone"),
    ]
    assert set(extract.details["skipped_fields"]) == {"tag_ids", "days_to_convert"}
    assert extract.details["model"] == "crm.lead"


def test_a_cursor_that_is_not_a_stored_field_is_refused(odoo_url: str, odoo: FakeOdoo) -> None:
    with pytest.raises(LookupError, match="days_to_convert"):
        _xmlrpc(odoo_url, odoo).extract("crm_lead", ReadWindow("days_to_convert"))


@pytest.mark.integration
def test_rows_copy_into_the_declared_postgres_types(
    odoo_url: str, odoo: FakeOdoo, settings: Settings
) -> None:
    extract = _xmlrpc(odoo_url, odoo).extract("crm_lead", ReadWindow(None))
    rows = list(extract.records)
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in extract.columns)

    with connect(settings.warehouse_url) as conn, conn.transaction():
        conn.execute(
            sql.SQL("create temporary table leads ({}) on commit drop").format(
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type))
                    for c in extract.columns
                )
            )
        )
        with conn.cursor().copy(sql.SQL("copy leads ({}) from stdin").format(names)) as copy:
            for row in rows:
                copy.write_row(row)
        loaded = conn.execute(sql.SQL("select {} from leads order by id").format(names)).fetchall()

    plain = [tuple(v.obj if isinstance(v, Jsonb) else v for v in row) for row in rows]
    assert loaded == plain


def test_binary_and_relational_lists_are_not_columns(odoo_url: str, odoo: FakeOdoo) -> None:
    extract = _xmlrpc(odoo_url, odoo).extract("res_partner", ReadWindow(None))

    names = {c.name for c in extract.columns}
    assert names.isdisjoint({"display_name", "child_ids", "category_id", "image_1920"})
    assert extract.columns[0].name == "id"


def test_a_record_that_cannot_be_read_is_rejected_not_raised(odoo_url: str, odoo: FakeOdoo) -> None:
    odoo.models["crm.lead"].records[1]["date_deadline"] = "next tuesday"

    records = list(_xmlrpc(odoo_url, odoo).extract("crm_lead", ReadWindow(None)).records)

    rejected = [r for r in records if isinstance(r, Rejected)]
    assert len(records) == LEAD_COUNT
    assert [r.payload["id"] for r in rejected] == [2]
    assert rejected[0].payload["date_deadline"] == "next tuesday"


def test_wrong_password_raises_auth_error_without_the_password(
    odoo_url: str, odoo: FakeOdoo
) -> None:
    wrong = "wrong-pw-do-not-leak-77"
    source = OdooRpcSource(odoo_url, odoo.database, odoo.login, password=wrong)

    with pytest.raises(OdooAuthError) as caught:
        source.extract("crm_lead", ReadWindow(None))

    assert not isinstance(caught.value, OSError)
    assert wrong not in str(caught.value)
    assert odoo.login in str(caught.value)


def test_wrong_api_key_over_json2_raises_auth_error_without_the_key(
    odoo_url: str, odoo: FakeOdoo
) -> None:
    wrong = "wrong-key-do-not-leak-42"
    source = OdooRpcSource(odoo_url, odoo.database, api_key=wrong, protocol="json2")

    with pytest.raises(OdooAuthError) as caught:
        source.extract("crm_lead", ReadWindow(None))

    assert not isinstance(caught.value, OSError)
    assert wrong not in str(caught.value)


def test_api_key_replaces_the_password_over_xmlrpc(odoo_url: str, odoo: FakeOdoo) -> None:
    source = OdooRpcSource(odoo_url, odoo.database, odoo.login, api_key=odoo.api_key)

    assert len(_rows(source, "res_partner", ReadWindow(None))) == len(_partners())


def test_json2_reads_the_same_rows_as_xmlrpc(odoo_url: str, odoo: FakeOdoo) -> None:
    window = ReadWindow("write_date", since=datetime(2025, 1, 2))

    for table in ("crm_lead", "res_partner"):
        over_xmlrpc = _rows(_xmlrpc(odoo_url, odoo, page_size=4), table, window)
        over_json2 = _rows(_json2(odoo_url, odoo, page_size=4), table, window)
        assert over_json2 == over_xmlrpc
        assert over_json2


def test_primary_keys_are_every_id_including_archived(odoo_url: str, odoo: FakeOdoo) -> None:
    expected = {(p["id"],) for p in _partners()}

    assert _xmlrpc(odoo_url, odoo, page_size=2).primary_keys("res_partner") == expected
    assert _json2(odoo_url, odoo, page_size=2).primary_keys("res_partner") == expected


@pytest.mark.parametrize(("protocol", "failures"), [("xmlrpc", 2), ("json2", 1)])
def test_lost_connection_is_a_connection_error_and_the_next_try_works(
    odoo_url: str, odoo: FakeOdoo, protocol: str, failures: int
) -> None:
    # xmlrpc.client resends once by itself after a dropped keep-alive connection.
    source = _xmlrpc(odoo_url, odoo) if protocol == "xmlrpc" else _json2(odoo_url, odoo)
    odoo.fail_next = failures

    with pytest.raises(ConnectionError):
        source.extract("res_partner", ReadWindow(None))

    assert len(_rows(source, "res_partner", ReadWindow(None))) == len(_partners())


def test_unknown_model_is_a_rejected_call_not_a_connection_error(
    odoo_url: str, odoo: FakeOdoo
) -> None:
    for source in (_xmlrpc(odoo_url, odoo), _json2(odoo_url, odoo)):
        with pytest.raises(OdooRpcError, match=r"sale\.order"):
            source.extract("sale_order", ReadWindow(None))


def test_table_names_map_to_model_names() -> None:
    assert model_name("crm_lead") == "crm.lead"
    assert model_name("res_partner") == "res.partner"
    assert model_name("x_aws_accounts") == "x_aws_accounts"
    assert model_name("c_aws_accounts", {"c_aws_accounts": "x_aws_accounts"}) == "x_aws_accounts"
