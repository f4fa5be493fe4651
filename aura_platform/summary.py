"""The short summary printed after a run: rows per table, check results, a semantic search hit."""

from __future__ import annotations

from aura_platform.runner import CheckLine, RunReport
from aura_platform.settings import Settings

EXAMPLE_QUERY = "cloud migration of a retail company's data platform"


def print_summary(settings: Settings, report: RunReport) -> None:
    status = "succeeded" if report.success else "FAILED"
    print(
        f"\nrun {report.run_id} {status}: {len(report.steps_succeeded)} steps succeeded, "
        f"{len(report.steps_failed)} failed, {len(report.steps_skipped)} skipped"
    )
    for step in report.steps_failed:
        print(f"  failed: {step}")
    if report.not_materialized:
        print(f"  not materialized (blocked upstream): {', '.join(report.not_materialized)}")
    print("\nrows per table:")
    for table, rows in report.table_rows.items():
        print(f"  {table:<45} {rows:>9,}")
    passed = sum(c.passed for c in report.checks)
    print(f"\nchecks: {passed} passed, {len(report.checks) - passed} failed")
    by_asset: dict[str, list[CheckLine]] = {}
    for check in report.checks:
        by_asset.setdefault(check.asset, []).append(check)
    for asset, checks in sorted(by_asset.items()):
        ok = sum(c.passed for c in checks)
        print(f"  {asset:<45} {ok}/{len(checks)} passed")
        for check in checks:
            if not check.passed:
                print(f"    FAIL ({check.severity}) {check.name}: {check.description}")
    matching = matching_summary(report.run_id)
    if matching:
        print(f"\nopportunity matching: {matching}")
    hit = example_search(settings)
    if hit:
        print(f'\nsemantic search "{EXAMPLE_QUERY}":')
        print(f"  {hit}")


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
    from aura_platform.lib.search import search

    hits = search(settings, EXAMPLE_QUERY, k=1)
    if not hits:
        return None
    top = hits[0]
    return f"{top.similarity:.3f}  {top.source_table} #{top.source_id}: {top.content[:100]}"
