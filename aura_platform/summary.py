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
    hit = example_search(settings)
    if hit:
        print(f'\nsemantic search "{EXAMPLE_QUERY}":')
        print(f"  {hit}")


def example_search(settings: Settings) -> str | None:
    """The best match for a sample query, proving the vector index answers; None if empty."""
    from aura_platform.lib.search import search

    hits = search(settings, EXAMPLE_QUERY, k=1)
    if not hits:
        return None
    top = hits[0]
    return f"{top.similarity:.3f}  {top.source_table} #{top.source_id}: {top.content[:100]}"
