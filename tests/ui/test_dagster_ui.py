"""The Dagster UI in a real browser, on an instance that has run the main job on the demo data."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from aura_platform.settings import Settings
from aura_platform.warehouse.connection import connect

pytestmark = [pytest.mark.integration, pytest.mark.ui]

# Every asset on a path from the raw Odoo leads to their embeddings, in the UI's selection syntax.
RAW_TO_SEARCH = 'key:"raw/odoo/crm_lead"+ and +key:"search/odoo_opportunities"'
# A cheap asset to launch from the UI: one dbt table and its two checks.
CHEAP_ASSET = "core/vendors"


def test_the_global_lineage_leads_from_a_raw_table_through_core_to_search(
    page: Page, dagster_ui: str, shot: Callable[[str], Path]
) -> None:
    page.goto(f"{dagster_ui}/asset-groups")
    # Room for the whole chain in the screenshot: hide the navigation and the asset tree.
    page.get_by_text("Hide navigation").click()
    page.locator("button").filter(has=page.get_by_label("panel_show_right")).click()
    page.locator(".CodeMirror").filter(has_text="Search and filter assets").click()
    page.keyboard.type(RAW_TO_SEARCH)
    page.keyboard.press("Enter")
    graph = page.locator("svg foreignObject")  # the graph's nodes, not the sidebar's tree
    for group in ("raw_odoo", "staging", "intermediate", "core", "search"):
        expect(graph.get_by_text(group, exact=True)).to_be_visible()
    expect(graph.get_by_text("raw_apn", exact=True)).to_have_count(0)  # not on the path
    unfold = page.get_by_label("unfold_more")  # groups start collapsed; open each one
    for _ in range(5):
        if unfold.count() == 0:
            break
        unfold.first.click()
    expect(graph.get_by_text("crm_lead", exact=True)).to_be_visible()
    # core/odoo_opportunities and search/odoo_opportunities: both on the path.
    expect(graph.get_by_text("odoo_opportunities", exact=True)).to_have_count(2)
    for _ in range(3):
        page.get_by_label("zoom_out").click()
    shot("dagster-lineage-raw-core-search")


def test_a_materialization_launched_from_the_ui_succeeds(
    page: Page, dagster_ui: str, shot: Callable[[str], Path]
) -> None:
    page.goto(f"{dagster_ui}/assets/{CHEAP_ASSET}")
    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize$")).click()
    expect(page.get_by_text(re.compile(r"^Launched run \w+$"))).to_be_visible()
    page.get_by_role("link", name="View", exact=True).click()  # the toast's link to the run
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    expect(page.get_by_text(CHEAP_ASSET.replace("/", " / ")).first).to_be_visible()
    # The daemon dequeues the run, a new process loads the code location and runs dbt.
    status = page.get_by_text(re.compile(r"^(Success|Failure|Canceled)$"))
    expect(status).to_be_visible(timeout=300_000)
    shot("dagster-materialization-run")
    assert status.inner_text() == "Success"
    expect(page.get_by_text("RUN_SUCCESS", exact=True)).to_be_visible()


def test_an_assets_checks_show_the_great_expectations_result(
    page: Page, settings: Settings, dagster_ui: str, shot: Callable[[str], Path]
) -> None:
    with connect(settings.warehouse_url) as conn:
        row = conn.execute("select count(*) from raw.odoo_crm_lead").fetchone()
    assert row is not None
    page.goto(f"{dagster_ui}/assets/raw/odoo/crm_lead?view=checks")
    page.get_by_text("gx_raw_odoo_crm_lead", exact=True).first.click()
    expect(page.get_by_text("all expectations met")).to_be_visible()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    checked = page.get_by_role("row").filter(has_text="records_checked")
    expect(checked).to_contain_text(str(row[0]))
    shot("dagster-asset-checks")


# What the catalog and the asset pages read: whether an asset is partitioned (then its status is
# its partitions') and its latest materialization (the status of an unpartitioned asset).
ASSET_STATUS = """{ assetsOrError { ... on AssetConnection { nodes {
    key { path }
    assetMaterializations(limit: 1) { runId }
    definition { isPartitioned groupName description
        assetChecksOrError { ... on AssetChecks { checks { name description } } } }
} } }
runsOrError { ... on Runs { results { runId jobName status } } } }"""


def test_after_the_run_every_raw_asset_is_materialized_and_healthy_not_missing_partitions(
    page: Page, dagster_ui: str, shot: Callable[[str], Path]
) -> None:
    answer = page.request.post(f"{dagster_ui}/graphql", data={"query": ASSET_STATUS}).json()
    nodes = [n for n in answer["data"]["assetsOrError"]["nodes"] if n["definition"]]
    raw = {"/".join(n["key"]["path"]): n for n in nodes if n["key"]["path"][0] == "raw"}
    assert raw and {k: n["definition"]["isPartitioned"] for k, n in raw.items()} == dict.fromkeys(
        raw, False
    )
    runs = answer["data"]["runsOrError"]["results"]
    main = {r["runId"] for r in runs if r["jobName"] == "main" and r["status"] == "SUCCESS"}
    latest = {k: {m["runId"] for m in n["assetMaterializations"]} for k, n in raw.items()}
    assert main and [k for k, ids in latest.items() if not ids <= main or not ids] == []
    page.goto(f"{dagster_ui}/assets/raw/odoo/crm_lead")
    expect(
        page.get_by_text(re.compile(r"^(Materialized|Latest materialization)$")).first
    ).to_be_visible()
    expect(page.get_by_text(re.compile(r"\d+ partitions|Missing \(\d+\)"))).to_have_count(0)
    shot("dagster-raw-asset-materialized")


def test_every_asset_and_check_has_a_description_and_no_unserializable_metadata(
    page: Page, dagster_ui: str, shot: Callable[[str], Path]
) -> None:
    answer = page.request.post(f"{dagster_ui}/graphql", data={"query": ASSET_STATUS}).json()
    nodes = [n for n in answer["data"]["assetsOrError"]["nodes"] if n["definition"]]
    assert nodes and [n["key"]["path"] for n in nodes if not n["definition"]["description"]] == []
    checks = [c for n in nodes for c in n["definition"]["assetChecksOrError"].get("checks", [])]
    assert len(checks) > 100 and [c["name"] for c in checks if not c["description"]] == []
    # Intermediate models: keyed and grouped by their layer, not as staging.
    intermediate = [n for n in nodes if n["key"]["path"][-1].startswith("int_")]
    layers = {(n["key"]["path"][0], n["definition"]["groupName"]) for n in intermediate}
    assert intermediate and layers == {("intermediate", "intermediate")}

    page.goto(f"{dagster_ui}/assets/core/odoo_opportunities")
    # The embedded text's shape, placeholders and all, as the YAML writes it.
    expect(page.get_by_text("<company> (<domain>). Opportunity: <name>").first).to_be_visible()
    expect(page.get_by_text("(unserializable)")).to_have_count(0)
    shot("dagster-core-asset-definition")
    page.goto(f"{dagster_ui}/assets/core/odoo_opportunities?view=checks")
    # The first check (a dbt accepted_values test) opens selected, with its generated sentence.
    sentence = page.get_by_text("of odoo_opportunities only takes the values")
    expect(sentence.first).to_be_visible()
    expect(page.get_by_text("No description provided")).to_have_count(0)
    shot("dagster-dbt-check-descriptions")
