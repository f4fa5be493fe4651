"""The ``aura`` command: warehouse lifecycle, demo, runs, the Dagster UI and quick inspection."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import getpass
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aura_platform.settings import PROJECT_ROOT, Settings, mask_url

SEARCH_CONTENT_WIDTH = 80  # characters of each hit's text that `aura search` shows
STOP_SECONDS = 20  # how long a server stopped with Ctrl-C gets to shut down before it is ended
VERBOSE_HELP = "stream Dagster's and dbt's logs here instead of to $AURA_HOME/logs"


def _cmd_up(settings: Settings, _: argparse.Namespace) -> int:
    from aura_platform.cli.runner import prepare_environment
    from aura_platform.warehouse.bootstrap import prepare_warehouse

    url = prepare_warehouse(settings)
    prepare_environment(settings)  # writes the .env that plain dagster and dg commands read
    print(f"warehouse ready: {mask_url(url)}")
    return 0


def _cmd_down(settings: Settings, _: argparse.Namespace) -> int:
    from aura_platform.warehouse import embedded

    if not settings.embedded:
        print("AURA_WAREHOUSE_URL is set: the warehouse is external, nothing to stop")
        return 0
    print(
        "embedded warehouse stopped"
        if embedded.stop(settings)
        else "embedded warehouse was not running"
    )
    return 0


def _cmd_status(settings: Settings, _: argparse.Namespace) -> int:
    from aura_platform.warehouse import embedded
    from aura_platform.warehouse.connection import connect

    if settings.embedded:
        state = embedded.status(settings)
        print(f"warehouse: embedded, {state.detail}")
        running = state.running
    else:
        try:
            with connect(settings.warehouse_url) as conn:
                conn.execute("select 1")
            running = True
            print("warehouse: external, reachable")
        except Exception as exc:  # report, don't crash: status is for diagnosis
            print(f"warehouse: external, unreachable ({type(exc).__name__})")
            running = False
    print(f"url: {mask_url(settings.warehouse_url)}")
    print(f"dagster storage: {mask_url(settings.dagster_pg_url)}")
    return 0 if running else 1


def _cmd_sql(settings: Settings, args: argparse.Namespace) -> int:
    from aura_platform.warehouse.bootstrap import prepare_warehouse
    from aura_platform.warehouse.connection import connect

    with connect(prepare_warehouse(settings)) as conn:
        cur = conn.execute(args.query)
        writer = csv.writer(sys.stdout)
        if cur.description is None:
            print(cur.statusmessage)
            return 0
        writer.writerow([d.name for d in cur.description])
        writer.writerows(cur.fetchall())
    return 0


def _cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    """Semantic search from the terminal; checks cheap mistakes before loading the model."""
    from aura_platform.config.loader import load_embeddings
    from aura_platform.search.query import search
    from aura_platform.warehouse.bootstrap import prepare_warehouse
    from aura_platform.warehouse.connection import connect

    embeddings = load_embeddings()
    tables = sorted(table.source for table in embeddings.tables.values())
    if args.table is not None and args.table not in tables:
        print(
            f"aura search: unknown table {args.table!r}; embedded tables: {', '.join(tables)}",
            file=sys.stderr,
        )
        return 2
    if args.type is not None and args.type not in embeddings.text_types:
        print(
            f"aura search: unknown text type {args.type!r}; text types: "
            f"{', '.join(embeddings.text_types)}",
            file=sys.stderr,
        )
        return 2
    with connect(prepare_warehouse(settings)) as conn:
        stored = conn.execute(
            "select exists (select from search.embeddings where model = %s"
            " and source_table = coalesce(%s, source_table)"
            " and embedding_type = coalesce(%s, embedding_type))",
            (settings.embedding_model, args.table, args.type),
        ).fetchone()
    if not stored or not stored[0]:
        scope = " ".join(filter(None, [args.table, args.type]))
        print(
            f"no {scope + ' ' if scope else ''}embeddings of model {settings.embedding_model} "
            "yet: run the main job first (aura run, or aura demo for demo data)"
        )
        return 1
    hits = search(settings, args.text, k=args.k, source_table=args.table, embedding_type=args.type)
    rows = [
        ("RANK", "SCORE", "TABLE", "ID", "TYPE", "CONTENT"),
        *(
            (
                str(rank),
                f"{hit.similarity:.4f}",
                hit.source_table,
                hit.source_id,
                hit.embedding_type,
                _shorten(hit.content, SEARCH_CONTENT_WIDTH),
            )
            for rank, hit in enumerate(hits, start=1)
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]]))
    print(f"\n{len(hits)} nearest by cosine similarity (model {settings.embedding_model})")
    return 0


def _shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters: contents are whole descriptions."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _refuse_without_embedding_stack(settings: Settings, args: argparse.Namespace) -> bool:
    """Whether the job cannot run because its embedding libraries or model are broken."""
    from aura_platform.cli.runner import check_embedding_stack
    from aura_platform.search.embedding_stack import EmbeddingStackError

    try:
        check_embedding_stack(settings, args.job)
    except EmbeddingStackError as exc:
        print(f"aura {args.command}: refusing to start: {exc}", file=sys.stderr)
        return True
    return False


def _cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from aura_demo.generator import DEMO_SOURCE_SYSTEMS, generate_demo
    from aura_demo.perturb import HARD_RATE
    from aura_platform.ingest.audit import forget_watermarks
    from aura_platform.warehouse.bootstrap import prepare_warehouse

    if not args.no_run and _refuse_without_embedding_stack(settings, args):
        return 2
    # The demo is what is being run: sources left unset read its stand-ins, here and in every
    # process this one starts (runs, Dagster's servers through the .env file).
    os.environ["AURA_DEMO"] = "1"
    settings = dataclasses.replace(settings, demo=True)
    rate = HARD_RATE if args.hard and args.perturb is None else (args.perturb or 0.0)
    report = generate_demo(settings, seed=args.seed, scale=args.scale, perturb=rate)
    variant = f", perturbed {rate:g}" if rate else ""
    print(f"demo sources generated (seed {args.seed}, scale {args.scale}{variant}):")
    for database, tables in report.row_counts.items():
        total = sum(tables.values())
        print(f"  {database}: {len(tables)} tables, {total} rows")
    print(f"  files: {len(report.files)}; ground-truth pairs: {report.ground_truth_pairs}")
    # Rebuilt sources may hold rows older than the old watermarks: the next sync reads them all.
    if forget_watermarks(prepare_warehouse(settings), DEMO_SOURCE_SYSTEMS):
        print("  watermarks of the rebuilt sources reset: the next sync reads them in full")
    if args.no_run:
        return 0
    return _cmd_run(settings, args)


def _cmd_match(settings: Settings, args: argparse.Namespace) -> int:
    """Explain stored matches, list the review queue, record a reviewer's decision."""
    from aura_platform.search.matching import record_decision, stored_pairs
    from aura_platform.warehouse.bootstrap import prepare_warehouse
    from aura_platform.warehouse.connection import connect

    with connect(prepare_warehouse(settings)) as conn:
        model = settings.embedding_model
        if args.action in ("accept", "reject"):
            pair = (args.odoo_id, args.ace_id)
            record_decision(conn, pair, args.action, decided_by=args.by, note=args.note)
            conn.commit()
            print(
                f"{args.action}ed Odoo {pair[0]} = ACE {pair[1]} (by {args.by}); "
                "the next matching run applies it"
            )
            return 0
        if args.action == "review":
            pairs = stored_pairs(conn, model, status="review")
            for p in pairs:
                print(f"odoo {p.odoo_id}  ace {p.ace_id}  probability {p.probability:.3f}")
            print(f"{len(pairs)} pair(s) waiting for review: aura match accept|reject ODOO ACE")
            return 0
        side = {"odoo": "odoo_id", "ace": "ace_id"}
        shown = 0
        for name in (args.side,) if args.side else ("odoo", "ace"):
            for p in stored_pairs(conn, model, **{side[name]: args.opportunity_id}):
                shown += 1
                print(
                    f"odoo {p.odoo_id} - ace {p.ace_id}: {p.status}, probability "
                    f"{p.probability:.4f}, weight {p.weight or 0:+.2f}, rank {p.rank}"
                )
                for comparison, contribution in sorted(
                    p.contributions.items(), key=lambda item: -abs(item[1])
                ):
                    level = p.levels.get(comparison, "")
                    print(f"    {comparison:<13} {contribution:+7.2f}  {level}")
        if not shown:
            print(f"no stored pair involves opportunity {args.opportunity_id}")
            return 1
    return 0


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from aura_platform.cli.runner import run_job
    from aura_platform.cli.summary import print_summary

    if args.command == "run" and _refuse_without_embedding_stack(settings, args):
        return 2
    if args.verbose:
        report = run_job(settings, args.job)
        print_summary(settings, report)
        return 0 if report.success else 1
    from aura_platform.cli.console import StepProgress, output_to_file, run_log_path

    log_path = run_log_path(settings, args.job)
    print(f"running job {args.job}; Dagster and dbt log: {log_path}")
    with output_to_file(log_path) as terminal, StepProgress(terminal, args.job) as progress:
        report = run_job(settings, args.job, on_step=progress.update)
    print_summary(settings, report, log_path)
    return 0 if report.success else 1


