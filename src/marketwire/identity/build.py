"""Derive the securities master (issuers, securities, listings, identifiers, flags, index membership)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from marketwire.identity.ids import Registry
from marketwire.identity.lineage import Lineage, build_lineages
from marketwire.refdata import US_MICS
from marketwire.sources.classify import issuer_name, norm_name, same_entity_name
from marketwire.verify.rules import RULES

#: ISIN prefixes that name no country (international, EU) and so contradict nothing
NEUTRAL_ISIN = {"XS", "EU", "XC", "XD", "XF", "QS", "QT"}
#: Places of incorporation chosen for law or tax, routinely unlike the headquarters country that data sources
#: give as "the issuer's country": a Cayman ISIN on a Chinese company is normal, not a copied identifier
OFFSHORE_ISIN = {"KY", "BM", "VG", "JE", "GG", "IM", "CW", "PA", "MH", "LR", "BS", "GI", "MU", "AN"}


@dataclass
class Context:
    """Reference lists the consistency rules need."""

    mic_country: dict[str, str] = field(default_factory=dict)
    country_codes: dict[str, str] = field(default_factory=dict)  # upper-case name -> alpha2
    currency_countries: dict[str, set[str]] = field(default_factory=dict)  # ISO 4217 -> alpha2s

    def country(self, name: str | None) -> str | None:
        if not name:
            return None
        n = name.strip().upper()
        if len(n) == 2 and n.isalpha():
            return n
        return self.country_codes.get(n)


@dataclass
class Master:
    issuers: list[dict[str, Any]]
    securities: list[dict[str, Any]]
    listings: list[dict[str, Any]]
    identifiers: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    registry_new: list[tuple[str, str, str]]


class _UF:
    def __init__(self) -> None:
        self.p: dict[int, int] = {}

    def find(self, a: int) -> int:
        self.p.setdefault(a, a)
        while self.p[a] != a:
            self.p[a] = self.p[self.p[a]]
            a = self.p[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.p[max(ra, rb)] = min(ra, rb)


def _flag(out: list[dict[str, Any]], kind: str, ident: str, rule: str, fld: str, value: str, msg: str) -> None:
    out.append({"entity_kind": kind, "entity_id": ident, "rule": rule, "field": fld, "value": value, "message": msg})


def isin_suspect(isin: str, lin: Lineage, ctx: Context, issuer: str | None) -> bool:
    """The ISIN's country contradicts the venue, the issuer's country and the currency all at once.

    ``issuer`` is the country most records carrying this ISIN give (one row's country is often the venue's).
    """
    prefix = isin[:2]
    if prefix in NEUTRAL_ISIN or prefix in OFFSHORE_ISIN or issuer is None:
        return False  # without an issuer country nothing is contradicted on the issuer side
    venue = ctx.mic_country.get(lin.mic or "")
    ccy = ctx.currency_countries.get(lin.attrs.get("currency") or "", set())
    if venue is None and issuer is None and not ccy:
        return False
    return prefix != venue and prefix != issuer and prefix not in ccy


def build_master(observations: list[dict[str, Any]], registry: Registry, ctx: Context) -> Master:
    lineages = sorted(build_lineages(observations), key=lambda x: (x.valid_from, x.mic or "", x.ticker))
    flags: list[dict[str, Any]] = []
    # -- listings ---------------------------------------------------------------------------------
    claimed: set[str] = set()
    lid: dict[int, str] = {}
    for i, lin in enumerate(lineages):
        lid[i] = registry.assign("listing", lin.obs_keys, claimed)
    # -- securities: one per lineage, merged by a shared clean ISIN and by venue moves ---------------
    uf = _UF()
    pos = {id(lin): i for i, lin in enumerate(lineages)}
    by_isin: dict[str, list[int]] = defaultdict(list)
    suspect: dict[int, str] = {}
    isin_country: dict[str, Counter[str]] = defaultdict(Counter)
    for lin in lineages:
        c, isin = ctx.country(lin.attrs.get("country")), lin.latest("isin")
        if isin and c:
            isin_country[isin][c] += 1
    for i, lin in enumerate(lineages):
        uf.find(i)
        if lin.predecessor is not None and id(lin.predecessor) in pos:
            uf.union(i, pos[id(lin.predecessor)])
        isin = lin.latest("isin")
        if isin:
            votes = isin_country.get(isin)
            if isin_suspect(isin, lin, ctx, votes.most_common(1)[0][0] if votes else None):
                suspect[i] = isin
                _flag(flags, "listing", lid[i], "isin.country_mismatch", "isin", isin,
                      f"ISIN prefix {isin[:2]} contradicts venue {lin.mic} "
                      f"({ctx.mic_country.get(lin.mic or '', '?')}), issuer country "
                      f"{votes.most_common(1)[0][0] if votes else '?'} and currency "
                      f"{lin.attrs.get('currency') or '?'}")
            else:
                by_isin[isin].append(i)
    for isin, members in by_isin.items():
        names = Counter(norm_name(lineages[m].name) for m in members)
        major = names.most_common(1)[0][0]
        for m in members:
            if not same_entity_name(lineages[m].name, major):
                _flag(flags, "listing", lid[m], "isin.multiple_issuers", "isin", isin,
                      f"ISIN {isin} is also claimed by {major!r}, which the names say is another issuer")
            else:
                uf.union(members[0], m)
    figi_users: dict[str, list[int]] = defaultdict(list)
    for i, lin in enumerate(lineages):
        f = lin.latest("figi")
        if f and lin.valid_to is None:
            figi_users[f].append(i)
        if f and f in (lin.latest("composite_figi"), lin.latest("shareclass_figi")) and \
                lin.latest("composite_figi") != lin.latest("shareclass_figi"):
            _flag(flags, "listing", lid[i], "figi.role_mismatch", "figi", f,
                  "the exchange-level FIGI equals the composite or share-class FIGI of the same record")
    for f, users in figi_users.items():
        if len(users) > 1:
            for u in users:
                _flag(flags, "listing", lid[u], "figi.shared", "figi", f,
                      f"FIGI {f} is given to {len(users)} listings: "
                      + ", ".join(f"{lineages[x].ticker}@{lineages[x].mic}" for x in users[:5]))
    # -- issuers over lineages: CIK, LEI, company name, and everything one security holds ----------------
    ikeys = {i: _issuer_keys(lin) for i, lin in enumerate(lineages)}
    iuf = _UF()
    by_key: dict[str, int] = {}
    for i in range(len(lineages)):
        iuf.find(i)
        iuf.union(i, uf.find(i))
        for ek in ikeys[i]:
            if ek in by_key:
                iuf.union(by_key[ek], i)
            else:
                by_key[ek] = i
    _merge_home_lines(lineages, uf, iuf, suspect, ctx)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(lineages)):
        groups[uf.find(i)].append(i)
    sec_of: dict[int, str] = {}
    securities: list[dict[str, Any]] = []
    sec_members: dict[str, list[int]] = {}
    sclaimed: set[str] = set()
    for root in sorted(groups, key=lambda r: min(lineages[m].valid_from for m in groups[r])):
        members = groups[root]
        lins = [lineages[m] for m in members]
        isins = [lin.latest("isin") for m, lin in zip(members, lins) if lin.latest("isin") and m not in suspect]
        keys = [f"isin:{x}" for x in dict.fromkeys(isins)] + [f"listing:{lid[m]}" for m in members]
        sid = registry.assign("security", keys, sclaimed)
        for m in members:
            sec_of[m] = sid
        sec_members[sid] = members
        securities.append(_security(sid, lins, isins, ctx))
    registry.record_merges("security", sclaimed)
    _shared_identifiers(securities, sec_members, lineages, flags)
    igroups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sec in securities:
        igroups[iuf.find(sec_members[sec["security_id"]][0])].append(sec)
    sec_lins = {sid: [lineages[m] for m in ms] for sid, ms in sec_members.items()}
    issuers: list[dict[str, Any]] = []
    iclaimed: set[str] = set()
    for root in sorted(igroups, key=lambda r: min(s["valid_from"] for s in igroups[r])):
        secs = igroups[root]
        lins = [lin for s in secs for lin in sec_lins[s["security_id"]]]
        keys = sorted({ek for s in secs for m in sec_members[s["security_id"]] for ek in ikeys[m]
                       if ek.startswith(("cik:", "lei:"))})
        keys += [f"security:{s['security_id']}" for s in secs]
        iid = registry.assign("issuer", keys, iclaimed)
        for s in secs:
            s["issuer_id"] = iid
        issuers.append(_issuer(iid, lins, secs, ctx))
    registry.record_merges("issuer", iclaimed)
    registry.record_merges("listing", claimed)
    # -- listings and identifiers -----------------------------------------------------------------
    listings: list[dict[str, Any]] = []
    identifiers: list[dict[str, Any]] = []
    flagged: dict[str, set[str]] = defaultdict(set)
    for fl in flags:
        flagged[fl["entity_id"]].add(fl["rule"])
    for m, lin in enumerate(lineages):
        L = lid[m]
        for code in sorted(lin.flags):
            msg = "created from a source that names no venue" if code == "listing.provisional" else \
                f"a record of this listing was flagged: {RULES[code].description}" if code in RULES else code
            _flag(flags, "listing", L, code, code.split(".")[0], lin.ticker, msg)
            flagged[L].add(code)
        listings.append({
            "listing_id": L, "security_id": sec_of[m], "ticker": lin.ticker, "mic": lin.mic,
            "currency": lin.attrs.get("currency"), "name": lin.name, "status": lin.status,
            "valid_from": lin.valid_from, "valid_to": lin.valid_to, "first_seen": lin.first_seen,
            "last_seen": lin.last_seen, "provisional": lin.provisional,
        })
        identifiers.extend(_listing_identifiers(L, lin, sorted(flagged[L])))
    for s in securities:
        id_flags = s.pop("id_flags", {})
        for scheme in ("isin", "cusip", "shareclass_figi"):
            if s.get(scheme):
                identifiers.append(_ident("security", s["security_id"], scheme, s[scheme], s["valid_from"],
                                          s["valid_to"], id_flags.get(scheme, [])))
    for m, isin in suspect.items():
        identifiers.append(_ident("listing", lid[m], "isin", isin, lineages[m].valid_from,
                                  lineages[m].valid_to, ["isin.country_mismatch"]))
    for iss in issuers:
        for scheme in ("cik", "lei"):
            if iss.get(scheme):
                identifiers.append(_ident("issuer", iss["issuer_id"], scheme, iss[scheme], iss["valid_from"],
                                          iss["valid_to"], []))
    _cik_conflicts(issuers, flags)
    return Master(issuers, securities, listings, identifiers, flags, registry.new)


def _merge_home_lines(lineages: list[Lineage], uf: _UF, iuf: _UF, suspect: dict[int, str], ctx: Context) -> None:
    """An issuer's common stock seen without an ISIN (a symbol directory) joins the issuer's one common-stock
    ISIN of the venue's country (AAPL@XNAS from Nasdaq Trader and US0378331005 from FinanceDatabase)."""
    by_issuer: dict[int, list[int]] = defaultdict(list)
    for i in range(len(lineages)):
        by_issuer[iuf.find(i)].append(i)
    for members in by_issuer.values():
        if len(members) < 2:
            continue
        homes: dict[str, set[int]] = defaultdict(set)
        for m in members:
            isin = lineages[m].latest("isin")
            if isin and m not in suspect and lineages[m].attrs.get("type") == "equity":
                homes[isin[:2]].add(uf.find(m))
        if not homes:
            continue
        for m in members:
            lin = lineages[m]
            if lin.latest("isin") or lin.attrs.get("type") != "equity" or not lin.mic:
                continue
            roots = homes.get(ctx.mic_country.get(lin.mic, ""), set())
            if len(roots) == 1:
                uf.union(m, next(iter(roots)))


