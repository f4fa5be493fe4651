"""Odoo's reference rows (countries, states, users, sales teams, stages, products) and row stamps.

Reference data is installed in one transaction at the start of the history window, so those rows
share one ``create_date``, as they do in a real database after module installation.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aura_demo import names
from aura_demo.amounts import money
from aura_demo.clock import BASE_DATE, HISTORY_DAYS, created_and_written
from aura_demo.schema import RowBook
from aura_demo.world import PARTNER_COMPANY, PARTNER_DOMAIN, World

INSTALL_DATE = BASE_DATE - timedelta(days=HISTORY_DAYS + 30)
SUPERUSER_ID = 1  # OdooBot, the ``__system__`` user that installs data
ADMIN_ID = 2
COMPANY_ID = 1
COMPANY_PARTNER_ID = 1
# res_currency is not built; these are the ids Odoo's base data gives these currencies.
CURRENCY_IDS: dict[str, int] = {
    "EUR": 1,
    "USD": 2,
    "GBP": 3,
    "CAD": 4,
    "AUD": 5,
    "INR": 6,
    "JPY": 7,
    "SGD": 8,
    "SEK": 9,
    "BRL": 10,
}
# Stage name -> (sequence, is_won, default probability).
STAGES: dict[str, tuple[int, bool, float]] = {
    "New": (1, False, 10.0),
    "Qualified": (2, False, 30.0),
    "Proposition": (3, False, 60.0),
    "Negotiation": (4, False, 80.0),
    "Won": (70, True, 100.0),
}
_TEAMS: tuple[tuple[str, bool], ...] = (
    ("Sales", True),
    ("Enterprise", True),
    ("Mid-Market", True),
    ("Public Sector", True),
    ("EMEA", True),
    ("Website", False),
)


@dataclass
class OdooRefs:
    """Ids of reference rows that transactional rows point at."""

    country_ids: dict[str, int] = field(default_factory=dict)
    state_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    sales_user_ids: list[int] = field(default_factory=list)
    team_by_user: dict[int, int] = field(default_factory=dict)
    stage_ids: dict[str, int] = field(default_factory=dict)
    product_ids: list[int] = field(default_factory=list)


def stamps(
    rng: random.Random,
    users: Sequence[int],
    *,
    after: datetime | None = None,
    days: int = HISTORY_DAYS,
) -> dict[str, Any]:
    """create/write uid and date for one row; the last writer may differ from the creator."""
    created, written = created_and_written(rng, after=after, days=days)
    creator = rng.choice(users)
    writer = creator if written == created else rng.choice(users)
    return {
        "create_uid": creator,
        "create_date": created,
        "write_uid": writer,
        "write_date": written,
    }


def installed() -> dict[str, Any]:
    """Stamps of data loaded at module installation, all in one transaction."""
    return {
        "create_uid": SUPERUSER_ID,
        "create_date": INSTALL_DATE,
        "write_uid": SUPERUSER_ID,
        "write_date": INSTALL_DATE,
    }


def build_reference(book: RowBook, rng: random.Random, world: World) -> OdooRefs:
    """Add the reference rows every CRM or sales record refers to."""
    refs = OdooRefs()
    _countries(book, refs)
    _company_and_users(book, rng, world, refs)
    _teams(book, rng, refs)
    for name, (sequence, is_won, _) in STAGES.items():
        refs.stage_ids[name] = book.add(
            "crm_stage",
            {
                **installed(),
                "name": {"en_US": name},
                "sequence": sequence,
                "is_won": is_won,
                "fold": False,
                "requirements": "Signed SOW or order form" if is_won else None,
            },
        )
    _products(book, rng, refs)
    return refs


def _countries(book: RowBook, refs: OdooRefs) -> None:
    """res_country then res_country_state, in vocabulary order so ids are stable."""
    for country in names.COUNTRIES:
        refs.country_ids[country.code] = book.add(
            "res_country",
            {
                **installed(),
                "name": {"en_US": country.name},
                "code": country.code,
                "currency_id": CURRENCY_IDS[country.currency],
                "phone_code": country.phone_code,
                "name_position": "before",
                "vat_label": {"en_US": "VAT" if country.vat_rate else "Tax ID"},
                "state_required": country.code in {"US", "CA", "AU", "IN"},
                "zip_required": True,
            },
        )
    for place in names.PLACES:
        key = (place.country_code, place.state_code or "")
        if place.state_code and key not in refs.state_ids:
            refs.state_ids[key] = book.add(
                "res_country_state",
                {
                    **installed(),
                    "country_id": refs.country_ids[place.country_code],
                    "name": place.state,
                    "code": place.state_code,
                },
            )


def _company_and_users(book: RowBook, rng: random.Random, world: World, refs: OdooRefs) -> None:
    """The partner's own company partner, OdooBot, the administrator and the salespeople."""
    us = refs.country_ids["US"]
    book.add(
        "res_partner",
        {
            **installed(),
            "name": PARTNER_COMPANY,
            "complete_name": PARTNER_COMPANY,
            "is_company": True,
            "active": True,
            "type": "contact",
            "lang": "en_US",
            "tz": "America/Los_Angeles",
            "website": f"https://www.{PARTNER_DOMAIN}",
            "email": f"info@{PARTNER_DOMAIN}",
            "street": "1200 Innovation Pkwy",
            "city": "Seattle",
            "zip": "98109",
            "state_id": refs.state_ids[("US", "WA")],
            "country_id": us,
            "company_id": COMPANY_ID,
            "commercial_partner_id": COMPANY_PARTNER_ID,
            "commercial_company_name": PARTNER_COMPANY,
            "partner_share": False,
            "employee": False,
            "customer_rank": 0,
            "supplier_rank": 0,
            "color": 0,
            "message_bounce": 0,
        },
    )
    staff = [
        ("OdooBot", "odoobot@example.com", "__system__", False),
        ("Mitchell Admin", f"admin@{PARTNER_DOMAIN}", "admin", True),
    ]
    staff += [(p.name, p.email, p.email, True) for p in world.salespeople]
    for name, email, login, active in staff:
        partner_id = book.add(
            "res_partner",
            {
                **installed(),
                "name": name,
                "complete_name": f"{PARTNER_COMPANY}, {name}",
                "parent_id": COMPANY_PARTNER_ID if login != "__system__" else None,
                "email": email,
                "email_normalized": email.lower(),
                "active": active,
                "type": "contact",
                "lang": "en_US",
                "tz": "America/Los_Angeles",
                "is_company": False,
                "employee": login != "__system__",
                "company_id": COMPANY_ID,
                "commercial_partner_id": COMPANY_PARTNER_ID,
                "partner_share": False,
                "commercial_company_name": PARTNER_COMPANY,
                "customer_rank": 0,
                "supplier_rank": 0,
                "color": 0,
                "message_bounce": 0,
                "function": "Account Executive" if login not in {"__system__", "admin"} else None,
            },
        )
        user_id = book.add(
            "res_users",
            {
                **installed(),
                "partner_id": partner_id,
                "login": login,
                "password": f"$pbkdf2-sha512$600000${rng.getrandbits(128):032x}",
                "signature": f"<p>{name}<br/>{PARTNER_COMPANY}</p>",
                "active": active,
                "share": False,
                "company_id": COMPANY_ID,
            },
        )
        if login not in {"__system__", "admin"}:
            refs.sales_user_ids.append(user_id)


