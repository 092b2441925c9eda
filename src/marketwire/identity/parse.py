"""Reading what a user typed as an identifier: which scheme it can be, and whether it is well formed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from marketwire.errors import InvalidInput
from marketwire.verify.identifiers import check

OWN = re.compile(r"^MW[ISL][0-9A-Z]{10}$")
ISIN = re.compile(r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$")
FIGI = re.compile(r"^[B-DF-HJ-NP-TV-Z0-9]{2}G[B-DF-HJ-NP-TV-Z0-9]{8}[0-9]$")
CUSIP = re.compile(r"^[0-9]{3}[0-9A-Z]{5}[0-9]$")


@dataclass(frozen=True)
class Parsed:
    value: str
    schemes: tuple[str, ...] | None  # None: any scheme
    checked: str | None = None  # the scheme whose check the value must pass, if it looks like one
    bare_ticker: bool = False


def parse(text: str) -> Parsed:
    s = (text or "").strip()
    if not s:
        raise InvalidInput("`id`: empty identifier", param="id")
    u = s.upper()
    if OWN.match(u):
        return Parsed(u, ("own",))
    if ":" in u:
        scheme, _, v = u.partition(":")
        scheme = scheme.lower()
        if scheme == "cik":
            return Parsed(v.lstrip("0") or "0", ("cik",), "cik")
        if scheme in ("isin", "cusip", "figi", "lei"):
            schemes = ("figi", "composite_figi", "shareclass_figi") if scheme == "figi" else (scheme,)
            return Parsed(v, schemes, scheme)
        if scheme in ("ticker", "symbol", "yahoo"):
            return Parsed(v, ("ticker", "symbol"), None, "@" not in v)
        raise InvalidInput(f"`id`: unknown scheme {scheme!r} (use isin:, cusip:, figi:, lei:, cik:, ticker:)",
                           param="id")
    if "@" in u:
        return Parsed(u, ("ticker_mic",))
    if ISIN.match(u) and not u.startswith("BBG"):
        return Parsed(u, ("isin",), "isin")
    if FIGI.match(u) and u[:2] not in ("BS", "BM", "GG", "GB", "GH", "KY", "VG"):
        return Parsed(u, ("figi", "composite_figi", "shareclass_figi"), "figi")
    if CUSIP.match(u) and any(c.isdigit() for c in u[3:]):
        return Parsed(u, None, "cusip")
    return Parsed(u, ("ticker", "symbol"), None, bare_ticker="." not in u and "-" not in u)


def problem(p: Parsed) -> str | None:
    """The rule a value that looks like a checked identifier breaks."""
    if p.checked is None:
        return None
    return check(p.checked, p.value)
