"""MongoDB transport (invoices and supporting documents): one row per document, read-only.

Each document becomes a row with its ``_id`` as text primary key ``id``, a few extracted columns
declared per collection in ``COLLECTIONS``, and the whole document as ``document`` jsonb.
Extracted column names join the document path with ``_`` (``vendor.name`` -> ``vendor_name``).
Only plain pymongo calls are made, so an in-process ``mongomock`` client runs the same code.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from bson import Decimal128, ObjectId, json_util
from psycopg.types.json import Jsonb
from pymongo import ASCENDING, MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from aura_platform.config.models import SourceConfig
from aura_platform.settings import Settings
from aura_platform.sources.base import Column, Extract, ReadWindow, Rejected
from aura_platform.sources.probing import CONNECT_TIMEOUT, Outcome, one_line
from aura_platform.sources.values import naive_utc, parse_decimal, parse_timestamp

DEFAULT_DATABASE = "aura"
SERVER_SELECTION_TIMEOUT_MS = 5_000

PgType = Literal["text", "date", "timestamp without time zone", "numeric", "integer", "bigint"]


@dataclass(frozen=True)
class Field:
    """A column extracted from each document: its value at ``path``, or that value's length."""

    column: str
    path: str
    pg_type: PgType
    measure: Literal["value", "length"] = "value"


TIMESTAMP: PgType = "timestamp without time zone"

COLLECTIONS: dict[str, tuple[Field, ...]] = {
    "invoices": (
        Field("invoice_number", "invoice_number", "text"),
        Field("vendor_name", "vendor.name", "text"),
        Field("vendor_tax_id", "vendor.tax_id", "text"),
        Field("invoice_date", "invoice_date", "date"),
        Field("due_date", "due_date", "date"),
        Field("currency", "currency", "text"),
        Field("subtotal", "subtotal", "numeric"),
        Field("tax", "tax", "numeric"),
        Field("total", "total", "numeric"),
        Field("status", "status", "text"),
        Field("item_count", "items", "integer", measure="length"),
        Field("created_at", "created_at", TIMESTAMP),
        Field("updated_at", "updated_at", TIMESTAMP),
    ),
    "supporting_docs": (
        Field("document_type", "document_type", "text"),
        Field("file_name", "file_name", "text"),
        Field("content_type", "content_type", "text"),
        Field("size_bytes", "size_bytes", "bigint"),
        Field("related_entity_type", "related_entity.type", "text"),
        Field("related_entity_id", "related_entity.id", "text"),
        Field("uploaded_by", "uploaded_by", "text"),
        Field("uploaded_at", "uploaded_at", TIMESTAMP),
        Field("updated_at", "updated_at", TIMESTAMP),
    ),
}

_MISSING = object()
_INT_BOUNDS = {"integer": 2**31, "bigint": 2**63}


STANDIN_SCHEME = "mongomock"


def mongo_client(url: str) -> MongoClient[dict[str, Any]]:
    """A client for the MongoDB at ``url``, or for an in-process stand-in loaded from files.

    ``mongomock:///<folder>`` names no server: each ``<collection>.json`` in the folder (a JSON
    array in MongoDB Extended JSON, as ``mongoexport --jsonArray`` writes it) is loaded into
    database ``aura`` of an in-process ``mongomock`` client, read through the very same pymongo
    calls. It is how the demo runs without a MongoDB server; it needs the ``demo`` extra.

    Args:
        url: A ``mongodb://`` connection URL (its path names the database, default ``aura``),
            or ``mongomock:///<folder>``.

    Returns:
        A pymongo client, or a ``mongomock`` client with the same interface.
    """
    parts = urlsplit(url)
    if parts.scheme != STANDIN_SCHEME:
        return MongoClient(url, serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS)
    import mongomock  # the demo extra: never imported on a real MongoDB's path

    client: MongoClient[dict[str, Any]] = mongomock.MongoClient()
    for path in sorted(Path(parts.path).glob("*.json")):
        documents = json_util.loads(path.read_text(encoding="utf-8"))
        if documents:
            client[DEFAULT_DATABASE][path.stem].insert_many(documents)
    return client