def _shared_identifiers(securities: list[dict[str, Any]], members: dict[str, list[int]], lineages: list[Lineage],
                        flags: list[dict[str, Any]]) -> None:
    """An ISIN or CUSIP held by several securities whose names say they are unrelated issuers: the holders
    other than the one most listings agree on are flagged, and their identifier carries the flag."""
    for sec in securities:
        isin, cusip = sec.get("isin"), sec.get("cusip")
        if isin and cusip and isin[:2] in ("US", "CA") and isin[2:11] != cusip:
            _flag(flags, "security", sec["security_id"], "isin.cusip_mismatch", "cusip", cusip,
                  f"ISIN {isin} embeds CUSIP {isin[2:11]}, but the CUSIP given is {cusip}")
    for scheme in ("isin", "cusip"):
        holders: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for sec in securities:
            if sec.get(scheme):
                holders[sec[scheme]].append(sec)
        for value, secs in holders.items():
            if len(secs) < 2:
                continue
            main = max(secs, key=lambda x: len(members[x["security_id"]]))
            for sec in secs:
                if sec is not main and not same_entity_name(sec["name"], main["name"]):
                    sec.setdefault("id_flags", {}).setdefault(scheme, []).append(f"{scheme}.multiple_issuers")
                    _flag(flags, "security", sec["security_id"], f"{scheme}.multiple_issuers", scheme, value,
                          f"{scheme.upper()} {value} also belongs to {main['name']!r} "
                          f"({len(members[main['security_id']])} listings), which the names say is another issuer")


