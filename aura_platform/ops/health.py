"""Health of every store and source Aura depends on, for ``aura doctor``.

Each component gets one ``Check``: ``healthy``; ``degraded`` (reachable or usable, but something
needs doing, such as pending migrations or a demo database not generated yet); ``not configured``
(an optional component whose variables are unset, which is not an error); or ``down`` (configured
but unreachable or unusable). Every check is bounded by a short timeout, and every reason is
masked with the URLs and secrets the environment holds, so the report can be pasted anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import get_args

import psycopg

from aura_platform.config.loader import load_sources
from aura_platform.config.models import SourceConfig, SourcesFile
from aura_platform.settings import Settings, mask_secrets
from aura_platform.sources.probing import (
    MAX_LISTED,
    Outcome,
    Status,
    count,
    database_name,
    listed,
    missing_database,
    one_line,
    quick_connect,
)
from aura_platform.sources.registry import check_health, known_secrets
from aura_platform.warehouse.migrate import discover

MIN_SERVER_VERSION = 140000
# One table per Dagster storage (runs, event log, schedules): all three exist once initialised.
DAGSTER_TABLES = ("runs", "event_logs", "job_ticks")
_MAX_REASON = 300


@dataclass(frozen=True)
class Check:
    """The health of one component, with the reason in one line."""

    component: str
    status: Status
    reason: str


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
        status, reason = "down", f"{type(exc).__name__}: {one_line(exc)}"
    return Check(component, status, reason)


def _warehouse(settings: Settings) -> Outcome:
    """Reachable, recent enough, pgvector installed, every migration applied unchanged."""
    try:
        conn = quick_connect(settings.warehouse_url, read_only=True)
    except psycopg.Error as exc:
        hint = "; `aura up` starts the embedded server" if settings.embedded else ""
        return "down", f"unreachable: {one_line(exc)}{hint}"
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
    summary = f"PostgreSQL {version}, {vector}, {count(len(applied), 'migration')} applied"
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
            f"{count(len(pending), 'migration')} pending ({listed(pending)}): `aura migrate`"
        )
    if changed:
        problems.append(f"migrations changed after they were applied: {listed(changed)}")
    if unknown:
        problems.append(
            f"{count(len(unknown), 'applied migration')} unknown to this Aura (a newer one?)"
        )
    return problems


def _dagster_storage(settings: Settings) -> Outcome:
    """Reachable, and holding Dagster's tables (they are created by the first Dagster process)."""
    url = settings.dagster_pg_url
    try:
        conn = quick_connect(url, read_only=True)
    except psycopg.Error as exc:
        default = settings.dagster_pg_url_override is None
        if default and missing_database(settings, url):
            database = database_name(url)
            return "degraded", f"database {database} does not exist: `aura up` creates it"
        return "down", f"unreachable: {one_line(exc)}"
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
    return "healthy", f"initialised, {count(runs[0] if runs else 0, 'run')} recorded"


def _source(settings: Settings, config: SourceConfig) -> Outcome:
    """Each transport is reached the way its connector reaches it (the registry knows how)."""
    return check_health(config, settings)


def _embedding_model(settings: Settings, load: bool) -> Outcome:
    """The libraries import and the model's files are here; optionally, the model runs."""
    from aura_platform.search import embedding_stack as stack

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
        with quick_connect(settings.warehouse_url, read_only=True) as wh:
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
        with quick_connect(settings.source_url(env)) as src:
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
        f"{count(len(slots), 'slot')}, most WAL held {_size(worst_bytes)}, "
        f"oldest acknowledgement {str(worst_age).split('.')[0]} ago"
    )
    if problems:
        return "degraded", f"{summary}; {'; '.join(problems[:MAX_LISTED])}"
    return "healthy", summary