def _cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    from aura_platform.warehouse.bootstrap import prepare_warehouse
    from aura_platform.warehouse.migrate import apply_migrations

    url = prepare_warehouse(settings)
    applied = apply_migrations(url)
    print(f"migrations applied: {len(applied)} (database {mask_url(url)} is up to date)")
    return 0


def _cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from aura_platform.cli.runner import prepare_environment
    from aura_platform.warehouse.bootstrap import prepare_warehouse

    prepare_warehouse(settings)
    prepare_environment(settings)
    bin_dir = os.path.dirname(sys.executable)
    workspace = ["-w", str(PROJECT_ROOT / "workspace.yaml")]
    address = ["-h", args.host, "-p", str(args.port)]
    if args.read_only:
        # A viewer for others: no daemon (the one of `aura dev` or compose keeps running), and
        # the webserver refuses launches, re-executions and schedule or sensor toggles.
        cmd = [os.path.join(bin_dir, "dagster-webserver"), "--read-only", *workspace, *address]
        what = "read-only webserver"
    else:
        cmd = [os.path.join(bin_dir, "dagster"), "dev", *workspace, *address]
        what = "webserver + daemon"
    print(f"Dagster UI on http://{args.host}:{args.port} ({what}); Ctrl-C stops it")
    return _foreground(cmd, cwd=_dagster_cwd(settings))