def _issuer_keys(lin: Lineage) -> list[str]:
    out = []
    for scheme in ("cik", "lei"):
        v = lin.latest(scheme)
        if v:
            out.append(f"{scheme}:{v}")
    n = norm_name(issuer_name(lin.name))
    if len(n) >= 3 and lin.attrs.get("type") not in ("etf", "etn", "fund"):
        out.append(f"name:{n}")
    elif len(n) >= 3:
        out.append(f"name:{n}|{lin.mic}|{lin.ticker}")
    return out


def _span(items: list[dict[str, Any]] | list[Lineage]) -> tuple[date, date | None]:
    vf = min(x["valid_from"] if isinstance(x, dict) else x.valid_from for x in items)
    tos = [x["valid_to"] if isinstance(x, dict) else x.valid_to for x in items]
    return vf, (None if any(t is None for t in tos) else max(t for t in tos if t is not None))


def _security(sid: str, lins: list[Lineage], isins: list[str | None], ctx: Context) -> dict[str, Any]:
    vf, vt = _span(lins)
    isin = Counter(isins).most_common(1)[0][0] if isins else None
    home = [lin for lin in lins if isin and ctx.mic_country.get(lin.mic or "") == isin[:2]]
    ref = (home or sorted(lins, key=lambda x: (x.mic not in US_MICS, -len(x.feeds))))[0]
    types = Counter(lin.attrs.get("type") for lin in lins if lin.attrs.get("type"))
    return {
        "security_id": sid, "issuer_id": "", "name": ref.attrs.get("security_name") or ref.name,
        "type": types.most_common(1)[0][0] if types else None,
        "status": "active" if vt is None else "delisted", "isin": isin,
        "cusip": _common(lin.latest("cusip") for lin in lins),
        "shareclass_figi": _common(lin.latest("shareclass_figi") for lin in lins),
        "country": isin[:2] if isin and isin[:2] not in NEUTRAL_ISIN else ctx.country(ref.attrs.get("country")),
        "valid_from": vf, "valid_to": vt,
    }


