"""The identity service: the one place that says what an identifier names.

``resolve`` (any scheme, point in time), ``describe`` (a security or a listing with its identifiers), ``search``
(names and tickers), ``members`` (index constituents), ``map_symbol`` (a dated symbol observation such as a price
file's ticker, a news mention or a stream's symbol -> a listing of the master, with the same rules everywhere) and
``listing_for`` (what a user typed -> the listing holding a vertical's data). Successors of merged ids are followed
everywhere. The master is rebuilt by a post-commit hook of the ingest engine when observations change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from marketwire.datasets import prices as P
from marketwire.datasets import reference as R
from marketwire.engine.core import Engine, Job, Progress
from marketwire.engine.write import Provenance, commit
from marketwire.errors import Ambiguous, InvalidInput, NotFound, Rows, outside_coverage
from marketwire.identity.ids import mint
from marketwire.identity.index import MasterIndex
from marketwire.identity.master import (MASTER_INPUTS, defer_master, ensure_master, followups_done,
                                       followups_pending, master_state, rebuild_master)
from marketwire.identity.parse import parse
from marketwire.identity.reference import known_mics
from marketwire.identity.resolver import Match, Resolver
from marketwire.identity.state import repair_due as master_repair_due
from marketwire.refdata import DEFAULT_MICS, US_MICS
from marketwire.sources.classify import norm_name
from marketwire.sources.prices import SymbolHint, hint_for
from marketwire.store import Lake, duck
from marketwire.timeparse import parse_day, utc_now


class IdentityService:
    """Identity over one lake (``cache``: the folder of its lookup caches; ``background``: rebuild them in the
    background after a lake change, readers keeping the previous state meanwhile, as a server wants)."""

    def __init__(self, lake: Lake, cache: Path, *, background: bool = False) -> None:
        self.lake = lake
        self.index = MasterIndex(lake, cache, background=True) if background else MasterIndex(lake, cache)
        self.resolver = Resolver(self.index.hot, self._empty_hint)
        self._rebuilt: list[Callable[[], Any]] = []
        self._symbols: tuple[int | None, dict[str, list[str]]] | None = None
        self._merged: tuple[int | None, dict[str, list[str]]] | None = None
        self._merge_maps: dict[str, tuple[int | None, dict[str, str]]] = {}
        self._mics: tuple[Any, set[str]] | None = None

    # -- wiring into the engine ----------------------------------------------------------------------------------
    def attach(self, engine: Engine) -> None:
        """Register what identity contributes to ingest: the tables its verifiers use (known MICs) and the
        master rebuild after observations changed."""
        engine.provide_tables(self._tables)
        # after every delivery: a master left stale by a killed ingest or build is rebuilt by the next one
        engine.on_commit((), "identity.master", self._after_commit)
        engine.on_defer(MASTER_INPUTS, lambda job: defer_master(self.lake))

    def _tables(self, dataset: str) -> dict[str, Any]:
        if dataset != "ref_observations":
            return {}
        stamp = self.lake.version(R.EXCHANGES)
        if self._mics is None or self._mics[0] != stamp:
            self._mics = (stamp, known_mics(self.lake))
        return {"mics": self._mics[1]}

    def _after_commit(self, job: Job) -> None:
        if not master_state(self.lake).current:
            job.report.master_flags = self.rebuild(job.progress, only_if_stale=True)
        else:
            self.index.invalidate()
            if followups_pending(self.lake):
                self._followups(wait=False)

    def repair_due(self) -> bool:
        """Whether :meth:`ensure_current` has work to do: a master that is not current with its inputs (and not
        deliberately deferred), or follow-ups of a published build that did not run. Cheap (Delta log versions)."""
        return master_repair_due(self.lake)

    def ensure_current(self, progress: Progress | None = None) -> bool:
        """Repair what a killed ingest or build left (see :func:`marketwire.identity.master.ensure_master`): a
        stale or half-built master is rebuilt unless another writer is at work; returns whether it rebuilt. A
        repair that fails is logged and the published master keeps answering (``marketwire check`` reports it)."""
        try:
            rebuilt = ensure_master(self.lake, progress)
        except Exception:
            logging.getLogger(__name__).exception("the master is not current and could not be rebuilt; "
                                                  "answering from the published master")
            return False
        if rebuilt:
            self.index.invalidate()
        if rebuilt or followups_pending(self.lake):
            self._followups(wait=False)
        return rebuilt

    def _followups(self, wait: bool = True) -> None:
        with self.lake.writing(("master.followups",), blocking=wait) as got:
            if not got:
                return
            built = followups_pending(self.lake)
            for fn in self._rebuilt:
                fn()
            followups_done(self.lake, built)

    def on_rebuilt(self, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` after every master rebuild (a vertical adopting listings the master now knows)."""
        self._rebuilt.append(fn)

    def rebuild(self, progress: Progress | None = None, *, only_if_stale: bool = False) -> int:
        """Derive the master from every observation; returns the number of flag records added or retracted."""
        try:
            n = rebuild_master(self.lake, progress, only_if_stale=only_if_stale)
        finally:
            self.index.invalidate()
        self.warm(progress)
        self._followups()
        return n

    def warm(self, progress: Progress | None = None) -> None:
        """Build the lookup caches now, not on the first query after a change."""
        if progress:
            progress("master: lookup cache", 7, 8)
        self.index.connection()

    def invalidate(self) -> None:
        self.index.invalidate()

    # -- resolve --------------------------------------------------------------------------------------------------
    def resolve(self, id: str, as_of: date | str | None = None) -> list[Match]:
        """What ``id`` named on ``as_of`` (default today). One match, or :class:`Ambiguous` with candidates."""
        when = parse_day(as_of, "as_of") or date.today()
        p = parse(id)
        if p.schemes == ("own",):
            return [self._own(p.value, when)]
        return self.resolver.resolve(p, id, when)

    def _empty_hint(self) -> str:
        return "" if self.lake.exists(R.LISTINGS) else \
            " (the securities master is empty: load reference data with `marketwire ingest`)"

    def _own(self, ident: str, when: date) -> Match:
        kind = {"L": "listing", "S": "security", "I": "issuer"}[ident[2]]
        current = self.successor(kind, ident)
        ms = self._matches([{"entity_kind": kind, "entity_id": current, "scheme": "own"}], when)
        if not ms and kind == "listing":
            prov = self.provisional(current)
            if prov is not None:
                return prov
        if not ms:
            raise NotFound(f"no {kind} {ident}", param="id", value=ident)
        if current != ident:
            ms[0]["merged_from"] = ident
        return ms[0]

    def successor(self, kind: str, ident: str) -> str:
        """The id that now stands for ``ident`` (itself, unless later evidence merged it into another)."""
        merged = self._merges(kind)
        seen = {ident}
        while ident in merged and merged[ident] not in seen:
            ident = merged[ident]
            seen.add(ident)
        return ident

    def _merges(self, kind: str) -> dict[str, str]:
        """Old id -> the id it was merged into (``merged:<kind>`` rows of the id registry), per registry version."""
        stamp = self.lake.version(R.ID_REGISTRY.name)
        hit = self._merge_maps.get(kind)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        rows = self.lake.read(R.ID_REGISTRY, where="kind IN (?, ?)", params=[f"merged:{kind}", f"unmerged:{kind}"],
                              columns=["kind", "key", "id", "knowledge_time"]).to_pylist() if stamp is not None else []
        out: dict[str, str] = {}
        # a reversal (``unmerged:<kind>``, key = the old id, id = the id it had been merged into) ends that merge
        for r in sorted(rows, key=lambda r: (r["knowledge_time"], r["kind"].startswith("un"))):
            if r["kind"].startswith("un"):
                if out.get(r["key"]) == r["id"]:
                    del out[r["key"]]
            else:
                out[r["key"]] = r["id"]
        self._merge_maps[kind] = (stamp, out)
        return out

    def reversed_merges(self, kind: str = "listing") -> set[tuple[str, str]]:
        """(old, new) pairs whose merge was reversed: never merged again by the automatic joins."""
        if not self.lake.exists(R.ID_REGISTRY):
            return set()
        rows = self.lake.read(R.ID_REGISTRY, where="kind = ?", params=[f"unmerged:{kind}"],
                              columns=["key", "id"]).to_pylist()
        return {(r["key"], r["id"]) for r in rows}

    def merged_into(self, listing_id: str) -> list[str]:
        """Listing ids registered as merged into ``listing_id``."""
        stamp = self.lake.version(R.ID_REGISTRY.name)
        if self._merged is None or self._merged[0] != stamp:
            by: dict[str, list[str]] = {}
            for old, new in self._merges("listing").items():
                by.setdefault(new, []).append(old)
            self._merged = (stamp, by)
        return list(self._merged[1].get(listing_id, []))

    def merge(self, pairs: Sequence[tuple[str, str]], kind: str = "listing", source: str = "identity.merge",
              evidence: Sequence[dict[str, Any]] | None = None) -> int:
        """Record that each ``old`` id now stands for ``new`` (``merged:<kind>`` in the id registry): the new id's
        data answers for the old one, and the old id keeps resolving. ``evidence`` (one dict per pair:
        ``direction``, ``reason`` and what was weighed) is kept in ``listing_merges``; :meth:`unmerge` reverses."""
        if not pairs:
            return 0
        now = utc_now()
        prov = Provenance(now, now, source, f"{source}-{now:%Y%m%d%H%M%S}")
        commit(self.lake, R.ID_REGISTRY, [{"kind": f"merged:{kind}", "key": old, "id": new} for old, new in pairs],
               prov, mode="append")
        if kind == "listing":
            ev = list(evidence or [{} for _ in pairs])
            self.record_decisions([(old, new, "joined", e) for (old, new), e in zip(pairs, ev)], source, prov)
        self.index.invalidate()
        return len(pairs)

    def record_decisions(self, rows: Sequence[tuple[str, str, str, dict[str, Any]]], source: str,
                         prov: Provenance | None = None) -> int:
        """Keep join decisions (old id, new id, ``joined`` / ``refused`` / ``reversed``, evidence) in
        ``listing_merges``; one record per decision (the same decision again adds nothing)."""
        if not rows:
            return 0
        now = utc_now()
        prov = prov or Provenance(now, now, source, f"{source}-{now:%Y%m%d%H%M%S}")
        recs = [{"old_id": old, "new_id": new, "action": action, "direction": ev.get("direction"),
                 "reason": ev.get("reason"), "evidence": json.dumps(ev, default=str, sort_keys=True)}
                for old, new, action, ev in rows]
        return commit(self.lake, R.LISTING_MERGES, recs, prov).appended.height

    def unmerge(self, old: str, source: str = "identity.unmerge") -> dict[str, Any]:
        """Reverse the merge of listing ``old``: it answers for itself again, and is never joined to that
        listing automatically again. Returns the reversed pair."""
        ident = (old or "").strip().upper()
        new = self._merges("listing").get(ident)
        if new is None:
            raise NotFound(f"listing {ident} is not merged into another listing", param="id", value=old)
        by = self.lake.read(R.ID_REGISTRY, where="kind = 'merged:listing' AND key = ? AND id = ?",
                            params=[ident, new], columns=["source"]).column("source").to_pylist()
        if by and all(b == "marketwire.build" for b in by):
            raise InvalidInput(f"`id`: {ident} was merged into {new} by the master build (shared identifiers), not "
                               "by a join of price listings; it cannot be reversed here", param="id", value=old)
        now = utc_now()
        prov = Provenance(now, now, source, f"{source}-{now:%Y%m%d%H%M%S}")
        commit(self.lake, R.ID_REGISTRY, [{"kind": "unmerged:listing", "key": ident, "id": new}], prov,
               mode="append")
        self.record_decisions([(ident, new, "reversed", {"reason": "reversed on request"})], source, prov)
        self._merged = None
        self.index.invalidate()
        return {"old_id": ident, "new_id": new, "action": "reversed"}

    def merges(self, id: str) -> list[dict[str, Any]]:
        """The join decisions about a listing (as the joined id or the one joined into), oldest first, each with
        its evidence."""
        if not self.lake.exists(R.LISTING_MERGES):
            return []
        rows = self.lake.read(R.LISTING_MERGES, where="old_id = ? OR new_id = ?", params=[id, id]).to_pylist()
        out = []
        for r in sorted(rows, key=lambda r: r["knowledge_time"]):
            ev = json.loads(r["evidence"]) if r["evidence"] else {}
            out.append({"old_id": r["old_id"], "new_id": r["new_id"], "action": r["action"],
                        "direction": r["direction"], "reason": r["reason"], "evidence": ev,
                        "decided_at": r["knowledge_time"], "source": r["source"]})
        return out

    def _matches(self, rows: list[dict[str, Any]], when: date) -> list[Match]:
        return self.resolver.matches(rows, when)

    def _describe(self, security_id: str, listing: dict[str, Any] | None, when: date) -> Match | None:
        return self.resolver.describe(security_id, listing, when)

    def security(self, security_id: str, as_of: date | str | None = None) -> Match:
        """One security with its identifiers and listings. ``security_id`` is our security id or anything
        :meth:`resolve` takes (ticker, ticker@MIC, Yahoo symbol, ISIN, CUSIP, FIGI, CIK, a listing or issuer id):
        the security it names, or :class:`Ambiguous` listing the candidates when it names several."""
        when = parse_day(as_of, "as_of") or date.today()
        text = (security_id or "").strip().upper()
        if not text:
            raise InvalidInput("`security_id`: empty identifier", param="security_id")
        if text.startswith("MWS") and parse(text).schemes == ("own",):
            d = self._describe(self.successor("security", text), None, when)
            if d is None:
                raise NotFound(f"no security {security_id}", param="security_id", value=security_id)
            if self.successor("security", text) != text:
                d["merged_from"] = text
            return d
        matches = self._resolve_for(security_id, when, "security_id")
        if len(matches) == 1 and matches[0].get("provisional"):
            raise NotFound(f"{security_id} is a provisional listing (symbol {matches[0].get('ticker')} of a price "
                           "source the master does not know): it belongs to no security yet; `listing` "
                           "describes it", param="security_id", value=security_id)
        sids = list(dict.fromkeys(m["security_id"] for m in matches if m.get("security_id")))
        if len(sids) > 1:
            raise Ambiguous(f"{security_id!r} names {len(sids)} securities on {when.isoformat()}; qualify it or "
                            "pick a candidate", param="security_id", candidates=matches)
        d = self._describe(sids[0], None, when) if sids else None
        if d is None:
            raise NotFound(f"no security {security_id}", param="security_id", value=security_id)
        d["matched_by"] = matches[0].get("matched_by")
        return d

    def listing(self, listing_id: str, as_of: date | str | None = None) -> Match:
        """One listing with its security's identifiers. ``listing_id`` is our listing id (a provisional one of a
        price source too) or anything :meth:`resolve` takes; an identifier of a security (ISIN, security id)
        answers with its primary listing: the one live listing on a venue of the security's home country (a US
        security: its listing on the primary US venue); :class:`Ambiguous` with the candidates when there is no
        single one."""
        when = parse_day(as_of, "as_of") or date.today()
        text = (listing_id or "").strip().upper()
        if not text:
            raise InvalidInput("`listing_id`: empty identifier", param="listing_id")
        if text.startswith("MWL") and parse(text).schemes == ("own",):
            current = self.successor("listing", text)
            lst = self.index.hot().one("listings", current)
            d = self._describe(lst["security_id"], lst, when) if lst else None
            if d is None:
                d = self.provisional(current)
            if d is None:
                raise NotFound(f"no listing {listing_id}", param="listing_id", value=listing_id)
            if current != text:
                d["merged_from"] = text
            return self._with_merged(d)
        matches = self._resolve_for(listing_id, when, "listing_id")
        if len(matches) > 1:
            raise Ambiguous(f"{listing_id!r} names {len(matches)} instruments on {when.isoformat()}",
                            param="listing_id", candidates=matches)
        m = matches[0]
        if m.get("listing_id"):
            return self._with_merged(m)
        lid = self.primary_listing(m["security_id"], when)
        lst = self.index.hot().one("listings", lid)
        d = self._describe(lst["security_id"], lst, when)
        assert d is not None
        d["matched_by"] = m.get("matched_by")
        return self._with_merged(d)

    def _resolve_for(self, id: str, when: date, param: str) -> list[Match]:
        try:
            return self.resolve(id, when)
        except (NotFound, InvalidInput, Ambiguous) as e:
            raise type(e)(e.message, **{**e.fields, "param": param}) from None

    def _with_merged(self, d: Match) -> Match:
        if d.get("listing_id"):
            merged = self.merged_into(d["listing_id"])
            if merged:
                d["merged_ids"] = sorted(merged)
        return d

    def primary_listing(self, security_id: str, when: date) -> str:
        """The primary listing of a security on ``when``: its one live listing on a venue of its home country
        (several there: the one on a primary US venue), else its only live listing; :class:`Ambiguous` with the
        candidates otherwise."""
        hot = self.index.hot()
        sec = hot.one("securities", security_id) or {}
        live = [r for r in hot.listings_of(security_id) if (r["valid_from"] is None or r["valid_from"] <= when)
                and (r["valid_to"] is None or r["valid_to"] > when)]
        if len(live) == 1:
            return str(live[0]["listing_id"])
        country = {r["mic"]: r["country"] for r in self.index.rows(
            "SELECT mic, country FROM exchanges WHERE mic IN (SELECT unnest(?))", [[r["mic"] for r in live]])}
        home = [r for r in live if sec.get("country") and country.get(r["mic"]) == sec.get("country")]
        if len(home) > 1:
            home = [r for r in home if r["mic"] in DEFAULT_MICS] or home
        if len(home) == 1:
            return str(home[0]["listing_id"])
        cands = home or live
        raise Ambiguous(f"security {security_id} has {len(cands)} live listings on {when.isoformat()} and no single "
                        "primary one; name the listing (ticker@MIC or a listing id)", param="listing_id",
                        candidates=[{k: r.get(k) for k in ("listing_id", "ticker", "mic", "currency", "name")}
                                    | {"security_id": security_id} for r in cands])

    def provisional(self, listing_id: str) -> Match | None:
        """A provisional listing a price source created for a symbol the master does not know, described from
        what the source said (``None`` if ``listing_id`` is not one)."""
        if not self.lake.exists(P.PRICE_LISTINGS):
            return None
        rows = self.lake.read(P.PRICE_LISTINGS, where="listing_id = ?", params=[listing_id]).to_pylist()
        if not rows:
            return None
        r = rows[0]
        return {"issuer_id": None, "security_id": None, "listing_id": listing_id, "name": r.get("name"),
                "issuer_name": None, "type": None, "status": "provisional", "provisional": True,
                "ticker": r.get("ticker"), "mic": r.get("mic"), "currency": r.get("currency"),
                "country": r.get("country"), "identifiers": {"symbol": ", ".join(sorted({x["symbol"] for x in rows}))},
                "listings": [], "flags": ["listing.provisional"], "valid_from": None, "valid_to": None,
                "source": r.get("source"), "matched_by": "own",
                "note": "created by a price source for a symbol the securities master does not know; it joins a "
                        "master listing when the evidence agrees (see `merges`)"}

    # -- search and sets ------------------------------------------------------------------------------------------
    def search(self, text: str, limit: int = 20, as_of: date | str | None = None) -> list[dict[str, Any]]:
        """Fuzzy search over names (every name a listing had) and exact tickers."""
        from rapidfuzz import fuzz

        q = (text or "").strip()
        if not q:
            raise InvalidInput("`q`: empty search text", param="q")
        when = parse_day(as_of, "as_of")
        toks = [t for t in q.upper().split() if t]
        cond = " AND ".join(["key LIKE ?"] * len(toks))
        rows = self.index.rows(
            f"SELECT entity_id, value, scheme FROM ids WHERE (scheme = 'name' AND {cond}) "
            "OR (scheme IN ('ticker', 'symbol') AND key = ?) LIMIT 2000",
            [f"%{t}%" for t in toks] + [q.upper()])
        if len(rows) < limit:
            rows += self.index.rows(
                "SELECT entity_id, value, scheme FROM ids WHERE scheme = 'name' "
                "AND jaro_winkler_similarity(key, ?) >= 0.88 LIMIT 500", [q.upper()])
        best: dict[str, tuple[float, str]] = {}
        for r in rows:
            sc = 100.0 if r["scheme"] != "name" else float(fuzz.WRatio(q.lower(), r["value"].lower()))
            if sc > best.get(r["entity_id"], (-1.0, ""))[0]:
                best[r["entity_id"]] = (sc, r["value"])
        if not best:
            return []
        cands = self.index.rows(
            "SELECT l.listing_id, l.security_id, l.ticker, l.mic, l.name, l.status, l.currency, l.valid_from, "
            "l.valid_to, (SELECT count(*) FROM listings x WHERE x.security_id = l.security_id) AS n_listings, "
            "coalesce(e.country = s.country, false) AS home_venue "
            "FROM listings l JOIN securities s USING (security_id) LEFT JOIN exchanges e ON e.mic = l.mic "
            "WHERE l.listing_id IN (SELECT unnest(?))", [list(best)])
        qn = norm_name(q)

        def rank(c: dict[str, Any]) -> tuple[float, int, int, int, bool, date, int, str]:
            sc, matched = best[c["listing_id"]]
            sc = max(sc, float(fuzz.ratio(qn, norm_name(matched))))
            best[c["listing_id"]] = (sc, matched)
            live = (c["valid_to"] is None) if when is None else \
                ((c["valid_from"] is None or c["valid_from"] <= when) and (c["valid_to"] is None or c["valid_to"] > when))
            # best name first; then live, widely listed securities; within one, its home venue, oldest listing
            return (-sc, 0 if live else 1, -c["n_listings"], 0 if c["home_venue"] else 1, c["mic"] is None,
                    c["valid_from"] or date.min, len(c["ticker"] or ""), c["ticker"] or "")

        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for c in sorted(cands, key=rank):
            if when and not ((c["valid_from"] is None or c["valid_from"] <= when) and
                             (c["valid_to"] is None or c["valid_to"] > when)):
                continue
            if c["security_id"] in seen:  # one hit per security: its best listing
                continue
            seen.add(c["security_id"])
            c.pop("home_venue", None)
            out.append({"score": round(best[c["listing_id"]][0], 1), **c})
            if len(out) >= limit:
                break
        return out

    def members(self, index: str, as_of: date | str | None = None) -> list[dict[str, Any]]:
        when = parse_day(as_of, "as_of") or date.today()
        rows = self.index.rows(
            'SELECT "index", ticker, listing_id, name, valid_from, valid_to FROM membership WHERE "index" = ? '
            "AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) ORDER BY ticker",
            [index.upper(), when, when])
        if rows:
            return rows
        span = self.index.rows('SELECT min(valid_from) AS first, max(valid_to) AS last, count(*) - count(valid_to) '
                               'AS open FROM membership WHERE "index" = ?', [index.upper()])[0]
        if span["first"] is None:
            raise NotFound(f"no index {index!r} is loaded", param="index", value=index)
        first, last = span["first"], None if span["open"] else span["last"]
        covered = f"from {first.isoformat()}" + (f" to {last.isoformat()}" if last else "")
        if when < first or (last is not None and when >= last):
            meta = outside_coverage(f"{index.upper()} membership is known {covered}; {when.isoformat()} is outside "
                                    "it, so no members are listed", index=index.upper(), **{"from": first, "to": last})
            return Rows(rows, meta)
        return Rows(rows, {"note": f"{index.upper()} had no members on {when.isoformat()} (known {covered})"})

    def flags(self, rule: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT entity_kind, entity_id, rule, field, value, message FROM flags"
        return self.index.rows(sql + (" WHERE rule = ?" if rule else "") + " ORDER BY rule, entity_id",
                               [rule] if rule else [])

    def flag_counts(self) -> dict[str, int]:
        rows = self.index.rows("SELECT rule, count(*) AS n FROM flags GROUP BY rule ORDER BY rule")
        return {r["rule"]: r["n"] for r in rows}

    def counts(self) -> dict[str, int]:
        return {name: self.index.rows(f"SELECT count(*) AS n FROM {name}")[0]["n"]
                for name in ("issuers", "securities", "listings", "ids", "membership")}

    # -- what the verticals index -------------------------------------------------------------------------------
    def master_version(self) -> tuple[tuple[str, int | None], ...]:
        """The state of the master tables (Delta versions): what a derived index of the master is valid for."""
        return master_version(self.lake)

    def company_rows(self) -> list[dict[str, Any]]:
        """Every security of the master with its issuer and current listings, for a linker of company mentions."""
        return company_rows(self.lake)

    # -- symbols observed by the verticals ------------------------------------------------------------------------
    def map_symbol(self, hint: SymbolHint, when: date) -> Match | None:
        """The master's listing for a dated symbol observation (a price file's ticker, a stream's symbol), or
        ``None`` when the master has none (the caller then keeps a provisional listing)."""
        if not self.lake.exists(R.LISTINGS):
            return None
        text = f"{hint.ticker}@{hint.mic}" if hint.mic else hint.ticker
        try:
            found = self.resolve(text, when)
        except Ambiguous as e:
            cands = [c for c in e.fields.get("candidates", []) if c.get("listing_id")]
            if hint.country == "US":
                cands = [c for c in cands if c.get("mic") in DEFAULT_MICS]
            if len(cands) != 1:
                return None
            found = cands
        except NotFound:
            return None
        m = found[0]
        return m if m.get("listing_id") else None

    def first_holder(self, hint: SymbolHint, after: date) -> dict[str, Any] | None:
        """For a symbol observed up to ``after``, a date the master knows nothing of it: the listing the symbol
        names at the master's first knowledge of it after that date, with what a backward join weighs.

        ``None`` when the master knew the symbol on or before ``after`` (then :meth:`map_symbol` decides) or never
        after it. Otherwise a dict: ``listing_id``, ``ticker_from`` (when the ticker starts to name it),
        ``venue_from`` (the master's first snapshot of the venue), ``names`` (every name of the listing),
        ``currency``, ``mic``, ``earlier_holders`` (listings that held the ticker before, recycled) and ``match``
        (the described listing at ``ticker_from``)."""
        if not self.lake.exists(R.LISTINGS):
            return None
        if hint.mic:
            venue, args = "l.mic = ?", [hint.mic]
        elif hint.country in (None, "US"):
            venue, args = "l.mic IN (SELECT unnest(?))", [sorted(US_MICS)]
        else:
            return None
        rows = self.index.rows(
            "SELECT i.entity_id AS listing_id, i.valid_from, i.valid_to, l.mic, l.currency, l.valid_from AS "
            "listing_from FROM ids i JOIN listings l ON l.listing_id = i.entity_id WHERE i.key = ? AND "
            f"i.scheme = 'ticker' AND i.entity_kind = 'listing' AND {venue} ORDER BY i.valid_from",
            [hint.ticker.upper(), *args])
        if not rows or any(r["valid_from"] is None or r["valid_from"] <= after for r in rows):
            return None
        start = rows[0]["valid_from"]
        try:
            found = self.resolve(f"{hint.ticker}@{hint.mic}" if hint.mic else hint.ticker, start)
        except Ambiguous as e:
            found = [c for c in e.fields.get("candidates", []) if c.get("mic") in DEFAULT_MICS]
        except NotFound:
            return None
        found = [m for m in found if m.get("listing_id") and m["listing_id"] in {r["listing_id"] for r in rows}]
        if len(found) != 1:
            return None
        m = found[0]
        lid = m["listing_id"]
        mine = [r for r in rows if r["listing_id"] == lid]
        venue_from = self.index.rows("SELECT min(valid_from) AS d FROM listings WHERE mic = ?", [m["mic"]])[0]["d"]
        names = [r["value"] for r in self.index.rows(
            "SELECT value FROM ids WHERE entity_id = ? AND scheme = 'name' ORDER BY valid_from", [lid])]
        return {"listing_id": lid, "ticker_from": mine[0]["valid_from"], "venue_from": venue_from,
                "names": names or [m.get("name")], "currency": m.get("currency"), "mic": m.get("mic"),
                "earlier_holders": sorted({r["listing_id"] for r in rows if r["listing_id"] != lid
                                           and r["valid_from"] < mine[0]["valid_from"]}),
                "match": m}

    def observed_symbols(self) -> dict[str, list[str]]:
        """Every symbol the verticals observed (as written, ticker@MIC and bare ticker) -> the listings it named."""
        stamp = self.lake.version(P.PRICE_LISTINGS.name)
        if self._symbols is not None and self._symbols[0] == stamp:
            return self._symbols[1]
        out: dict[str, list[str]] = {}
        if stamp is not None:
            for r in self.lake.read(P.PRICE_LISTINGS, columns=["symbol", "ticker", "mic", "listing_id"]).to_pylist():
                for k in {r["symbol"], f"{r['ticker']}@{r['mic']}" if r["mic"] else None, r["ticker"]}:
                    if k and r["listing_id"] not in out.setdefault(k, []):
                        out[k].append(r["listing_id"])
        self._symbols = (stamp, out)
        return out

    def provisional_ids(self, keys: Sequence[str], prov: Provenance,
                        write: Callable[[Any, Any], Any] | None = None) -> dict[str, tuple[str, bool]]:
        """A permanent listing id for each provisional key (a symbol the master does not know, e.g.
        ``prices:AAPL@US``): the one the id registry holds, else a new one, registered now. Returns
        key -> (id, whether it was minted now). ``write(dataset, arrow_table)``: how the new registrations are
        appended (e.g. in the background of an ingest that waits for its writes); default: now."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        have: dict[str, str] = {}
        if self.lake.exists(R.ID_REGISTRY):
            t = self.lake.read(R.ID_REGISTRY, where="kind = 'listing' AND key IN (SELECT unnest(?))", params=[wanted],
                               columns=["key", "id"])
            have = dict(zip(t.column("key").to_pylist(), t.column("id").to_pylist()))
        out = {k: (have[k], False) for k in wanted if k in have}
        new = [(k, mint("listing", k, set())) for k in wanted if k not in have]
        if new:
            w = commit(self.lake, R.ID_REGISTRY, [{"kind": "listing", "key": k, "id": i} for k, i in new], prov,
                       mode="append", write=write is None)
            if write is not None:
                write(R.ID_REGISTRY, w.appended.to_arrow())
        out.update({k: (i, True) for k, i in new})
        return out

    def provisional_symbols(self) -> list[dict[str, Any]]:
        """Provisional listings the verticals made for symbols the master did not know, not yet merged."""
        if not self.lake.exists(P.PRICE_LISTINGS):
            return []
        prov = self.lake.read(P.PRICE_LISTINGS, where="provisional",
                              columns=["listing_id", "symbol", "name", "currency"]).to_pylist()
        done = set(self._merges("listing"))
        return [r for r in prov if r["listing_id"] not in done]

    def listing_for(self, id: str, has_data: Callable[[str], bool]) -> str:
        """The listing ``id`` names, for a vertical whose data is keyed by listing: our listing id, a symbol as a
        source wrote it, or anything :meth:`resolve` knows (a security or issuer answers with its one listing that
        ``has_data``). A listing that provisional listings were merged into answers with the one holding data."""
        lid = self._listing_for(id, has_data)
        if has_data(lid):
            return lid
        for alias in self.merged_into(lid):
            if has_data(alias):
                return alias
        return lid

    def _listing_for(self, id: str, has_data: Callable[[str], bool]) -> str:
        text = (id or "").strip().upper()
        if not text:
            raise InvalidInput("`id`: empty identifier", param="id")
        if text.startswith("MWL") and len(text) == 13:
            return text
        syms = self.observed_symbols()
        if text in syms and len(syms[text]) == 1:
            return syms[text][0]
        master_err: Exception | None = None
        if self.lake.exists(R.LISTINGS):
            try:
                m = self.resolve(text)[0]
                if m.get("listing_id"):
                    return str(m["listing_id"])
                with_data = [lst["listing_id"] for lst in m.get("listings", []) if has_data(lst["listing_id"])]
                if len(with_data) == 1:
                    return str(with_data[0])
            except (NotFound, Ambiguous) as e:
                master_err = e
        h = hint_for(text)
        for k in (h.symbol, f"{h.ticker}@{h.mic}" if h.mic else h.ticker):
            if k in syms and len(syms[k]) == 1:
                return syms[k][0]
        if text in syms:
            raise Ambiguous(f"{id!r} names {len(syms[text])} listings with data; use a listing id", param="id",
                            candidates=[{"listing_id": x} for x in syms[text]])
        if master_err is not None:
            raise master_err
        raise NotFound(f"{id!r} names no listing with data" + self._empty_hint(), param="id", value=id)


def master_version(lake: Lake) -> tuple[tuple[str, int | None], ...]:
    tables = [R.ISSUERS, R.SECURITIES, R.LISTINGS, R.INDEX_MEMBERSHIP]
    return tuple(sorted(lake.versions([t.name for t in tables]).items(), key=str))


def company_version(lake: Lake) -> tuple[tuple[str, int | None], ...]:
    """The state :func:`company_rows` reads: the master tables and the observations its size classes come from."""
    return master_version(lake) + ((R.REF_OBSERVATIONS.name, lake.version(R.REF_OBSERVATIONS.name)),)


def company_rows(lake: Lake) -> list[dict[str, Any]]:
    """Issuer, security and current listing of every security, with whether the listing is in an index now and the
    size class a source last gave it (``market_cap``: FinanceDatabase's Mega/Large/Mid/Small/Micro/Nano Cap)."""
    con = duck.connect()
    try:
        for name, ds, cols, where in (
                ("iss", R.ISSUERS, ["issuer_id", "name", "country"], None),
                ("sec", R.SECURITIES, ["security_id", "issuer_id", "name", "type", "isin"], None),
                ("lst", R.LISTINGS, ["listing_id", "security_id", "ticker", "mic", "name", "valid_to"], None),
                ("mem", R.INDEX_MEMBERSHIP, ["listing_id", "valid_to"], None),
                ("cap", R.REF_OBSERVATIONS, ["ticker", "mic", "market_cap", "snapshot_date"],
                 "market_cap IS NOT NULL AND NOT coalesce(retracted, false)")):
            con.register(name, lake.read(ds, columns=cols, where=where))
        res = con.execute(
            "WITH caps AS (SELECT ticker, mic, arg_max(market_cap, snapshot_date) AS market_cap FROM cap "
            "GROUP BY ticker, mic) "
            "SELECT i.issuer_id, i.name AS issuer_name, i.country AS issuer_country, s.security_id, "
            "s.name AS security_name, s.type, s.isin, "
            "l.listing_id, l.ticker, l.mic, l.name AS listing_name, "
            "l.listing_id IN (SELECT listing_id FROM mem WHERE valid_to IS NULL AND listing_id IS NOT NULL) "
            "AS index_member, c.market_cap "
            "FROM iss i JOIN sec s USING (issuer_id) LEFT JOIN lst l ON l.security_id = s.security_id "
            "AND l.valid_to IS NULL LEFT JOIN caps c ON c.ticker = l.ticker AND c.mic = l.mic")
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r)) for r in res.fetchall()]
    finally:
        con.close()


__all__ = ["IdentityService", "Match", "company_rows", "company_version", "master_version"]
