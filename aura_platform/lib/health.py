"""Health of every store and source Aura depends on, for ``aura doctor``.

Each component gets one ``Check``: ``healthy``; ``degraded`` (reachable or usable, but something
needs doing, such as pending migrations or a demo database not generated yet); ``not configured``
(an optional component whose variables are unset, which is not an error); or ``down`` (configured
but unreachable or unusable). Every check is bounded by a short timeout, and every reason is
masked with the URLs and secrets the environment holds, so the report can be pasted anywhere.
"""

from __future__ import annotations

import os
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from aura_platform.config.loader import load_sources
from aura_platform.config.models import SourceConfig, SourcesFile
from aura_platform.settings import Settings, mask_secrets
from aura_platform.sources.mongo import STANDIN_SCHEME
from aura_platform.sources.odoo_rpc import _timeout_transport
from aura_platform.sources.registry import known_secrets
from aura_platform.sources.sql_database import SqlSource
from aura_platform.warehouse.connection import connect
from aura_platform.warehouse.migrate import discover

Status = Literal["healthy", "degraded", "not configured", "down"]

CONNECT_TIMEOUT = 3  # seconds; doctor must answer quickly even when a host drops packets
MIN_SERVER_VERSION = 140000
# One table per Dagster storage (runs, event log, schedules): all three exist once initialised.
DAGSTER_TABLES = ("runs", "event_logs", "job_ticks")
_MAX_REASON = 300
_MAX_LISTED = 5


@dataclass(frozen=True)
class Check:
    """The health of one component, with the reason in one line."""

    component: str
    status: Status
    reason: str


Outcome = tuple[Status, str]


def run_checks(
    settings: Settings, sources: SourcesFile | None = None, *, load_model: bool = False
) -> list[Check]:
    """Check the warehouse, Dagster's storage, the embedding model and every configured source.

    Args:
        settings: Where the warehouse, Dagster storage and data folder are.
        sources: The sources to check; default ``assets_config/sources.yaml``.
        load_model: Also load the embedding model and embed a sentence (seconds more).

    Returns:
        One check per component, in a stable order, reasons masked. A check that fails in an
        unexpected way is reported as ``down`` with the error rather than raised.
    """
    sources = sources or load_sources()
    checks = [
        _guarded("warehouse", _warehouse, settings),
        _guarded("dagster storage", _dagster_storage, settings),
        _guarded("embedding model", _embedding_model, settings, load_model),
        *(
            _guarded(f"source {name}", _source, settings, config)
            for name, config in sources.sources.items()
        ),
        _guarded("cdc slots", _cdc_slots, settings, sources),
    ]
    secrets = known_secrets(settings, sources)
    return [
        Check(c.component, c.status, mask_secrets(c.reason, secrets)[:_MAX_REASON]) for c in checks
    ]


def format_table(checks: list[Check]) -> str:
    """The checks as an aligned text table, with a one-line verdict under it."""
    rows = [("COMPONENT", "STATUS", "REASON"), *((c.component, c.status, c.reason) for c in checks)]
    widths = [max(len(row[i]) for row in rows) for i in (0, 1)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]
    counts = {s: sum(c.status == s for c in checks) for s in get_args(Status)}
    if counts["down"] or counts["degraded"]:
        verdict = f"{counts['down']} down, {counts['degraded']} degraded"
    else:
        verdict = "everything configured is healthy"
    return "\n".join([*lines, "", verdict])


def _guarded(component: str, check: Callable[..., Outcome], *args: object) -> Check:
    """One component's failure must not hide the others: an unexpected error reads as down."""
    try:
        status, reason = check(*args)
    except Exception as exc:
        status, reason = "down", f"{type(exc).__name__}: {_one_line(exc)}"
    return Check(component, status, reason)


def _one_line(exc: BaseException) -> str:
    """libpq and pymongo explain over several lines; the first one says what failed."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _connect(url: str, *, read_only: bool = False) -> psycopg.Connection:
    """A connection that gives up after ``CONNECT_TIMEOUT`` instead of libpq's default wait."""
    return connect(make_conninfo(url, connect_timeout=CONNECT_TIMEOUT), read_only=read_only)


