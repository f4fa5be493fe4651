"""Monthly trial-balance CSV exports dropped into the landing zone, one per entity and month.

The two entities export from different ledgers, so the files differ the way real exports do: the
US ledger writes Debit and Credit columns, the UK ledger a single signed Balance in another column
order. Amounts carry thousands separators. Every file balances to the cent.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from aura_demo.amounts import money, with_separators
from aura_demo.clock import PERIODS

Style = Literal["debit_credit", "signed_balance"]


@dataclass(frozen=True)
class Entity:
    code: str
    name: str
    currency: str
    style: Style
    size: float  # relative to the US entity


ENTITIES: tuple[Entity, ...] = (
    Entity("US01", "Aura Cloud Services Inc.", "USD", "debit_credit", 1.0),
    Entity("UK01", "Aura Cloud Services Ltd", "GBP", "signed_balance", 0.35),
)
RETAINED_EARNINGS = "3100"
# code, name, normal side (+1 debit, -1 credit), typical month-end balance for the US entity.
ACCOUNTS: tuple[tuple[str, str, int, int], ...] = (
    ("1000", "Cash at Bank", 1, 420_000),
    ("1010", "Petty Cash", 1, 1_500),
    ("1200", "Accounts Receivable", 1, 610_000),
    ("1250", "Allowance for Doubtful Accounts", -1, 14_000),
    ("1300", "Prepaid Expenses", 1, 38_000),
    ("1500", "Computer Equipment", 1, 125_000),
    ("1510", "Accumulated Depreciation", -1, 47_000),
    ("2000", "Accounts Payable", -1, 355_000),
    ("2100", "Accrued Liabilities", -1, 62_000),
    ("2200", "Sales Tax / VAT Payable", -1, 33_000),
    ("2300", "Deferred Revenue", -1, 91_000),
    ("2400", "Payroll Liabilities", -1, 48_000),
    ("3000", "Share Capital", -1, 100_000),
    (RETAINED_EARNINGS, "Retained Earnings", -1, 0),
    ("4000", "Revenue - AWS Resale", -1, 910_000),
    ("4100", "Revenue - Professional Services", -1, 305_000),
    ("4200", "Revenue - Managed Services", -1, 148_000),
    ("5000", "Cost of Sales - AWS Usage", 1, 820_000),
    ("5100", "Subcontractors", 1, 79_000),
    ("6000", "Salaries and Wages", 1, 252_000),
    ("6100", "Rent and Facilities", 1, 31_000),
    ("6200", "Software Subscriptions", 1, 19_500),
    ("6300", "Travel and Entertainment", 1, 11_800),
    ("6400", "Marketing", 1, 17_600),
    ("6500", "Depreciation Expense", 1, 4_900),
    ("7000", "Interest Income", -1, 1_100),
    ("7100", "Bank Charges", 1, 820),
)


def write_trial_balances(rng: random.Random, landing_dir: Path) -> list[Path]:
    """Write one CSV per entity and closed month into ``landing_dir``; return their paths."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for entity in ENTITIES:
        drift = {code: rng.uniform(0.85, 1.15) for code, *_ in ACCOUNTS}
        for month, period in enumerate(PERIODS):
            balances = _balances(rng, entity, drift, growth=1 + 0.03 * month)
            path = landing_dir / f"trial_balance_{entity.code}_{period:%Y-%m}.csv"
            _write(path, entity, f"{period:%Y-%m}", balances)
            paths.append(path)
    return paths


def _balances(
    rng: random.Random, entity: Entity, drift: dict[str, float], growth: float
) -> dict[str, Decimal]:
    """Signed balances (debit positive); retained earnings absorbs the difference so it balances."""
    balances = {}
    for code, _, side, typical in ACCOUNTS:
        if code != RETAINED_EARNINGS:
            amount = typical * entity.size * drift[code] * growth * rng.uniform(0.97, 1.03)
            balances[code] = side * money(amount)
    balances[RETAINED_EARNINGS] = -sum(balances.values(), Decimal(0))
    return balances


def _write(path: Path, entity: Entity, period: str, balances: dict[str, Decimal]) -> None:
    """Write one export in the entity's ledger style."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        if entity.style == "debit_credit":
            writer.writerow(["Account Code", "Account Name", "Entity", "Period", "Debit", "Credit"])
        else:
            writer.writerow(["Entity", "Period", "Account Code", "Account Name", "Balance"])
        for code, name, *_ in ACCOUNTS:
            amount = balances[code]
            if entity.style == "debit_credit":
                debit, credit = (amount, Decimal(0)) if amount >= 0 else (Decimal(0), -amount)
                writer.writerow(
                    [
                        code,
                        name,
                        entity.code,
                        period,
                        with_separators(debit),
                        with_separators(credit),
                    ]
                )
            else:
                writer.writerow([entity.code, period, code, name, with_separators(amount)])
