"""Reference data that is always there, whatever was ingested: venues, countries, currencies.

The bottom layer beside :mod:`marketwire.errors` and :mod:`marketwire.config`: it imports no other marketwire
package, so that sources, verification, identity, prices and news may all use it.

- :mod:`~marketwire.refdata.venues`: the US venues (:data:`US_MICS`, :data:`US_MIC_PREFERENCE`,
  :data:`US_MIC_RANK`, :data:`DEFAULT_MICS`), defined once.
- :mod:`~marketwire.refdata.mics`: ISO 10383 MICs, a compact copy of the official list shipped with the package.
- :mod:`~marketwire.refdata.countries`: ISO 3166-1 from ``pycountry``, and the names data sources give countries.
- :mod:`~marketwire.refdata.currencies`: ISO 4217 with the countries using each currency, from ``iso4217``.

Tables load on first use and are cached; importing this package reads nothing. A lake's ``exchanges``,
``countries`` and ``currencies`` tables (``marketwire ingest mic|iso3166|iso4217``) overlay them where the
master is built: :mod:`marketwire.identity.reference`.
"""

from __future__ import annotations

from marketwire.refdata.countries import (
    COUNTRY_ALIASES,
    Country,
    countries,
    country_code,
    country_codes,
    currency_countries,
)
from marketwire.refdata.currencies import Currency, currencies
from marketwire.refdata.mics import Mic, mic_countries, mics
from marketwire.refdata.venues import DEFAULT_MICS, US_MIC_PREFERENCE, US_MIC_RANK, US_MICS

__all__ = [
    "COUNTRY_ALIASES", "DEFAULT_MICS", "US_MICS", "US_MIC_PREFERENCE", "US_MIC_RANK",
    "Country", "Currency", "Mic",
    "countries", "country_code", "country_codes", "currencies", "currency_countries", "mic_countries", "mics",
]
