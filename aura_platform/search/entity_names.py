"""Company names and domains in the one spelling matching compares: any script, any legal form.

Two systems rarely spell a customer alike: "Şahin Çelik A.Ş." and "SAHIN CELIK", "Müller GmbH" and
"MULLER", "华星云计算有限公司" and "Huaxing...", "The Foxglove Foods & Co." and "Foxglove Foods".
``normalize_company_name`` transliterates to ASCII (``anyascii``), folds case, strips legal forms
in many languages (``cleanco``), "&"/"and", a leading "The", punctuation and spacing.
``clean_domain`` turns placeholders and domains that say nothing about who a customer is
(social networks, free mail, link shorteners) into None: a missing value, not evidence.

Both are pure functions of their text and are cached: a customer's name, city and country repeat
over its deals and both systems, and transliteration plus cleanco's legal-form scan cost about
0.2 ms a name, the largest part of reading the records for matching.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from anyascii import anyascii
from cleanco import basename

# Typed where a website or domain belongs when there is none.
_PLACEHOLDERS = frozenset(
    {"", "-", "--", ".", "n/a", "na", "n.a.", "none", "null", "nil", "unknown", "tbd", "tbc", "x"}
    | {"no website", "not available", "example.com", "localhost", "test", "www"}
)
# Hosts many unrelated customers share: equal values prove nothing about identity.
_SHARED_HOSTS = frozenset(
    {
        "linkedin.com", "facebook.com", "fb.com", "twitter.com", "x.com", "instagram.com",
        "youtube.com", "xing.com", "github.com", "medium.com", "wordpress.com", "wixsite.com",
        "blogspot.com", "sites.google.com", "google.com", "bit.ly", "linktr.ee",
        "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
        "icloud.com", "aol.com", "gmx.de", "web.de", "mail.ru", "yandex.ru", "qq.com",
        "163.com", "126.com", "proton.me", "protonmail.com",
    }
)  # fmt: skip
# Legal forms cleanco misses: written out in full, or in CJK script (stripped before
# transliteration, where 有限公司 would otherwise become the word "youxiangongsi").
_LONG_FORMS = (
    "gesellschaft mit beschrankter haftung", "gesellschaft mbh", "aktiengesellschaft",
    "societa a responsabilita limitata", "societa per azioni", "societe anonyme",
    "societe a responsabilite limitee", "societe par actions simplifiee", "sociedad anonima",
    "sociedad limitada", "sociedad de responsabilidad limitada", "public limited company",
    "private limited company", "private limited", "proprietary limited", "limited company",
    "limited liability company", "besloten vennootschap", "naamloze vennootschap",
    "kabushiki kaisha", "spolka z ograniczona odpowiedzialnoscia", "anonim sirketi",
    "limited sirketi", "corporation inc", "incorporated", "company limited",
)  # fmt: skip
_CJK_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "株式会社",
    "合同会社",
    "주식회사",
    "公司",
)
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_AND = re.compile(r"\s*(?:&|\+)\s*")
_HOST = re.compile(r"^[0-9a-z]([0-9a-z-]*[0-9a-z])?(\.[0-9a-z]([0-9a-z-]*[0-9a-z])?)+$")


_CACHED = 1 << 16  # distinct values kept per function: a few MB at most


@lru_cache(maxsize=_CACHED)
def normalize_company_name(name: str | None) -> str | None:
    """Lower-case ASCII words of a company name without legal form, "the", "and" or punctuation.

    Returns None for a name with no letters or digits left (a placeholder, not a name).
    """
    if name is None:
        return None
    text = name.strip()
    for form in _CJK_FORMS:
        text = text.removesuffix(form)
    text = anyascii(text).lower().strip()
    if text in _PLACEHOLDERS:
        return None
    text = _AND.sub(" and ", text)
    spaced = _NOT_WORD.sub(" ", text).strip()
    for form in _LONG_FORMS:
        if spaced.endswith(f" {form}"):
            text = spaced.removesuffix(form)
            break
    # cleanco strips one legal form per pass ("Foo Holdings Ltd. GmbH"): run until it settles.
    for _ in range(3):
        stripped = basename(text)
        if stripped == text or not _NOT_WORD.sub("", stripped):
            break
        text = stripped
    words = [w for w in _NOT_WORD.sub(" ", text).split() if w != "and"]
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    return " ".join(words) or None


@lru_cache(maxsize=_CACHED)
def clean_domain(value: str | None) -> str | None:
    """The registrable host of a website, e-mail domain or bare domain; None where it says nothing.

    Scheme, "www.", port, path and an e-mail's local part are dropped. Placeholders, values that
    are not host names, and hosts shared by unrelated customers (``_SHARED_HOSTS``) give None.
    """
    if value is None:
        return None
    text = anyascii(value).strip().lower()
    if text in _PLACEHOLDERS:
        return None
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    host = host.removeprefix("www.").rstrip(".")
    if host in _PLACEHOLDERS or not _HOST.match(host):
        return None
    if host in _SHARED_HOSTS or any(host.endswith(f".{shared}") for shared in _SHARED_HOSTS):
        return None
    return host