def _dagster_cwd(settings: Settings) -> Path:
    """Where a dagster child runs: dagster loads ``.env`` from there, so it must be ours."""
    return settings.env_file.parent if settings.env_file is not None else PROJECT_ROOT


def _foreground(cmd: list[str], **kwargs: Any) -> int:
    """Run a server until it exits or Ctrl-C; on Ctrl-C it stops cleanly, without a traceback.

    The server shares this process group, so the terminal's Ctrl-C reaches it (and its own
    children, such as the webserver and daemon of ``dagster dev``) directly; this process waits
    for it to shut down and ends it if it has not within ``STOP_SECONDS``.
    """
    child = subprocess.Popen(cmd, **kwargs)
    try:
        return child.wait()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        print("\nstopping...", file=sys.stderr)
        try:
            child.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                child.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        print("stopped", file=sys.stderr)
        return 130


def _cmd_dagster(settings: Settings, args: argparse.Namespace) -> int:
    """The dagster CLI with Aura's environment: runs land in the persistent instance."""
    from aura_platform.cli.runner import prepare_environment
    from aura_platform.warehouse.bootstrap import prepare_warehouse

    prepare_warehouse(settings)
    prepare_environment(settings)
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    forwarded = args.args[1:] if args.args[:1] == ["--"] else args.args
    if forwarded[:2] == ["asset", "materialize"] and "-m" not in forwarded:
        forwarded = [*forwarded, "-m", "aura_platform.definitions"]
    return subprocess.call([dagster, *forwarded], cwd=_dagster_cwd(settings))