def _issuer(iid: str, lins: list[Lineage], secs: list[dict[str, Any]], ctx: Context) -> dict[str, Any]:
    vf, vt = _span(secs)
    countries = Counter(ctx.country(lin.attrs.get("country")) for lin in lins if ctx.country(lin.attrs.get("country")))
    if not countries:
        countries = Counter(s["country"] for s in secs if s.get("country"))
    names = Counter(issuer_name(lin.name) for lin in lins if lin.name and lin.valid_to is None) or \
        Counter(issuer_name(lin.name) for lin in lins if lin.name)
    return {
        "issuer_id": iid, "name": names.most_common(1)[0][0] if names else None,
        "country": countries.most_common(1)[0][0] if countries else None,
        "cik": _common(lin.latest("cik") for lin in lins), "lei": _common(lin.latest("lei") for lin in lins),
        "sector": _common(lin.attrs.get("sector") for lin in lins),
        "industry": _common(lin.attrs.get("industry") for lin in lins), "valid_from": vf, "valid_to": vt,
    }


def _common(values: Any) -> Any:
    """The most frequent non-empty value (the first one on ties)."""
    best: Any = None
    counts: dict[Any, int] = {}
    for v in values:
        if v:
            counts[v] = counts.get(v, 0) + 1
            if best is None or counts[v] > counts[best]:
                best = v
    return best


