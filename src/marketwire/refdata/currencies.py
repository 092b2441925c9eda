"""ISO 4217 currencies, with the countries that use each, from the ``iso4217`` package.

``iso4217`` ships the maintenance agency's (SIX) "List One" XML, the same file ``marketwire ingest iso4217``
reads, and is republished with every edition of the list; ``pycountry``'s currency table lacks the countries.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple


class Currency(NamedTuple):
    code: str
    numeric: str | None
    name: str | None
    minor_units: int | None
    countries: tuple[str, ...]  # the list's own spelling (``GERMANY``, ``UNITED STATES OF AMERICA (THE)``)


@lru_cache(maxsize=1)
def currencies() -> Mapping[str, Currency]:
    """ISO 4217 code -> currency, as the installed ``iso4217`` publishes it."""
    import iso4217

    out = {}
    for c in iso4217.Currency:
        out[c.code] = Currency(c.code, f"{c.number:03d}" if c.number is not None else None, c.currency_name,
                               c.exponent, tuple(sorted(c.country_names)))
    return MappingProxyType(out)


def edition() -> str:
    """The publication date of the list the installed ``iso4217`` carries (``2026-01-01``)."""
    import iso4217

    return str(iso4217.__published__)
