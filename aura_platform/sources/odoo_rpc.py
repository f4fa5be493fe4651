"""Odoo over its external API: XML-RPC (any version) or JSON-2 (Odoo 19+), read-only.

Tables and models: a table is named like the PostgreSQL table Odoo stores the model in. Unless
``models`` maps it explicitly, ``crm_lead`` reads ``crm.lead`` (every ``_`` becomes a ``.``),
except custom models, whose names start with ``x_`` and keep their underscores. Models with an
underscore inside a name part (``ir.actions.act_window``) or custom models named otherwise need
an entry in ``models``.

Columns come from ``fields_get``: every stored field except one2many, many2many and binary (those
have no column of their own, or are files). Names are Odoo's field names, already snake_case.
Translated fields arrive as the text in the API user's language, not the per-language jsonb
Odoo stores, so they are ``text`` here. Odoo sends ``False`` for an empty value of any type; it
becomes NULL, except in boolean fields (so a JSON field holding ``false`` reads as NULL too).
Empty integer, float and monetary fields come as ``0``, so over the API they read as 0, not NULL.

Rows are read in ``id`` order, a page at a time, each page starting after the last id seen: unlike
offset paging, that neither skips nor repeats a row when another row changes or is deleted while
the pages are read. ``active_test`` is off, so archived rows are read as data.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import xmlrpc.client
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

from psycopg.types.json import Jsonb

from aura_platform.config.models import SourceConfig
from aura_platform.settings import Settings
from aura_platform.sources.base import (
    Column,
    Extract,
    ReadWindow,
    Rejected,
    env_value,
    required_env,
)
from aura_platform.sources.probing import CONNECT_TIMEOUT, Outcome, one_line
from aura_platform.sources.values import naive_utc, parse_decimal, parse_timestamp

OdooProtocol = Literal["xmlrpc", "json2"]

# Read with the API user's rights, but archived rows included.
_CONTEXT = {"active_test": False}
_COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# HTTP statuses that say "try again later" rather than "this request is wrong".
_TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# Odoo's XML-RPC fault codes for AccessDenied (credentials) and AccessError (rights on a model).
_FAULT_ACCESS_DENIED = 3
_FAULT_ACCESS_ERROR = 4


class OdooAuthError(Exception):
    """Odoo refused the credentials, or they do not grant reading the model: retrying won't help."""


class OdooRpcError(Exception):
    """Odoo rejected a call (unknown model or field, server-side error)."""


class OdooUnavailableError(ConnectionError):
    """Odoo or its proxy answered "busy" or "unavailable" (HTTP 429/502/503/504): worth retrying."""


@dataclass(frozen=True)
class OdooField:
    """A stored Odoo field read into a column: its Odoo type decides the conversion."""

    name: str
    odoo_type: str

    @property
    def column(self) -> Column:
        return Column(self.name, _TYPES[self.odoo_type].pg_type)


@dataclass(frozen=True)
class _OdooType:
    """How one Odoo field type is mirrored: PostgreSQL type and conversion of a non-empty value."""

    pg_type: str
    convert: Callable[[Any], Any]


def _many2one_id(value: Any) -> int:
    """search_read gives ``[id, display_name]``; the mirror keeps the id, like Odoo's own column."""
    return int(value[0])


def _text(value: Any) -> str:
    """Text as is; selection keys are strings in practice, but nothing else is assumed."""
    return value if isinstance(value, str) else str(value)


_TYPES: dict[str, _OdooType] = {
    "boolean": _OdooType("boolean", bool),
    "integer": _OdooType("integer", int),
    "float": _OdooType("double precision", float),
    # Sent as a float; its shortest repr is the amount Odoo rounded to the currency.
    "monetary": _OdooType("numeric", parse_decimal),
    "char": _OdooType("text", _text),
    "text": _OdooType("text", _text),
    "html": _OdooType("text", _text),
    "selection": _OdooType("text", _text),
    # ``model,id``: which model the id belongs to is part of the value.
    "reference": _OdooType("text", _text),
    "date": _OdooType("date", date.fromisoformat),
    # Odoo sends UTC datetimes as naive ``YYYY-MM-DD HH:MM:SS`` strings.
    "datetime": _OdooType("timestamp without time zone", parse_timestamp),
    "many2one": _OdooType("integer", _many2one_id),
    "many2one_reference": _OdooType("integer", int),
    "json": _OdooType("jsonb", Jsonb),
    "properties": _OdooType("jsonb", Jsonb),
    "properties_definition": _OdooType("jsonb", Jsonb),
}


