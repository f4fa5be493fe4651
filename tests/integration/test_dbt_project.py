"""The dbt project against the real warehouse: the demo ingested into raw, core tables out.

The module ingests a small demo once (the real connectors and loaders), plants a few hand-written
Odoo rows whose core rows are known exactly, and builds once; tests that break the data undo it.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from aura_demo.generator import generate_demo
from aura_platform.config.loader import load_sources
from aura_platform.defs.dbt.assets import aura_dbt_models
from aura_platform.defs.dbt.project import DBT_EXECUTABLE, DBT_PROJECT_DIR, aura_dbt_project
from aura_platform.defs.dbt.resources import dbt_resource
from aura_platform.defs.resources import WarehouseResource
from aura_platform.ingest.landing import load_landing_zone
from aura_platform.ingest.sync import TableSync, sync_table
from aura_platform.settings import Settings
from aura_platform.sources.registry import open_source
from aura_platform.warehouse.connection import connect

pytestmark = pytest.mark.integration

CORE_MODELS = (
    "ace_opportunities",
    "aws_accounts",
    "gl_accounts",
    "gl_balances",
    "invoice_items",
    "invoices",
    "odoo_opportunities",
    "vendors",
)
RELATIONSHIP_TEST = (
    "relationships_odoo_opportunities_partner_id__partner_id__ref_stg_odoo__res_partners_"
)

# Hand-written Odoo rows planted among the demo's (ids far above the demo's), table -> rows.
PLANTED: dict[str, list[dict[str, Any]]] = {
    "res_partner": [
        {
            "id": 90010,
            "name": "ACME Corporation, Inc.",
            "is_company": True,
            "commercial_partner_id": 90010,
            "commercial_company_name": "ACME Corporation, Inc.",
            "website": "https://www.Acme.com/about?x=1",
            "active": True,
        },
        {
            "id": 90011,
            "name": "Jane Doe",
            "parent_id": 90010,
            "commercial_partner_id": 90010,
            "commercial_company_name": "ACME Corporation, Inc.",
            "email": "jane@acme.com",
            "active": True,
        },
        {
            "id": 90020,
            "name": "Globex Pvt. Ltd.",
            "is_company": True,
            "commercial_partner_id": 90020,
            "commercial_company_name": "Globex Pvt. Ltd.",
            "email": "sales@Globex.co.in",
            "active": True,
        },
        {"id": 90030, "name": "Gone Away GmbH", "is_company": True, "_deleted_at": "2025-03-02"},
        {"id": 90040, "name": "Noor Haddad", "email": "noor@auracloud.io", "active": True},
    ],
    "res_users": [{"id": 90007, "partner_id": 90040, "login": "noor", "active": True}],
    "crm_stage": [{"id": 90002, "name": Jsonb({"en_US": "Proposal", "fr_FR": "Proposition"})}],
    "crm_team": [{"id": 90001, "name": Jsonb({"en_US": "Strategic Accounts"}), "active": True}],
    "c_aws_accounts": [
        {
            "id": 90005,
            "account_id": "012345678901",
            "name": "acme-payer",
            "partner_id": 90010,
            "company_name": "ACME CORPORATION",
            "user_id": 90007,
            "account_type": "payer",
            "domain": "acme.com",
            "status": "active",
            "active": True,
        },
        {
            "id": 90006,
            "account_id": "109876543210",
            "name": "acme-prod",
            "partner_id": 90010,
            "user_id": 90007,
            "payer_account_id": 90005,
            "account_type": "linked",
            "status": "active",
            "active": True,
        },
    ],
    "crm_lead": [
        {
            "id": 90001,
            "type": "opportunity",
            "name": "Cloud migration",
            "partner_id": 90011,
            "email_from": "Jane Doe <jane@acme.com>",
            "description": "<p>Move <b>40</b> VMs&nbsp;to AWS</p>",
            "probability": 40.0,
            "expected_revenue": Decimal("120000.00"),
            "stage_id": 90002,
            "user_id": 90007,
            "team_id": 90001,
            "x_aws_account_id": 90006,
            "x_payer_account_id": 90005,
            "x_pod_type": "partner_originated",
            "x_pod_stage": "approved",
            "x_pod_discount_pct": Decimal(5),
            "active": True,
            "create_date": "2025-03-01 10:00:00",
            "write_date": "2025-03-02 11:30:00",
        },
        {
            "id": 90002,
            "type": "opportunity",
            "name": "Data lake",
            "partner_id": 90020,
            "active": True,
        },
        {"id": 90003, "type": "lead", "name": "Unqualified lead", "partner_id": 90020},
        {"id": 90004, "type": "opportunity", "name": "Deleted", "_deleted_at": "2025-03-02"},
        {
            "id": 90005,
            "type": "opportunity",
            "name": "Security audit",
            "partner_name": "Initech LLC",
            "website": "initech.com",
            "email_from": "bill@gmail.com",
            "active": False,
        },
        {
            "id": 90007,
            "type": "opportunity",
            "name": "Walk-in",
            "email_from": "someone@gmail.com",
            "active": True,
        },
    ],
}

EXPECTED_PLANTED_OPPORTUNITIES: list[dict[str, Any]] = [
    {
        "opportunity_id": 90001,
        "partner_name": "Jane Doe",
        "company_name": "ACME Corporation, Inc.",
        "domain": "https://www.Acme.com/about?x=1",
        "normalized_domain": "acme.com",
        "normalized_company_name": "acme",
        "stage_name": "Proposal",
        "team_name": "Strategic Accounts",
        "salesperson_name": "Noor Haddad",
        "aws_account_id": "109876543210",
        "aws_account_name": "acme-prod",
        "payer_account_id": "012345678901",
        "payer_account_name": "acme-payer",
        "pod_stage": "approved",
        "description": "Move 40 VMs to AWS",
        "is_active": True,
        "combined_text": (
            "ACME Corporation, Inc. (acme.com). Opportunity: Cloud migration. Move 40 VMs to AWS"
        ),
    },
    {
        "opportunity_id": 90002,
        "partner_name": "Globex Pvt. Ltd.",
        "company_name": "Globex Pvt. Ltd.",
        "domain": None,
        "normalized_domain": "globex.co.in",
        "normalized_company_name": "globex",
        "stage_name": None,
        "team_name": None,
        "salesperson_name": None,
        "aws_account_id": None,
        "aws_account_name": None,
        "payer_account_id": None,
        "payer_account_name": None,
        "pod_stage": None,
        "description": None,
        "is_active": True,
        "combined_text": "Globex Pvt. Ltd. (globex.co.in). Opportunity: Data lake",
    },
    {
        "opportunity_id": 90005,
        "partner_name": "Initech LLC",
        "company_name": "Initech LLC",
        "domain": "initech.com",
        "normalized_domain": "initech.com",
        "normalized_company_name": "initech",
        "stage_name": None,
        "team_name": None,
        "salesperson_name": None,
        "aws_account_id": None,
        "aws_account_name": None,
        "payer_account_id": None,
        "payer_account_name": None,
        "pod_stage": None,
        "description": None,
        "is_active": False,
        "combined_text": "Initech LLC (initech.com). Opportunity: Security audit",
    },
    {
        "opportunity_id": 90007,
        "partner_name": None,
        "company_name": None,
        "domain": None,
        "normalized_domain": None,
        "normalized_company_name": None,
        "stage_name": None,
        "team_name": None,
        "salesperson_name": None,
        "aws_account_id": None,
        "aws_account_name": None,
        "payer_account_id": None,
        "payer_account_name": None,
        "pod_stage": None,
        "description": None,
        "is_active": True,
        "combined_text": "Opportunity: Walk-in",
    },
]


@dataclass(frozen=True)
class Dbt:
    """The dbt CLI as Dagster runs it, with this module's artifacts in one folder."""

    settings: Settings
    artifacts: Path

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                DBT_EXECUTABLE,
                *args,
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(self.artifacts / "target"),
                "--log-path",
                str(self.artifacts / "logs"),
            ],
            env=self.settings.subprocess_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def run_results(self) -> dict[str, Any]:
        """run_results.json of the last command."""
        return json.loads((self.artifacts / "target" / "run_results.json").read_text())

    def statuses(self) -> dict[str, str]:
        """unique_id -> status of the last command's nodes (its hooks left out)."""
        return {
            r["unique_id"]: r["status"]
            for r in self.run_results()["results"]
            if not r["unique_id"].startswith("operation.")
        }

    def failed(self) -> set[str]:
        """Names of the nodes that failed or errored in the last command."""
        return {
            uid.split(".")[2]
            for uid, status in self.statuses().items()
            if status in {"fail", "error"}
        }


