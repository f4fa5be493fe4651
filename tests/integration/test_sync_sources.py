"""The generic sync over every row transport, into a real warehouse.

Odoo's external API is a look-alike served over real HTTP (XML-RPC and JSON-2), APN exports are
the published ACE sample in a folder, and MongoDB is mongomock behind the same pymongo calls.
The loader's invariant, rows read = inserted + updated + unchanged + quarantined, is checked
against counts taken independently: the records in the source, raw's rows, ``ops.quarantine``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import mongomock
import pytest
from bson import Decimal128, ObjectId, json_util
from support.odoo_rpc_server import FakeModel, FakeOdoo, serve

from aura_demo.mongo import mongo_dir, write_mongo_documents
from aura_demo.world import build_world
from aura_platform.config.loader import load_sources
from aura_platform.config.models import SourceConfig, TableConfig, Transport
from aura_platform.ingest.sync import SyncResult, TableSync, sync_table
from aura_platform.settings import Settings, SourceNotConfigured
from aura_platform.sources.base import RowSource
from aura_platform.sources.mongo import DEFAULT_DATABASE, MongoSource
from aura_platform.sources.postgres import SqlSource
from aura_platform.sources.registry import open_source
from aura_platform.warehouse.connection import connect

ACE_SAMPLE = Path(__file__).parents[1] / "fixtures" / "apn" / "Opportunity-Outbound-Sample.json"


def _spec(system: str, source: SourceConfig, table: str) -> TableSync:
    return TableSync(system, source, table, source.tables[table])


def _reset(settings: Settings, spec: TableSync) -> None:
    """No raw mirror and no watermark: the next sync is a first one."""
    with connect(settings.warehouse_url) as conn:
        conn.execute(f"drop table if exists raw.{spec.raw_table}")
        conn.execute(
            "delete from ops.sync_watermarks where source_system = %s and source_table = %s",
            (spec.source_name, spec.table_name),
        )


def _sync(settings: Settings, spec: TableSync, source: SqlSource | RowSource) -> SyncResult:
    return sync_table(spec, warehouse_url=settings.warehouse_url, source=source)


def _query(settings: Settings, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connect(settings.warehouse_url) as conn:
        return conn.execute(query, params).fetchall()


def _raw_rows(settings: Settings, spec: TableSync, key: str) -> dict[Any, dict[str, Any]]:
    """Live raw rows by key, as column -> value."""
    with connect(settings.warehouse_url) as conn:
        cursor = conn.execute(f"select * from raw.{spec.raw_table} where _deleted_at is null")
        names = [d.name for d in cursor.description or []]
        return {row[names.index(key)]: dict(zip(names, row, strict=True)) for row in cursor}


def _audited(settings: Settings, result: SyncResult) -> dict[str, Any]:
    """The sync's ``ops.sync_jobs`` counts, checked against what waits in ``ops.quarantine``.

    A record still bad in the source is met again by later syncs and counted as quarantined
    each time, but it waits in quarantine once (until resolved).
    """
    [(status, processed, inserted, updated, quarantined, system, table)] = _query(
        settings,
        "select status, records_processed, records_inserted, records_updated, "
        "records_quarantined, source_system, source_table from ops.sync_jobs where id = %s",
        (result.job_id,),
    )
    [(in_quarantine,)] = _query(
        settings,
        "select count(*) from ops.quarantine where source_system = %s and source_table = %s "
        "and resolved_at is null",
        (system, table),
    )
    assert status == "success" and quarantined == in_quarantine
    return {
        "processed": processed,
        "inserted": inserted,
        "updated": updated,
        "quarantined": quarantined,
    }


def _untouched(settings: Settings, spec: TableSync, result: SyncResult) -> int:
    """Raw rows this batch did not write: the rows it read unchanged, when it read them all."""
    [(count,)] = _query(
        settings,
        f"select count(*) from raw.{spec.raw_table} where _sync_batch_id <> %s",
        (result.batch_id,),
    )
    return int(count)


# --- Odoo over its external API ---------------------------------------------------------------

LEAD_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "store": True},
    "name": {"type": "char", "store": True},
    "partner_id": {"type": "many2one", "store": True, "relation": "res.partner"},
    "expected_revenue": {"type": "monetary", "store": True},
    "probability": {"type": "float", "store": True},
    "date_deadline": {"type": "date", "store": True},
    "lead_properties": {"type": "properties", "store": True},
    "tag_ids": {"type": "many2many", "store": True, "relation": "crm.tag"},
    "display_name": {"type": "char", "store": False},
    "active": {"type": "boolean", "store": True},
    "write_date": {"type": "datetime", "store": True},
}
# The mirror's types for the stored fields above, as the connector documents them.
LEAD_TYPES = {
    "id": "integer",
    "name": "text",
    "partner_id": "integer",
    "expected_revenue": "numeric",
    "probability": "double precision",
    "date_deadline": "date",
    "lead_properties": "jsonb",
    "active": "boolean",
    "write_date": "timestamp without time zone",
}
ARCHIVED_LEAD = 4


def _leads() -> list[dict[str, Any]]:
    """Lead n was written on January n, 2025; lead 4 is archived."""
    return [
        {
            "id": n,
            "name": f"Opportunity {n}",
            "partner_id": 1 if n % 2 else None,
            "expected_revenue": 1000.5 * n,
            "probability": 12.5 * n,
            "date_deadline": f"2025-03-0{n}",
            "lead_properties": [{"name": "region", "type": "char", "value": f"r{n}"}],
            "tag_ids": [1],
            "active": n != ARCHIVED_LEAD,
            "write_date": f"2025-01-0{n} 10:00:00",
        }
        for n in range(1, 7)
    ]


@pytest.fixture
def odoo() -> Iterator[tuple[FakeOdoo, str]]:
    partners = [{"id": 1, "name": "Deco Addict", "active": True}]
    server = FakeOdoo(
        models={
            "crm.lead": FakeModel(LEAD_FIELDS, _leads()),
            "res.partner": FakeModel({"id": {"type": "integer", "store": True}}, partners),
        }
    )
    with serve(server) as url:
        yield server, url


def _odoo_source(
    transport: Transport,
    server: FakeOdoo,
    url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[TableSync, SqlSource | RowSource]:
    """The configured source, opened by the registry from environment variables as in production."""
    config = SourceConfig(
        transport=transport,
        connection_env="T_ODOO_URL",
        database_env="T_ODOO_DB",
        username_env="T_ODOO_LOGIN",
        secret_env="T_ODOO_SECRET",
        tables={"crm_lead": TableConfig(cursor="write_date")},
    )
    secret = server.api_key if transport == "odoo_json2" else server.password
    for name, value in [
        ("T_ODOO_URL", url),
        ("T_ODOO_DB", server.database),
        ("T_ODOO_LOGIN", server.login),
        ("T_ODOO_SECRET", secret),
    ]:
        monkeypatch.setenv(name, value)
    system = f"t_{transport}"
    return _spec(system, config, "crm_lead"), open_source(system, config, settings)


@pytest.mark.parametrize("transport", ["odoo_xmlrpc", "odoo_json2"])
def test_odoo_records_land_typed_from_fields_get_and_a_re_sync_changes_only_what_changed(
    settings: Settings,
    odoo: tuple[FakeOdoo, str],
    monkeypatch: pytest.MonkeyPatch,
    transport: Transport,
) -> None:
    server, url = odoo
    spec, source = _odoo_source(transport, server, url, settings, monkeypatch)
    _reset(settings, spec)

    first = _sync(settings, spec, source)

    leads = _leads()
    assert _audited(settings, first) == {
        "processed": len(leads),
        "inserted": len(leads),
        "updated": 0,
        "quarantined": 0,
    }
    assert {name: first.columns[name] for name in LEAD_TYPES} == LEAD_TYPES
    assert not {"tag_ids", "display_name"} & set(first.columns)
    rows = _raw_rows(settings, spec, "id")
    for lead in leads:
        row = rows[lead["id"]]
        assert row["name"] == lead["name"]
        assert row["partner_id"] == lead["partner_id"]
        assert row["expected_revenue"] == Decimal(str(lead["expected_revenue"]))
        assert row["probability"] == lead["probability"]
        assert row["date_deadline"] == date.fromisoformat(lead["date_deadline"])
        assert row["lead_properties"] == lead["lead_properties"]
        assert row["write_date"] == datetime.fromisoformat(lead["write_date"])
        assert (row["active"], row["_deleted_at"]) == (lead["active"], None)
    assert rows[ARCHIVED_LEAD]["active"] is False

    again = _sync(settings, spec, source)

    # The hour of lookback before the watermark re-reads lead 6, which changes nothing.
    assert _audited(settings, again) == {
        "processed": 1,
        "inserted": 0,
        "updated": 0,
        "quarantined": 0,
    }

    server.models["crm.lead"].records[1].update(name="Renamed", write_date="2025-01-07 10:00:00")
    changed = _sync(settings, spec, source)

    assert (changed.outcome.inserted, changed.outcome.updated) == (0, 1)
    assert _raw_rows(settings, spec, "id")[2]["name"] == "Renamed"
    assert changed.outcome.watermark_after == datetime(2025, 1, 7, 10)


# --- APN/ACE export files ---------------------------------------------------------------------


@pytest.fixture
def ace(settings: Settings, tmp_path: Path) -> tuple[TableSync, Settings, Path]:
    """The configured ``ace_exports`` source, its drop folder under a private data dir, empty."""
    config = load_sources().sources["ace_exports"]
    spec = _spec("t_ace", config, "opportunity")
    _reset(settings, spec)
    private = dataclasses.replace(settings, data_dir=tmp_path)
    assert config.folder is not None
    folder = tmp_path / config.folder
    folder.mkdir()
    return spec, private, folder


def _ace_value(value: Any, pg_type: str) -> Any:
    """What a sample value should read back as from a raw column of ``pg_type``."""
    if value is None:
        return None
    if pg_type == "date":
        return date.fromisoformat(value)
    if pg_type == "timestamp without time zone":
        return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)
    if pg_type == "numeric":
        return Decimal(str(value))
    if pg_type == "jsonb" and isinstance(value, str):
        return [part.strip() for part in value.split(";")]  # a multi-select picklist
    return value


def test_every_field_of_the_ace_sample_lands_in_raw_with_its_value(
    settings: Settings, ace: tuple[TableSync, Settings, Path]
) -> None:
    spec, private, folder = ace
    shutil.copy(ACE_SAMPLE, folder / ACE_SAMPLE.name)
    source = open_source("ace_exports", spec.source, private)

    result = _sync(settings, spec, source)

    export = json.loads(ACE_SAMPLE.read_text(encoding="utf-8"))
    [opportunity] = export["opportunities"]
    assert _audited(settings, result) == {
        "processed": 1,
        "inserted": 1,
        "updated": 0,
        "quarantined": 0,
    }
    rows = _raw_rows(settings, spec, "apn_crm_unique_identifier")
    row = rows[opportunity["apnCrmUniqueIdentifier"]]
    for key, value in opportunity.items():
        # The column is the key with its word breaks as underscores, whatever the casing.
        [column] = [c for c in result.columns if c.replace("_", "") == key.lower()]
        assert row[column] == _ace_value(value, result.columns[column]), key
    assert (row["version"], row["spms_id"]) == (export["version"], export["spmsId"])


def test_a_broken_export_is_quarantined_with_its_place_and_every_record_is_accounted_for(
    settings: Settings, ace: tuple[TableSync, Settings, Path]
) -> None:
    spec, private, folder = ace
    shutil.copy(ACE_SAMPLE, folder / ACE_SAMPLE.name)
    [sample] = json.loads(ACE_SAMPLE.read_text(encoding="utf-8"))["opportunities"]
    more = [
        {**sample, "apnCrmUniqueIdentifier": "O2"},
        {**sample, "apnCrmUniqueIdentifier": "O3", "lastModifiedDate": "last tuesday"},
    ]
    (folder / "more.json").write_text(json.dumps({"version": "2.0", "opportunities": more}))
    (folder / "broken.json").write_text('{"version": "2.0",\n "opportunities": [\n {"apnCrm')
    source = open_source("ace_exports", spec.source, private)

    first = _sync(settings, spec, source)

    records_in_folder = 1 + len(more) + 1  # the broken file is one unreadable record
    counts = _audited(settings, first)
    assert counts == {"processed": records_in_folder, "inserted": 2, "updated": 0, "quarantined": 2}
    places = _query(
        settings,
        "select source_file, line_number, reason from ops.quarantine "
        "where sync_batch_id = %s order by source_file",
        (first.batch_id,),
    )
    assert [(file, line) for file, line, _ in places] == [("broken.json", 3), ("more.json", 2)]
    assert "last_modified_date" in places[1][2] and "last tuesday" in places[1][2]
    assert sorted(_raw_rows(settings, spec, "apn_crm_unique_identifier")) == ["O2", "OXXXXXX"]
    # Deletes are not reconciled while a file is unreadable: its ids are unknown.
    assert first.outcome.details["deletes"] == "not reconciled"

    more[0]["lastModifiedDate"] = "2022-04-01T09:00:00.000Z"
    (folder / "more.json").write_text(json.dumps({"version": "2.0", "opportunities": more}))
    second = _sync(settings, spec, source)

    counts = _audited(settings, second)
    assert counts["processed"] == records_in_folder  # all at or after the watermark
    assert (counts["inserted"], counts["updated"], counts["quarantined"]) == (0, 1, 2)
    unchanged = _untouched(settings, spec, second)
    assert unchanged == 1
    assert counts["processed"] == (
        counts["inserted"] + counts["updated"] + unchanged + counts["quarantined"]
    )


# --- MongoDB ----------------------------------------------------------------------------------


def _invoice(n: int, **overrides: Any) -> dict[str, Any]:
    """A ReXcan invoice as MongoDB stores it; invoice n was last updated on March n, 2024."""
    return {
        "_id": ObjectId(f"65a0000000000000000000{n:02d}"),
        "invoice_number": f"INV-2024-{n:04d}",
        "vendor": {"name": f"Vendor {n}", "tax_id": f"FR{n:011d}"},
        "invoice_date": datetime(2024, 2, n),
        "due_date": f"2024-03-{n:02d}",
        "currency": "EUR",
        "items": [{"description": "Consulting", "amount": Decimal128(f"{100 * n}.00")}] * n,
        "subtotal": Decimal128(f"{100 * n * n}.00"),
        "tax": Decimal128(f"{20 * n * n}.00"),
        "total": Decimal128(f"{120 * n * n}.00"),
        "status": "processed",
        "created_at": datetime(2024, 2, n, 9),
        "updated_at": datetime(2024, 3, n, 9),
        **overrides,
    }


@pytest.fixture
def mongo(settings: Settings) -> tuple[TableSync, mongomock.MongoClient]:
    """The configured ``invoices`` collection over an in-process MongoDB holding four invoices."""
    spec = _spec("t_mongo", load_sources().sources["mongo"], "invoices")
    _reset(settings, spec)
    client: mongomock.MongoClient = mongomock.MongoClient()
    client[DEFAULT_DATABASE].invoices.insert_many([_invoice(n) for n in range(1, 5)])
    return spec, client


def test_mongo_invoices_land_as_a_jsonb_document_plus_extracted_columns(
    settings: Settings, mongo: tuple[TableSync, mongomock.MongoClient]
) -> None:
    spec, client = mongo

    result = _sync(settings, spec, MongoSource(client))

    assert _audited(settings, result) == {
        "processed": 4,
        "inserted": 4,
        "updated": 0,
        "quarantined": 0,
    }
    assert (result.columns["document"], result.columns["total"]) == ("jsonb", "numeric")
    rows = _raw_rows(settings, spec, "id")
    for n in range(1, 5):
        invoice = _invoice(n)
        row = rows[str(invoice["_id"])]
        document = row["document"]
        assert document["_id"] == row["id"]
        assert row["invoice_number"] == document["invoice_number"] == invoice["invoice_number"]
        assert row["vendor_name"] == document["vendor"]["name"] == invoice["vendor"]["name"]
        assert row["total"] == invoice["total"].to_decimal()
        assert document["total"] == str(invoice["total"])
        assert row["item_count"] == len(document["items"]) == n
        assert row["invoice_date"] == invoice["invoice_date"].date()
        assert row["due_date"] == date.fromisoformat(invoice["due_date"])
        assert row["updated_at"] == invoice["updated_at"]


def test_mongo_syncs_incrementally_on_updated_at(
    settings: Settings, mongo: tuple[TableSync, mongomock.MongoClient]
) -> None:
    spec, client = mongo
    _sync(settings, spec, MongoSource(client))
    client[DEFAULT_DATABASE].invoices.update_one(
        {"_id": _invoice(1)["_id"]},
        {"$set": {"status": "paid", "updated_at": datetime(2024, 4, 1, 9)}},
    )

    result = _sync(settings, spec, MongoSource(client))

    # Invoice 1, and invoice 4 whose updated_at is the watermark the window starts from.
    assert _audited(settings, result) == {
        "processed": 2,
        "inserted": 0,
        "updated": 1,
        "quarantined": 0,
    }
    rows = _raw_rows(settings, spec, "id")
    changed = rows[str(_invoice(1)["_id"])]
    assert (changed["status"], changed["document"]["status"]) == ("paid", "paid")
    assert str(changed["_sync_batch_id"]) == result.batch_id
    assert result.outcome.watermark_after == datetime(2024, 4, 1, 9)


def test_a_bad_mongo_document_is_quarantined_while_the_others_load(
    settings: Settings, mongo: tuple[TableSync, mongomock.MongoClient]
) -> None:
    spec, client = mongo
    invoices = client[DEFAULT_DATABASE].invoices
    invoices.insert_one(_invoice(5, total="a lot"))

    result = _sync(settings, spec, MongoSource(client))

    counts = _audited(settings, result)
    assert counts["processed"] == invoices.count_documents({})
    assert (counts["inserted"], counts["updated"], counts["quarantined"]) == (4, 0, 1)
    assert counts["processed"] == (
        counts["inserted"]
        + counts["updated"]
        + _untouched(settings, spec, result)
        + counts["quarantined"]
    )
    [(reason, payload)] = _query(
        settings,
        "select reason, original_payload from ops.quarantine where sync_batch_id = %s",
        (result.batch_id,),
    )
    assert "total" in reason and "a lot" in reason
    assert payload["invoice_number"] == "INV-2024-0005"
    assert str(_invoice(5)["_id"]) not in _raw_rows(settings, spec, "id")


def test_outside_the_demo_a_mongo_source_without_url_is_not_configured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AURA_MONGO_URL", raising=False)
    production = dataclasses.replace(settings, mongo_url_override=None, demo=False)

    with pytest.raises(SourceNotConfigured, match="AURA_MONGO_URL is not set"):
        open_source("mongo", load_sources().sources["mongo"], production)


def test_in_the_demo_an_unset_mongo_url_reads_the_demo_documents_through_the_stand_in(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AURA_MONGO_URL", raising=False)
    demo = dataclasses.replace(settings, data_dir=tmp_path, mongo_url_override=None, demo=True)
    rng = random.Random(7)
    write_mongo_documents(
        rng,
        mongo_dir(demo),
        build_world(rng, customers=20),
        invoices=6,
        funding_refs=["FR-1"],
        claim_numbers=["CC-1"],
    )
    config = load_sources().sources["mongo"]

    source = open_source("mongo", config, demo)

    for collection in ("invoices", "supporting_docs"):
        spec = _spec("t_mongo_demo", config, collection)
        _reset(settings, spec)
        result = _sync(settings, spec, source)
        written = json_util.loads(
            (mongo_dir(demo) / f"{collection}.json").read_text(encoding="utf-8")
        )
        assert result.outcome.inserted == len(written) > 0
        assert result.outcome.quarantined == 0
        assert set(_raw_rows(settings, spec, "id")) == {doc["_id"] for doc in written}
