"""Custom Odoo rows of an AWS resale partner: funding requests and the monthly re-billing chain.

For each billed month AWS reports usage (``c_billing_internal_cur``), bills the partner per payer
account under the Solution Provider Program (``c_billing_spp_bill``), and the partner re-bills its
customer with a markup (``c_billing_bill`` and lines), posting the bill as an Odoo invoice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aura_demo import names
from aura_demo.amounts import money
from aura_demo.clock import BASE_DATE, PERIODS, moment_between, month_end
from aura_demo.odoo_crm import CrmRecords, CustomerRecord, OdooDeal
from aura_demo.odoo_reference import ADMIN_ID, stamps
from aura_demo.odoo_sales import InvoiceLine, Ledger
from aura_demo.schema import RowBook

_PROGRAMS: tuple[tuple[str, str], ...] = (
    ("MAP Assess", "cash"),
    ("MAP Mobilize", "cash"),
    ("MAP Migrate", "credits"),
    ("POC", "credits"),
    ("ISV Workload Migration", "cash"),
    ("Marketing Development Funds", "cash"),
)
# Funding request state per deal outcome: what has happened to the request by now.
_FUNDING_STATES: dict[str, tuple[str, ...]] = {
    "Proposition": ("draft", "submitted"),
    "Negotiation": ("submitted", "approved"),
    "Won": ("approved", "completed", "completed"),
    "Lost": ("rejected", "cancelled"),
}


@dataclass(frozen=True)
class OdooFunding:
    """A funding request as the partner tracks it; submitted ones also exist in APN."""

    row_id: int
    deal: OdooDeal
    reference: str | None  # the APN funding request id, once submitted
    program: str
    funding_type: str
    requested: Decimal
    approved: Decimal | None
    state: str
    submitted: date | None
    created: datetime


def build_funding(book: RowBook, rng: random.Random, crm: CrmRecords) -> list[OdooFunding]:
    """c_aws_funding_request rows for a share of the deals far enough along to ask AWS."""
    result: list[OdooFunding] = []
    for deal in crm.deals:
        states = _FUNDING_STATES.get(deal.outcome)
        if states is None or deal.account is None or rng.random() > 0.4:
            continue
        program, funding_type = rng.choice(_PROGRAMS)
        state = rng.choice(states)
        requested = money(max(Decimal(2000), deal.monthly_revenue * rng.choice((1, 2, 3))))
        approved = (
            money(requested * Decimal(rng.choice((80, 90, 100))) / 100)
            if state in {"approved", "completed"}
            else None
        )
        stamp = stamps(rng, [deal.record.user_id, ADMIN_ID], after=deal.created)
        submitted = None
        if state != "draft":
            submitted = moment_between(rng, stamp["create_date"], stamp["write_date"]).date()
        reference = (
            f"FR-{stamp['create_date'].year}-{len(result) + 10001:05d}" if submitted else None
        )
        row_id = book.add(
            "c_aws_funding_request",
            {
                **stamp,
                "name": reference or f"Draft funding request {len(result) + 1}",
                "lead_id": deal.lead_id,
                "partner_id": deal.record.partner_id,
                "aws_account_id": deal.record.account_ids[deal.account.number],
                "user_id": deal.record.user_id,
                "program": program,
                "funding_type": funding_type,
                "activity_name": f"{program} - {deal.theme.title}",
                "requested_amount": requested,
                "approved_amount": approved,
                "currency_code": "USD",
                "state": state,
                "date_submitted": submitted,
                "date_approved": stamp["write_date"].date() if approved is not None else None,
                "apn_funding_request_ref": reference,
                "description": deal.theme.description,
                "active": state != "cancelled",
            },
        )
        result.append(
            OdooFunding(
                row_id,
                deal,
                reference,
                program,
                funding_type,
                requested,
                approved,
                state,
                submitted,
                stamp["create_date"],
            )
        )
    return result


def build_billing(book: RowBook, rng: random.Random, crm: CrmRecords, ledger: Ledger) -> None:
    """Usage, SPP bills and customer bills for each billed customer and closed month."""
    won = {deal.record.partner_id for deal in crm.deals if deal.outcome == "Won"}
    for record in crm.customers:
        if record.partner_id not in won and rng.random() > 0.25:
            continue
        scale = rng.uniform(0.2, 3.0)
        markup = Decimal(rng.choice((0, 3, 5, 8)))
        for period in PERIODS:
            _bill_month(book, rng, record, ledger, period, scale, markup)


def _bill_month(
    book: RowBook,
    rng: random.Random,
    record: CustomerRecord,
    ledger: Ledger,
    period: date,
    scale: float,
    markup: Decimal,
) -> None:
    """One customer's month: CUR lines per account and service, the SPP bill, the re-bill."""
    payer = record.customer.accounts[0]
    payer_id = record.account_ids[payer.number]
    stamp = _after_period(rng, period, record.user_id)
    spp_id = book.add(
        "c_billing_spp_bill",
        {
            **stamp,
            "name": f"SPP/{period:%Y/%m}/{payer.number}",
            "aws_account_id": payer_id,
            "partner_id": record.partner_id,
            "billing_period": period,
            "invoice_number": f"EUINUS{rng.randint(10**8, 10**9 - 1)}",
            "currency_code": "USD",
            "state": "paid" if period < PERIODS[-1] else rng.choice(("draft", "validated")),
            "active": True,
        },
    )
    bill_state = rng.choices(("posted", "paid", "draft", "cancel"), weights=(40, 45, 10, 5))[0]
    bill_id = book.add(
        "c_billing_bill",
        {
            **stamp,
            "name": f"BILL/{period:%Y/%m}/{record.partner_id:05d}",
            "partner_id": record.partner_id,
            "aws_account_id": payer_id,
            "user_id": record.user_id,
            "billing_period": period,
            "date_due": month_end(period) + timedelta(days=30),
            "currency_code": "USD",
            "state": bill_state,
            "active": bill_state != "cancel",
        },
    )
    cost_total = billed_total = Decimal(0)
    per_account: dict[str, Decimal] = {}
    for account in record.customer.accounts:
        if account.status == "closed":
            continue
        for product, usage_type, typical in rng.sample(names.AWS_SERVICES, rng.randint(1, 3)):
            cost = money(typical * scale * rng.uniform(0.3, 1.7))
            cur_id = book.add(
                "c_billing_internal_cur",
                {
                    **_after_period(rng, period, ADMIN_ID),
                    "aws_account_id": record.account_ids[account.number],
                    "payer_account_id": payer_id,
                    "spp_bill_id": spp_id,
                    "billing_period": period,
                    "product_code": product,
                    "usage_type": usage_type,
                    "usage_quantity": money(float(cost) * rng.uniform(5, 40)),
                    "unblended_cost": cost,
                    "blended_cost": money(float(cost) * rng.uniform(0.97, 1.0)),
                    "currency_code": "USD",
                    "active": True,
                },
            )
            price = money(cost * (100 + markup) / 100)
            book.add(
                "c_billing_bill_line",
                {
                    **stamp,
                    "bill_id": bill_id,
                    "aws_account_id": record.account_ids[account.number],
                    "internal_cur_id": cur_id,
                    "product_code": product,
                    "description": f"{product} usage {period:%B %Y} ({account.number})",
                    "quantity": Decimal(1),
                    "cost_amount": cost,
                    "markup_percent": markup,
                    "price_subtotal": price,
                    "currency_code": "USD",
                    "active": True,
                },
            )
            cost_total += cost
            billed_total += price
            per_account[account.number] = per_account.get(account.number, Decimal(0)) + price
    discount = money(cost_total * Decimal(rng.choice((3, 5, 7))) / 100)
    spp = book.rows("c_billing_spp_bill")[spp_id - 1]
    spp.update(
        {
            "amount_untaxed": cost_total,
            "discount_amount": discount,
            "amount_tax": Decimal(0),
            "amount_total": cost_total - discount,
        }
    )
    tax_rate = record.customer.country.vat_rate
    tax = money(billed_total * tax_rate / 100)
    bill = book.rows("c_billing_bill")[bill_id - 1]
    bill.update(
        {"amount_untaxed": billed_total, "amount_tax": tax, "amount_total": billed_total + tax}
    )
    if bill_state in {"posted", "paid"} and per_account:
        lines = [
            InvoiceLine(
                f"AWS usage {period:%B %Y} - account {number}",
                1,
                Decimal(1),
                amount,
                Decimal(0),
                amount,
            )
            for number, amount in per_account.items()
        ]
        bill["account_move_id"] = ledger.post_invoice(
            record=record,
            lines=lines,
            currency="USD",
            tax_rate=tax_rate,
            invoice_date=stamp["create_date"].date(),
            origin=bill["name"],
            stamp=stamp,
        )


def _after_period(rng: random.Random, period: date, user_id: int) -> dict[str, Any]:
    """Billing rows are created in the first days after the month closes, edited later."""
    start = datetime.combine(month_end(period) + timedelta(days=1), datetime.min.time())
    created = moment_between(rng, start, start + timedelta(days=5))
    written = (
        created
        if rng.random() < 0.5
        else moment_between(
            rng, created, min(created + timedelta(days=30), BASE_DATE - timedelta(minutes=1))
        )
    )
    return {
        "create_uid": user_id,
        "create_date": created,
        "write_uid": user_id,
        "write_date": written,
    }