def model_name(table: str, models: Mapping[str, str] | None = None) -> str:
    """The Odoo model a table name stands for (rule in the module docstring).

    Args:
        table: Table name as configured, e.g. ``crm_lead``.
        models: Explicit table -> model names, for models the rule gets wrong.
    """
    if models and table in models:
        return models[table]
    return table if table.startswith("x_") else table.replace("_", ".")


def stored_fields(
    fields: Mapping[str, Mapping[str, Any]],
) -> tuple[list[OdooField], dict[str, str]]:
    """The fields of a ``fields_get`` answer that become columns, and why the others don't.

    Args:
        fields: ``fields_get`` result with at least the ``type`` and ``store`` attributes.

    Returns:
        The columns' fields, ``id`` first then in Odoo's order, and skipped field -> reason.
    """
    kept: list[OdooField] = []
    skipped: dict[str, str] = {}
    for name, attrs in fields.items():
        odoo_type = str(attrs.get("type"))
        if not attrs.get("store", False):
            skipped[name] = "not stored"
        elif odoo_type not in _TYPES:
            skipped[name] = f"{odoo_type} field has no column in the mirror"
        elif not _COLUMN_NAME.match(name):
            skipped[name] = "name is not a valid column name"
        else:
            kept.append(OdooField(name, odoo_type))
    kept.sort(key=lambda f: f.name != "id")
    if not kept or kept[0].name != "id":
        kept.insert(0, OdooField("id", "integer"))
    return kept, skipped


def convert_record(fields: list[OdooField], record: Mapping[str, Any]) -> tuple[Any, ...]:
    """One ``search_read`` record as a row in column order; raises if a value can't be read."""
    row: list[Any] = []
    for field in fields:
        value = record.get(field.name, False)
        if field.odoo_type != "boolean" and (value is False or value is None):
            row.append(None)
        else:
            row.append(_TYPES[field.odoo_type].convert(value))
    return tuple(row)


def window_domain(window: ReadWindow) -> list[Any]:
    """Odoo domain for the window; rows with no cursor value are always read (see base.py)."""
    if window.cursor is None or (window.since is None and window.until is None):
        return []
    bounds: list[Any] = []
    if window.since is not None:
        bounds.append([window.cursor, ">=", _odoo_datetime(window.since)])
    if window.until is not None:
        bounds.append([window.cursor, "<", _odoo_datetime(window.until, round_up=True)])
    if len(bounds) == 2:
        bounds.insert(0, "&")
    return ["|", [window.cursor, "=", False], *bounds]


def _odoo_datetime(moment: datetime, *, round_up: bool = False) -> str:
    """The API speaks whole seconds; rounding ``until`` up re-reads a row rather than loses it."""
    moment = naive_utc(moment)
    if round_up and moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime(_DATETIME_FORMAT)


class _Transport(Protocol):
    """One way of calling a model method with named arguments and a context."""

    def call(self, model: str, method: str, params: dict[str, Any]) -> Any: ...


class _Redactor:
    """Keeps the secret out of any message built from server text."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __call__(self, text: str) -> str:
        text = text.strip()[:1000]
        return text.replace(self._secret, "***") if self._secret else text


class _XmlRpcTransport:
    """``/xmlrpc/2``: authenticate once for a uid, then ``execute_kw`` with the secret each call."""

    def __init__(self, url: str, database: str, username: str, secret: str, timeout: float) -> None:
        self._database = database
        self._username = username
        self._secret = secret
        self._redact = _Redactor(secret)
        self._common = xmlrpc.client.ServerProxy(
            f"{url}/xmlrpc/2/common", transport=_timeout_transport(url, timeout)
        )
        self._object = xmlrpc.client.ServerProxy(
            f"{url}/xmlrpc/2/object", transport=_timeout_transport(url, timeout)
        )
        self._uid: int | None = None

    def call(self, model: str, method: str, params: dict[str, Any]) -> Any:
        uid = self._authenticate()
        kwargs = dict(params)
        # Positional: ``search`` called its domain ``args`` before Odoo 17.
        args = [kwargs.pop("domain")] if "domain" in kwargs else []
        return self._guarded(
            self._object.execute_kw, self._database, uid, self._secret, model, method, args, kwargs
        )

    def _authenticate(self) -> int:
        """A falsy uid is Odoo's answer to a wrong login or password."""
        if self._uid is None:
            uid = self._guarded(
                self._common.authenticate, self._database, self._username, self._secret, {}
            )
            if not uid:
                raise OdooAuthError(
                    f"Odoo refused the credentials of {self._username!r} "
                    f"on database {self._database!r}"
                )
            self._uid = int(uid)
        return self._uid

    def _guarded(self, function: Callable[..., Any], *args: Any) -> Any:
        """XML-RPC's own errors, sorted into auth, transient and rejected calls."""
        try:
            return function(*args)
        except xmlrpc.client.Fault as fault:
            message = self._redact(str(fault.faultString))
            if fault.faultCode in (_FAULT_ACCESS_DENIED, _FAULT_ACCESS_ERROR):
                raise OdooAuthError(f"Odoo denied access: {message}") from None
            raise OdooRpcError(f"Odoo fault {fault.faultCode}: {message}") from None
        except xmlrpc.client.ProtocolError as exc:
            raise _http_error(exc.errcode, self._redact(str(exc.errmsg))) from None


