"""The APN (ACE) demo database: opportunities the partner shared with AWS, and AWS funding.

Most ACE opportunities mirror an Odoo opportunity, re-typed into Partner Central with the usual
drift (company name, website, missing account id); some exist only in ACE (AWS referrals) and some
Odoo deals were never shared. Which is which is returned as the matching ground truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aura_demo import ace_values, names, perturb, schema, variants
from aura_demo.clock import BASE_DATE, moment_between
from aura_demo.odoo import OdooData
from aura_demo.odoo_billing import OdooFunding
from aura_demo.odoo_crm import OdooDeal
from aura_demo.schema import RowBook
from aura_demo.world import AwsAccount, Customer, Person, World, twin_customer
from aura_platform.search.evaluation import Decoy, GroundTruthPair

APN_COLUMNS_CSV = Path(__file__).resolve().parent / "apn_columns.csv"
MIRROR_SHARE = 0.75  # Odoo opportunities also registered in ACE
ACE_ONLY_SHARE = 0.15  # ACE opportunities with no Odoo counterpart, relative to mirrored ones
_ACE_STAGE: dict[str, tuple[str, ...]] = {
    "New": ("Prospect",),
    "Qualified": ("Qualified",),
    "Proposition": ("Technical Validation",),
    "Negotiation": ("Business Validation", "Committed"),
    "Won": ("Launched", "Launched", "Launched", "Committed"),
    "Lost": ("Closed Lost",),
}
_FR_STATUS: dict[str, tuple[str, ...]] = {
    "submitted": ("Submitted", "Under Review"),
    "approved": ("Approved",),
    "completed": ("Completed",),
    "rejected": ("Rejected",),
    "cancelled": ("Cancelled",),
}
_FR_PATHS: dict[str, tuple[str, ...]] = {
    "Submitted": ("Draft", "Submitted"),
    "Under Review": ("Draft", "Submitted", "Under Review"),
    "Approved": ("Draft", "Submitted", "Under Review", "Approved"),
    "Completed": (
        "Draft",
        "Submitted",
        "Under Review",
        "Approved",
        "Cash Claim Submitted",
        "Completed",
    ),
    "Rejected": ("Draft", "Submitted", "Under Review", "Rejected"),
    "Cancelled": ("Draft", "Submitted", "Cancelled"),
}
_AWS_REVIEW_STEPS = frozenset({"Under Review", "Approved", "Rejected", "Completed"})


@dataclass(frozen=True)
class ApnData:
    book: RowBook
    pairs: list[GroundTruthPair]
    decoys: list[Decoy]


@dataclass(frozen=True)
class _Deal:
    """What one ACE opportunity is about, whether or not Odoo knows it."""

    customer: Customer
    contact: Person
    owner: Person
    theme: names.ProjectTheme
    outcome: str
    monthly_revenue: Decimal
    close_date: date
    account: AwsAccount | None
    crm_id: str | None
    not_before: datetime
    perturbation: str | None = None  # a kind of ``perturb.PERTURBATIONS``


def apn_tables() -> schema.Tables:
    """The APN tables' columns, from apn_columns.csv."""
    return schema.read_columns(APN_COLUMNS_CSV)


