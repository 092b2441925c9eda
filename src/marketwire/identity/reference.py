"""The reference lists the master is built with: the shipped tables overlaid with what the lake holds.

The shipped tables (:mod:`marketwire.refdata`: ISO 10383 MICs, ISO 3166 countries, ISO 4217 currencies) are
always there, so that the rules that need them (``isin.country_mismatch``, ``listing.unknown_mic``, placing a
venue-less listing in its country) work in a lake into which no reference list was ingested. Ingesting one
(``marketwire ingest mic|iso3166|iso4217 FILE``) refreshes them: a row of the lake's ``exchanges``, ``countries``
or ``currencies`` table wins over the shipped row with the same key, and rows only the shipped tables know stay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketwire import refdata
from marketwire.datasets import reference as R
from marketwire.identity.build import Context

if TYPE_CHECKING:
    from marketwire.store import Lake


def context(lake: Lake) -> Context:
    """The :class:`~marketwire.identity.build.Context` for building the master of ``lake``."""
    ctx = Context(mic_country=dict(refdata.mic_countries()), country_codes=dict(refdata.country_codes()),
                  currency_countries={k: set(v) for k, v in refdata.currency_countries().items()})
    if lake.exists(R.EXCHANGES):
        t = lake.read(R.EXCHANGES, columns=["mic", "country"]).to_pylist()
        ctx.mic_country.update({r["mic"]: r["country"] for r in t if r["country"]})
    if lake.exists(R.COUNTRIES):
        for r in lake.read(R.COUNTRIES).to_pylist():
            for n in (r["name"], r["official_name"], r["alpha3"]):
                if n:
                    ctx.country_codes[n.upper()] = r["alpha2"]
                    short = n.split(",")[0].upper()
                    ctx.country_codes.setdefault(short, r["alpha2"])
        for alias, code in refdata.COUNTRY_ALIASES.items():
            ctx.country_codes.setdefault(alias, code)
    if lake.exists(R.CURRENCIES):
        for r in lake.read(R.CURRENCIES).to_pylist():
            ctx.currency_countries[r["code"]] = {c for c in (ctx.country(n) for n in r["countries"] or []) if c}
    return ctx


def known_mics(lake: Lake) -> set[str]:
    """Every MIC the shipped ISO 10383 list or the lake's ``exchanges`` table knows (for ``listing.unknown_mic``)."""
    known = set(refdata.mics())
    if lake.exists(R.EXCHANGES):
        known.update(m for m in lake.read(R.EXCHANGES, columns=["mic"]).column("mic").to_pylist() if m)
    return known
