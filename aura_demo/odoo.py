"""The Odoo-shaped demo database: its tables (from the column CSVs) and all of their rows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from aura_demo import schema
from aura_demo.odoo_billing import OdooFunding, build_billing, build_funding
from aura_demo.odoo_crm import OdooDeal, build_crm
from aura_demo.odoo_reference import build_reference
from aura_demo.odoo_sales import Ledger, build_sales
from aura_demo.schema import RowBook
from aura_demo.world import World

_HERE = Path(__file__).resolve().parent
STANDARD_COLUMNS_CSV = _HERE / "odoo_columns.csv"
CUSTOM_COLUMNS_CSV = _HERE / "odoo_custom_columns.csv"

# The standard tables built from odoo_columns.csv (its many2many link tables are left out).
STANDARD_TABLES: tuple[str, ...] = (
    "res_users",
    "res_country",
    "res_country_state",
    "res_partner",
    "crm_team",
    "crm_stage",
    "crm_lead",
    "product_template",
    "sale_order",
    "sale_order_line",
    "account_move",
    "account_move_line",
    "project_project",
)


@dataclass(frozen=True)
class OdooData:
    """Odoo rows plus what the APN side mirrors from them."""

    book: RowBook
    deals: list[OdooDeal]
    funding: list[OdooFunding]
    invoice_names: dict[int, list[str]]  # customer partner id -> posted invoice numbers


def odoo_tables() -> schema.Tables:
    """Every Odoo demo table's columns: the standard CSV, then custom columns and tables."""
    tables = schema.read_columns(STANDARD_COLUMNS_CSV, STANDARD_TABLES)
    for table, columns in schema.read_columns(CUSTOM_COLUMNS_CSV).items():
        tables.setdefault(table, []).extend(columns)
    return tables


def build_odoo(rng: random.Random, world: World) -> OdooData:
    """Generate every Odoo row, reference data first so later rows can point at it."""
    book = RowBook()
    refs = build_reference(book, rng, world)
    crm = build_crm(book, rng, world, refs)
    ledger = Ledger(book, rng)
    build_sales(book, rng, crm, refs, ledger)
    funding = build_funding(book, rng, crm)
    build_billing(book, rng, crm, ledger)
    return OdooData(book, crm.deals, funding, ledger.names_by_partner)
