"""Resolution of an identifier over a lookup index: what ``id`` names on a date, each match described.

One logic for every index with the lookup interface of :class:`marketwire.identity.hot.HotIndex` (``lookup``,
``exists_any``, ``one``, ``listings_of``, ``securities_of``, ``ids_of``, ``flags_of``): the in-memory hot index of a
server and the memory-mapped point index a command reads cold (:mod:`marketwire.identity.point`). Our own ids
(merges, provisional listings) are the identity service's; this module needs nothing beyond the standard library
and the identifier checks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from marketwire.errors import Ambiguous, InvalidIdentifier, NotFound
from marketwire.identity.parse import Parsed, problem
from marketwire.refdata import DEFAULT_MICS

Match = dict[str, Any]


class Resolver:
    """``hot()`` returns the index to answer from (called per query: a server swaps it); ``empty_hint()`` what a
    "not found" adds when the master is empty."""

    def __init__(self, hot: Callable[[], Any], empty_hint: Callable[[], str]) -> None:
        self.hot, self.empty_hint = hot, empty_hint

    def resolve(self, p: Parsed, id: str, when: date) -> list[Match]:
        """What the parsed identifier ``p`` (as typed: ``id``) named on ``when``: one match, or
        :class:`Ambiguous` with the candidates; :class:`NotFound`, :class:`InvalidIdentifier`."""
        hot = self.hot()
        rows = hot.lookup(p.value, when, p.schemes)
        if not rows and p.checked:
            rule = problem(p)
            if rule:
                raise InvalidIdentifier(f"`id`: {id} is not a valid {p.checked.upper()} ({rule})", param="id",
                                        rule=rule, value=id)
        suspect = [r for r in rows if r["scheme"] in ("isin", "cusip") and
                   set(r["flags"] or ()) & {"isin.country_mismatch", "isin.multiple_issuers", "cusip.multiple_issuers"}]
        if suspect and len(suspect) < len(rows):
            # the clean holder of an ISIN or CUSIP wins over records that carry it by mistake (they stay flagged)
            rows = [r for r in rows if r not in suspect]
        if not rows and p.schemes and "ticker" in p.schemes and p.value.isdigit():
            rows = hot.lookup(p.value.lstrip("0") or "0", when, ("cik",))
        if not rows:
            known = hot.exists_any(p.value)
            raise NotFound(f"{id!r} names nothing known on {when.isoformat()}"
                           + (" (it is known at other dates; try another as_of)" if known else self.empty_hint()),
                           param="id", value=id, as_of=when.isoformat())
        matches = self.matches(rows, when)
        if len(matches) > 1 and p.bare_ticker:
            home = [m for m in matches if m.get("mic") in DEFAULT_MICS]
            if len(home) == 1:
                matches = home
        if len(matches) > 1:
            raise Ambiguous(f"{id!r} names {len(matches)} instruments on {when.isoformat()}; "
                            "qualify it (ticker@MIC, ISIN) or pick a candidate", param="id",
                            candidates=matches)
        return matches

    def matches(self, rows: list[dict[str, Any]], when: date) -> list[Match]:
        out: dict[tuple[str | None, str | None], Match] = {}
        hot = self.hot()
        for r in rows:
            kind, ident = r["entity_kind"], r["entity_id"]
            if kind == "listing":
                lst = hot.one("listings", ident)
                if lst is None:
                    continue
                m = self.describe(lst["security_id"], lst, when)
            elif kind == "security":
                m = self.describe(ident, None, when)
            else:
                for sid in hot.securities_of(ident):
                    d = self.describe(sid, None, when)
                    if d:
                        d["matched_by"] = r["scheme"]
                        out[(d["security_id"], None)] = d
                continue
            if m:
                m["matched_by"] = r["scheme"]
                out[(m["security_id"], m["listing_id"])] = m
        # a security-level match makes its listing-level matches redundant
        secs_only = {s for s, l in out if l is None}
        return [m for (s, l), m in out.items() if l is None or s not in secs_only]

    def describe(self, security_id: str, listing: dict[str, Any] | None, when: date) -> Match | None:
        hot = self.hot()
        sec = hot.one("securities", security_id)
        if sec is None:
            return None
        iss = hot.one("issuers", sec["issuer_id"]) or {}
        cols = ("listing_id", "ticker", "mic", "currency", "status", "valid_from", "valid_to")
        lst_rows = [{c: r[c] for c in cols} for r in hot.listings_of(security_id)]
        entity_ids = [security_id, sec["issuer_id"]] + ([listing["listing_id"]] if listing else [])
        ids = hot.ids_of(entity_ids, when)
        identifiers: dict[str, str] = {}
        for r in ids:
            if r["scheme"] in ("name", "symbol"):
                continue
            identifiers.setdefault(r["scheme"], r["value"])
        names = [r["value"] for r in ids if r["scheme"] == "name"]
        live = [lr for lr in lst_rows if (lr["valid_from"] is None or lr["valid_from"] <= when)
                and (lr["valid_to"] is None or lr["valid_to"] > when)]
        for lr in live:
            tick = [r["value"] for r in hot.ids_of([lr["listing_id"]], when) if r["scheme"] == "ticker"]
            if tick:
                lr["ticker"] = tick[0]
            lr["status"] = "active"  # live on the as-of date
        flag_ids = entity_ids + ([lr["listing_id"] for lr in lst_rows] if listing is None else [])
        status = listing["status"] if listing else sec["status"]
        if listing and listing["valid_to"] is not None and listing["valid_to"] <= when:
            status = "delisted"
        elif listing:
            status = "active" if listing["valid_to"] is None or listing["valid_to"] > when else listing["status"]
        return {
            "issuer_id": sec["issuer_id"], "security_id": security_id,
            "listing_id": listing["listing_id"] if listing else None,
            "name": names[0] if names and listing else (sec["name"] or iss.get("name")),
            "issuer_name": iss.get("name"), "type": sec["type"], "status": status,
            "ticker": identifiers.get("ticker"), "mic": listing["mic"] if listing else None,
            "currency": listing["currency"] if listing else None, "country": iss.get("country"),
            "identifiers": identifiers, "listings": live, "flags": hot.flags_of(flag_ids),
            "valid_from": listing["valid_from"] if listing else sec["valid_from"],
            "valid_to": listing["valid_to"] if listing else sec["valid_to"],
        }
