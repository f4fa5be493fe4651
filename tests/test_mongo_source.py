"""The MongoDB connector, read through the same pymongo calls from an in-process mongomock."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import mongomock
import pymongo
import pytest
from bson import Decimal128, ObjectId, json_util
from psycopg import sql
from psycopg.types.json import Jsonb

from aura_platform.settings import Settings
from aura_platform.sources.base import ReadWindow, Rejected
from aura_platform.sources.mongo import DEFAULT_DATABASE, MongoSource, mongo_client
from aura_platform.warehouse.connection import connect

INVOICE_ID = ObjectId("65a000000000000000000001")
DOC_ID = ObjectId("65a000000000000000000002")


def _invoice(**overrides: Any) -> dict[str, Any]:
    """A ReXcan invoice as MongoDB stores it: BSON dates and Decimal128 amounts."""
    invoice = {
        "_id": INVOICE_ID,
        "invoice_number": "INV-2024-0042",
        "vendor": {
            "name": "Globex SARL",
            "address": "1 rue de la Paix, Paris",
            "tax_id": "FR12345678901",
            "email": "billing@globex.example",
        },
        "invoice_date": datetime(2024, 3, 15),
        "due_date": "2024-04-14",
        "currency": "EUR",
        "items": [
            {
                "description": "Consulting",
                "quantity": 3,
                "unit_price": Decimal128("400.00"),
                "amount": Decimal128("1200.00"),
                "tax_rate": 0.2,
            },
            {
                "description": "Travel",
                "quantity": 1,
                "unit_price": Decimal128("50.00"),
                "amount": Decimal128("50.00"),
                "tax_rate": 0.2,
            },
        ],
        "subtotal": Decimal128("1250.00"),
        "tax": Decimal128("250.00"),
        "total": Decimal128("1500.00"),
        "status": "approved",
        "created_at": datetime(2024, 3, 15, 9, 30),
        "updated_at": datetime(2024, 3, 16, 8, 0, 0, 123000),
    }
    return {**invoice, **overrides}


def _supporting_doc(**overrides: Any) -> dict[str, Any]:
    """Metadata of an uploaded supporting document, pointing at the invoice it supports."""
    doc = {
        "_id": DOC_ID,
        "document_type": "purchase_order",
        "file_name": "po-7781.pdf",
        "content_type": "application/pdf",
        "size_bytes": 5_368_709_120,
        "related_entity": {"type": "invoice", "id": INVOICE_ID},
        "uploaded_by": "alice@aura.example",
        "uploaded_at": "2024-03-15T10:00:00+02:00",
        "updated_at": datetime(2024, 3, 15, 8, 0),
        "tags": ["po", "signed"],
        "checksum": "sha256:ab12",
    }
    return {**doc, **overrides}


@pytest.fixture
def client() -> mongomock.MongoClient:
    return mongomock.MongoClient()


def _read(
    client: mongomock.MongoClient, table: str, window: ReadWindow | None = None
) -> tuple[list[str], list[Any]]:
    """Column names and records of one extract, with the records fully read."""
    extract = MongoSource(client, batch_size=2).extract(table, window or ReadWindow(None))
    return [c.name for c in extract.columns], list(extract.records)


def _as_dict(columns: list[str], record: Any) -> dict[str, Any]:
    assert not isinstance(record, Rejected), record
    return dict(zip(columns, record, strict=True))


def test_invoices_become_typed_columns_plus_the_whole_document(client):
    client[DEFAULT_DATABASE].invoices.insert_one(_invoice())

    extract = MongoSource(client).extract("invoices", ReadWindow(None))
    records = list(extract.records)

    assert [(c.name, c.pg_type) for c in extract.columns] == [
        ("id", "text"),
        ("invoice_number", "text"),
        ("vendor_name", "text"),
        ("vendor_tax_id", "text"),
        ("invoice_date", "date"),
        ("due_date", "date"),
        ("currency", "text"),
        ("subtotal", "numeric"),
        ("tax", "numeric"),
        ("total", "numeric"),
        ("status", "text"),
        ("item_count", "integer"),
        ("created_at", "timestamp without time zone"),
        ("updated_at", "timestamp without time zone"),
        ("document", "jsonb"),
    ]
    row = _as_dict([c.name for c in extract.columns], records[0])
    assert len(records) == 1
    assert {k: v for k, v in row.items() if k != "document"} == {
        "id": "65a000000000000000000001",
        "invoice_number": "INV-2024-0042",
        "vendor_name": "Globex SARL",
        "vendor_tax_id": "FR12345678901",
        "invoice_date": date(2024, 3, 15),
        "due_date": date(2024, 4, 14),
        "currency": "EUR",
        "subtotal": Decimal("1250.00"),
        "tax": Decimal("250.00"),
        "total": Decimal("1500.00"),
        "status": "approved",
        "item_count": 2,
        "created_at": datetime(2024, 3, 15, 9, 30),
        "updated_at": datetime(2024, 3, 16, 8, 0, 0, 123000),
    }
    assert isinstance(row["document"], Jsonb)
    document = row["document"].obj
    assert document["_id"] == "65a000000000000000000001"
    assert document["invoice_date"] == "2024-03-15T00:00:00"
    assert document["items"][0] == {
        "description": "Consulting",
        "quantity": 3,
        "unit_price": "400.00",
        "amount": "1200.00",
        "tax_rate": 0.2,
    }
    assert document["vendor"]["email"] == "billing@globex.example"


def test_supporting_documents_flatten_their_related_entity(client):
    client[DEFAULT_DATABASE].supporting_docs.insert_one(_supporting_doc())

    columns, records = _read(client, "supporting_docs")
    row = _as_dict(columns, records[0])

    assert columns == [
        "id",
        "document_type",
        "file_name",
        "content_type",
        "size_bytes",
        "related_entity_type",
        "related_entity_id",
        "uploaded_by",
        "uploaded_at",
        "updated_at",
        "document",
    ]
    assert row["size_bytes"] == 5_368_709_120
    assert row["related_entity_type"] == "invoice"
    assert row["related_entity_id"] == "65a000000000000000000001"
    assert row["uploaded_at"] == datetime(2024, 3, 15, 8, 0), "an offset string becomes naive UTC"
    assert row["document"].obj["tags"] == ["po", "signed"]
    assert row["document"].obj["related_entity"] == {
        "type": "invoice",
        "id": "65a000000000000000000001",
    }


def test_aware_datetimes_and_missing_fields_read_as_utc_and_null(client):
    paris = timezone(timedelta(hours=1))
    sparse = {"_id": "inv-sparse", "created_at": datetime(2024, 1, 1, 1, 0, tzinfo=paris)}
    client[DEFAULT_DATABASE].invoices.insert_one(sparse)

    columns, records = _read(client, "invoices")
    row = _as_dict(columns, records[0])

    assert row["id"] == "inv-sparse"
    assert row["created_at"] == datetime(2024, 1, 1, 0, 0)
    assert row["vendor_name"] is None
    assert row["item_count"] is None
    assert row["total"] is None


def test_window_reads_changes_in_range_and_always_those_without_updated_at(client):
    stamps: dict[str, Any] = {
        "before": datetime(2024, 1, 1),
        "at_since": datetime(2024, 2, 1),
        "inside": datetime(2024, 2, 10),
        "at_until": datetime(2024, 3, 1),
        "string_inside": "2024-02-20T12:00:00Z",
        "string_after": "2024-05-01T00:00:00",
        "null": None,
    }
    docs = [_invoice(_id=name, updated_at=stamp) for name, stamp in stamps.items()]
    docs.append({k: v for k, v in _invoice(_id="missing").items() if k != "updated_at"})
    client[DEFAULT_DATABASE].invoices.insert_many(docs)

    window = ReadWindow("updated_at", since=datetime(2024, 2, 1), until=datetime(2024, 3, 1))
    columns, records = _read(client, "invoices", window)
    rows = [_as_dict(columns, r) for r in records]

    assert [r["id"] for r in rows] == ["missing", "null", "string_inside", "at_since", "inside"]
    assert rows[2]["updated_at"] == datetime(2024, 2, 20, 12, 0)


def test_window_open_at_the_top_reads_everything_since(client):
    client[DEFAULT_DATABASE].invoices.insert_many(
        [_invoice(_id=str(day), updated_at=datetime(2024, 1, day)) for day in range(1, 8)]
    )

    window = ReadWindow("updated_at", since=datetime(2024, 1, 5))
    columns, records = _read(client, "invoices", window)

    assert [_as_dict(columns, r)["id"] for r in records] == ["5", "6", "7"]


def test_a_bad_document_is_rejected_while_the_others_load(client):
    client[DEFAULT_DATABASE].invoices.insert_many(
        [
            _invoice(_id=ObjectId("65a0000000000000000000a1")),
            _invoice(_id=ObjectId("65a0000000000000000000a2"), total="abc"),
            _invoice(_id=ObjectId("65a0000000000000000000a3"), due_date="next tuesday"),
            _invoice(_id=ObjectId("65a0000000000000000000a4"), items="two"),
            _invoice(_id=ObjectId("65a0000000000000000000a5"), total=" 99.5 "),
        ]
    )

    columns, records = _read(client, "invoices")
    rejected = [r for r in records if isinstance(r, Rejected)]
    loaded = [_as_dict(columns, r) for r in records if not isinstance(r, Rejected)]

    assert [r["id"] for r in loaded] == ["65a0000000000000000000a1", "65a0000000000000000000a5"]
    assert loaded[1]["total"] == Decimal("99.5")
    assert len(rejected) == 3
    bad_total = rejected[0]
    assert "65a0000000000000000000a2" in bad_total.reason
    assert "total" in bad_total.reason and "'abc'" in bad_total.reason
    assert bad_total.payload["_id"] == "65a0000000000000000000a2"
    assert bad_total.payload["total"] == "abc"
    assert "due_date" in rejected[1].reason
    assert "item_count" in rejected[2].reason


@pytest.mark.parametrize(
    ("size", "why"),
    [
        (True, "a bool"),
        (1.5, "a fraction"),
        (Decimal128("9223372036854775808"), "past bigint"),
        ("12kB", "a word"),
    ],
)
def test_sizes_that_are_not_bigints_are_rejected(client, size, why):
    client[DEFAULT_DATABASE].supporting_docs.insert_one(_supporting_doc(size_bytes=size))

    _, records = _read(client, "supporting_docs")

    assert isinstance(records[0], Rejected), why
    assert "size_bytes" in records[0].reason


def test_primary_keys_are_every_id_as_text(client):
    oid = ObjectId()
    client[DEFAULT_DATABASE].invoices.insert_many(
        [_invoice(_id=oid), _invoice(_id="inv-7"), _invoice(_id=42)]
    )

    keys = MongoSource(client).primary_keys("invoices")

    assert keys == {(str(oid),), ("inv-7",), ("42",)}


def test_unknown_collections_and_cursors_fail_clearly(client):
    source = MongoSource(client)

    with pytest.raises(LookupError, match="orders"):
        source.extract("orders", ReadWindow(None))
    with pytest.raises(LookupError, match="orders"):
        source.primary_keys("orders")
    with pytest.raises(ValueError, match="status"):
        source.extract("invoices", ReadWindow("status", since=datetime(2024, 1, 1)))


def test_a_mongomock_url_serves_a_folder_of_extended_json_documents_in_process(tmp_path):
    for name, doc in (("invoices", _invoice()), ("supporting_docs", _supporting_doc())):
        text = json_util.dumps([doc], json_options=json_util.RELAXED_JSON_OPTIONS)
        (tmp_path / f"{name}.json").write_text(text, encoding="utf-8")

    client = mongo_client(f"mongomock://{tmp_path}")
    source = MongoSource(client)

    assert isinstance(client, mongomock.MongoClient)
    assert source.primary_keys("invoices") == {("65a000000000000000000001",)}
    _, records = _read(client, "supporting_docs")
    assert records[0][0] == "65a000000000000000000002"
    stored = client[DEFAULT_DATABASE].invoices.find_one()
    assert stored is not None and stored == json_util.loads(json_util.dumps(_invoice()))


def test_with_a_url_the_client_is_pymongo_and_the_url_names_the_database():
    client = mongo_client("mongodb://127.0.0.1:1/rexcan")
    try:
        assert isinstance(client, pymongo.MongoClient)
        assert MongoSource(client).db.name == "rexcan"
    finally:
        client.close()


@pytest.mark.integration
def test_rows_copy_into_their_declared_postgres_types(settings: Settings, client):
    client[DEFAULT_DATABASE].invoices.insert_many([_invoice(), _invoice(_id="b", status=None)])
    client[DEFAULT_DATABASE].supporting_docs.insert_one(_supporting_doc())
    source = MongoSource(client)

    with connect(settings.warehouse_url) as conn:
        for table in ("invoices", "supporting_docs"):
            extract = source.extract(table, ReadWindow(None))
            target = sql.Identifier(f"mongo_{table}")
            conn.execute(
                sql.SQL("create temp table {} ({})").format(
                    target,
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type))
                        for c in extract.columns
                    ),
                )
            )
            with conn.cursor().copy(sql.SQL("copy {} from stdin").format(target)) as copy:
                for record in extract.records:
                    copy.write_row(record)
        invoice = conn.execute(
            "select total, item_count, due_date, document -> 'vendor' ->> 'name', "
            "document ->> 'subtotal' from mongo_invoices where id = %s",
            ("65a000000000000000000001",),
        ).fetchone()
        size = conn.execute("select size_bytes from mongo_supporting_docs").fetchone()

    assert invoice == (Decimal("1500.00"), 2, date(2024, 4, 14), "Globex SARL", "1250.00")
    assert size == (5_368_709_120,)
