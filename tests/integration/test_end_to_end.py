"""The main job on the demo sources: raw -> dbt core -> checks -> search, for real.

One module-scoped run (demo at a small scale, the real Dagster instance on PostgreSQL, real dbt,
real GX, the real bundled model); the tests read what it left behind.
"""

from collections.abc import Iterator

import dagster as dg
import pytest
from support.warehouse import reset_warehouse

from aura_platform.config.loader import load_sources
from aura_platform.demo.generator import generate_demo
from aura_platform.demo.mongo import load_mongo_documents
from aura_platform.lib.search import search
from aura_platform.runner import RunReport, run_job
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


def _embedding_metadata(run_id: str) -> dict[str, object]:
    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(
            dg.AssetKey(["search", "odoo_opportunities"]), limit=10
        ).records
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


def test_the_run_is_stored_in_the_postgres_backed_dagster_instance(first_run: RunReport) -> None:
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        run = instance.get_run_by_id(first_run.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS


def test_every_opportunity_is_embedded_twice_and_indexed(
    settings: Settings, first_run: RunReport
) -> None:
    opportunities = first_run.table_rows["core.odoo_opportunities"]
    metadata = _embedding_metadata(first_run.run_id)
    assert metadata["dimensions"] == 384
    empty = int(metadata["identity_empty"]) + int(metadata["context_empty"])  # type: ignore[call-overload]
    assert first_run.table_rows["search.embeddings"] == 2 * opportunities - empty
    (indexes,) = _one(
        settings.warehouse_url,
        "select count(*) from pg_indexes where schemaname = 'search' and indexdef ilike '%hnsw%'",
    )
    assert indexes >= 1


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