def build_apn(
    rng: random.Random, world: World, odoo: OdooData, *, noise: random.Random, perturb_rate: float
) -> ApnData:
    """Partner users, ACE opportunities and their end users, funding requests and claims.

    ``noise`` draws the hard variant's perturbations and decoys (``perturb``), apart from ``rng``
    so that with ``perturb_rate`` 0 the demo is byte for byte the plain one.
    """
    book = RowBook()
    users = _users(book, rng, world)
    ace_numbers = iter(rng.sample(range(1_000_000, 10_000_000), len(odoo.deals) * 2 + 10))
    pairs: list[GroundTruthPair] = []
    ace_by_lead: dict[int, int] = {}
    for deal in odoo.deals:
        if rng.random() >= MIRROR_SHARE:
            continue
        kind = _match_kind(rng, deal)
        perturbation = perturb.choose(noise, perturb_rate)
        if perturbation and kind == "crm_id":
            kind = "aws_account" if deal.account and perturbation != "missing" else "fuzzy"
        if perturbation == "missing":
            kind = "fuzzy"
        opportunity_id = _opportunity(
            book,
            rng,
            users,
            next(ace_numbers),
            _Deal(
                customer=deal.record.customer,
                contact=deal.contact
                if rng.random() < 0.7
                else rng.choice(deal.record.customer.contacts),
                owner=deal.salesperson if rng.random() < 0.9 else world.alliance_managers[0],
                theme=deal.theme,
                outcome=deal.outcome,
                monthly_revenue=deal.monthly_revenue
                if rng.random() < 0.7
                else Decimal(round(deal.monthly_revenue, -2) or 100),
                close_date=deal.date_deadline + timedelta(days=rng.randint(-10, 10)),
                account=deal.account if kind != "fuzzy" else None,
                crm_id=str(deal.lead_id) if kind == "crm_id" else None,
                not_before=deal.created,
                perturbation=perturbation,
            ),
            noise,
        )
        ace_by_lead[deal.lead_id] = opportunity_id
        number = deal.account.number if deal.account else ""
        pairs.append(
            GroundTruthPair(deal.lead_id, opportunity_id, number, kind, perturbation or "")
        )
    decoys = _ace_only(book, rng, world, odoo, users, ace_numbers, len(pairs))
    if perturb_rate > 0:
        decoys += _twins(book, noise, world, users, ace_numbers)
    _funding(book, rng, users, odoo, ace_by_lead)
    return ApnData(book, pairs, decoys)


def _match_kind(rng: random.Random, deal: OdooDeal) -> str:
    """How the pair can be recognised: by ACE naming the CRM id, by account, or only fuzzily."""
    if deal.account is None:
        return rng.choice(("crm_id", "fuzzy"))
    return rng.choices(("crm_id", "aws_account", "fuzzy"), weights=(40, 40, 20))[0]


def _users(book: RowBook, rng: random.Random, world: World) -> dict[str, int]:
    """Partner Central users: the sales team and the alliance managers; ids by e-mail."""
    ids = {}
    staff = [(p, "Sales Rep") for p in world.salespeople]
    staff += [(p, "Alliance Lead") for p in world.alliance_managers]
    for person, role in staff:
        ids[person.email] = book.add(
            "users",
            {
                "email": person.email,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "title": person.title,
                "role": role,
                "is_active": rng.random() > 0.05,
                **_dates(rng, None),
            },
        )
    return ids