def _database_name(url: str) -> str:
    return str(conninfo_to_dict(url).get("dbname", ""))


def _missing_database(settings: Settings, url: str) -> bool:
    """Whether ``url``'s database is absent from the reachable warehouse server.

    Tells "not created yet" (degraded, with a hint) from "server unreachable" for the databases
    Aura keeps next to the warehouse by default.
    """
    try:
        with _connect(settings.warehouse_url, read_only=True) as conn:
            found = conn.execute(
                "select 1 from pg_database where datname = %s", (_database_name(url),)
            ).fetchone()
    except psycopg.Error:
        return False
    return found is None


def _warehouse(settings: Settings) -> Outcome:
    """Reachable, recent enough, pgvector installed, every migration applied unchanged."""
    try:
        conn = _connect(settings.warehouse_url, read_only=True)
    except psycopg.Error as exc:
        hint = "; `aura up` starts the embedded server" if settings.embedded else ""
        return "down", f"unreachable: {_one_line(exc)}{hint}"
    with conn:
        version, version_num = conn.execute(
            "select current_setting('server_version'), current_setting('server_version_num')::int"
        ).fetchone() or ("?", 0)
        installed = conn.execute(
            "select extversion from pg_extension where extname = 'vector'"
        ).fetchone()
        available = conn.execute(
            "select default_version from pg_available_extensions where name = 'vector'"
        ).fetchone()
        has_log = conn.execute("select to_regclass('ops.schema_migrations')").fetchone()
        applied: dict[int, str] = (
            dict(conn.execute("select version, checksum from ops.schema_migrations").fetchall())
            if has_log and has_log[0]
            else {}
        )
    if not installed and not available:
        return "down", f"PostgreSQL {version} without the pgvector extension installed"
    problems = _migration_problems(applied)
    if version_num < MIN_SERVER_VERSION:
        problems.insert(0, "Aura needs PostgreSQL 14 or later")
    if not installed:
        problems.append("pgvector available but not created in the database (`aura migrate`)")
    vector = f"pgvector {installed[0]}" if installed else "no pgvector"
    summary = f"PostgreSQL {version}, {vector}, {_count(len(applied), 'migration')} applied"
    return ("degraded", f"{summary}; {'; '.join(problems)}") if problems else ("healthy", summary)


def _migration_problems(applied: dict[int, str]) -> list[str]:
    """Pending, edited-after-applying and unknown (newer) migrations, as short sentences."""
    known = discover()
    pending = [f"{m.version:04d}_{m.name}" for m in known if m.version not in applied]
    changed = [
        f"{m.version:04d}_{m.name}"
        for m in known
        if m.version in applied and applied[m.version] != m.checksum
    ]
    unknown = sorted(set(applied) - {m.version for m in known})
    problems = []
    if pending:
        problems.append(
            f"{_count(len(pending), 'migration')} pending ({_listed(pending)}): `aura migrate`"
        )
    if changed:
        problems.append(f"migrations changed after they were applied: {_listed(changed)}")
    if unknown:
        problems.append(
            f"{_count(len(unknown), 'applied migration')} unknown to this Aura (a newer one?)"
        )
    return problems


def _count(n: int, noun: str) -> str:
    """``1 file``, ``2 files``: the table is read by people."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _listed(names: list[str]) -> str:
    """Long lists would drown the table; the first few and a count say enough."""
    shown = ", ".join(names[:_MAX_LISTED])
    return f"{shown} and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else shown


def _dagster_storage(settings: Settings) -> Outcome:
    """Reachable, and holding Dagster's tables (they are created by the first Dagster process)."""
    url = settings.dagster_pg_url
    try:
        conn = _connect(url, read_only=True)
    except psycopg.Error as exc:
        default = settings.dagster_pg_url_override is None
        if default and _missing_database(settings, url):
            database = _database_name(url)
            return "degraded", f"database {database} does not exist: `aura up` creates it"
        return "down", f"unreachable: {_one_line(exc)}"
    with conn:
        present = {
            row[0]
            for row in conn.execute(
                "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where c.relname = any(%s) and c.relkind in ('r', 'p') "
                "and n.nspname = any(current_schemas(false))",
                (list(DAGSTER_TABLES),),
            )
        }
        runs = conn.execute("select count(*) from runs").fetchone() if "runs" in present else None
    missing = [t for t in DAGSTER_TABLES if t not in present]
    if not present:
        return "degraded", "reachable but not initialised: `aura run` or `aura dev` initialises it"
    if missing:
        return "degraded", f"partly initialised, tables missing: {', '.join(missing)}"
    return "healthy", f"initialised, {_count(runs[0] if runs else 0, 'run')} recorded"