def _insert(conn: psycopg.Connection, table: str, row: dict[str, Any]) -> None:
    """Insert one raw row as the loader would: the given columns plus sync metadata."""
    row = {"_source_system": table.split("_", 1)[0], "_sync_batch_id": uuid.uuid4(), **row}
    conn.execute(
        sql.SQL("insert into {} ({}) values ({})").format(
            sql.Identifier("raw", table),
            sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join([sql.Placeholder()] * len(row)),
        ),
        list(row.values()),
    )


def _ingest_demo(settings: Settings) -> None:
    """Generate a small demo and sync every configured table into raw with the real loaders."""
    generate_demo(settings, seed=42, scale=0.05)
    for name, source in load_sources().sources.items():
        if source.transport == "csv_landing":
            load_landing_zone(settings, settings.warehouse_url)
            continue
        connector = open_source(name, source, settings)
        for table_name, table in source.tables.items():
            spec = TableSync(name, source, table_name, table)
            sync_table(
                spec, warehouse_url=settings.warehouse_url, source=connector, full_refresh=True
            )


@pytest.fixture(scope="module")
def raw(settings: Settings) -> Iterator[psycopg.Connection]:
    """Raw tables holding the demo and the planted rows; the planted rows go away afterwards."""
    with connect(settings.warehouse_url, autocommit=True) as conn:
        # Row counts recorded by other modules' builds are no baseline for this one's.
        conn.execute("drop table if exists ops.model_row_counts")
        _ingest_demo(settings)
        for table, rows in PLANTED.items():
            for row in rows:
                _insert(conn, f"odoo_{table}", row)
        yield conn
        for table, rows in PLANTED.items():
            conn.execute(
                sql.SQL("delete from {} where id = any(%s)").format(
                    sql.Identifier("raw", f"odoo_{table}")
                ),
                ([row["id"] for row in rows],),
            )
        conn.execute("drop table if exists ops.model_row_counts")


