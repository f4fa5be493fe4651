"""The main job on the demo sources: raw -> dbt core -> checks -> search, for real.

One module-scoped run (demo at a small scale, the real Dagster instance on PostgreSQL, real dbt,
real GX, the real bundled model); the tests read what it left behind.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from support.warehouse import reset_warehouse

from aura_demo.generator import generate_demo
from aura_demo.mongo import load_mongo_documents
from aura_platform.cli.main import main
from aura_platform.cli.runner import CheckLine, RunReport, run_job
from aura_platform.cli.summary import print_summary
from aura_platform.config.loader import load_sources
from aura_platform.definitions import defs
from aura_platform.search.evaluation import ground_truth
from aura_platform.search.matching import evaluate, stored_matches
from aura_platform.search.query import search
from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def first_run(settings: Settings) -> Iterator[RunReport]:
    reset_warehouse(settings.warehouse_url)
    generate_demo(settings, seed=7, scale=0.05)
    yield run_job(settings)


def _one(url: str, query: str, params: tuple = ()) -> tuple:
    with connect(url) as conn:
        row = conn.execute(query, params or None).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return tuple(row)


def _embedding_metadata(run_id: str, asset: str = "odoo_opportunities") -> dict[str, object]:
    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(dg.AssetKey(["search", asset]), limit=10).records
    [record] = [r for r in records if r.run_id == run_id]
    materialization = record.asset_materialization
    assert materialization is not None
    return {k: v.value for k, v in materialization.metadata.items()}


def test_the_main_job_succeeds_and_every_asset_and_check_runs(first_run: RunReport) -> None:
    assert first_run.success, first_run.steps_failed
    assert not first_run.not_materialized
    assert first_run.checks and all(c.passed for c in first_run.checks)
    assert any(c.name == "gx_raw_odoo_crm_lead" for c in first_run.checks)


SQL_TABLES = [
    (name, table)
    for name, source in load_sources().sources.items()
    if source.transport == "sql"
    for table in source.tables
]


@pytest.mark.parametrize(("source", "table"), SQL_TABLES)
def test_every_sql_source_table_lands_in_raw_with_exactly_its_rows(
    settings: Settings, first_run: RunReport, source: str, table: str
) -> None:
    url = settings.source_url(load_sources().sources[source].connection_env or "")
    (rows,) = _one(url, f"select count(*) from {table}")
    assert first_run.table_rows[f"raw.{source}_{table}"] == rows > 0


def test_mongo_documents_and_ace_exports_land_in_raw(
    settings: Settings, first_run: RunReport
) -> None:
    documents = load_mongo_documents(settings)
    assert first_run.table_rows["raw.mongo_invoices"] == len(documents["invoices"])
    assert first_run.table_rows["raw.mongo_supporting_docs"] == len(documents["supporting_docs"])
    assert first_run.table_rows["raw.ace_exports_opportunity"] >= 1


def test_trial_balance_files_load_with_nothing_lost(
    settings: Settings, first_run: RunReport
) -> None:
    read, loaded, quarantined, files = _one(
        settings.warehouse_url,
        "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined), count(*) "
        "from ops.landed_files",
    )
    assert files >= 1 and read == loaded + quarantined
    assert first_run.table_rows["raw.csv_trial_balance"] == loaded


def test_core_has_one_row_per_opportunity_with_the_partner_resolved(
    settings: Settings, first_run: RunReport
) -> None:
    (opportunities,) = _one(
        settings.odoo_url, "select count(*) from crm_lead where type = 'opportunity'"
    )
    assert first_run.table_rows["core.odoo_opportunities"] == opportunities
    lead_id, partner = _one(
        settings.odoo_url,
        "select l.id, p.name from crm_lead l join res_partner p on p.id = l.partner_id "
        "where l.type = 'opportunity' order by l.id limit 1",
    )
    assert _one(
        settings.warehouse_url,
        "select partner_name from core.odoo_opportunities where opportunity_id = %s",
        (lead_id,),
    ) == (partner,)


def test_the_gx_check_left_a_record_in_ops(settings: Settings, first_run: RunReport) -> None:
    passed, checked, sync_job = _one(
        settings.warehouse_url,
        "select passed, records_checked, sync_job_id from ops.data_quality_checks "
        "where dagster_run_id = %s and check_name = 'gx_raw_odoo_crm_lead'",
        (first_run.run_id,),
    )
    assert passed and checked == first_run.table_rows["raw.odoo_crm_lead"]
    assert sync_job is not None


def test_every_check_of_the_run_left_one_record_in_ops_dbt_tests_included(
    settings: Settings, first_run: RunReport
) -> None:
    with connect(settings.warehouse_url) as conn:
        recorded = conn.execute(
            "select check_name, check_type from ops.data_quality_checks where dagster_run_id = %s",
            (first_run.run_id,),
        ).fetchall()
    assert sorted(name for name, _ in recorded) == sorted(c.name for c in first_run.checks)
    assert ("not_null_odoo_opportunities_opportunity_id", "dbt_test") in recorded


def test_the_run_is_stored_in_the_postgres_backed_dagster_instance(first_run: RunReport) -> None:
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        run = instance.get_run_by_id(first_run.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS


def test_every_raw_asset_shows_as_materialized_by_the_run_with_no_partition_missing(
    first_run: RunReport,
) -> None:
    # What the catalog reads: an unpartitioned asset's status is its latest materialization; a
    # partitioned one would read its partitions' status, all missing after an unpartitioned run.
    graph = defs().resolve_asset_graph()
    raw = [key for key in graph.get_all_asset_keys() if key.path[0] == "raw"]
    assert raw and [k for k in raw if graph.get(k).partitions_def is not None] == []
    with dg.DagsterInstance.get() as instance:
        latest = {k: instance.get_latest_materialization_event(k) for k in raw}
    assert {k.to_user_string(): e.run_id if e else None for k, e in latest.items()} == {
        k.to_user_string(): first_run.run_id for k in raw
    }


def test_every_opportunity_is_embedded_twice_and_indexed(
    settings: Settings, first_run: RunReport
) -> None:
    opportunities = first_run.table_rows["core.odoo_opportunities"]
    metadata = _embedding_metadata(first_run.run_id)
    assert metadata["dimensions"] == 384
    empty = int(metadata["identity_empty"]) + int(metadata["context_empty"])  # type: ignore[call-overload]
    (embedded,) = _one(
        settings.warehouse_url,
        "select count(*) from search.embeddings where source_table = 'core.odoo_opportunities'",
    )
    assert embedded == 2 * opportunities - empty
    (indexes,) = _one(
        settings.warehouse_url,
        "select count(*) from pg_indexes where schemaname = 'search' and indexdef ilike '%hnsw%'",
    )
    assert indexes >= 1


@pytest.mark.parametrize(
    ("asset", "text_types"),
    [("ace_opportunities", ("identity", "context")), ("aws_accounts", ("identity",))],
)
def test_ace_opportunities_and_aws_accounts_are_embedded_too(
    settings: Settings, first_run: RunReport, asset: str, text_types: tuple[str, ...]
) -> None:
    rows = first_run.table_rows[f"core.{asset}"]
    metadata = _embedding_metadata(first_run.run_id, asset)
    for text_type in text_types:
        (embedded,) = _one(
            settings.warehouse_url,
            "select count(*) from search.embeddings where source_table = %s"
            " and embedding_type = %s",
            (f"core.{asset}", text_type),
        )
        empty = int(metadata[f"{text_type}_empty"])  # type: ignore[call-overload]
        assert embedded == metadata[f"{text_type}_embedded"] == rows - empty > 0


def test_matching_finds_the_demo_pairs_with_recall_at_1_of_at_least_90_percent(
    settings: Settings, first_run: RunReport
) -> None:
    truth = ground_truth(settings)
    assert len(truth) >= 20 and {p.match_kind for p in truth} == {"crm_id", "aws_account", "fuzzy"}
    with connect(settings.warehouse_url) as conn:
        matches = stored_matches(conn, settings.embedding_model)
        (run_ids,) = conn.execute(
            "select array_agg(distinct dagster_run_id) from search.opportunity_matches"
        ).fetchone()  # type: ignore[misc]
    assert run_ids == [first_run.run_id]
    quality = evaluate(matches, [(p.odoo_lead_id, p.ace_opportunity_id) for p in truth])
    assert quality.recall is not None and quality.recall >= 0.9
    assert quality.precision is not None and quality.precision >= 0.9
    fuzzy = [(p.odoo_lead_id, p.ace_opportunity_id) for p in truth if p.match_kind == "fuzzy"]
    assert evaluate(matches, fuzzy).correct >= 1  # found without any exact id or account
    metadata = _embedding_metadata(first_run.run_id, "opportunity_matches")
    assert metadata["recall_at_1"] == round(quality.recall, 4)
    assert metadata["precision_at_1"] == round(quality.precision, 4)
    [check] = [c for c in first_run.checks if c.name == "recall_at_1"]
    assert check.passed and check.severity == "ERROR"
    passed, checked, failed = _one(
        settings.warehouse_url,
        "select passed, records_checked, records_failed from ops.data_quality_checks "
        "where dagster_run_id = %s and check_name = 'recall_at_1'",
        (first_run.run_id,),
    )
    assert passed and checked == len(truth) and failed == len(truth) - quality.correct


def test_semantic_search_finds_an_opportunity_by_its_own_words(
    settings: Settings, first_run: RunReport
) -> None:
    opportunity_id, name = _one(
        settings.warehouse_url,
        "select opportunity_id, opportunity_name from core.odoo_opportunities order by 1 limit 1",
    )
    hits = search(settings, name, k=5, embedding_type="context")
    assert str(opportunity_id) in [h.source_id for h in hits]


def test_a_second_run_embeds_nothing_and_keeps_raw_identical(
    settings: Settings, first_run: RunReport
) -> None:
    second = run_job(settings)
    assert second.success
    metadata = _embedding_metadata(second.run_id)
    assert metadata["identity_embedded"] == metadata["context_embedded"] == 0
    assert metadata["model_calls"] == 0
    assert second.table_rows == first_run.table_rows


def _metadata_types(run_id: str, asset: str) -> dict[str, type]:
    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(dg.AssetKey(asset.split("/")), limit=10).records
    [record] = [r for r in records if r.run_id == run_id]
    assert record.asset_materialization is not None
    return {k: type(v) for k, v in record.asset_materialization.metadata.items()}


def test_the_figures_people_watch_are_numeric_metadata_that_dagster_plots(
    first_run: RunReport,
) -> None:
    integer, ratio = dg.IntMetadataValue, dg.FloatMetadataValue
    watched = {
        "raw/odoo/crm_lead": {"records_processed": integer, "records_quarantined": integer},
        "raw/csv/trial_balance": {"rows_read": integer, "rows_quarantined": integer},
        "search/odoo_opportunities": {"identity_embedded": integer, "context_empty": integer},
        "search/opportunity_matches": {"matches": integer, "precision_at_1": ratio,
                                       "recall_at_1": ratio},
    }  # fmt: skip
    for asset, expected in watched.items():
        types = _metadata_types(first_run.run_id, asset)
        assert {key: types.get(key) for key in expected} == expected, asset
    with dg.DagsterInstance.get() as instance:
        evaluations = [
            e.get_dagster_event().asset_check_evaluation_data
            for e in instance.all_logs(
                first_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            )
        ]
    [gx] = [e for e in evaluations if e.check_name == "gx_core_odoo_opportunities"]
    assert gx.metadata["pass_rate"] == dg.MetadataValue.float(1.0)
    assert isinstance(gx.metadata["records_failed"], integer)


def test_one_junk_website_leaves_the_embeddings_and_matching_running(
    settings: Settings, first_run: RunReport, capfd: pytest.CaptureFixture[str]
) -> None:
    """Websites typed as "N/A" are common in CRMs; one must not hold back the search layer."""
    lead_id, website = _one(
        settings.odoo_url,
        "select id, website from crm_lead where type = 'opportunity' order by id limit 1",
    )
    with connect(settings.odoo_url) as conn:
        conn.execute(
            "update crm_lead set website = 'N/A', "
            "write_date = (select max(write_date) from crm_lead) + interval '1 minute' "
            "where id = %s",
            (lead_id,),
        )
    try:
        assert main(["run"]) == 0  # as a person runs it, so its terminal output is tested too
        out = capfd.readouterr().out.splitlines()
        run_id = next(line.split()[1] for line in out if line.startswith("run "))
        assert len(out) < 120 and out[-1].startswith("Dagster and dbt log of this run: ")
        log = Path(out[-1].rsplit(": ", 1)[1]).read_text()
        assert "STEP_SUCCESS" in log and "dbt" in log  # the flood went to the file
        assert not any("STEP_SUCCESS" in line for line in out)
        assert any(re.match(r"main: (\d+)/\1 steps", line) for line in out)  # progress, to the end
        (passed,) = _one(
            settings.warehouse_url,
            "select passed from ops.data_quality_checks "
            "where dagster_run_id = %s and check_name = 'gx_core_odoo_opportunities'",
            (run_id,),
        )
        assert passed
        for asset in ("search/odoo_opportunities", "search/opportunity_matches"):
            assert _metadata_types(run_id, asset)  # materialized by this very run
        (domain,) = _one(
            settings.warehouse_url,
            "select normalized_domain from core.odoo_opportunities where opportunity_id = %s",
            (lead_id,),
        )
        assert domain is None or "." in domain  # the email's domain or none, no made-up host "n"
    finally:
        with connect(settings.odoo_url) as conn:
            conn.execute(
                "update crm_lead set website = %s, write_date = write_date + interval '1 minute' "
                "where id = %s",
                (website, lead_id),
            )


def test_a_failed_run_ends_with_the_failing_step_its_error_and_the_log(
    settings: Settings, first_run: RunReport, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    failed = RunReport(
        run_id="r1",
        success=False,
        steps_succeeded=["raw__odoo__crm_lead"],
        steps_failed=["core__gl_balances"],
        errors={"core__gl_balances": "OperationalError: connection refused\nat line 1"},
        checks=[CheckLine("core/gl_balances", "balanced", False, "WARN", "off by 2")],
        table_rows=first_run.table_rows,
    )
    print_summary(settings, failed, tmp_path / "main.log")
    lines = capsys.readouterr().out.splitlines()
    assert "run r1 FAILED" in lines[1]
    assert "check FAIL (WARN) core/gl_balances balanced: off by 2" in lines[2]
    assert lines[-2:] == [
        "FAILED step core__gl_balances: OperationalError: connection refused",
        f"Dagster and dbt log of this run: {tmp_path / 'main.log'}",
    ]


def test_a_failing_error_check_blocks_everything_downstream(
    settings: Settings, first_run: RunReport
) -> None:
    with connect(settings.odoo_url) as conn:
        conn.execute(
            "update crm_lead set type = 'bogus', "
            "write_date = (select max(write_date) from crm_lead) + interval '1 minute' "
            "where id = (select min(id) from crm_lead)"
        )
    try:
        blocked = run_job(settings)
        assert not blocked.success
        [gx] = [c for c in blocked.checks if c.name == "gx_raw_odoo_crm_lead"]
        assert not gx.passed
        assert "core/odoo_opportunities" in blocked.not_materialized
        assert "search/odoo_opportunities" in blocked.not_materialized
        passed, failed, details = _one(
            settings.warehouse_url,
            "select passed, records_failed, failure_details from ops.data_quality_checks "
            "where dagster_run_id = %s and check_name = 'gx_raw_odoo_crm_lead'",
            (blocked.run_id,),
        )
        assert not passed and failed == 1
        [expectation] = [e for e in details["expectations"] if not e["success"]]
        assert expectation["failing_sample"]  # the offending row is identified in the record
    finally:
        with connect(settings.odoo_url) as conn:
            conn.execute(
                "update crm_lead set type = 'opportunity', write_date = write_date "
                "+ interval '1 minute' where type = 'bogus'"
            )