def _source(settings: Settings, config: SourceConfig) -> Outcome:
    """Dispatch on the transport: each one is reached the way its connector reaches it."""
    if config.transport == "sql":
        return _sql_source(settings, config)
    if config.transport in ("odoo_xmlrpc", "odoo_json2"):
        return _odoo_api(config)
    if config.transport == "apn_files":
        assert config.folder is not None
        return _export_folder(settings.data_dir / config.folder)
    if config.transport == "mongo":
        return _mongo(settings)
    return _landing_folder(settings)


def _embedding_model(settings: Settings, load: bool) -> Outcome:
    """The libraries import and the model's files are here; optionally, the model runs."""
    from aura_platform.lib import embedding_stack as stack

    try:
        stack.check_imports()
        location = stack.locate_model(settings.embedding_model)
        loaded = f", {stack.smoke_test(settings.embedding_model)}" if load else ""
    except stack.EmbeddingStackError as exc:
        return "down", str(exc)
    return "healthy", (
        f"{settings.embedding_model}{loaded} ({stack.installed_versions()}), "
        f"files at {location.path}"
    )


def _sql_source(settings: Settings, config: SourceConfig) -> Outcome:
    """Connect read-only, ``select 1``, and look for every configured table."""
    assert config.connection_env is not None
    env = config.connection_env
    configured = bool(os.environ.get(env))
    try:
        source = SqlSource(settings.source_url(env))
    except KeyError:
        return "not configured", f"{env} is not set (AURA_DEMO=1 reads the demo's instead)"
    where = env if configured else f"demo database {_database_name(source.url)} (AURA_DEMO=1)"
    try:
        conn = _connect(source.url, read_only=True)
    except psycopg.Error as exc:
        if configured:
            return "down", f"{env} unreachable: {_one_line(exc)}"
        if _missing_database(settings, source.url):
            return "degraded", f"{where} does not exist yet: `aura demo` generates it"
        return "degraded", f"{where} unreachable: {_one_line(exc)}"
    with conn:
        conn.execute("select 1")
        version = conn.execute("show server_version").fetchone()
        readable: dict[str, bool] = dict(
            conn.execute(
                "select c.relname, has_table_privilege(c.oid, 'select') "
                "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %s and c.relname = any(%s) "
                "and c.relkind in ('r', 'p', 'v', 'm', 'f')",
                (source.schema, list(config.tables)),
            ).fetchall()
        )
    summary = f"{where}: PostgreSQL {version[0] if version else '?'}"
    missing = [t for t in config.tables if t not in readable]
    denied = [t for t in config.tables if readable.get(t) is False]
    problems = []
    if missing:
        total = len(config.tables)
        problems.append(f"{len(missing)} of {total} tables missing: {_listed(missing)}")
    if denied:
        problems.append(f"no SELECT right on {_listed(denied)}")
    if problems:
        return "degraded", f"{summary}; {'; '.join(problems)}"
    return "healthy", f"{summary}, all {len(config.tables)} tables readable"


