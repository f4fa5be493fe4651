"""Odoo CRM rows: customer partners and contacts, their AWS accounts, leads and opportunities."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aura_demo import names, variants
from aura_demo.amounts import money
from aura_demo.clock import moment_between
from aura_demo.odoo_reference import (
    ADMIN_ID,
    COMPANY_ID,
    STAGES,
    OdooRefs,
    stamps,
)
from aura_demo.schema import RowBook
from aura_demo.world import AwsAccount, Customer, Person, World

# Stage weights for opportunities; "Lost" is not an Odoo stage but an archived deal.
_OUTCOMES = {
    "New": 12,
    "Qualified": 18,
    "Proposition": 20,
    "Negotiation": 14,
    "Won": 24,
    "Lost": 12,
}
_MONTHLY_SPEND = (300, 800, 1500, 2500, 5000, 8000, 12000, 25000, 50000)


@dataclass
class CustomerRecord:
    """Where one world customer landed in Odoo."""

    customer: Customer
    user_id: int
    partner_id: int
    partner_name: str
    website: str
    created: datetime
    contact_ids: list[int] = field(default_factory=list)
    account_ids: dict[str, int] = field(default_factory=dict)  # AWS account number -> row id
    deal_accounts: set[str] = field(default_factory=set)  # accounts its opportunities already use


@dataclass(frozen=True)
class OdooDeal:
    """An Odoo opportunity, as the APN side needs to know it to mirror it in ACE."""

    lead_id: int
    name: str
    record: CustomerRecord
    contact: Person
    account: AwsAccount | None
    salesperson: Person
    theme: names.ProjectTheme
    outcome: str  # an Odoo stage name, or "Lost"
    monthly_revenue: Decimal
    date_deadline: date
    created: datetime
    written: datetime


@dataclass
class CrmRecords:
    customers: list[CustomerRecord]
    deals: list[OdooDeal]


def build_crm(book: RowBook, rng: random.Random, world: World, refs: OdooRefs) -> CrmRecords:
    """Partners, AWS accounts and crm_lead rows for every customer Odoo knows."""
    people = dict(zip(refs.sales_user_ids, world.salespeople, strict=True))
    records = [_customer_rows(book, rng, c, refs) for c in world.customers if c.in_odoo]
    deals: list[OdooDeal] = []
    for record in records:
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3))):
            deals.append(_opportunity(book, rng, record, refs, people[record.user_id]))
    by_key = {record.customer.key: record for record in records}
    for _ in range(max(5, len(deals) * 4 // 5)):
        _lead(book, rng, world, by_key, refs)
    return CrmRecords(records, deals)


def _customer_rows(
    book: RowBook, rng: random.Random, customer: Customer, refs: OdooRefs
) -> CustomerRecord:
    """The company partner, its contacts, maybe an invoice address, and its AWS accounts."""
    user_id = rng.choice(refs.sales_user_ids)
    name = variants.odoo_company_name(rng, customer)
    website = variants.odoo_website(rng, customer)
    place, country = customer.place, customer.country
    address = {
        "street": customer.street,
        "zip": customer.zip,
        "city": place.city,
        "state_id": refs.state_ids.get((country.code, place.state_code or "")),
        "country_id": refs.country_ids[country.code],
    }
    common = {
        "lang": country.lang,
        "tz": country.tz,
        "user_id": user_id,
        "company_id": COMPANY_ID,
        "team_id": refs.team_by_user[user_id],
        "partner_share": True,
        "color": 0,
        "message_bounce": 0,
        "invoice_warn": "no-message",
        "employee": False,
        **address,
    }
    stamp = stamps(rng, [user_id, ADMIN_ID])
    partner_id = book.add(
        "res_partner",
        {
            **stamp,
            **common,
            "name": name,
            "complete_name": name,
            "is_company": True,
            "type": "contact",
            "active": rng.random() > 0.03,
            "website": website,
            "email": f"info@{customer.domain}",
            "email_normalized": f"info@{customer.domain}",
            "phone": customer.phone,
            "ref": f"C{customer.key + 1:05d}",
            "vat": _vat(rng, customer),
            "company_registry": customer.duns,
            "industry_id": None,
            "customer_rank": rng.randint(1, 12),
            "supplier_rank": 0,
            "commercial_company_name": name,
            "partner_latitude": money(rng.uniform(-60, 60)),
            "partner_longitude": money(rng.uniform(-150, 150)),
            "comment": f"<p>{customer.industry} customer, {place.city}.</p>"
            if rng.random() < 0.3
            else None,
        },
    )
    book.rows("res_partner")[-1]["commercial_partner_id"] = partner_id
    record = CustomerRecord(customer, user_id, partner_id, name, website, stamp["create_date"])
    for person in customer.contacts:
        record.contact_ids.append(
            book.add(
                "res_partner",
                {
                    **stamps(rng, [user_id, ADMIN_ID], after=record.created),
                    **common,
                    "name": person.name,
                    "complete_name": f"{name}, {person.name}",
                    "parent_id": partner_id,
                    "commercial_partner_id": partner_id,
                    "commercial_company_name": name,
                    "is_company": False,
                    "type": "contact",
                    "active": rng.random() > 0.05,
                    "function": person.title,
                    "email": person.email,
                    "email_normalized": person.email.lower(),
                    "phone": person.phone,
                    "mobile": person.phone if rng.random() < 0.3 else None,
                    "customer_rank": 0,
                    "supplier_rank": 0,
                },
            )
        )
    if rng.random() < 0.2:
        book.add(
            "res_partner",
            {
                **stamps(rng, [user_id, ADMIN_ID], after=record.created),
                **common,
                "name": None,
                "complete_name": f"{name}, Invoice Address",
                "parent_id": partner_id,
                "commercial_partner_id": partner_id,
                "commercial_company_name": name,
                "is_company": False,
                "type": "invoice",
                "active": True,
                "email": f"accounts.payable@{customer.domain}",
                "email_normalized": f"accounts.payable@{customer.domain}",
                "customer_rank": 0,
                "supplier_rank": 0,
            },
        )
    _aws_accounts(book, rng, record)
    return record


def _aws_accounts(book: RowBook, rng: random.Random, record: CustomerRecord) -> None:
    """c_aws_accounts rows; the payer comes first so linked accounts can point at its id."""
    customer = record.customer
    registered = customer.legal_name.upper() if rng.random() < 0.4 else customer.legal_name
    for account in customer.accounts:
        payer_id = record.account_ids.get(account.payer_number or "")
        record.account_ids[account.number] = book.add(
            "c_aws_accounts",
            {
                **stamps(rng, [record.user_id, ADMIN_ID], after=record.created),
                "account_id": account.number,
                "name": account.name,
                "partner_id": record.partner_id,
                "company_name": registered,
                "user_id": record.user_id,
                "payer_account_id": payer_id,
                "account_type": "linked" if payer_id else "payer",
                "root_email": account.root_email,
                "domain": customer.domain,
                "status": account.status,
                "active": account.status != "closed",
            },
        )


def _opportunity(
    book: RowBook, rng: random.Random, record: CustomerRecord, refs: OdooRefs, seller: Person
) -> OdooDeal:
    """One crm_lead of type opportunity, with the custom AWS account and POD fields."""
    customer = record.customer
    theme = rng.choice(names.PROJECT_THEMES)
    outcome = rng.choices(list(_OUTCOMES), weights=list(_OUTCOMES.values()))[0]
    stage = rng.choice(("New", "Qualified", "Proposition")) if outcome == "Lost" else outcome
    contact = rng.choice(customer.contacts)
    live = [a for a in customer.accounts if a.status != "closed"] or customer.accounts
    fresh = [a for a in live if a.number not in record.deal_accounts] or live
    account = rng.choice(fresh) if rng.random() < 0.9 else None
    if account:
        record.deal_accounts.add(account.number)
    stamp = stamps(rng, [record.user_id, ADMIN_ID], after=record.created)
    created, written = stamp["create_date"], stamp["write_date"]
    probability = (
        0.0
        if outcome == "Lost"
        else min(100.0, STAGES[stage][2] + (0 if stage == "Won" else rng.choice((-5, 0, 0, 5, 10))))
    )
    monthly = Decimal(int(rng.choice(_MONTHLY_SPEND) * rng.uniform(0.6, 1.6)))
    expected = money(monthly * 12 + rng.choice((0, 0, 5000, 12000, 25000, 48000)))
    deadline = created.date() + timedelta(days=rng.randint(30, 180))
    closed = written if outcome in {"Won", "Lost"} else None
    name = rng.choice(
        (
            f"{record.partner_name} - {theme.title}",
            f"{theme.title}",
            f"{customer.core}: {theme.title}",
            f"{theme.title} ({customer.core})",
        )
    )
    lead_id = book.add(
        "crm_lead",
        {
            **stamp,
            **_contact_fields(customer, contact, refs),
            "name": name,
            "user_id": record.user_id,
            "team_id": refs.team_by_user[record.user_id],
            "company_id": COMPANY_ID,
            "type": "opportunity",
            "active": outcome != "Lost",
            "priority": rng.choices(("0", "1", "2", "3"), weights=(40, 30, 20, 10))[0],
            "stage_id": refs.stage_ids[stage],
            "color": 0,
            "probability": probability,
            "automated_probability": round(rng.uniform(5, 95), 2),
            "expected_revenue": expected,
            "prorated_revenue": money(expected * Decimal(probability) / 100),
            "recurring_revenue": monthly,
            "recurring_plan": 1,
            "recurring_revenue_monthly": monthly,
            "recurring_revenue_monthly_prorated": money(monthly * Decimal(probability) / 100),
            "recurring_revenue_prorated": money(monthly * Decimal(probability) / 100),
            "date_open": created,
            "day_open": 0.0,
            "date_closed": closed,
            "day_close": round((closed - created).total_seconds() / 86400, 2) if closed else None,
            "date_last_stage_update": moment_between(rng, created, written),
            "date_conversion": moment_between(rng, created, written)
            if rng.random() < 0.5
            else None,
            "date_deadline": deadline,
            "partner_id": record.partner_id,
            "partner_name": record.partner_name,
            "website": record.website,
            "description": f"<p>{theme.description}</p>" if rng.random() < 0.8 else None,
            "lost_reason_id": rng.randint(1, 4) if outcome == "Lost" else None,
            "source_id": rng.choice((None, None, 1, 2, 3, 4)),
            "message_bounce": 0,
            "referred": "AWS account team" if rng.random() < 0.15 else None,
            **_aws_fields(rng, record, account, outcome, closed or created),
        },
    )
    return OdooDeal(
        lead_id,
        name,
        record,
        contact,
        account,
        seller,
        theme,
        outcome,
        monthly,
        deadline,
        created,
        written,
    )


def _aws_fields(
    rng: random.Random,
    record: CustomerRecord,
    account: AwsAccount | None,
    outcome: str,
    when: datetime,
) -> dict[str, Any]:
    """x_ custom fields: the AWS account, its payer, and the Partner Originated Discount state."""
    if account is None:
        return {"x_pod_type": "not_eligible", "x_pod_stage": "not_submitted"}
    payer = account.payer_number or account.number
    pod_type = rng.choices(
        ("partner_originated", "aws_originated", "not_eligible"), weights=(60, 20, 20)
    )[0]
    if pod_type != "partner_originated":
        pod_stage = "not_submitted"
    elif outcome == "Won":
        pod_stage = rng.choice(("approved", "approved", "validated", "expired"))
    elif outcome == "Lost":
        pod_stage = rng.choice(("rejected", "not_submitted"))
    else:
        pod_stage = rng.choice(("not_submitted", "submitted", "validated"))
    approved = pod_stage in {"approved", "expired"}
    start = when.date() if approved else None
    return {
        "x_aws_account_id": record.account_ids[account.number],
        "x_payer_account_id": record.account_ids[payer],
        "x_pod_type": pod_type,
        "x_pod_stage": pod_stage,
        "x_pod_discount_pct": Decimal(rng.choice((3, 5))) if approved else None,
        "x_pod_start_date": start,
        "x_pod_end_date": start + timedelta(days=365) if start else None,
    }


def _lead(
    book: RowBook,
    rng: random.Random,
    world: World,
    records: dict[int, CustomerRecord],
    refs: OdooRefs,
) -> None:
    """An unqualified lead: a web form or event contact, usually not linked to a partner yet."""
    customer = rng.choice(world.customers)
    record = records.get(customer.key)
    contact = rng.choice(customer.contacts)
    user_id = rng.choice(refs.sales_user_ids)
    linked = record is not None and rng.random() < 0.3
    company = variants.ace_company_name(rng, customer)
    stamp = stamps(rng, [user_id, ADMIN_ID], after=record.created if linked and record else None)
    book.add(
        "crm_lead",
        {
            **stamp,
            **_contact_fields(customer, contact, refs),
            "name": rng.choice(
                (
                    f"{company} - website enquiry",
                    f"Event lead: {contact.name}",
                    f"{company}: AWS migration interest",
                    f"Inbound - {company}",
                )
            ),
            "user_id": user_id if rng.random() < 0.7 else None,
            "team_id": refs.team_by_user[user_id],
            "company_id": COMPANY_ID,
            "type": "lead",
            "active": rng.random() > 0.15,
            "priority": rng.choices(("0", "1", "2"), weights=(60, 30, 10))[0],
            "stage_id": refs.stage_ids["New"],
            "color": 0,
            "probability": float(rng.randint(2, 20)),
            "expected_revenue": money(rng.choice((0, 0, 5000, 10000, 30000))),
            "partner_id": record.partner_id if linked and record else None,
            "partner_name": company,
            "website": variants.ace_website(rng, customer),
            "description": "<p>Filled the contact form on the website.</p>"
            if rng.random() < 0.5
            else None,
            "source_id": rng.choice((1, 2, 3, 4, 5)),
            "medium_id": rng.choice((None, 1, 2, 3)),
            "message_bounce": 0,
            "x_pod_type": None,
        },
    )


def _contact_fields(customer: Customer, contact: Person, refs: OdooRefs) -> dict[str, Any]:
    """Contact and address columns crm_lead copies from its customer."""
    place, country = customer.place, customer.country
    return {
        "contact_name": contact.name,
        "function": contact.title,
        "email_from": contact.email,
        "email_normalized": contact.email.lower(),
        "email_domain_criterion": customer.domain,
        "email_state": "correct",
        "phone": contact.phone,
        "phone_sanitized": "+" + re.sub(r"\D", "", contact.phone),
        "phone_state": "correct",
        "street": customer.street,
        "zip": customer.zip,
        "city": place.city,
        "state_id": refs.state_ids.get((country.code, place.state_code or "")),
        "country_id": refs.country_ids[country.code],
        "lang_id": 1,
    }


def _vat(rng: random.Random, customer: Customer) -> str | None:
    """EU-style VAT numbers for European customers, sometimes left blank."""
    if customer.country.code in {"US", "JP", "SG", "BR", "IN", "AU", "CA"} or rng.random() < 0.2:
        return None
    return f"{customer.country.code}{rng.randint(10**8, 10**9 - 1)}"
