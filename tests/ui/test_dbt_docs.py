"""The dbt docs site in a real browser: a core model's page and its lineage back to raw."""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.integration, pytest.mark.ui]

# dbt docs draws its lineage graph on a canvas (cytoscape.js): the nodes and edges it shows are
# read from the graph instance that the canvas' container holds.
VISIBLE_EDGES = """() => {
    const container = [...document.querySelectorAll("div")].find((e) => e._cyreg && e._cyreg.cy);
    return container._cyreg.cy.edges(":visible").map((e) => [e.source().id(), e.target().id()]);
}"""


def _ancestors(node: str, edges: list[list[str]]) -> set[str]:
    parents: dict[str, set[str]] = {}
    for source, target in edges:
        parents.setdefault(target, set()).add(source)
    seen: set[str] = set()
    todo = [node]
    while todo:
        for parent in parents.get(todo.pop(), set()) - seen:
            seen.add(parent)
            todo.append(parent)
    return seen


def test_a_core_models_lineage_graph_reaches_its_raw_source(
    page: Page, dbt_docs: str, shot: Callable[[str], Path]
) -> None:
    page.goto(f"{dbt_docs}/#!/model/model.aura.odoo_opportunities")
    expect(page.get_by_role("heading", name="odoo_opportunities")).to_contain_text("table")
    expect(page.get_by_text("aura.core.odoo_opportunities", exact=True)).to_be_visible()
    shot("dbt-docs-model")
    page.get_by_title("View Lineage Graph").click()
    page.get_by_title("View Fullscreen").filter(visible=True).click()
    selector = page.locator("input[ng-model='selectorService.selection.dirty.include']")
    expect(selector).to_have_value("+odoo_opportunities+")  # the graph's --select
    page.wait_for_function(f"({VISIBLE_EDGES})().length > 0")
    shot("dbt-docs-lineage")
    ancestors = _ancestors("model.aura.odoo_opportunities", page.evaluate(VISIBLE_EDGES))
    assert {
        "model.aura.int_opportunities_joined_to_related_records",
        "model.aura.stg_odoo__crm_leads",
        "source.aura.odoo.crm_lead",
    } <= ancestors


def test_the_docs_open_on_the_projects_overview(
    page: Page, dbt_docs: str, shot: Callable[[str], Path]
) -> None:
    page.goto(dbt_docs)  # the site's landing page
    expect(
        page.get_by_role("heading", name="Aura: from source tables to searchable core models")
    ).to_be_visible()
    expect(page.get_by_text("Welcome!", exact=True)).to_have_count(0)
    shot("dbt-docs-overview")