@pytest.fixture(scope="module")
def dbt(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Dbt:
    """One artifacts folder for the module, so each command parses only what changed."""
    return Dbt(settings, tmp_path_factory.mktemp("dbt"))


@pytest.fixture(scope="module")
def first_build(raw: psycopg.Connection, dbt: Dbt) -> dict[str, Any]:
    """``dbt build`` of the freshly ingested demo: its process result and run_results.json."""
    done = dbt("build")
    assert done.returncode == 0, done.stdout[-5000:]
    return dbt.run_results()


def _rows(conn: psycopg.Connection, query: str, *params: Any) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def _count(conn: psycopg.Connection, query: str, *params: Any) -> int:
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def test_dbt_build_publishes_every_core_table_from_the_demo(
    raw: psycopg.Connection, first_build: dict[str, Any]
) -> None:
    assert {r["status"] for r in first_build["results"]} == {"success", "pass"}
    live = "where _deleted_at is null"
    expected = {
        "odoo_opportunities": f"select count(*) from raw.odoo_crm_lead {live} "
        "and type = 'opportunity'",
        "ace_opportunities": f"select count(*) from raw.apn_opportunity {live}",
        "aws_accounts": f"select count(*) from raw.odoo_c_aws_accounts {live}",
        "gl_balances": f"select count(*) from raw.csv_trial_balance {live}",
        "gl_accounts": f"select count(distinct account_code) from raw.csv_trial_balance {live}",
        "invoices": f"select count(*) from raw.mongo_invoices {live}",
        "invoice_items": "select sum(jsonb_array_length(document -> 'items')) "
        f"from raw.mongo_invoices {live}",
    }
    for model, query in expected.items():
        assert _count(raw, f"select count(*) from core.{model}") == _count(raw, query) > 0, model
    # Spelling variants merge into one vendor; distinct vendors never do.
    names = _count(raw, f"select count(distinct vendor_name) from raw.mongo_invoices {live}")
    assert 0 < _count(raw, "select count(*) from core.vendors") <= names


def test_planted_opportunities_come_out_resolved_and_normalized(
    raw: psycopg.Connection, first_build: dict[str, Any]
) -> None:
    rows = _rows(
        raw,
        "select * from core.odoo_opportunities where opportunity_id >= 90000 "
        "order by opportunity_id",
    )
    keys = EXPECTED_PLANTED_OPPORTUNITIES[0].keys()

    assert [{key: row[key] for key in keys} for row in rows] == EXPECTED_PLANTED_OPPORTUNITIES
    (account,) = _rows(raw, "select * from core.aws_accounts where aws_account_id_ref = 90006")
    assert account["payer_account_id"] == "012345678901"
    assert account["salesperson_name"] == "Noor Haddad"
    assert account["normalized_company_name"] == "acme"
    assert account["combined_text"] == (
        "ACME Corporation, Inc. (acme.com). AWS account 109876543210 (acme-prod)"
    )


def test_the_transformation_log_has_one_row_per_model_of_the_build(
    raw: psycopg.Connection, first_build: dict[str, Any]
) -> None:
    invocation = first_build["metadata"]["invocation_id"]
    models = {
        r["unique_id"].split(".")[2]
        for r in first_build["results"]
        if r["unique_id"][:6] == "model."
    }

    log = {
        row["model_name"]: row
        for row in _rows(
            raw, "select * from ops.transformation_log where dbt_invocation_id = %s", invocation
        )
    }

    assert set(log) == models
    assert _count(
        raw, "select count(*) from ops.transformation_log where dbt_invocation_id = %s", invocation
    ) == len(models)
    assert all(row["status"] == "success" for row in log.values())
    assert all(row["started_at"] <= row["finished_at"] for row in log.values())
    staging = log["stg_odoo__crm_leads"]
    assert (staging["target_table"], staging["source_tables"]) == (
        "staging.stg_odoo__crm_leads",
        ["raw.odoo_crm_lead"],
    )
    core = log["odoo_opportunities"]
    assert core["source_tables"] == ["intermediate.int_opportunities_joined_to_related_records"]
    assert core["rows_affected"] == _count(raw, "select count(*) from core.odoo_opportunities")


def test_dbt_unit_tests_of_the_models_and_macros_ran_in_the_build_and_passed(
    first_build: dict[str, Any],
) -> None:
    unit_tests = [r for r in first_build["results"] if r["unique_id"].startswith("unit_test.")]

    assert len(unit_tests) >= 10
    assert {r["status"] for r in unit_tests} == {"pass"}


def test_broken_data_fails_exactly_the_tests_that_guard_it(
    raw: psycopg.Connection, first_build: dict[str, Any], dbt: Dbt
) -> None:
    # Ledgers that do not balance and invoices that do not add up are stopped in raw, by the
    # blocking checks of quality.yaml, before dbt runs (tests/integration/test_finance_checks.py).
    broken = {
        # An opportunity whose customer was deleted in Odoo after the deal was synced.
        "odoo_crm_lead": {"id": 90008, "type": "opportunity", "name": "Lost", "partner_id": 90030},
    }
    for table, row in broken.items():
        _insert(raw, table, row)
    try:
        done = dbt("build", "--exclude", "test_type:unit")
    finally:
        # Gone from the source again: the ingestion tombstones it.
        raw.execute("update raw.odoo_crm_lead set _deleted_at = now() where id = 90008")

    assert done.returncode != 0
    assert dbt.failed() == {RELATIONSHIP_TEST}


def test_losing_a_fifth_of_a_core_table_fails_the_row_count_test(
    raw: psycopg.Connection, first_build: dict[str, Any], dbt: Dbt
) -> None:
    invoices = _count(raw, "select count(*) from raw.mongo_invoices where _deleted_at is null")
    gone = [
        row[0]
        for row in raw.execute(
            "update raw.mongo_invoices set _deleted_at = now() where id in ("
            "  select id from raw.mongo_invoices where _deleted_at is null order by id limit %s"
            ") returning id",
            (invoices // 5 + 1,),
        )
    ]
    try:
        done = dbt("build", "--exclude", "test_type:unit")
        items_left = _count(raw, "select count(*) from core.invoice_items")
        items_of_gone = _count(
            raw, "select count(*) from core.invoice_items where invoice_id = any(%s)", gone
        )
    finally:
        raw.execute(
            "update raw.mongo_invoices set _deleted_at = null, _ingested_at = now() "
            "where id = any(%s)",
            (gone,),
        )

    assert done.returncode != 0
    assert dbt.failed() == {"assert_core_row_counts_do_not_drop"}
    # The incremental items table dropped the tombstoned invoices' items, nothing else.
    assert items_of_gone == 0
    assert items_left == _count(
        raw,
        "select sum(jsonb_array_length(document -> 'items')) from raw.mongo_invoices "
        "where _deleted_at is null and id <> all(%s)",
        gone,
    )


def test_the_row_count_test_watches_every_core_model() -> None:
    manifest = json.loads(aura_dbt_project.manifest_path.read_text())
    core = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "core"
    }
    test = next(
        node
        for node in manifest["nodes"].values()
        if node["name"] == "assert_core_row_counts_do_not_drop"
    )

    watched = {uid.split(".")[2] for uid in test["depends_on"]["nodes"]}

    assert watched == core == set(CORE_MODELS)


def test_dagster_materializes_a_core_model_with_checks_and_row_counts(
    raw: psycopg.Connection, first_build: dict[str, Any]
) -> None:
    core_key = dg.AssetKey(["core", "odoo_opportunities"])

    result = dg.materialize(
        [aura_dbt_models],
        resources={"dbt": dbt_resource(), "warehouse": WarehouseResource()},
        selection=[core_key],
    )

    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks
    assert all(check.passed for check in checks)
    (materialization,) = [
        m for m in result.get_asset_materialization_events() if m.asset_key == core_key
    ]
    metadata = materialization.materialization.metadata
    assert metadata["dagster/row_count"].value == _count(
        raw, "select count(*) from core.odoo_opportunities"
    )
    schema = metadata["dagster/column_schema"].value
    assert isinstance(schema, dg.TableSchema)
    columns = {column.name for column in schema.columns}
    assert {"opportunity_id", "normalized_domain", "stage_name", "combined_text"} <= columns


def test_a_failing_dbt_test_fails_its_dagster_check_and_stops_the_embeddings(
    raw: psycopg.Connection, first_build: dict[str, Any]
) -> None:
    from aura_platform.defs.search.assets import embedding_assets

    core_key = dg.AssetKey(["core", "odoo_opportunities"])
    search_key = dg.AssetKey(["search", "odoo_opportunities"])
    # An opportunity whose customer was deleted in Odoo: the relationships test must fail.
    _insert(raw, "odoo_crm_lead", {"id": 90009, "type": "opportunity", "name": "Orphan",
                                   "partner_id": 90031})  # fmt: skip
    try:
        result = dg.materialize(
            [aura_dbt_models, *embedding_assets],
            resources={"dbt": dbt_resource(), "warehouse": WarehouseResource()},
            selection=[core_key, search_key],
            raise_on_error=False,
        )
    finally:
        raw.execute("update raw.odoo_crm_lead set _deleted_at = now() where id = 90009")
    assert not result.success
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [c.check_name for c in failed] == [RELATIONSHIP_TEST]
    assert search_key not in {m.asset_key for m in result.get_asset_materialization_events()}