def _timeout_transport(url: str, timeout: float) -> xmlrpc.client.Transport:
    """``ServerProxy`` has no timeout; its transport's connections get one here."""
    base = xmlrpc.client.SafeTransport if url.startswith("https") else xmlrpc.client.Transport

    class TimeoutTransport(base):  # type: ignore[valid-type,misc]
        def make_connection(self, host: Any) -> Any:
            connection = super().make_connection(host)
            connection.timeout = timeout
            return connection

    return TimeoutTransport()


class _Json2Transport:
    """``POST /json/2/<model>/<method>`` with an API key as bearer token (Odoo 19+)."""

    def __init__(self, url: str, database: str, api_key: str, timeout: float) -> None:
        self._url = url
        self._timeout = timeout
        self._redact = _Redactor(api_key)
        self._headers = {
            "Authorization": f"bearer {api_key}",
            "Content-Type": "application/json; charset=utf-8",
            "X-Odoo-Database": database,
            "User-Agent": "aura-platform",
        }

    def call(self, model: str, method: str, params: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            f"{self._url}/json/2/{model}/{method}",
            data=json.dumps(params).encode(),
            headers=self._headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            # An HTTPError is an OSError: left as is, a 401 would be retried like a lost link.
            message = self._redact(_error_message(exc))
            if exc.code in (401, 403):
                raise OdooAuthError(f"Odoo denied access (HTTP {exc.code}): {message}") from None
            raise _http_error(exc.code, message) from None


def _error_message(exc: urllib.error.HTTPError) -> str:
    """The ``message`` of Odoo's JSON error body, or the HTTP reason if the body isn't one."""
    try:
        body = json.loads(exc.read())
    except (OSError, ValueError):
        return str(exc.reason)
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return str(body)


def _http_error(status: int, message: str) -> Exception:
    """Transient statuses stay ``ConnectionError`` so they are retried; the others are not."""
    if status in _TRANSIENT_STATUSES:
        return OdooUnavailableError(f"Odoo unavailable (HTTP {status}): {message}")
    if status in (401, 403):
        return OdooAuthError(f"Odoo denied access (HTTP {status}): {message}")
    return OdooRpcError(f"Odoo call failed (HTTP {status}): {message}")


class OdooRpcSource:
    """Odoo models read over the external API, one table per model (see the module docstring)."""

    def __init__(
        self,
        url: str,
        database: str,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        *,
        page_size: int = 500,
        protocol: OdooProtocol = "xmlrpc",
        timeout: float = 60.0,
        models: Mapping[str, str] | None = None,
    ) -> None:
        """Connect lazily; nothing is sent until the first read.

        Args:
            url: Base URL of the Odoo server, e.g. ``https://erp.example.com``.
            database: Odoo database name.
            username: Login; needed by XML-RPC only (an API key names its user).
            password: Password, usable over XML-RPC only.
            api_key: API key; over XML-RPC it replaces the password, JSON-2 requires it.
            page_size: Records per ``search_read``/``search`` call.
            protocol: ``xmlrpc`` (``/xmlrpc/2``) or ``json2`` (``/json/2``, Odoo 19+).
            timeout: Seconds to wait for each HTTP response.
            models: Explicit table -> model names, for tables the naming rule gets wrong.
        """
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.protocol = protocol
        self.models = dict(models or {})
        base = url.rstrip("/")
        self._transport: _Transport
        if protocol == "json2":
            if not api_key:
                raise ValueError("Odoo's JSON-2 API authenticates with an API key only")
            self._transport = _Json2Transport(base, database, api_key, timeout)
        else:
            secret = api_key or password
            if not username or not secret:
                raise ValueError("Odoo over XML-RPC needs a username and a password or API key")
            self._transport = _XmlRpcTransport(base, database, username, secret, timeout)

    def fields(self, table: str) -> tuple[list[OdooField], dict[str, str]]:
        """The table's column fields and skipped fields, from the model's ``fields_get``."""
        answer = self._transport.call(
            model_name(table, self.models),
            "fields_get",
            {"attributes": ["type", "store", "relation"], "context": _CONTEXT},
        )
        return stored_fields(answer)

    def extract(self, table: str, window: ReadWindow) -> Extract:
        """Columns of the table's model and its records whose cursor falls in ``window``.

        Args:
            table: Table name; its model follows the rule in the module docstring.
            window: Cursor field and bounds; rows whose cursor is empty are always read.

        Returns:
            The columns (schema read now) and a lazy stream of rows, a page per call.
        """
        model = model_name(table, self.models)
        fields, skipped = self.fields(table)
        if window.cursor is not None and window.cursor not in {f.name for f in fields}:
            raise LookupError(f"cursor {window.cursor!r} is not a stored field of {model}")
        records = self._records(model, fields, window_domain(window))
        details = {"model": model, "protocol": self.protocol, "skipped_fields": skipped}
        return Extract([f.column for f in fields], records, details)

    def primary_keys(self, table: str) -> set[tuple[Any, ...]]:
        """Ids of every record of the table's model, archived ones included."""
        keys: set[tuple[Any, ...]] = set()
        for page in self._pages(model_name(table, self.models), "search", [], {}):
            keys.update((int(record_id),) for record_id in page)
        return keys

    def _records(
        self, model: str, fields: list[OdooField], domain: list[Any]
    ) -> Iterator[tuple[Any, ...] | Rejected]:
        """Rows converted record by record, so one unreadable record is rejected, not fatal."""
        params = {"fields": [f.name for f in fields]}
        for page in self._pages(model, "search_read", domain, params):
            for record in page:
                try:
                    yield convert_record(fields, record)
                except (TypeError, ValueError, IndexError, ArithmeticError) as exc:
                    yield Rejected(f"{model} record unreadable: {exc}", dict(record))

    def _pages(
        self, model: str, method: str, domain: list[Any], params: dict[str, Any]
    ) -> Iterator[list[Any]]:
        """Keyset paging on id (see the module docstring) until a short page."""
        last_id = 0
        while True:
            page = self._transport.call(
                model,
                method,
                {
                    **params,
                    "domain": [*domain, ["id", ">", last_id]],
                    "limit": self.page_size,
                    "order": "id asc",
                    "context": _CONTEXT,
                },
            )
            if page:
                yield page
            if len(page) < self.page_size:
                return
            last = page[-1]
            last_id = int(last["id"] if isinstance(last, dict) else last)


# --- the transport: what the registry needs -------------------------------------------------


def open_source(name: str, config: SourceConfig, settings: Settings) -> OdooRpcSource:
    """``odoo_xmlrpc`` logs in with a password, ``odoo_json2`` sends an API key."""
    secret = required_env(config.secret_env, name)
    json2 = config.transport == "odoo_json2"
    return OdooRpcSource(
        required_env(config.connection_env, name),
        required_env(config.database_env, name),
        username=env_value(config.username_env),
        password=None if json2 else secret,
        api_key=secret if json2 else None,
        protocol="json2" if json2 else "xmlrpc",
        models={t: c.model for t, c in config.tables.items() if c.model},
    )


def source_secrets(config: SourceConfig, settings: Settings) -> list[str]:
    """The server URL (it may carry credentials); the secret itself the registry adds."""
    return [env_value(config.connection_env) or ""]


def is_permanent(error: BaseException) -> bool:
    """A refused login or API key is refused again on retry."""
    return isinstance(error, OdooAuthError)


def check_health(config: SourceConfig, settings: Settings) -> Outcome:
    """Every named variable set, and the server answering ``version()`` on XML-RPC's common."""
    names = [config.connection_env, config.database_env, config.username_env, config.secret_env]
    unset = [n for n in names if n and not env_value(n)]
    if unset:
        return "not configured", f"{', '.join(unset)} not set"
    url = required_env(config.connection_env, "odoo").rstrip("/")
    common = xmlrpc.client.ServerProxy(
        f"{url}/xmlrpc/2/common", transport=_timeout_transport(url, CONNECT_TIMEOUT)
    )
    try:
        answer = common.version()
    except (OSError, xmlrpc.client.Error) as exc:
        return "down", f"{url} does not answer: {one_line(exc)}"
    version = answer.get("server_version", "?") if isinstance(answer, dict) else "?"
    return "healthy", f"{url}: Odoo {version}"