def _cmd_docs(settings: Settings, args: argparse.Namespace) -> int:
    """Generate dbt docs (with the warehouse catalog) and serve them on loopback."""
    from aura_platform.warehouse.bootstrap import prepare_warehouse

    prepare_warehouse(settings)
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    project = PROJECT_ROOT / "dbt_project"
    common = ["--project-dir", str(project), "--profiles-dir", str(project)]
    env = settings.subprocess_env()
    if subprocess.call([dbt, "docs", "generate", *common], env=env) != 0:
        return 1
    if args.generate_only:
        print(f"dbt docs written to {project / 'target'}")
        return 0
    print(f"dbt docs on http://{args.host}:{args.port}; Ctrl-C stops them")
    serve = ["docs", "serve", *common, "--host", args.host, "--port", str(args.port)]
    return _foreground([dbt, *serve, "--no-browser"], env=env)


def _cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    """Health of every store and source; exit 1 when something configured is down."""
    import json
    from dataclasses import asdict

    from aura_platform.ops.health import format_table, run_checks

    checks = run_checks(settings, load_model=args.load_model)
    down = any(c.status == "down" for c in checks)
    if args.json:
        print(json.dumps({"ok": not down, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        print(format_table(checks))
    return 1 if down else 0


def _cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from aura_platform.ops.backup import backup_warehouse
    from aura_platform.warehouse.bootstrap import prepare_warehouse

    prepare_warehouse(settings)
    result = backup_warehouse(settings, args.dir, keep=args.keep)
    print(f"backup written: {result.path} ({_size(result.size)}, {result.seconds:.1f} s)")
    for path in result.removed:
        print(f"removed old backup: {path.name}")
    return 0


def _cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from aura_platform.ops.backup import restore_warehouse
    from aura_platform.warehouse.bootstrap import prepare_warehouse
    from aura_platform.warehouse.migrate import apply_migrations

    if not args.file.is_file():
        print(f"aura restore: {args.file}: no such file", file=sys.stderr)
        return 2
    target = mask_url(settings.warehouse_url)
    if not args.yes:
        if not sys.stdin.isatty():
            print(
                f"aura restore: this replaces the contents of {target}; "
                "no terminal to confirm on, pass --yes to go ahead",
                file=sys.stderr,
            )
            return 2
        answer = input(f"Replace the contents of {target} with {args.file}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("restore cancelled")
            return 1
    url = prepare_warehouse(settings)
    result = restore_warehouse(settings, args.file)
    print(
        f"restored {result.path} ({_size(result.size)}) into {target} in {result.seconds:.1f} s; "
        f"schemas replaced: {', '.join(result.schemas) or 'none'}"
    )
    applied = apply_migrations(url)
    if applied:
        print(f"migrations applied since that backup: {len(applied)}")
    return 0


def _size(size: int) -> str:
    """Bytes in the unit a person reads at a glance."""
    value, unit = float(size), "B"
    for larger in ("kB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"


def _positive_int(value: str) -> int:
    """An argparse type for counts, where zero or less makes no sense."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aura", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start (embedded) and migrate the warehouse").set_defaults(fn=_cmd_up)
    sub.add_parser("down", help="stop the embedded warehouse").set_defaults(fn=_cmd_down)
    sub.add_parser("status", help="is the warehouse running, and where").set_defaults(
        fn=_cmd_status
    )
    sub.add_parser("migrate", help="apply pending SQL migrations").set_defaults(fn=_cmd_migrate)
    p = sub.add_parser("sql", help="run a query and print the result as CSV")
    p.add_argument("query")
    p.set_defaults(fn=_cmd_sql)
    p = sub.add_parser("search", help="the rows whose embeddings are nearest to a text")
    p.add_argument("text")
    p.add_argument("--table", help="only rows of this table, e.g. core.odoo_opportunities")
    p.add_argument("--type", help="only this text type (text_types in embeddings.yaml)")
    p.add_argument("--k", type=_positive_int, default=10, help="how many rows (default 10)")
    p.set_defaults(fn=_cmd_search)
    p = sub.add_parser("demo", help="generate the demo sources, then run the main job")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--no-run", action="store_true", help="only generate the demo sources")
    p.add_argument(
        "--hard",
        action="store_true",
        help="the hard variant: perturbed ACE records and decoys (see --perturb)",
    )
    p.add_argument(
        "--perturb",
        type=float,
        metavar="RATE",
        help="share of mirrored ACE records perturbed, 0..1 (--hard: 0.3)",
    )
    p.add_argument("--job", default="main")
    p.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    p.set_defaults(fn=_cmd_demo)
    p = sub.add_parser("match", help="explain matches, review them, accept or reject pairs")
    match = p.add_subparsers(dest="action", required=True)
    q = match.add_parser("explain", help="each comparison's contribution to a deal's pairs")
    q.add_argument("opportunity_id", type=int, help="an Odoo or ACE opportunity id")
    q.add_argument("--side", choices=("odoo", "ace"), help="which system the id is from")
    match.add_parser("review", help="list the pairs waiting for review")
    for action in ("accept", "reject"):
        q = match.add_parser(action, help=f"{action} a pair: it wins over the model on every run")
        q.add_argument("odoo_id", type=int)
        q.add_argument("ace_id", type=int)
        q.add_argument("--by", default=getpass.getuser(), help="who decided (default: you)")
        q.add_argument("--note", help="why")
    p.set_defaults(fn=_cmd_match)
    p = sub.add_parser("run", help="run a job (default: main) and print a summary")
    p.add_argument("--job", default="main")
    p.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    p.set_defaults(fn=_cmd_run)
    p = sub.add_parser(
        "dagster", help="run the dagster CLI against Aura's instance (e.g. asset materialize)"
    )
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(fn=_cmd_dagster)
    p = sub.add_parser("docs", help="generate dbt docs and serve them (lineage, descriptions)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--generate-only", action="store_true")
    p.set_defaults(fn=_cmd_docs)
    p = sub.add_parser("doctor", help="health of the warehouse, Dagster storage and sources")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--load-model", action="store_true", help="also load the embedding model and embed a text"
    )
    p.set_defaults(fn=_cmd_doctor)
    p = sub.add_parser("backup", help="pg_dump the warehouse database, keeping the last N")
    p.add_argument("--dir", type=Path, default=None, help="default $AURA_HOME/backups")
    p.add_argument("--keep", type=int, default=7, help="Aura dumps to keep there (default 7)")
    p.set_defaults(fn=_cmd_backup)
    p = sub.add_parser("restore", help="replace the warehouse database with a backup")
    p.add_argument("file", type=Path)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(fn=_cmd_restore)
    p = sub.add_parser("dev", help="start the Dagster webserver and daemon")
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 only behind a login or tunnel")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument(
        "--read-only", action="store_true", help="only a webserver that cannot launch or change"
    )
    p.set_defaults(fn=_cmd_dev)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        return int(args.fn(settings, args))
    except Exception as exc:
        # Users see a one-line reason with secrets masked, not a traceback full of DSNs.
        from aura_platform.settings import mask_secrets

        urls = [settings.warehouse_url, settings.dagster_pg_url]
        urls += [url for url in (settings.odoo_url, settings.apn_url) if url]
        print(
            f"aura {args.command}: {mask_secrets(f'{type(exc).__name__}: {exc}', urls)}",
            file=sys.stderr,
        )
        if os.environ.get("AURA_DEBUG"):
            raise
        return 2


if __name__ == "__main__":
    sys.exit(main())