def _teams(book: RowBook, rng: random.Random, refs: OdooRefs) -> None:
    """Sales teams; every salesperson belongs to one active team."""
    active_ids = []
    for sequence, (name, active) in enumerate(_TEAMS, start=1):
        team_id = book.add(
            "crm_team",
            {
                **installed(),
                "name": {"en_US": name},
                "sequence": sequence * 10,
                "active": active,
                "company_id": COMPANY_ID,
                "user_id": ADMIN_ID,
                "color": sequence,
                "use_leads": name != "Website",
                "use_opportunities": True,
                "assignment_optout": False,
                "assignment_domain": None,
            },
        )
        if active:
            active_ids.append(team_id)
    for user_id in refs.sales_user_ids:
        refs.team_by_user[user_id] = rng.choice(active_ids)
    for team in book.rows("crm_team"):
        members = [u for u, t in refs.team_by_user.items() if t == team["id"]]
        if members:
            team["user_id"] = members[0]


def _products(book: RowBook, rng: random.Random, refs: OdooRefs) -> None:
    """The partner's price list: AWS resale, professional services, managed services, goods."""
    for sequence, (name, kind, code, price) in enumerate(names.PRODUCTS, start=1):
        row = {
            **stamps(rng, [ADMIN_ID], days=HISTORY_DAYS + 20),
            "name": {"en_US": name},
            "sequence": sequence,
            "type": kind,
            "service_tracking": "no",
            "description_sale": {"en_US": name} if kind == "service" else None,
            "categ_id": 2 if kind == "service" else 1,
            "list_price": money(price),
            "volume": money(0),
            "weight": money(0),
            "sale_ok": True,
            "purchase_ok": kind == "consu",
            "uom_id": 1,
            "uom_po_id": 1,
            "active": code != "HW-DECOM",
            "color": 0,
            "default_code": code,
            "can_image_1024_be_zoomed": False,
            "has_configurable_attributes": False,
            "is_favorite": code.startswith("MSP"),
            "invoice_policy": "delivery" if code.startswith("TM") else "order",
        }
        refs.product_ids.append(book.add("product_template", row))
