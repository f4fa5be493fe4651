"""How two systems spell the same customer differently (the noise that matching must see through).

Odoo's partner form stores what a salesperson typed and prefixes websites with a scheme; ACE holds
what was typed into Partner Central, often by someone else, months apart.
"""

from __future__ import annotations

import random

from aura_demo.world import Customer

# Legal form -> longer spellings of it seen in the wild.
_EXPANSIONS: dict[str, tuple[str, ...]] = {
    "Inc.": ("Incorporated", ", Inc.", "Inc"),
    "Corp.": ("Corporation", ", Corp", "Corporation, Inc."),
    "Corporation": ("Corp.", "Corp", "Corporation, Inc."),
    "Co.": ("Company", "& Co."),
    "LLC": ("L.L.C.", ", LLC"),
    "Ltd": ("Limited", "Ltd."),
    "Ltd.": ("Limited", "Ltd"),
    "Limited": ("Ltd", "Ltd."),
    "plc": ("PLC", "Public Limited Company"),
    "GmbH": ("G.m.b.H.", "Gesellschaft mbH"),
    "AG": ("Aktiengesellschaft",),
    "B.V.": ("BV",),
    "Pty Ltd": ("Pty. Ltd.", "Proprietary Limited"),
    "Pvt. Ltd.": ("Private Limited", "Pvt Ltd"),
}


def odoo_company_name(rng: random.Random, customer: Customer) -> str:
    """The partner name in Odoo: the legal name, sometimes without its legal form."""
    return customer.core if rng.random() < 0.2 else customer.legal_name


def ace_company_name(rng: random.Random, customer: Customer) -> str:
    """The customer company name in ACE: the same company, seldom spelled the same way."""
    core, form = customer.core, customer.legal_form
    roll = rng.random()
    if roll < 0.2:
        return customer.legal_name
    if roll < 0.4:
        return core
    if roll < 0.55:
        return f"{core.upper()} {form.upper().rstrip('.')}"
    if roll < 0.8:
        longer = rng.choice(_EXPANSIONS.get(form, (form,)))
        return f"{core}{longer}" if longer.startswith(",") else f"{core} {longer}"
    if roll < 0.9:
        return f"{_typo(rng, core)} {form}"
    return f"The {core}" if rng.random() < 0.5 else core.replace(" ", "")


def odoo_website(rng: random.Random, customer: Customer) -> str:
    """Odoo prefixes a scheme to whatever was typed, so its websites always have one."""
    return rng.choice(("https://www.", "http://www.", "https://", "http://")) + customer.domain


def ace_website(rng: random.Random, customer: Customer) -> str:
    """A website as typed into Partner Central: bare, with www, with a scheme or a path."""
    prefix = rng.choice(("", "www.", "https://www.", "https://", "http://"))
    suffix = rng.choice(("", "", "", "/", "/en/home", "/about-us", "/contact"))
    return prefix + customer.domain + suffix


def _typo(rng: random.Random, text: str) -> str:
    """Swap two adjacent letters of one word, the commonest typing slip."""
    words = text.split()
    index = rng.randrange(len(words))
    word = words[index]
    if len(word) > 3:
        pos = rng.randrange(1, len(word) - 2)
        word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
    words[index] = word
    return " ".join(words)