def _opportunity(
    book: RowBook,
    rng: random.Random,
    users: dict[str, int],
    number: int,
    deal: _Deal,
    noise: random.Random | None = None,
) -> int:
    """One ACE opportunity row plus its end-user contacts; returns the opportunity id.

    ``noise`` draws the perturbed spelling of a perturbed deal (see ``perturb``).
    """
    customer, theme = deal.customer, deal.theme
    stage = rng.choice(_ACE_STAGE[deal.outcome])
    status = (
        "Approved"
        if stage in {"Launched", "Closed Lost"}
        else rng.choices(ace_values.STATUSES, weights=(5, 10, 10, 68, 2, 5))[0]
    )
    company = variants.ace_company_name(rng, customer)
    website = variants.ace_website(rng, customer)
    missing = deal.perturbation == "missing"
    if deal.perturbation and not missing and noise is not None:
        company = perturb.company_name(noise, deal.perturbation, customer.core, customer.legal_form)
    place = customer.place
    done = min(
        len(ace_values.SALES_ACTIVITIES),
        1 + ace_values.STAGES.index(stage) if stage != "Closed Lost" else 2,
    )
    needs = (
        ace_values.NO_SUPPORT_NEEDED
        if rng.random() < 0.3
        else ";".join(rng.sample(ace_values.PRIMARY_NEEDS, rng.randint(1, 2)))
    )
    rep = _aws_rep(rng) if rng.random() < 0.6 else None
    dates = _dates(rng, deal.not_before)
    opportunity_id = book.add(
        "opportunity",
        {
            "apn_crm_unique_identifier": f"O{number}",
            "partner_crm_unique_identifier": deal.crm_id,
            "owner_user_id": users.get(deal.owner.email),
            "opportunity_ownership": "Partner Referral"
            if deal.crm_id or rng.random() < 0.85
            else "AWS Referral",
            "opportunity_owner_name": deal.owner.name,
            "opportunity_owner_email": deal.owner.email,
            "customer_company_name": company,
            "customer_website": None if missing else website,
            "customer_duns": customer.duns if rng.random() < 0.3 else None,
            "aws_account_id": deal.account.number if deal.account else None,
            "industry": customer.industry,
            "street_address": customer.street,
            "city": None if missing else place.city,
            "state": place.state if customer.country.code == "US" else None,
            "postal_code": customer.zip,
            "customer_country": customer.country.name,
            "customer_first_name": deal.contact.first_name,
            "customer_last_name": deal.contact.last_name,
            "customer_title": deal.contact.title,
            "customer_email": None if missing else deal.contact.email,
            "customer_phone": deal.contact.phone,
            "partner_project_title": rng.choice((theme.title, f"{customer.core} {theme.title}")),
            "project_description": f"{theme.description} Customer: {company}.",
            "use_case": theme.use_case,
            "delivery_model": ";".join(
                rng.sample(ace_values.DELIVERY_MODELS[:5], rng.randint(1, 2))
            ),
            "opportunity_type": rng.choices(ace_values.OPPORTUNITY_TYPES, weights=(70, 25, 5))[0],
            "partner_primary_need_from_aws": needs,
            "sales_activities": ";".join(ace_values.SALES_ACTIVITIES[:done]),
            "competitive_tracking": rng.choice(ace_values.COMPETITORS),
            "campaign_name": rng.choice(ace_values.CAMPAIGNS) if rng.random() < 0.3 else None,
            "is_marketing_development_funded": "Yes" if rng.random() < 0.1 else "No",
            "does_opp_belong_to_nat_sec": "No",
            "aws_products": list(theme.products),
            "expected_monthly_aws_revenue": deal.monthly_revenue,
            "target_close_date": deal.close_date,
            "stage": stage,
            "status": status,
            "aws_stage": stage if rng.random() < 0.8 else None,
            "closed_lost_reason": rng.choice(ace_values.CLOSED_LOST_REASONS)
            if stage == "Closed Lost"
            else None,
            "engagement_score": rng.choice(ace_values.ENGAGEMENT_SCORES),
            "next_step": rng.choice(
                (
                    "Schedule architecture review",
                    "Send proposal",
                    "Waiting for customer budget approval",
                    "Kick-off next week",
                )
            ),
            "aws_sales_rep_name": rep.name if rep else None,
            "aws_sales_rep_email": rep.email if rep else None,
            "created_by": deal.owner.name,
            "last_modified_by": deal.owner.name,
            **dates,
        },
    )
    contacts = [deal.contact, *[c for c in customer.contacts if c != deal.contact][:1]]
    for position, person in enumerate(contacts):
        book.add(
            "end_user",
            {
                "opportunity_id": opportunity_id,
                "company_name": company,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "title": person.title,
                "email": person.email,
                "phone": person.phone,
                "is_primary": position == 0,
                **dates,
            },
        )
    return opportunity_id


