"""MongoDB-shaped demo documents: extracted vendor invoices (ReXcan) and supporting documents.

They are written as JSON files (one list per collection) so the demo needs no MongoDB server;
``load_mongo_documents`` reads them back with dates as ``datetime``, as pymongo returns them.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bson import json_util

from aura_demo import names
from aura_demo.amounts import money
from aura_demo.clock import BASE_DATE, PERIODS, moment_between
from aura_demo.world import PARTNER_DOMAIN, World
from aura_platform.settings import Settings

COLLECTIONS = ("invoices", "supporting_docs")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_VENDOR_CURRENCY = {
    "Luxembourg": "EUR",
    "Germany": "EUR",
    "Netherlands": "EUR",
    "United Kingdom": "GBP",
    "Australia": "AUD",
}
_VENDOR_ITEMS: dict[str, tuple[tuple[str, float], ...]] = {
    "Amazon Web Services": (
        ("Amazon EC2 usage", 4200.0),
        ("Amazon S3 storage", 640.0),
        ("AWS Support (Business)", 900.0),
        ("Amazon RDS usage", 1800.0),
    ),
    "default": (
        ("Professional services", 1250.0),
        ("Software subscription", 480.0),
        ("Licence seats", 95.0),
        ("Travel expenses", 310.0),
        ("Hardware", 1890.0),
        ("Consulting day", 1100.0),
    ),
}
_DOC_TYPES = {
    "invoice": (("invoice_pdf", "application/pdf", "pdf"),),
    "funding_request": (
        ("statement_of_work", "application/pdf", "pdf"),
        ("architecture_diagram", "image/png", "png"),
        ("customer_agreement", "application/pdf", "pdf"),
    ),
    "cash_claim": (
        ("proof_of_execution", "application/pdf", "pdf"),
        ("timesheet", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ),
}


def mongo_dir(settings: Settings) -> Path:
    """The folder holding one JSON file per demo collection."""
    return settings.demo_dir / "mongo"


def write_mongo_documents(
    rng: random.Random,
    directory: Path,
    world: World,
    *,
    invoices: int,
    funding_refs: list[str],
    claim_numbers: list[str],
) -> list[Path]:
    """Write ``invoices.json`` and ``supporting_docs.json``; return their paths.

    Args:
        funding_refs: APN funding request ids supporting documents may be attached to.
        claim_numbers: APN cash claim numbers supporting documents may be attached to.
    """
    directory.mkdir(parents=True, exist_ok=True)
    invoice_docs = [_invoice(rng) for _ in range(invoices)]
    uploaders = [p.email for p in world.salespeople + world.alliance_managers]
    targets = [("invoice", doc["_id"], doc["invoice_number"]) for doc in invoice_docs]
    targets += [("funding_request", ref, ref) for ref in funding_refs]
    targets += [("cash_claim", number, number) for number in claim_numbers]
    support_docs = [
        _supporting_doc(rng, rng.choice(targets), uploaders)
        for _ in range(max(5, invoices * 4 // 3))
    ]
    paths = []
    for name, docs in (("invoices", invoice_docs), ("supporting_docs", support_docs)):
        path = directory / f"{name}.json"
        # Extended JSON, as ``mongoexport --jsonArray`` writes it: dates stay dates on reload.
        text = json_util.dumps(
            _with_datetimes(docs),
            json_options=json_util.RELAXED_JSON_OPTIONS,
            indent=2,
            ensure_ascii=False,
        )
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def load_mongo_documents(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """The demo documents per collection, as pymongo would return them (naive UTC datetimes).

    Returns:
        ``{"invoices": [...], "supporting_docs": [...]}``.
    """
    directory = mongo_dir(settings)
    return {
        name: json_util.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        for name in COLLECTIONS
    }


def _invoice(rng: random.Random) -> dict[str, Any]:
    """One extracted vendor invoice; its total is exactly the item amounts plus their tax."""
    vendor, address = rng.choice(names.VENDORS)
    country = address.rsplit(", ", 1)[-1]
    currency = _VENDOR_CURRENCY.get(country, "USD")
    catalogue = _VENDOR_ITEMS["Amazon Web Services" if vendor.startswith("Amazon") else "default"]
    tax_rate = {"EUR": 17.0 if "Luxembourg" in address else 20.0, "GBP": 20.0, "AUD": 10.0}.get(
        currency, 0.0
    )
    items, tax = [], Decimal(0)
    for description, price in rng.sample(catalogue, rng.randint(1, min(4, len(catalogue)))):
        quantity = rng.randint(1, 12)
        unit_price = money(price * rng.uniform(0.5, 1.5))
        amount = money(unit_price * quantity)
        tax += money(amount * Decimal(tax_rate) / 100)
        items.append(
            {
                "description": description,
                "quantity": quantity,
                "unit_price": float(unit_price),
                "amount": float(amount),
                "tax_rate": tax_rate,
            }
        )
    subtotal = sum((Decimal(str(item["amount"])) for item in items), Decimal(0))
    issued = PERIODS[0] + timedelta(days=rng.randint(0, (BASE_DATE.date() - PERIODS[0]).days - 5))
    created = moment_between(
        rng,
        datetime.combine(issued, time(6)),
        min(datetime.combine(issued + timedelta(days=4), time(20)), BASE_DATE - timedelta(hours=1)),
    )
    slug = re.sub(r"[^A-Z]", "", vendor.upper())[:4]
    return {
        "_id": _object_id(rng),
        "invoice_number": f"{slug}-{issued:%Y%m}-{rng.randint(1000, 99999)}",
        "vendor": {
            "name": vendor,
            "address": address,
            "tax_id": f"{slug[:2]}{rng.randint(10**8, 10**9 - 1)}",
            "email": f"billing@{re.sub(r'[^a-z]', '', vendor.lower())[:12]}.com",
        },
        "invoice_date": _iso(datetime.combine(issued, time())),
        "due_date": _iso(datetime.combine(issued + timedelta(days=30), time())),
        "currency": currency,
        "items": items,
        "subtotal": float(subtotal),
        "tax": float(tax),
        "total": float(subtotal + tax),
        "status": rng.choice(("processed", "processed", "needs_review", "approved", "paid")),
        "created_at": _iso(created),
        "updated_at": _iso(moment_between(rng, created, BASE_DATE - timedelta(minutes=1))),
    }


def _supporting_doc(
    rng: random.Random, target: tuple[str, str, str], uploaders: list[str]
) -> dict[str, Any]:
    """Metadata of a file attached to an invoice, a funding request or a cash claim."""
    kind, entity_id, label = target
    document_type, content_type, extension = rng.choice(_DOC_TYPES[kind])
    uploaded = moment_between(rng, BASE_DATE - timedelta(days=90), BASE_DATE - timedelta(hours=1))
    return {
        "_id": _object_id(rng),
        "document_type": document_type,
        "file_name": f"{label}_{document_type}.{extension}".replace("/", "-"),
        "content_type": content_type,
        "size_bytes": rng.randint(20_000, 8_000_000),
        "related_entity": {"type": kind, "id": entity_id},
        "uploaded_by": rng.choice(uploaders) if uploaders else f"admin@{PARTNER_DOMAIN}",
        "uploaded_at": _iso(uploaded),
        "updated_at": _iso(moment_between(rng, uploaded, BASE_DATE - timedelta(minutes=1))),
        "tags": sorted(rng.sample(("aws", "funding", "finance", "signed", "q4", "audit"), 2)),
        "checksum": f"sha256:{rng.getrandbits(256):064x}",
    }


def _object_id(rng: random.Random) -> str:
    """A 24-hex-digit string shaped like a MongoDB ObjectId."""
    return f"{rng.getrandbits(96):024x}"


def _iso(moment: datetime) -> str:
    """How the JSON export writes a UTC instant (Extended JSON's relaxed ``$date`` text)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_datetimes(value: Any) -> Any:
    """ISO-8601 UTC strings become naive datetimes, recursively (pymongo's default decoding)."""
    if isinstance(value, dict):
        return {key: _with_datetimes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_datetimes(item) for item in value]
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    return value
