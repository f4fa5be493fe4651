"""The hard demo's noise: how partner records look after years of hand entry by many people.

``aura demo --perturb RATE`` (``--hard`` is 0.3) gives that share of the mirrored ACE opportunities
one perturbation each; a perturbed record never names the Odoo id (whoever retyped the customer
did not copy it). The kinds, as real partner data shows them:

- ``legal_form``: another spelling or language of the legal form, or the name as its initials
  ("Dunder Mifflin Ltd" -> "DM Limited", "S.r.l." -> "Società a responsabilità limitata");
- ``diacritics``: accents added the way the customer writes its own name ("Celik" -> "Çelik");
- ``typo``: one or two slips (dropped, doubled, swapped or wrong letters);
- ``script``: the name in another script (Cyrillic or Greek letters for the Latin ones);
- ``missing``: website, contact e-mail, city and AWS account left empty.

Each perturbed pair's kind is written to the ground truth, so quality can be read per kind.
"""

from __future__ import annotations

import random
import string
import unicodedata

PERTURBATIONS = ("legal_form", "diacritics", "typo", "script", "missing")
HARD_RATE = 0.3
TWIN_SHARE = 0.05  # decoy customers (a known customer's name, another company), per customer

# Legal forms in other spellings and languages; matching must see through all of them.
_FORMS = (
    "Limited", "Ltd", "LLC", "Inc", "Incorporated", "Corporation", "GmbH", "AG", "S.A.", "SA",
    "S.r.l.", "Società a responsabilità limitata", "S.p.A.", "SARL", "SAS", "B.V.", "N.V.",
    "Oy", "AB", "A/S", "Sp. z o.o.", "Kft.", "s.r.o.", "Pty Ltd", "Co., Ltd.", "K.K.", "PLC",
    "Aktiengesellschaft", "Gesellschaft mit beschränkter Haftung", "Ltda.", "S.L.", "A.Ş.",
)  # fmt: skip
_ACCENTS = {
    "a": "áàâäãå", "c": "çć", "e": "éèêë", "i": "íìîïı", "n": "ñń", "o": "óòôöõø",
    "s": "şšś", "u": "úùûü", "y": "ýÿ", "z": "žźż", "g": "ğ", "l": "ł",
}  # fmt: skip
# Latin letter -> the letters a Russian or a Greek speaker would write for its sound, by their
# Unicode names (the letters themselves look like Latin ones in source code).
_CYRILLIC_NAMES = (
    "A BE TSE DE IE EF GHE HA I SHORT_I KA EL EM EN O PE KA ER ES TE U VE VE KA+ES YERU ZE"
)
_GREEK_NAMES = (
    "ALPHA BETA KAPPA DELTA EPSILON PHI GAMMA ETA IOTA IOTA KAPPA LAMDA MU NU OMICRON PI KAPPA "
    "RHO SIGMA TAU UPSILON BETA OMICRON+UPSILON XI UPSILON ZETA"
)


def _alphabet(script: str, letter_names: str) -> dict[str, str]:
    """Latin letter -> letters of ``script`` named in ``letter_names`` (one entry per letter)."""
    return {
        latin: "".join(
            unicodedata.lookup(f"{script} SMALL LETTER {part.replace('_', ' ')}")
            for part in name.split("+")
        )
        for latin, name in zip(string.ascii_lowercase, letter_names.split(), strict=True)
    }


_CYRILLIC = _alphabet("CYRILLIC", _CYRILLIC_NAMES)
_GREEK = _alphabet("GREEK", _GREEK_NAMES)


def choose(rng: random.Random, rate: float) -> str | None:
    """The perturbation of one record at ``rate``, or None to leave it as generated."""
    return rng.choice(PERTURBATIONS) if rate > 0 and rng.random() < rate else None


def company_name(rng: random.Random, kind: str, core: str, form: str) -> str:
    """The ACE company name of a customer ``core`` + ``form`` under perturbation ``kind``."""
    if kind == "legal_form":
        other = rng.choice([f for f in _FORMS if f != form])
        words = core.split()
        if len(words) > 1 and rng.random() < 0.3:
            return f"{''.join(w[0] for w in words).upper()} {other}"
        return f"{core} {other}"
    if kind == "diacritics":
        return f"{_accented(rng, core)} {form}"
    if kind == "typo":
        text = core
        for _ in range(rng.choice((1, 2))):
            text = typo(rng, text)
        return f"{text} {form}"
    if kind == "script":
        table = rng.choice((_CYRILLIC, _GREEK))
        return "".join(table.get(ch.lower(), ch) for ch in core).upper() + f" {form}"
    return f"{core} {form}"


def typo(rng: random.Random, text: str) -> str:
    """One typing slip in a word of four letters or more: drop, double, swap or replace."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) > 3]
    if not long_words:
        return text
    index = rng.choice(long_words)
    word = words[index]
    pos = rng.randrange(1, len(word) - 1)
    slip = rng.choice(("drop", "double", "swap", "replace"))
    if slip == "drop":
        word = word[:pos] + word[pos + 1 :]
    elif slip == "double":
        word = word[:pos] + word[pos] + word[pos:]
    elif slip == "swap":
        word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
    else:
        word = word[:pos] + rng.choice(string.ascii_lowercase) + word[pos + 1 :]
    words[index] = word
    return " ".join(words)


def _accented(rng: random.Random, text: str) -> str:
    """Accents on most letters that can carry one, as a Turkish or Polish spelling would."""
    marked = []
    for ch in text:
        if ch.lower() in _ACCENTS and rng.random() < 0.7:
            accent = rng.choice(_ACCENTS[ch.lower()])
            ch = accent.upper() if ch.isupper() else accent
        marked.append(ch)
    return "".join(marked)