class MongoSource:
    """The ``COLLECTIONS`` of one MongoDB database, as a ``RowSource``.

    A windowed read selects documents whose cursor field (``updated_at``) is a date in
    ``[since, until)``, plus those where it is missing or null: their change time is unknown, so
    they are re-read every time and deduplicated downstream on ``id``. Cursor values stored as ISO
    strings are parsed and windowed here, since MongoDB never compares strings with dates.
    Documents come sorted by ``(cursor, _id)`` in server batches of ``batch_size``.
    """

    def __init__(
        self,
        client: MongoClient[dict[str, Any]],
        database: str | None = None,
        batch_size: int = 1_000,
    ) -> None:
        """Read ``database``, by default the one named in the client's URL, else ``aura``."""
        self.db = (
            client.get_database(database)
            if database
            else client.get_default_database(DEFAULT_DATABASE)
        )
        self.batch_size = batch_size

    def extract(self, table: str, window: ReadWindow) -> Extract:
        """Columns of collection ``table`` and its documents whose cursor falls in ``window``.

        Args:
            table: A collection named in ``COLLECTIONS``.
            window: Cursor column (an extracted timestamp column, or None for all documents)
                and its bounds.

        Returns:
            ``id``, the extracted columns and ``document``; a document whose extracted value
            cannot be converted to its column's type comes as ``Rejected``.
        """
        fields = _fields(table)
        columns = [
            Column("id", "text"),
            *(Column(f.column, f.pg_type) for f in fields),
            Column("document", "jsonb"),
        ]
        cursor = _cursor_field(table, fields, window.cursor) if window.cursor else None
        bounded = window.since is not None or window.until is not None
        query = _window_query(cursor.path, window) if cursor and bounded else {}
        order = [(cursor.path, ASCENDING), ("_id", ASCENDING)] if cursor else [("_id", ASCENDING)]
        found = self.db[table].find(query).sort(order).batch_size(self.batch_size)
        position = 1 + fields.index(cursor) if cursor else None
        return Extract(columns, _records(found, fields, window, position))

    def primary_keys(self, table: str) -> set[tuple[Any, ...]]:
        """Every document ``_id`` in collection ``table``, as text, for delete reconciliation."""
        _fields(table)
        found = self.db[table].find({}, {"_id": True}).batch_size(self.batch_size)
        return {(_text(doc["_id"]),) for doc in found}


def to_json(value: Any) -> Any:
    """``value`` with BSON types made JSON-safe for jsonb.

    ObjectId, UUID and Decimal128 become strings, datetimes ISO strings (naive UTC), non-finite
    floats strings (jsonb has no NaN); other BSON types take their relaxed Extended JSON form.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        return _timestamp(value).isoformat()
    if isinstance(value, ObjectId | uuid.UUID | Decimal128 | Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return json_util.default(value, json_options=json_util.RELAXED_JSON_OPTIONS)


def _fields(table: str) -> tuple[Field, ...]:
    """Fail early and clearly on a collection nobody declared."""
    if table not in COLLECTIONS:
        raise LookupError(f"MongoDB collection {table!r} is not declared in COLLECTIONS")
    return COLLECTIONS[table]


def _cursor_field(table: str, fields: tuple[Field, ...], cursor: str | None) -> Field:
    """The timestamp field a window's cursor column names: its path is what MongoDB filters."""
    for f in fields:
        if f.column == cursor and f.pg_type == TIMESTAMP:
            return f
    raise ValueError(f"cursor {cursor!r} is not a timestamp column of collection {table!r}")


def _window_query(path: str, window: ReadWindow) -> dict[str, Any]:
    """Dates in the window, plus missing/null (unknown change time) and strings (parsed later)."""
    bounds: dict[str, datetime] = {}
    if window.since is not None:
        bounds["$gte"] = window.since
    if window.until is not None:
        bounds["$lt"] = window.until
    return {"$or": [{path: bounds}, {path: None}, {path: {"$type": "string"}}]}


def _records(
    found: Iterator[dict[str, Any]],
    fields: tuple[Field, ...],
    window: ReadWindow,
    position: int | None,
) -> Iterator[tuple[Any, ...] | Rejected]:
    """Rows and rejections, windowed again on the converted cursor at ``position`` if any.

    The server query lets string-dated documents through unfiltered; this drops those outside.
    """
    for doc in found:
        record = _record(doc, fields)
        if position is None or isinstance(record, Rejected):
            yield record
            continue
        stamp = record[position]
        if stamp is None or (
            (window.since is None or stamp >= window.since)
            and (window.until is None or stamp < window.until)
        ):
            yield record