def _ident(kind: str, ident: str, scheme: str, value: str, vf: date | None, vt: date | None,
           fl: list[str]) -> dict[str, Any]:
    return {"entity_kind": kind, "entity_id": ident, "scheme": scheme, "value": value, "valid_from": vf,
            "valid_to": vt, "flags": fl}


def _listing_identifiers(L: str, lin: Lineage, fl: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k, (ticker, start) in enumerate(lin.tickers):
        end = lin.tickers[k + 1][1] if k + 1 < len(lin.tickers) else lin.valid_to
        out.append(_ident("listing", L, "ticker", ticker, start, end, fl))
        if lin.mic:
            out.append(_ident("listing", L, "ticker_mic", f"{ticker}@{lin.mic}", start, end, fl))
        for a in sorted(lin.aliases.get(ticker, ())):
            if a != ticker:
                out.append(_ident("listing", L, "symbol", a, start, end, fl))
    for scheme in ("figi", "composite_figi"):
        vals = lin.ids.get(scheme) or []
        for k, (v, start) in enumerate(vals):
            end = vals[k + 1][1] if k + 1 < len(vals) else lin.valid_to
            out.append(_ident("listing", L, scheme, v, max(start, lin.valid_from), end, fl))
    for k, (n, start) in enumerate(lin.names):
        end = lin.names[k + 1][1] if k + 1 < len(lin.names) else lin.valid_to
        out.append(_ident("listing", L, "name", n, min(start, lin.valid_from) if k == 0 else start, end, []))
    return out


def _cik_conflicts(issuers: list[dict[str, Any]], flags: list[dict[str, Any]]) -> None:
    by_cik: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in issuers:
        if i.get("cik"):
            by_cik[i["cik"]].append(i)
    for cik, group in by_cik.items():
        if len(group) > 1:
            for i in group[1:]:
                if not same_entity_name(i["name"], group[0]["name"]):
                    _flag(flags, "issuer", i["issuer_id"], "cik.multiple_issuers", "cik", cik,
                          f"CIK {cik} also belongs to {group[0]['name']!r}")


def build_membership(obs: list[dict[str, Any]], ticker_at: Any, ticker_after: Any = None
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Point-in-time index membership from dated constituent snapshots.

    A constituent is a member from its first snapshot (or its ``date_added`` when that falls after the previous
    snapshot) until the first later snapshot that no longer lists it. The listing is resolved at every snapshot
    that lists the ticker (``ticker_at(ticker, date)``); when the ticker names another listing at a later
    snapshot, the membership row is split there. Snapshots older than any listing data are linked to the first
    later listing of that ticker whose name agrees (``ticker_after(ticker, date, name)``).
    """
    rows: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    by_index: dict[str, dict[date, dict[str, dict[str, Any]]]] = defaultdict(lambda: defaultdict(dict))
    for o in obs:
        by_index[o["index"]][o["snapshot_date"]][o["ticker"]] = o
    for index, snaps in by_index.items():
        open_: dict[str, dict[str, Any]] = {}
        prev: date | None = None
        for d in sorted(snaps):
            members = snaps[d]
            for t in list(open_):
                if t not in members:
                    open_.pop(t)["valid_to"] = d
            for t, o in members.items():
                lid = ticker_at(t, d)
                row = open_.get(t)
                if row is not None:
                    if row["listing_id"] is None:
                        row["listing_id"] = lid
                    elif lid is not None and lid != row["listing_id"]:
                        row["valid_to"] = d
                        row = None
                    if row is not None:
                        continue
                added = o.get("date_added")
                start = added if added and added <= d and (prev is None or added > prev) else d
                row = {"index": index, "ticker": t, "listing_id": lid, "name": o.get("name"),
                       "valid_from": start, "valid_to": None}
                open_[t] = row
                rows.append(row)
            prev = d
    for row in rows:
        if row["listing_id"] is None and ticker_after is not None:
            row["listing_id"] = ticker_after(row["ticker"], row["valid_from"], row["name"])
        if row["listing_id"] is None:
            _flag(flags, "index_member", f"{row['index']}:{row['ticker']}:{row['valid_from'].isoformat()}",
                  "index.unresolved", "ticker", row["ticker"],
                  f"{row['ticker']} matches no listing from {row['valid_from'].isoformat()}")
    return rows, flags