def _ace_only(
    book: RowBook,
    rng: random.Random,
    world: World,
    odoo: OdooData,
    users: dict[str, int],
    numbers: Any,
    mirrored: int,
) -> list[Decoy]:
    """AWS referrals and stray registrations with no Odoo opportunity behind them.

    An ACE-only opportunity of a customer Odoo knows never uses an account an Odoo deal of that
    customer uses, so the ground truth stays unambiguous.
    """
    used = {(d.record.customer.key, d.account.number) for d in odoo.deals if d.account}
    unknown = [c for c in world.customers if not c.in_odoo]
    known = [d.record.customer for d in odoo.deals]
    decoys = []
    for _ in range(max(2, round(mirrored * ACE_ONLY_SHARE))):
        pool = unknown if unknown and (rng.random() < 0.5 or not known) else known
        customer = rng.choice(pool)
        free = [a for a in customer.accounts if (customer.key, a.number) not in used]
        created = moment_between(rng, BASE_DATE - timedelta(days=90), BASE_DATE - timedelta(days=2))
        opportunity_id = _opportunity(
            book,
            rng,
            users,
            next(numbers),
            _Deal(
                customer=customer,
                contact=rng.choice(customer.contacts),
                owner=rng.choice(world.alliance_managers + world.salespeople),
                theme=rng.choice(names.PROJECT_THEMES),
                outcome=rng.choice(("New", "Qualified", "Proposition", "Lost")),
                monthly_revenue=Decimal(rng.choice((500, 1500, 4000, 9000, 20000))),
                close_date=created.date() + timedelta(days=rng.randint(30, 150)),
                account=rng.choice(free) if free and rng.random() < 0.8 else None,
                crm_id=None,
                not_before=created,
            ),
        )
        decoys.append(Decoy(opportunity_id, "known_customer" if pool is known else "ace_only"))
    return decoys


def _twins(
    book: RowBook, rng: random.Random, world: World, users: dict[str, int], numbers: Any
) -> list[Decoy]:
    """ACE deals of other companies bearing a known customer's name, in another country."""
    known = sorted({c.key: c for c in world.customers if c.in_odoo}.values(), key=lambda c: c.key)
    decoys = []
    for customer in rng.sample(known, max(1, round(len(known) * perturb.TWIN_SHARE))):
        twin = twin_customer(rng, world, customer)
        created = moment_between(rng, BASE_DATE - timedelta(days=90), BASE_DATE - timedelta(days=2))
        opportunity_id = _opportunity(
            book,
            rng,
            users,
            next(numbers),
            _Deal(
                customer=twin,
                contact=rng.choice(twin.contacts),
                owner=rng.choice(world.alliance_managers + world.salespeople),
                theme=rng.choice(names.PROJECT_THEMES),
                outcome=rng.choice(("New", "Qualified", "Proposition")),
                monthly_revenue=Decimal(rng.choice((500, 1500, 4000, 9000))),
                close_date=created.date() + timedelta(days=rng.randint(30, 150)),
                account=twin.accounts[0] if rng.random() < 0.5 else None,
                crm_id=None,
                not_before=created,
            ),
        )
        decoys.append(Decoy(opportunity_id, "twin_name"))
    return decoys