def _record(doc: dict[str, Any], fields: tuple[Field, ...]) -> tuple[Any, ...] | Rejected:
    """One row, or a rejection naming the document, the column and the offending value."""
    key = _text(doc.get("_id"))
    try:
        document = to_json(doc)
    except TypeError as exc:
        return Rejected(f"document {key}: {exc}", {"_id": key})
    values = []
    for f in fields:
        value = _lookup(doc, f.path)
        try:
            values.append(_convert(value, f))
        except (ValueError, ArithmeticError) as exc:
            shown = to_json(value)
            return Rejected(
                f"document {key}: {f.column} {shown!r} is not a valid {f.pg_type} ({exc})",
                document,
            )
    return (key, *values, Jsonb(document))


def _lookup(doc: Mapping[str, Any], path: str) -> Any:
    """Follow a dotted path through nested documents; anything absent on the way reads as None."""
    value: Any = doc
    for part in path.split("."):
        value = value.get(part, _MISSING) if isinstance(value, Mapping) else _MISSING
        if value is _MISSING:
            return None
    return value


def _convert(value: Any, field: Field) -> Any:
    """A Python value psycopg can COPY into the field's column type."""
    if value is None:
        return None
    if field.measure == "length":
        if not isinstance(value, list):
            raise ValueError("not an array")
        value = len(value)
    if field.pg_type == "text":
        return _text(value)
    if field.pg_type == "date":
        return _calendar_date(value)
    if field.pg_type == TIMESTAMP:
        return parse_timestamp(value) if isinstance(value, str) else _timestamp(value)
    number = _decimal(value)
    if field.pg_type == "numeric":
        return number
    if number != number.to_integral_value():
        raise ValueError("not a whole number")
    bound = _INT_BOUNDS[field.pg_type]
    if not -bound <= number < bound:
        raise ValueError("out of range")
    return int(number)


def _text(value: Any) -> str:
    """Strings as they are; ids, numbers and subdocuments as JSON, so keys stay stable."""
    safe = to_json(value)
    return safe if isinstance(safe, str) else json.dumps(safe, sort_keys=True)


def _timestamp(value: Any) -> datetime:
    """Naive UTC, the warehouse's convention; naive values are taken to be UTC already."""
    if not isinstance(value, datetime):
        raise ValueError("not a date-time")
    return naive_utc(value)


def _calendar_date(value: Any) -> date:
    """A string's calendar date as written (no time zone shift); a date-time's UTC date."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).date()
    if isinstance(value, datetime):
        return _timestamp(value).date()
    if not isinstance(value, date):
        raise ValueError("not a date")
    return value


def _decimal(value: Any) -> Decimal:
    """Exact decimal of a number, numeric string or BSON Decimal128."""
    return parse_decimal(value.to_decimal() if isinstance(value, Decimal128) else value)


# --- the transport: what the registry needs -------------------------------------------------


def open_source(name: str, config: SourceConfig, settings: Settings) -> MongoSource:
    """The MongoDB at ``AURA_MONGO_URL`` (or, in the demo, its in-process stand-in).

    Raises:
        SourceNotConfigured: ``AURA_MONGO_URL`` is unset outside the demo.
    """
    assert config.connection_env is not None
    return MongoSource(mongo_client(settings.source_url(config.connection_env)))


def source_secrets(config: SourceConfig, settings: Settings) -> list[str]:
    """The URL (it may carry a password)."""
    return [settings.mongo_url or ""]


def is_permanent(error: BaseException) -> bool:
    """Unauthorized (13) and AuthenticationFailed (18) are answered the same on every retry."""
    return isinstance(error, OperationFailure) and error.code in (13, 18)


def check_health(config: SourceConfig, settings: Settings) -> Outcome:
    """A ``ping`` of ``AURA_MONGO_URL``; the stand-in (``mongomock://``) needs its folder only."""
    if not settings.mongo_url:
        return "not configured", "AURA_MONGO_URL is not set (AURA_DEMO=1 reads the demo's instead)"
    standin = urlsplit(settings.mongo_url)
    if standin.scheme == STANDIN_SCHEME:
        files = sorted(Path(standin.path).glob("*.json"))
        if not files:
            return "degraded", f"no documents in {standin.path} yet: `aura demo` generates them"
        return "healthy", f"in-process stand-in (mongomock) with {len(files)} collection file(s)"
    timeout_ms = CONNECT_TIMEOUT * 1000
    try:
        client: MongoClient[dict] = MongoClient(
            settings.mongo_url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
        )
        try:
            client.admin.command("ping")
            version = client.server_info().get("version", "?")
        finally:
            client.close()
    except PyMongoError as exc:
        return "down", f"AURA_MONGO_URL unreachable: {one_line(exc)}"
    return "healthy", f"MongoDB {version}"