def _odoo_api(config: SourceConfig) -> Outcome:
    """Every named variable set, and the server answering ``version()`` on XML-RPC's common."""
    names = [config.connection_env, config.database_env, config.username_env, config.secret_env]
    unset = [n for n in names if n and not os.environ.get(n)]
    if unset:
        return "not configured", f"{', '.join(unset)} not set"
    assert config.connection_env is not None
    url = os.environ[config.connection_env].rstrip("/")
    common = xmlrpc.client.ServerProxy(
        f"{url}/xmlrpc/2/common", transport=_timeout_transport(url, CONNECT_TIMEOUT)
    )
    try:
        answer = common.version()
    except (OSError, xmlrpc.client.Error) as exc:
        return "down", f"{url} does not answer: {_one_line(exc)}"
    version = answer.get("server_version", "?") if isinstance(answer, dict) else "?"
    return "healthy", f"{url}: Odoo {version}"


def _export_folder(folder: Path) -> Outcome:
    """A missing drop folder is degraded (nothing dropped yet), an unreadable one is down."""
    if not folder.is_dir():
        return "degraded", f"{folder} does not exist: drop exports there (`aura demo` adds one)"
    if not os.access(folder, os.R_OK | os.X_OK):
        return "down", f"{folder} is not readable"
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return "healthy", f"{folder}: {_count(len(files), 'export file')}"


def _landing_folder(settings: Settings) -> Outcome:
    """Dropped CSVs are archived out of the landing folder, so it must be writable too."""
    folder = settings.landing_dir
    if not folder.is_dir():
        return "degraded", f"landing folder {folder} does not exist: create it or `aura demo`"
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        return "down", f"landing folder {folder} is not readable and writable"
    waiting = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return "healthy", f"landing folder {folder}: writable, {_count(len(waiting), 'file')} waiting"


def _mongo(settings: Settings) -> Outcome:
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
        return "down", f"AURA_MONGO_URL unreachable: {_one_line(exc)}"
    return "healthy", f"MongoDB {version}"


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def _cdc_slots(settings: Settings, sources: SourcesFile) -> Outcome:
    """Each CDC slot's retained WAL and time since raw last acknowledged it, against limits.

    A slot keeps every WAL segment from its restart position on: one nobody syncs any more
    (a table paused, a source removed from the configuration) fills the source's disk.
    """
    cdc_tables = {
        (name, table): config
        for name, config in sources.sources.items()
        if config.mode == "cdc"
        for table in config.tables
    }
    try:
        with _connect(settings.warehouse_url, read_only=True) as wh:
            slots = wh.execute(
                "select source_system, source_table, connection_env, slot_name, "
                "now() - confirmed_at from ops.cdc_slots order by 1, 2"
            ).fetchall()
    except psycopg.errors.UndefinedTable:
        slots = []  # migrations pending: the warehouse check says so
    if not slots:
        if cdc_tables:
            return "healthy", f"{len(cdc_tables)} cdc tables, none synced yet (no slot to watch)"
        return "not configured", "no source in mode cdc"
    problems: list[str] = []
    worst_bytes, worst_age = 0, timedelta(0)
    for system, table, env, slot_name, age in slots:
        config = cdc_tables.get((system, table))
        if config is None:
            problems.append(
                f"slot {slot_name} belongs to no cdc table "
                f"(`aura run` drops it once {env} reaches the source)"
            )
            continue
        with _connect(settings.source_url(env)) as src:
            row = src.execute(
                "select pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
                "from pg_replication_slots where slot_name = %s",
                (slot_name,),
            ).fetchone()
        if row is None:
            problems.append(f"slot {slot_name} is gone from the source (the next sync re-copies)")
            continue
        retained = int(row[0] or 0)
        worst_bytes, worst_age = max(worst_bytes, retained), max(worst_age, age)
        if retained > config.slot_warn_bytes:
            problems.append(
                f"slot {slot_name} holds {_size(retained)} of WAL "
                f"(limit {_size(config.slot_warn_bytes)})"
            )
        if age > config.slot_warn_age:
            problems.append(f"slot {slot_name} last acknowledged {age} ago")
    summary = (
        f"{_count(len(slots), 'slot')}, most WAL held {_size(worst_bytes)}, "
        f"oldest acknowledgement {str(worst_age).split('.')[0]} ago"
    )
    if problems:
        return "degraded", f"{summary}; {'; '.join(problems[:_MAX_LISTED])}"
    return "healthy", summary
