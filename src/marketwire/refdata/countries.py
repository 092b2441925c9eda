"""ISO 3166-1 countries from ``pycountry`` (the Debian iso-codes data), and the names data sources use for them.

:func:`country_codes` maps an upper-case country name to its alpha-2 code, in the spellings the master meets:
ISO names, official and common names, alpha-3 codes, the part before a comma (``KOREA`` for ``Korea, Republic
of``), the everyday English names of :data:`COUNTRY_ALIASES`, and the country names of the ISO 4217 list
(``UNITED STATES OF AMERICA (THE)``), so that a currency's countries resolve to codes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Final, NamedTuple

from marketwire.refdata.currencies import currencies

#: Everyday English names that ISO 3166 spells otherwise (data sources use these)
COUNTRY_ALIASES: Final = MappingProxyType({
    "UNITED STATES": "US", "USA": "US", "UNITED KINGDOM": "GB", "UK": "GB", "SOUTH KOREA": "KR",
    "KOREA": "KR", "TAIWAN": "TW", "RUSSIA": "RU", "IRAN": "IR", "VIETNAM": "VN", "CZECH REPUBLIC": "CZ",
    "BOLIVIA": "BO", "VENEZUELA": "VE", "TANZANIA": "TZ", "MOLDOVA": "MD", "MACAU": "MO", "MACAO": "MO",
    "HONG KONG": "HK", "NETHERLANDS": "NL", "TURKEY": "TR", "SYRIA": "SY", "LAOS": "LA",
    "BRITISH VIRGIN ISLANDS": "VG", "CAYMAN ISLANDS": "KY", "IVORY COAST": "CI", "EUROPEAN UNION": "EU",
})


class Country(NamedTuple):
    alpha2: str
    alpha3: str
    numeric: str
    name: str
    official_name: str | None


@lru_cache(maxsize=1)
def countries() -> Mapping[str, Country]:
    """Alpha-2 -> the ISO 3166-1 country, as the installed ``pycountry`` publishes it."""
    import pycountry

    out = {}
    for c in pycountry.countries:
        official = getattr(c, "official_name", None) or getattr(c, "common_name", None)
        out[c.alpha_2] = Country(c.alpha_2, c.alpha_3, c.numeric, c.name, official)
    return MappingProxyType(out)


@lru_cache(maxsize=1)
def _iso_names() -> Mapping[str, str]:
    """Upper-case name -> alpha-2 from ISO 3166 alone, in the way a lake's ``countries`` table is read: every
    full name (name, official name, common name, alpha-3) wins over a short form (the part before a comma)."""
    import pycountry

    full: dict[str, str] = {}
    short: dict[str, str] = {}
    for c in pycountry.countries:
        for n in (c.name, getattr(c, "official_name", None), getattr(c, "common_name", None), c.alpha_3):
            if n:
                full[n.upper()] = c.alpha_2
                short.setdefault(n.split(",")[0].upper(), c.alpha_2)
    return MappingProxyType(short | full)


def _fold(name: str) -> str:
    """Upper case without accents, dotted capitals or typographic apostrophes (``TÜRKİYE`` -> ``TURKIYE``)."""
    s = unicodedata.normalize("NFKD", name.replace("’", "'"))
    return "".join(ch for ch in s if not unicodedata.combining(ch)).upper().strip()


@lru_cache(maxsize=1)
def _folded() -> Mapping[str, str]:
    """Folded name -> alpha-2, with the part before a parenthesis too (``HOLY SEE`` for ``Holy See (Vatican City
    State)``), for the resolver only."""
    out = {_fold(n): a2 for n, a2 in (_iso_names() | COUNTRY_ALIASES).items()}
    for n, a2 in list(out.items()):
        if "(" in n:
            out.setdefault(n.split("(")[0].strip(), a2)
    return MappingProxyType(out)


def _resolve(name: str) -> str | None:
    """An ISO 3166 name in any of the usual spellings -> alpha-2 (None for names of no country)."""
    n = _fold(name)
    if len(n) == 2 and n.isalpha():
        return n
    table = _folded()
    n = re.sub(r"\s*\[(.*)\]", r" (\1)", n)           # FALKLAND ISLANDS (THE) [MALVINAS]
    candidates = [n, re.sub(r"\s*\(THE\)", "", n)]     # BAHAMAS (THE)
    base = candidates[-1]
    m = re.fullmatch(r"(.+?)\s*\((?:THE\s+)?(.+)\)", base)  # KOREA (THE REPUBLIC OF) -> KOREA, REPUBLIC OF
    if m:
        candidates += [f"{m.group(1)}, {m.group(2)}", f"{m.group(1)}, THE {m.group(2)}"]
    for c in candidates:
        if c in table:
            return table[c]
    return None


@lru_cache(maxsize=1)
def country_codes() -> Mapping[str, str]:
    """Upper-case country name -> ISO 3166-1 alpha-2 (see the module docstring for the spellings)."""
    out = dict(_iso_names())
    for alias, code in COUNTRY_ALIASES.items():
        out.setdefault(alias, code)
    for cur in currencies().values():
        for n in cur.countries:
            found = _resolve(n)
            if found:
                out.setdefault(n.upper(), found)
    return MappingProxyType(out)


def country_code(name: str | None) -> str | None:
    """A country name, alpha-2 or alpha-3 code -> alpha-2 (``France`` -> ``FR``, ``DEU`` -> ``DE``), or None."""
    if not name or not name.strip():
        return None
    n = name.strip().upper()
    if len(n) == 2 and n.isalpha():
        return n
    return country_codes().get(n) or _resolve(n)


@lru_cache(maxsize=1)
def currency_countries() -> Mapping[str, frozenset[str]]:
    """ISO 4217 code -> alpha-2 codes of the countries (and ``EU``) that use it; entries of no country (funds,
    metals, the IMF) are left out."""
    out = {}
    for code, cur in currencies().items():
        out[code] = frozenset(c for c in (country_code(n) for n in cur.countries) if c)
    return MappingProxyType(out)
