"""The short summary printed after a run: failures, rows per table, checks, a search hit."""

from __future__ import annotations

from pathlib import Path

from aura_platform.cli.runner import RunReport
from aura_platform.settings import Settings

EXAMPLE_QUERY = "cloud migration of a retail company's data platform"


def print_summary(settings: Settings, report: RunReport, log_path: Path | None = None) -> None:
    """Failures first, then rows per layer and check counts; a failure is repeated last."""
    status = "succeeded" if report.success else "FAILED"
    print(
        f"\nrun {report.run_id} {status}: {len(report.steps_succeeded)} steps succeeded, "
        f"{len(report.steps_failed)} failed, {len(report.steps_skipped)} skipped"
    )
    failed_checks = sorted(
        (c for c in report.checks if not c.passed), key=lambda c: (c.severity != "ERROR", c.asset)
    )
    for check in failed_checks:
        print(f"  check FAIL ({check.severity}) {check.asset} {check.name}: {check.description}")
    if report.not_materialized:
        print(f"  not materialized (blocked upstream): {_listed(report.not_materialized)}")
    print("\nrows per table:")
    for name, tables, rows in table_groups(report.table_rows):
        label = name if tables == 1 else f"{name} ({tables} tables)"
        print(f"  {label:<45} {rows:>9,}")
    passed = len(report.checks) - len(failed_checks)
    warned = sum(c.severity == "WARN" for c in failed_checks)
    print(
        f"\nchecks: {passed} passed, {len(failed_checks)} failed"
        + (f" ({warned} warnings)" if warned else "")
        + f" on {len({c.asset for c in report.checks})} assets"
    )
    matching = matching_summary(report.run_id)
    if matching:
        print(f"\nopportunity matching: {matching}")
    hit = example_search(settings)
    if hit:
        print(f'\nsemantic search "{EXAMPLE_QUERY}":')
        print(f"  {hit}")
    print()
    for step in report.steps_failed:
        print(f"FAILED step {step}: {_first_line(report.errors.get(step, ''))}")
    if log_path is not None:
        print(f"Dagster and dbt log of this run: {log_path}")


def table_groups(table_rows: dict[str, int]) -> list[tuple[str, int, int]]:
    """(name, tables, rows): core and search tables one by one, raw tables by source system.

    Raw tables are named ``<source>_<table>`` (see ``defs/ingestion``); core and search are what
    people query, so they stay individual.
    """
    from aura_platform.config.loader import load_sources

    sources = sorted(load_sources().sources, key=len, reverse=True)
    groups: dict[str, dict[str, int]] = {}
    for table, rows in table_rows.items():
        schema, name = table.split(".", 1)
        source = next((s for s in sources if name.startswith(f"{s}_")), None)
        key = f"raw.{source}_*" if schema == "raw" and source else table
        groups.setdefault(key, {})[table] = rows
    return [
        (key if len(tables) > 1 else next(iter(tables)), len(tables), sum(tables.values()))
        for key, tables in groups.items()
    ]


def _listed(items: list[str], shown: int = 6) -> str:
    """A list that stays on one line: the first few, then how many more."""
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "(no error message)"


def matching_summary(run_id: str) -> str | None:
    """What the run's ``search/opportunity_matches`` recorded; None if the run did not build it."""
    import dagster as dg

    from aura_platform.defs.search.assets import MATCHES_KEY

    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(MATCHES_KEY, limit=1).records
    materialization = records[0].asset_materialization if records else None
    if materialization is None or records[0].run_id != run_id:
        return None
    meta = {k: v.value for k, v in materialization.metadata.items()}
    line = (
        f"{meta['matches']} matches, {meta.get('review_queue', 0)} for review, "
        f"among {meta.get('candidates', 0)} candidates"
    )
    if "recall_at_1" not in meta:
        return f"{line}; {meta['ground_truth']}"
    return (
        f"{line}; precision@1 {_ratio(meta['precision_at_1'])}, recall@1 "
        f"{_ratio(meta['recall_at_1'])} against {meta['ground_truth_pairs']} ground-truth pairs"
        f" (candidate recall {_ratio(meta.get('candidate_recall'))}, decoys left unmatched "
        f"{_ratio(meta.get('decoy_abstention'))})"
    )


def _ratio(value: object) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def example_search(settings: Settings) -> str | None:
    """The best match for a sample query, proving the vector index answers; None if empty."""
    from aura_platform.search.query import search

    hits = search(settings, EXAMPLE_QUERY, k=1)
    if not hits:
        return None
    top = hits[0]
    return f"{top.similarity:.3f}  {top.source_table} #{top.source_id}: {top.content[:100]}"
