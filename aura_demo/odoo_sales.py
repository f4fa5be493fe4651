"""Odoo sales and accounting rows: quotations and orders, customer invoices, delivery projects."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aura_demo import names
from aura_demo.amounts import money
from aura_demo.odoo_crm import CrmRecords, CustomerRecord
from aura_demo.odoo_reference import ADMIN_ID, COMPANY_ID, CURRENCY_IDS, OdooRefs, stamps
from aura_demo.schema import RowBook

COMPANY_CURRENCY = "USD"
# Units of a currency per US dollar, fixed so amounts in company currency are reproducible.
RATES: dict[str, Decimal] = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}
# Odoo chart-of-accounts ids the invoice lines post to (account_account is not built).
RECEIVABLE_ACCOUNT_ID, REVENUE_ACCOUNT_ID, TAX_ACCOUNT_ID = 6, 21, 15
_CUSTOMER_INVOICES_JOURNAL_ID = 1


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    product_id: int | None
    quantity: Decimal
    price_unit: Decimal
    discount: Decimal
    subtotal: Decimal  # in the invoice currency, before tax


@dataclass
class Ledger:
    """Posts customer invoices (account_move + lines), numbering them per year as Odoo does."""

    book: RowBook
    rng: random.Random
    sequence_by_year: dict[int, int] = field(default_factory=dict)
    names_by_partner: dict[int, list[str]] = field(default_factory=dict)

    def post_invoice(
        self,
        *,
        record: CustomerRecord,
        lines: list[InvoiceLine],
        currency: str,
        tax_rate: int,
        invoice_date: date,
        origin: str | None,
        stamp: dict[str, Any],
    ) -> int:
        """Add one balanced out_invoice and its lines; return the account_move id."""
        rng = self.rng
        year = invoice_date.year
        number = self.sequence_by_year.get(year, 0) + 1
        self.sequence_by_year[year] = number
        posted = rng.random() > 0.05
        name = f"INV/{year}/{number:05d}" if posted else "/"
        rate = RATES[currency]
        untaxed = sum((line.subtotal for line in lines), Decimal(0))
        tax = money(untaxed * tax_rate / 100)
        total = untaxed + tax
        payment_state = (
            rng.choices(("paid", "not_paid", "partial", "in_payment"), weights=(50, 30, 10, 10))[0]
            if posted
            else "not_paid"
        )
        residual = {
            "paid": Decimal(0),
            "in_payment": Decimal(0),
            "partial": money(total * 4 / 10),
            "not_paid": total,
        }[payment_state]
        due = invoice_date + timedelta(days=30)
        move_id = self.book.add(
            "account_move",
            {
                **stamp,
                "name": name,
                "ref": origin,
                "date": invoice_date,
                "state": "posted" if posted else "draft",
                "move_type": "out_invoice",
                "is_storno": False,
                "journal_id": _CUSTOMER_INVOICES_JOURNAL_ID,
                "company_id": COMPANY_ID,
                "always_tax_exigible": False,
                "auto_post": "no",
                "checked": posted,
                "posted_before": posted,
                "made_sequence_gap": False,
                "invoice_date": invoice_date,
                "invoice_date_due": due,
                "invoice_payment_term_id": 2,
                "partner_id": record.partner_id,
                "commercial_partner_id": record.partner_id,
                "partner_shipping_id": record.partner_id,
                "payment_reference": name,
                "currency_id": CURRENCY_IDS[currency],
                "invoice_currency_rate": rate,
                "amount_untaxed": untaxed,
                "amount_tax": tax,
                "amount_total": total,
                "amount_residual": residual,
                "amount_untaxed_signed": _company(untaxed, rate),
                "amount_untaxed_in_currency_signed": untaxed,
                "amount_tax_signed": _company(tax, rate),
                "amount_total_signed": _company(total, rate),
                "amount_total_in_currency_signed": total,
                "amount_residual_signed": _company(residual, rate),
                "payment_state": payment_state,
                "invoice_partner_display_name": record.partner_name,
                "is_manually_modified": False,
                "is_move_sent": posted and rng.random() < 0.8,
                "invoice_user_id": record.user_id,
                "invoice_origin": origin,
                "access_token": f"{rng.getrandbits(128):032x}",
                "sequence_prefix": f"INV/{year}/",
                "sequence_number": number if posted else 0,
            },
        )
        if posted:
            self.names_by_partner.setdefault(record.partner_id, []).append(name)
        common = {
            **stamp,
            "move_id": move_id,
            "journal_id": _CUSTOMER_INVOICES_JOURNAL_ID,
            "company_id": COMPANY_ID,
            "company_currency_id": CURRENCY_IDS[COMPANY_CURRENCY],
            "move_name": name,
            "parent_state": "posted" if posted else "draft",
            "date": invoice_date,
            "invoice_date": invoice_date,
            "ref": origin,
            "currency_id": CURRENCY_IDS[currency],
            "partner_id": record.partner_id,
            "is_imported": False,
            "tax_tag_invert": True,
            "reconciled": False,
            "amount_residual": Decimal(0),
            "amount_residual_currency": Decimal(0),
        }
        credited = Decimal(0)
        for sequence, line in enumerate(lines, start=10):
            amount = _company(line.subtotal, rate)
            credited += amount
            self.book.add(
                "account_move_line",
                {
                    **common,
                    "sequence": sequence,
                    "account_id": REVENUE_ACCOUNT_ID,
                    "name": line.description,
                    "debit": Decimal(0),
                    "credit": amount,
                    "balance": -amount,
                    "amount_currency": -line.subtotal,
                    "display_type": "product",
                    "product_id": line.product_id,
                    "product_uom_id": 1,
                    "quantity": line.quantity,
                    "price_unit": line.price_unit,
                    "price_subtotal": line.subtotal,
                    "price_total": line.subtotal + money(line.subtotal * tax_rate / 100),
                    "discount": line.discount,
                    "tax_base_amount": Decimal(0),
                },
            )
        if tax:
            amount = _company(tax, rate)
            credited += amount
            self.book.add(
                "account_move_line",
                {
                    **common,
                    "sequence": 900,
                    "account_id": TAX_ACCOUNT_ID,
                    "name": f"Tax {tax_rate}%",
                    "debit": Decimal(0),
                    "credit": amount,
                    "balance": -amount,
                    "amount_currency": -tax,
                    "display_type": "tax",
                    "tax_base_amount": _company(untaxed, rate),
                    "tax_line_id": 1,
                    "tax_group_id": 1,
                },
            )
        self.book.add(
            "account_move_line",
            {
                **common,
                "sequence": 1000,
                "account_id": RECEIVABLE_ACCOUNT_ID,
                "name": name,
                "debit": credited,
                "credit": Decimal(0),
                "balance": credited,
                "amount_currency": total,
                "display_type": "payment_term",
                "date_maturity": due,
                "amount_residual": _company(residual, rate),
                "amount_residual_currency": residual,
                "reconciled": payment_state == "paid",
                "matching_number": f"P{move_id}" if payment_state == "paid" else None,
                "price_unit": -total,
                "quantity": Decimal(1),
            },
        )
        return move_id


def build_sales(
    book: RowBook, rng: random.Random, crm: CrmRecords, refs: OdooRefs, ledger: Ledger
) -> None:
    """Orders for won deals and repeat business, invoices for delivered orders, projects."""
    prices = {row["id"]: row["list_price"] for row in book.rows("product_template")}
    for deal in crm.deals:
        if deal.outcome == "Won":
            order_id = _order(
                book,
                rng,
                deal.record,
                refs,
                ledger,
                prices,
                state="sale",
                opportunity=(deal.lead_id, deal.name, deal.written),
            )
            if rng.random() < 0.7:
                _project(
                    book,
                    rng,
                    deal.record,
                    f"{deal.record.partner_name} - {deal.theme.title}",
                    deal.theme.description,
                    deal.written,
                )
            book.rows("sale_order")[order_id - 1]["origin"] = deal.name
    for _ in range(max(3, len(crm.customers) // 3)):
        record = rng.choice(crm.customers)
        state = rng.choices(("draft", "sent", "sale", "cancel"), weights=(20, 20, 50, 10))[0]
        _order(book, rng, record, refs, ledger, prices, state=state, opportunity=None)
    for title in ("Internal - Pre-sales", "Internal - Training", "Internal - Tooling"):
        _project(book, rng, None, title, "Non-billable internal work.", None)


def currency_of(record: CustomerRecord) -> str:
    """The partner invoices in euro or pound where the customer uses them, else in dollars."""
    return record.customer.country.currency if record.customer.country.currency in RATES else "USD"


def _order(
    book: RowBook,
    rng: random.Random,
    record: CustomerRecord,
    refs: OdooRefs,
    ledger: Ledger,
    prices: dict[int, Decimal],
    *,
    state: str,
    opportunity: tuple[int, str, datetime] | None,
) -> int:
    """A sale_order with its lines; a confirmed order is often already invoiced."""
    currency = currency_of(record)
    rate = RATES[currency]
    tax_rate = record.customer.country.vat_rate
    stamp = stamps(
        rng, [record.user_id, ADMIN_ID], after=opportunity[2] if opportunity else record.created
    )
    ordered = stamp["create_date"]
    lines = [
        _line(rng, product_id, prices[product_id] * rate)
        for product_id in rng.sample(refs.product_ids, rng.randint(1, 4))
    ]
    untaxed = sum((line.subtotal for line in lines), Decimal(0))
    tax = money(untaxed * tax_rate / 100)
    invoiced = state == "sale" and rng.random() < 0.6
    invoice_status = ("invoiced" if invoiced else "to invoice") if state == "sale" else "no"
    contact = record.customer.contacts[0]
    order_id = book.add(
        "sale_order",
        {
            **stamp,
            "company_id": COMPANY_ID,
            "partner_id": record.partner_id,
            "state": state,
            "locked": state == "sale" and rng.random() < 0.2,
            "client_order_ref": f"PO-{rng.randint(10000, 99999)}" if rng.random() < 0.4 else None,
            "date_order": ordered,
            "require_signature": True,
            "require_payment": False,
            "prepayment_percent": 1.0,
            "signed_by": contact.name if state == "sale" and rng.random() < 0.6 else None,
            "signed_on": ordered if state == "sale" else None,
            "validity_date": ordered.date() + timedelta(days=30),
            "note": "<p>Payment terms: 30 days net.</p>",
            "partner_invoice_id": record.partner_id,
            "partner_shipping_id": record.partner_id,
            "payment_term_id": 2,
            "pricelist_id": 1,
            "currency_id": CURRENCY_IDS[currency],
            "currency_rate": rate,
            "user_id": record.user_id,
            "team_id": refs.team_by_user[record.user_id],
            "amount_untaxed": untaxed,
            "amount_tax": tax,
            "amount_total": untaxed + tax,
            "invoice_status": invoice_status,
            "access_token": f"{rng.getrandbits(128):032x}",
            "opportunity_id": opportunity[0] if opportunity else None,
        },
    )
    order = book.rows("sale_order")[-1]
    order["name"] = f"S{order_id:05d}"
    for sequence, line in enumerate(lines, start=1):
        line_tax = money(line.subtotal * tax_rate / 100)
        delivered = line.quantity if invoiced else Decimal(0)
        book.add(
            "sale_order_line",
            {
                **stamp,
                "order_id": order_id,
                "sequence": sequence * 10,
                "company_id": COMPANY_ID,
                "currency_id": CURRENCY_IDS[currency],
                "order_partner_id": record.partner_id,
                "salesman_id": record.user_id,
                "state": state,
                "is_downpayment": False,
                "is_expense": False,
                "product_id": line.product_id,
                "name": line.description,
                "product_uom_qty": line.quantity,
                "product_uom": 1,
                "price_unit": line.price_unit,
                "technical_price_unit": float(line.price_unit),
                "discount": line.discount,
                "price_subtotal": line.subtotal,
                "price_tax": float(line_tax),
                "price_total": line.subtotal + line_tax,
                "price_reduce_taxexcl": money(line.subtotal / line.quantity),
                "price_reduce_taxinc": money((line.subtotal + line_tax) / line.quantity),
                "product_packaging_qty": 0.0,
                "customer_lead": 0.0,
                "qty_delivered_method": "manual",
                "qty_delivered": delivered,
                "qty_invoiced": delivered,
                "qty_to_invoice": line.quantity - delivered if state == "sale" else Decimal(0),
                "invoice_status": invoice_status,
                "untaxed_amount_invoiced": line.subtotal if invoiced else Decimal(0),
                "untaxed_amount_to_invoice": Decimal(0)
                if invoiced or state != "sale"
                else line.subtotal,
                "analytic_distribution": {"1": 100} if rng.random() < 0.3 else None,
            },
        )
    if invoiced:
        when = stamps(rng, [record.user_id, ADMIN_ID], after=ordered)
        ledger.post_invoice(
            record=record,
            lines=lines,
            currency=currency,
            tax_rate=tax_rate,
            invoice_date=when["create_date"].date(),
            origin=order["name"],
            stamp=when,
        )
    return order_id


def _line(rng: random.Random, product_id: int, list_price: Decimal) -> InvoiceLine:
    """Quantity fits the product: resale dollars, consulting days, seats or monthly fees."""
    name, _, code, _ = names.PRODUCTS[product_id - 1]
    if code == "AWS-RESALE":
        quantity = Decimal(rng.randint(500, 40000))
    elif code.startswith("TM"):
        quantity = Decimal(rng.randint(5, 60))
    elif code.startswith(("TRN", "MSP", "SUP")):
        quantity = Decimal(rng.randint(1, 12))
    else:
        quantity = Decimal(rng.randint(1, 2))
    price = money(list_price)
    discount = Decimal(rng.choice((0, 0, 0, 5, 10, 15)))
    subtotal = money(price * quantity * (100 - discount) / 100)
    return InvoiceLine(name, product_id, quantity, price, discount, subtotal)


def _project(
    book: RowBook,
    rng: random.Random,
    record: CustomerRecord | None,
    title: str,
    description: str,
    after: datetime | None,
) -> None:
    """A delivery project for a won deal, or one of the partner's internal projects."""
    user_id = record.user_id if record else ADMIN_ID
    stamp = stamps(rng, [user_id, ADMIN_ID], after=after)
    start = stamp["create_date"].date()
    book.add(
        "project_project",
        {
            **stamp,
            "name": {"en_US": title},
            "description": f"<p>{description}</p>",
            "active": rng.random() > 0.1,
            "sequence": 10,
            "partner_id": record.partner_id if record else None,
            "company_id": COMPANY_ID,
            "analytic_account_id": rng.randint(1, 50) if record else None,
            "label_tasks": {"en_US": "Tasks"},
            "color": rng.randint(0, 11),
            "user_id": user_id,
            "privacy_visibility": rng.choice(("portal", "employees", "followers")),
            "date_start": start,
            "date": start + timedelta(days=rng.randint(30, 240)),
            "allow_task_dependencies": rng.random() < 0.3,
            "allow_milestones": rng.random() < 0.5,
            "rating_active": False,
            "rating_status": "stage",
            "rating_status_period": "monthly",
            "stage_id": rng.randint(1, 4),
            "last_update_status": rng.choice(
                ("on_track", "on_track", "at_risk", "off_track", "to_define")
            ),
            "access_token": f"{rng.getrandbits(128):032x}",
        },
    )


def _company(amount: Decimal, rate: Decimal) -> Decimal:
    """An amount in the invoice currency converted to the company currency (US dollars)."""
    return money(amount / rate)
