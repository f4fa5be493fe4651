"""A small Odoo look-alike over real HTTP, for testing the external-API connector.

It serves in-memory records at Odoo's XML-RPC paths (``/xmlrpc/2/common``, ``/xmlrpc/2/object``)
and at the JSON-2 path (``/json/2/<model>/<method>``), with Odoo's answers where the connector
depends on them: ``False`` for empty values, ``[id, name]`` for many2one, a falsy uid for wrong
credentials, fault code 3 and HTTP 401 for refused ones, ``active_test`` hiding archived records
unless turned off. Domains support prefix ``&``, ``|``, ``!`` and ``= != > >= < <= in``.
"""

from __future__ import annotations

import json
import operator
import threading
import xmlrpc.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "in": lambda value, values: value in values,
}


@dataclass
class FakeModel:
    """One model: ``fields_get`` attributes per field, and records as stored (None when empty)."""

    fields: dict[str, dict[str, Any]]
    records: list[dict[str, Any]]

    def display_name(self, record_id: int) -> str:
        record = next(r for r in self.records if r["id"] == record_id)
        return str(record.get("name") or f"#{record_id}")


@dataclass
class FakeOdoo:
    """The server's state: one database, one user, its models, and failures to inject."""

    models: dict[str, FakeModel]
    database: str = "aura_odoo"
    login: str = "aura-bot"
    password: str = "pw-do-not-leak-81d2"
    api_key: str = "key-do-not-leak-5f3a9c"
    uid: int = 7
    # Requests still to fail by closing the connection unanswered, as a crashed proxy would.
    fail_next: int = 0
    # (model, method) of every model call served, in order.
    calls: list[tuple[str, str]] = field(default_factory=list)

    def call(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Run a model method; LookupError for unknown ones, TypeError/ValueError for bad calls."""
        if model not in self.models:
            raise LookupError(f"Object {model} doesn't exist")
        methods = {
            "fields_get": self.fields_get,
            "search": self.search,
            "search_read": self.search_read,
        }
        if method not in methods:
            raise LookupError(f"The method '{model}.{method}' does not exist")
        self.calls.append((model, method))
        return methods[method](model, *args, **kwargs)

    def fields_get(
        self,
        model: str,
        allfields: list[str] | None = None,
        attributes: list[str] | None = None,
        context: dict[str, Any] | None = None,
    ) -> dict[str, dict[str, Any]]:
        fields = self.models[model].fields
        return {
            name: {k: v for k, v in attrs.items() if attributes is None or k in attributes}
            for name, attrs in fields.items()
            if allfields is None or name in allfields
        }

    def search(
        self,
        model: str,
        domain: list[Any],
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> list[int]:
        return [r["id"] for r in self._select(model, domain, offset, limit, order, context)]

    def search_read(
        self,
        model: str,
        domain: list[Any] | None = None,
        fields: list[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        known = self.models[model].fields
        names = list(known) if fields is None else ["id", *(f for f in fields if f != "id")]
        if unknown := [n for n in names if n not in known]:
            raise ValueError(f"Invalid field {unknown[0]!r} on model {model!r}")
        records = self._select(model, domain or [], offset, limit, order, context)
        return [{n: self._render(known[n], r.get(n)) for n in names} for r in records]

    def _select(
        self,
        model: str,
        domain: list[Any],
        offset: int,
        limit: int | None,
        order: str | None,
        context: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        fields = self.models[model].fields
        matches = _matcher(domain, fields)
        mentions_active = any(isinstance(t, list | tuple) and t[0] == "active" for t in domain)
        hide_archived = (context or {}).get("active_test", True) and "active" in fields
        records = [
            r
            for r in self.models[model].records
            if matches(r) and not (hide_archived and not mentions_active and not r.get("active"))
        ]
        for part in reversed((order or "id").split(",")):
            name, _, direction = part.strip().partition(" ")
            records.sort(
                key=lambda r, n=name: (r.get(n) is None, r.get(n) if r.get(n) is not None else 0),
                reverse=direction.strip().lower() == "desc",
            )
        return records[offset : None if limit is None else offset + limit]

    def _render(self, attrs: dict[str, Any], value: Any) -> Any:
        """A stored value as Odoo's read() sends it."""
        if attrs["type"] == "boolean":
            return bool(value)
        if value is None:
            return False
        if attrs["type"] == "many2one":
            return [value, self.models[attrs["relation"]].display_name(value)]
        return value


def _matcher(
    domain: list[Any], fields: dict[str, dict[str, Any]]
) -> Callable[[dict[str, Any]], bool]:
    """A predicate for a prefix-notation domain; top-level terms are ANDed, as in Odoo."""

    def parse(i: int) -> tuple[Callable[[dict[str, Any]], bool], int]:
        token = domain[i]
        if token == "!":
            inner, j = parse(i + 1)
            return (lambda r: not inner(r)), j
        if token in ("&", "|"):
            left, j = parse(i + 1)
            right, k = parse(j)
            if token == "&":
                return (lambda r: left(r) and right(r)), k
            return (lambda r: left(r) or right(r)), k
        return _leaf(token, fields), i + 1

    predicates = []
    i = 0
    while i < len(domain):
        predicate, i = parse(i)
        predicates.append(predicate)
    return lambda r: all(p(r) for p in predicates)


def _leaf(term: list[Any], fields: dict[str, dict[str, Any]]) -> Callable[[dict[str, Any]], bool]:
    """One ``[field, operator, value]`` condition, with SQL's NULL semantics like Odoo's."""
    name, op, value = term
    if name not in fields:
        raise ValueError(f"Invalid field {name!r} in domain")
    if op not in _COMPARISONS:
        raise ValueError(f"Invalid operator {op!r} in domain")
    compare = _COMPARISONS[op]
    if fields[name]["type"] == "boolean":
        return lambda r: compare(bool(r.get(name)), value)
    if value is False and op in ("=", "!="):
        return lambda r: (r.get(name) is None) == (op == "=")
    return lambda r: r.get(name) is not None and compare(r.get(name), value)


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")

    def do_POST(self) -> None:
        odoo: FakeOdoo = self.server.odoo  # type: ignore[attr-defined]
        if odoo.fail_next > 0:
            odoo.fail_next -= 1
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.close_connection = True
            return
        if self.path.startswith("/json/2/"):
            self._json2(odoo)
        else:
            super().do_POST()

    def _json2(self, odoo: FakeOdoo) -> None:
        """JSON-2: bearer API key, named arguments, HTTP statuses and Odoo's error object."""
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        scheme, _, key = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or key != odoo.api_key:
            return self._reply(401, _error("werkzeug.exceptions.Unauthorized", "Invalid apikey"))
        if self.headers.get("X-Odoo-Database", odoo.database) != odoo.database:
            return self._reply(404, _error("werkzeug.exceptions.NotFound", "database not found"))
        _, _, _, model, method = self.path.split("/", 4)
        try:
            result = odoo.call(model, method, [], json.loads(body or b"{}"))
        except LookupError as exc:
            return self._reply(404, _error("werkzeug.exceptions.NotFound", str(exc)))
        except (TypeError, ValueError) as exc:
            return self._reply(422, _error(type(exc).__name__, str(exc)))
        self._reply(200, result)

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _error(name: str, message: str) -> dict[str, Any]:
    return {"name": name, "message": message, "arguments": [message], "context": {}, "debug": ""}


def _dispatchers(odoo: FakeOdoo) -> dict[str, SimpleXMLRPCDispatcher]:
    """``common`` authenticates; ``object`` checks db, uid and password on every call, as Odoo."""

    def authenticate(db: str, login: str, password: str, user_agent_env: dict) -> int | bool:
        ok = db == odoo.database and login == odoo.login
        return odoo.uid if ok and password in (odoo.password, odoo.api_key) else False

    def execute_kw(
        db: str,
        uid: int,
        password: str,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        if (db, uid) != (odoo.database, odoo.uid) or password not in (odoo.password, odoo.api_key):
            raise xmlrpc.client.Fault(3, "Access Denied")
        try:
            return odoo.call(model, method, args, kwargs or {})
        except (LookupError, TypeError, ValueError) as exc:
            raise xmlrpc.client.Fault(1, str(exc)) from exc

    common = SimpleXMLRPCDispatcher()
    common.register_function(authenticate)
    common.register_function(lambda: {"server_version": "19.0"}, "version")
    obj = SimpleXMLRPCDispatcher()
    obj.register_function(execute_kw)
    return {"/xmlrpc/2/common": common, "/xmlrpc/2/object": obj}


@contextmanager
def serve(odoo: FakeOdoo) -> Iterator[str]:
    """Serve ``odoo`` on 127.0.0.1 (free port) in a background thread; yields its base URL."""
    server = MultiPathXMLRPCServer(("127.0.0.1", 0), requestHandler=_Handler, logRequests=False)
    server.odoo = odoo  # type: ignore[attr-defined]
    for path, dispatcher in _dispatchers(odoo).items():
        server.add_dispatcher(path, dispatcher)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