def _funding(
    book: RowBook,
    rng: random.Random,
    users: dict[str, int],
    odoo: OdooData,
    ace_by_lead: dict[int, int],
) -> None:
    """APN funding requests for submitted Odoo requests whose opportunity is in ACE."""
    for funding in odoo.funding:
        opportunity_id = ace_by_lead.get(funding.deal.lead_id)
        if funding.reference is None or funding.submitted is None or opportunity_id is None:
            continue
        status = rng.choice(_FR_STATUS[funding.state])
        requester = users.get(funding.deal.salesperson.email)
        submitted = datetime.combine(funding.submitted, time(9), UTC) + timedelta(
            minutes=rng.randint(0, 480)
        )
        submitted = min(submitted, BASE_DATE.replace(tzinfo=UTC) - timedelta(hours=2))
        created = submitted - timedelta(hours=rng.randint(1, 48))
        path = _FR_PATHS[status]
        moments = sorted(
            moment_between(rng, submitted, BASE_DATE.replace(tzinfo=UTC) - timedelta(minutes=1))
            for _ in path[2:]
        )
        moments = [created, submitted, *moments]
        start = funding.deal.date_deadline
        fr_id = book.add(
            "funding_request",
            {
                "funding_request_id": funding.reference,
                "opportunity_id": opportunity_id,
                "requested_by_user_id": requester,
                "program": funding.program,
                "funding_type": funding.funding_type.capitalize(),
                "activity_name": f"{funding.program} - {funding.deal.theme.title}",
                "aws_account_id": funding.deal.account.number if funding.deal.account else None,
                "requested_amount": funding.requested,
                "approved_amount": funding.approved,
                "currency": "USD",
                "status": status,
                "project_start_date": start,
                "project_end_date": start + timedelta(days=rng.choice((60, 90, 120))),
                "submitted_date": submitted,
                "created_date": created,
                "last_modified_date": moments[-1],
            },
        )
        previous = None
        for step, moment in zip(path, moments, strict=True):
            by_aws = step in _AWS_REVIEW_STEPS
            book.add(
                "funding_request_history",
                {
                    "funding_request_id": fr_id,
                    "from_status": previous,
                    "to_status": step,
                    "changed_by_user_id": None if by_aws else requester,
                    "changed_by_aws": by_aws,
                    "comment": "Reviewed by AWS partner funding team" if by_aws else None,
                    "created_date": moment,
                    "last_modified_date": moment,
                },
            )
            previous = step
        if funding.funding_type == "cash" and status in {"Approved", "Completed"}:
            _claims(book, rng, fr_id, funding, status, odoo.invoice_names, moments[-1])


def _claims(
    book: RowBook,
    rng: random.Random,
    fr_id: int,
    funding: OdooFunding,
    status: str,
    invoice_names: dict[int, list[str]],
    approved_at: datetime,
) -> None:
    """Cash claims against an approved request, citing the partner invoice that proves delivery."""
    approved = funding.approved or Decimal(0)
    parts = rng.choice((1, 1, 2))
    invoices = invoice_names.get(funding.deal.record.partner_id, [])
    for part in range(parts):
        amount = (approved / parts).quantize(Decimal("0.01"))
        paid = status == "Completed"
        claim_status = "Paid" if paid else rng.choice(("Draft", "Submitted", "Approved"))
        moment = moment_between(rng, approved_at - timedelta(days=1), approved_at)
        book.add(
            "cash_claim",
            {
                "funding_request_id": fr_id,
                "claim_number": f"CC-{fr_id:05d}-{part + 1}",
                "invoice_number": rng.choice(invoices) if invoices else None,
                "claim_amount": amount,
                "approved_amount": amount if paid else None,
                "currency": "USD",
                "status": claim_status,
                "submitted_date": moment.date() if claim_status != "Draft" else None,
                "paid_date": moment.date() if paid else None,
                "created_date": moment,
                "last_modified_date": moment,
            },
        )


def _aws_rep(rng: random.Random) -> Person:
    """The AWS account manager ACE shows on the opportunity."""
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    email = f"{first[0]}{last}".lower().replace(" ", "").replace("'", "") + "@amazon.com"
    return Person(first, last, email, "", "Account Manager")


def _dates(rng: random.Random, not_before: datetime | None) -> dict[str, datetime]:
    """created_date/last_modified_date: Partner Central stores UTC instants."""
    start = BASE_DATE - timedelta(days=90)
    if not_before is not None:
        start = min(max(start, not_before + timedelta(hours=1)), BASE_DATE - timedelta(hours=2))
    created = moment_between(
        rng, start, min(start + timedelta(days=14), BASE_DATE - timedelta(hours=1))
    )
    modified = (
        created
        if rng.random() < 0.3
        else moment_between(rng, created, BASE_DATE - timedelta(minutes=1))
    )
    return {
        "created_date": created.replace(tzinfo=UTC),
        "last_modified_date": modified.replace(tzinfo=UTC),
    }
