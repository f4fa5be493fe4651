"""The demo's ground reality: customers, their AWS accounts and the partner's own staff.

Odoo and APN rows are both drawn from this one world, each system recording it in its own way, so
that the ground truth of which records describe the same customer is known by construction.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from aura_demo import names

PARTNER_COMPANY = "Aura Cloud Services Inc."
PARTNER_DOMAIN = "auracloud.io"
_QUALIFIERS = ("", " Group", " International", " Europe", " Americas", " Asia Pacific")


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str
    title: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class AwsAccount:
    number: str  # the 12-digit AWS account id
    name: str
    root_email: str
    status: str  # active / suspended / closed
    payer_number: str | None  # None for a payer (management) account


@dataclass
class Customer:
    key: int
    core: str  # "Blue River Analytics"
    legal_form: str  # "Inc."
    country: names.Country
    place: names.Place
    street: str
    zip: str
    domain: str
    industry: str
    phone: str
    duns: str
    in_odoo: bool
    contacts: list[Person] = field(default_factory=list)
    accounts: list[AwsAccount] = field(default_factory=list)

    @property
    def legal_name(self) -> str:
        return f"{self.core} {self.legal_form}"


@dataclass(frozen=True)
class World:
    customers: list[Customer]
    salespeople: list[Person]  # Odoo users and APN partner users
    alliance_managers: list[Person]  # APN-only users who manage ACE and funding


def build_world(rng: random.Random, *, customers: int, aws_only_share: float = 0.1) -> World:
    """Draw ``customers`` customers (a share of them unknown to Odoo) and the partner's staff."""
    cores = _company_cores(rng, customers)
    account_numbers: set[str] = set()
    domains: set[str] = set()
    result = []
    for key, core in enumerate(cores):
        customer = _customer(
            rng, key, core, rng.random() >= aws_only_share, account_numbers, domains
        )
        result.append(customer)
    salespeople = [_staff(rng, "Account Executive") for _ in range(max(4, customers // 60))]
    managers = [_staff(rng, title) for title in ("Alliance Manager", "ACE Program Manager")]
    return World(result, _unique_people(salespeople), managers)


def slug(text: str) -> str:
    """Lower-case letters and digits only: the part of a company name that becomes its domain."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _company_cores(rng: random.Random, count: int) -> list[str]:
    """Distinct company names; regional qualifiers extend the vocabulary at large scales."""
    base = list(names.COMPANY_CLASSICS)
    base += [f"{a} {b}" for a in names.COMPANY_FIRST for b in names.COMPANY_SECOND]
    rng.shuffle(base)
    return [
        base[i % len(base)] + _QUALIFIERS[(i // len(base)) % len(_QUALIFIERS)] for i in range(count)
    ]


def _customer(
    rng: random.Random,
    key: int,
    core: str,
    in_odoo: bool,
    used_numbers: set[str],
    used_domains: set[str],
) -> Customer:
    """One customer with a couple of contacts and one to four AWS accounts."""
    place = rng.choice(names.PLACES)
    country = next(c for c in names.COUNTRIES if c.code == place.country_code)
    words = core.split()
    domain = f"{slug(words[0])}.{country.tld}"
    if rng.random() < 0.7 or domain in used_domains:
        domain = f"{slug(core)}.{country.tld}"
    while domain in used_domains:
        domain = f"{slug(core)}{rng.randint(2, 99)}.{country.tld}"
    used_domains.add(domain)
    industry = names.INDUSTRY_BY_WORD.get(words[-1]) or rng.choice(names.DEFAULT_INDUSTRIES)
    customer = Customer(
        key=key,
        core=core,
        legal_form=rng.choice(country.legal_forms),
        country=country,
        place=place,
        street=f"{rng.randint(1, 9999)} {rng.choice(names.STREET_NAMES)}",
        zip=_zip(rng, place),
        domain=domain,
        industry=industry,
        phone=_phone(rng, country),
        duns=f"{rng.randint(10**8, 10**9 - 1)}",
        in_odoo=in_odoo,
    )
    for _ in range(rng.choice((1, 2, 2, 3))):
        customer.contacts.append(_person(rng, domain, country, rng.choice(names.JOB_TITLES)))
    customer.accounts.extend(_accounts(rng, customer, used_numbers))
    return customer


def _accounts(rng: random.Random, customer: Customer, used: set[str]) -> list[AwsAccount]:
    """A payer account plus linked member accounts, as in an AWS Organization."""
    count = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
    envs = ("prod", "dev", "data", "security", "sandbox", "shared")
    accounts: list[AwsAccount] = []
    payer: str | None = None
    for env in envs[:count]:
        number = f"{rng.randint(10**11, 10**12 - 1)}"
        while number in used:
            number = f"{rng.randint(10**11, 10**12 - 1)}"
        used.add(number)
        status = rng.choices(("active", "suspended", "closed"), weights=(92, 4, 4))[0]
        if payer is None:
            status = "active"
        accounts.append(
            AwsAccount(
                number=number,
                name=f"{slug(customer.core)[:20]}-{env}",
                root_email=f"aws-{env}@{customer.domain}",
                status=status,
                payer_number=payer,
            )
        )
        payer = payer or number
    return accounts


def _person(rng: random.Random, domain: str, country: names.Country, title: str) -> Person:
    """A contact at ``domain``; e-mail local parts follow the usual corporate patterns."""
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}"))
    email = f"{re.sub(r'[^a-z0-9.]', '', local.lower())}@{domain}"
    return Person(first, last, email, _phone(rng, country), title)


def _staff(rng: random.Random, title: str) -> Person:
    """Someone on the partner's own staff, at the partner's domain."""
    us = names.COUNTRIES[0]
    return _person(rng, PARTNER_DOMAIN, us, title)


def _unique_people(people: list[Person]) -> list[Person]:
    """Drop staff whose e-mail repeats: Odoo logins and APN user e-mails are unique."""
    seen: set[str] = set()
    unique = []
    for person in people:
        if person.email not in seen:
            seen.add(person.email)
            unique.append(person)
    return unique


def _phone(rng: random.Random, country: names.Country) -> str:
    """A phone number in the country's international format (US numbers use 555)."""
    if country.phone_code == 1:
        return f"+1 {rng.randint(201, 989)}-555-{rng.randint(0, 9999):04d}"
    digits = f"{rng.randint(10, 99)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
    return f"+{country.phone_code} {digits}"


def _zip(rng: random.Random, place: names.Place) -> str:
    """A postal code shaped like the country's (outward code for GB, CA and IE)."""
    if place.country_code == "US":
        return f"{place.zip_prefix}{rng.randint(0, 99):02d}"
    if place.country_code in {"GB", "CA", "IE"}:
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        return f"{place.zip_prefix} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    return f"{place.zip_prefix}{rng.randint(0, 99):02d}"


def twin_customer(rng: random.Random, world: World, of: Customer) -> Customer:
    """Another company with ``of``'s name in another country: a decoy matching must not take.

    It has its own place, domain, contacts and AWS accounts, and Odoo never knows it.
    """
    numbers = {a.number for c in world.customers for a in c.accounts}
    domains = {c.domain for c in world.customers}
    key = max(c.key for c in world.customers) + 1
    for _ in range(20):
        twin = _customer(rng, key, of.core, False, numbers, domains)
        if twin.country != of.country:
            return twin
    return twin
