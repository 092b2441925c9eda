"""Security type and issuer name from the free-text names that directories carry."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TYPE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("warrant", re.compile(r"\bwarrants?\b", re.I)),
    ("right", re.compile(r"\brights?\b", re.I)),
    ("unit", re.compile(r"\bunits?\b(?!.*\blimited partner)", re.I)),
    ("preferred", re.compile(r"\bpreferred\b|\bpfd\b|\bdepositary shares? representing .*preferred", re.I)),
    ("note", re.compile(r"\bnotes?\b|\bdebentures?\b|\bbonds? due\b|\bsenior .* due \d{4}", re.I)),
    ("adr", re.compile(r"american depositary|\bADS\b|\bADR\b|new york registry", re.I)),
    ("etn", re.compile(r"\bETNs?\b|exchange traded notes?", re.I)),
    ("etf", re.compile(r"\bETF\b|index fund\b|\bexchange[- ]traded fund", re.I)),
    ("fund", re.compile(r"\bfund\b|\btrust\b.*\bbeneficial interest\b|\bmunicipal\b", re.I)),
)


def infer_type(security_name: str | None, etf_flag: str | None = None) -> str:
    """``equity`` unless the name or the ETF flag says otherwise."""
    name = security_name or ""
    for typ, pat in _TYPE_RULES:
        if typ in ("etf", "etn") and (etf_flag or "").upper() == "Y":
            return "etn" if pat.search(name) and typ == "etn" else "etf"
        if pat.search(name):
            return typ
    return "etf" if (etf_flag or "").upper() == "Y" else "equity"


# Where a company name stops and a description of one of its securities begins.
_DESCRIPTOR = re.compile(
    r"\s+(?:-\s+)?(?:common stock|common shares?|ordinary shares?|class [a-z]\b|series [a-z0-9]+\b|"
    r"american depositary|depositary|units?\b|warrants?\b|rights?\b|\d[\d.,/]*\s*%|\$\d|preferred|"
    r"cumulative|senior notes?|notes due|subordinated|shares of beneficial|common units|"
    r"limited partner|new york registry|sponsored adr|unsponsored adr|adr\b|ads\b|\(the\)).*$",
    re.I,
)


@lru_cache(maxsize=1 << 19)
def issuer_name(company_name: str | None) -> str | None:
    """The company part of a directory name: ``Alcoa Inc. $3.75 Preferred Stock`` -> ``Alcoa Inc.``."""
    if not company_name:
        return None
    n = _DESCRIPTOR.sub("", company_name.strip()).strip(" ,-")
    return n or company_name.strip()


_LEGAL = {
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "plc", "llc", "lp",
    "l", "p", "sa", "ag", "nv", "se", "the", "holding", "holdings", "group", "trust", "de", "cv", "ab",
    "asa", "spa", "bhd", "tbk", "pt", "pcl", "kgaa", "gmbh", "sab", "oyj", "as", "a", "s", "new",
}


@lru_cache(maxsize=1 << 19)
def norm_name(name: str | None) -> str:
    """A name reduced for matching: no accents, punctuation, legal forms or security descriptors."""
    if not name:
        return ""
    n = issuer_name(name) or ""
    n = unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode().lower()
    n = n.replace("&", " and ")
    toks = [t for t in re.split(r"[^a-z0-9]+", n) if t and t not in _LEGAL]
    return " ".join(toks)


def _initialism(token: str, words: list[str]) -> bool:
    """``token`` spells the initials of the leading ``words`` (allowing one extra trailing letter)."""
    if len(words) < 2 or not token.isalpha() or len(token) > 5:
        return False
    initials = "".join(w[0] for w in words[: len(token)])
    return len(initials) >= 2 and token[: len(initials)] == initials and len(token) - len(initials) <= 1


def _abbreviation(ta: list[str], tb: list[str]) -> bool:
    """Venue-abbreviated names: ``IMP OIL`` / ``Imperial Oil``, ``EL ARTS DL 01`` / ``Electronic Arts``."""
    wa = [t for t in ta if t.isalpha()][:2]
    wb = [t for t in tb if t.isalpha()][:2]
    n = min(len(wa), len(wb))
    if n < 2 or min(len(wa[0]), len(wb[0])) < 2:
        return False
    return all(x.startswith(y) or y.startswith(x) for x, y in zip(wa[:n], wb[:n]))


def same_entity_name(a: str | None, b: str | None) -> bool:
    """Do two names (of one ticker at two dates) plausibly belong to the same company?

    True for renames that keep the brand (``Adobe Systems Incorporated`` -> ``Adobe Inc.``), for truncated
    names (``Coca`` -> ``Coca-Cola Consolidated``) and for spelling noise; false for a different company that
    took over the ticker (``Arlington Asset Investment Corp`` -> ``C3.ai, Inc.``).
    """
    from rapidfuzz import fuzz

    na, nb = norm_name(a), norm_name(b)
    if not na or not nb:
        return True  # nothing to contradict
    if na == nb or na.startswith(nb) or nb.startswith(na):
        return True
    ta, tb = na.split(), nb.split()
    if ta[0] == tb[0] and len(ta[0]) >= 3:
        return True
    # initialisms: "IES Holdings" / "Integrated Electrical Services", "CF Bankshares" / "Central Federal",
    # "ATI Inc." / "Allegheny Technologies"
    if _initialism(ta[0], tb) or _initialism(tb[0], ta):
        return True
    if _abbreviation(ta, tb):
        return True
    return fuzz.token_set_ratio(na, nb) >= 85
