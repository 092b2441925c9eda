"""From dated snapshots to listing histories.

Snapshots are replayed in date order. A record continues the active listing at its ticker@MIC when the names
say it is the same company (:func:`same_entity_name`) and no strong identifier contradicts it; otherwise the
ticker was recycled: the old listing ends and a new listing (and a new security) begins. For complete
directories (a full symbol list of a venue), a listing absent from a later snapshot is delisted as of that
snapshot, unless the same security appears under a new ticker (ticker change: same listing) or on another venue
(venue move: same security, new listing).

Dating a change seen between two snapshots: a delisting is dated at the first snapshot that no longer shows it
(the date by which it was known gone). A ticker that passed from one company to another is split at the midpoint
of the gap, so that neither company is dated beyond the evidence on its side; ``first_seen`` and ``last_seen``
keep the observed evidence.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from marketwire.refdata import US_MICS  # the one definition; still importable from here
from marketwire.sources.classify import norm_name, same_entity_name

ID_FIELDS = ("isin", "cusip", "figi", "composite_figi", "shareclass_figi", "cik", "lei")


@dataclass(eq=False)  # identity, not field equality: lineages are compared and removed by identity
class Lineage:
    mic: str | None
    valid_from: date
    first_seen: date
    last_seen: date
    tickers: list[tuple[str, date]] = field(default_factory=list)  # (ticker, from)
    names: list[tuple[str, date]] = field(default_factory=list)
    aliases: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    ids: dict[str, list[tuple[str, date]]] = field(default_factory=lambda: defaultdict(list))
    attrs: dict[str, Any] = field(default_factory=dict)
    feeds: set[str] = field(default_factory=set)
    obs_keys: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    valid_to: date | None = None
    status: str = "active"
    provisional: bool = False
    predecessor: Lineage | None = None

    @property
    def ticker(self) -> str:
        return self.tickers[-1][0]

    @property
    def name(self) -> str | None:
        return self.names[-1][0] if self.names else None

    def latest(self, scheme: str) -> str | None:
        vals = self.ids.get(scheme)
        return vals[-1][0] if vals else None


def midpoint(a: date, b: date) -> date:
    return date.fromordinal(a.toordinal() + max(1, (b.toordinal() - a.toordinal() + 1) // 2))


def _names_agree_closely(a: str | None, b: str | None) -> bool:
    """Names that agree beyond a shared first word, as a rename that also changes an identifier must: once reduced
    (:func:`norm_name`), their first two words are the same, or a one-word name is the other's first word (a
    shortened name). ``First Capital Inc`` and ``First Solar Inc`` pass :func:`same_entity_name` (a first word of
    three letters or more) but not this: with a changed ISIN, CUSIP or CIK, the ticker was recycled. A missing name
    contradicts nothing."""
    ta, tb = norm_name(a).split(), norm_name(b).split()
    k = min(len(ta), len(tb), 2)
    return ta[:k] == tb[:k]


def _full(n: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", " ", (n or "").lower()).strip()


class LineageBuilder:
    def __init__(self) -> None:
        self.lineages: list[Lineage] = []
        self.active: dict[tuple[str, str | None], Lineage] = {}
        self.by_ticker: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
        self.prev_keys: dict[str, set[tuple[str, str | None]]] = {}
        self.venue_less: list[tuple[dict[str, Any], date]] = []

    # -- one observation ---------------------------------------------------------------------------
    def _new(self, rec: dict[str, Any], d: date, valid_from: date, provisional: bool = False) -> Lineage:
        lin = Lineage(mic=rec["mic"], valid_from=valid_from, first_seen=d, last_seen=d, provisional=provisional)
        lin.tickers.append((rec["ticker"], valid_from))
        self._update(lin, rec, d)
        self.lineages.append(lin)
        key = (rec["ticker"], rec["mic"])
        self.active[key] = lin
        self.by_ticker[rec["ticker"]].add(key)
        return lin

    @staticmethod
    def _update(lin: Lineage, rec: dict[str, Any], d: date) -> None:
        lin.last_seen = max(lin.last_seen, d)
        lin.feeds.add(rec["feed"])
        lin.obs_keys.append(f"{rec['mic']}|{rec['ticker']}|{d.isoformat()}")
        name = rec.get("name")
        if name:
            if not lin.names:
                lin.names.append((name, d))
            elif lin.names[-1][1] < d and norm_name(lin.names[-1][0]) != norm_name(name):
                lin.names.append((name, d))
        for f in ID_FIELDS:
            v = rec.get(f)
            if v and (not lin.ids[f] or lin.ids[f][-1][0] != v):
                lin.ids[f].append((v, d))
        for a in rec.get("aliases") or ():
            lin.aliases[rec["ticker"]].add(a)
        for k in ("currency", "type", "security_name", "country", "sector", "industry"):
            v = rec.get(k)
            if not v or (k == "type" and lin.attrs.get(k) not in (None, "equity") and v == "equity"):
                continue
            lin.attrs[k] = v
        if rec.get("delisted"):
            lin.attrs["source_delisted"] = True
        lin.flags.update(rec.get("flags") or ())

    @staticmethod
    def _compatible(lin: Lineage, rec: dict[str, Any]) -> bool:
        if not same_entity_name(lin.name, rec.get("name")):
            return False
        for f in ("isin", "cusip", "cik"):
            old, new = lin.latest(f), rec.get(f)
            if old and new and old != new and not _names_agree_closely(lin.name, rec.get("name")):
                return False
        ot, nt = lin.attrs.get("type"), rec.get("type")
        fund_like = {"etf", "etn", "fund"}
        if ot and nt and ((ot in fund_like) != (nt in fund_like)) and _full(lin.name) != _full(rec.get("name")):
            return False
        return True

    # -- one snapshot ------------------------------------------------------------------------------
    def snapshot(self, feed: str, d: date, records: list[dict[str, Any]], complete: bool) -> None:
        created: list[Lineage] = []
        seen: set[tuple[str, str | None]] = set()
        venue_less: list[dict[str, Any]] = []
        for rec in records:
            if rec.get("mic") is None:
                venue_less.append(rec)
                continue
            key = (rec["ticker"], rec["mic"])
            lin = self.active.get(key)
            if lin is not None and lin.valid_to is None and self._compatible(lin, rec):
                self._update(lin, rec, d)
            elif lin is not None and lin.valid_to is None and lin.last_seen < d:
                boundary = midpoint(lin.last_seen, d)
                self._close(lin, boundary, "delisted")
                lin.attrs["ended_by"] = "ticker reused"
                self._new(rec, d, boundary)
            elif lin is not None and lin.valid_to is None:
                # same ticker@MIC, same date, different company: two sources disagree; keep the first, flag
                self._update(lin, {**rec, "name": None}, d)
                lin.flags.add("listing.name_conflict")
            else:
                created.append(self._new(rec, d, d))
            seen.add(key)
        if complete:
            gone_keys = self.prev_keys.get(feed, set()) - seen
            gone = [self.active[k] for k in sorted(gone_keys, key=str)
                    if k in self.active and self.active[k].valid_to is None and self.active[k].last_seen < d]
            continued = self._match_moves(gone, created, d)
            for lin in gone:
                if lin.valid_to is None and id(lin) not in continued:
                    self._close(lin, d, "delisted")
            self.prev_keys[feed] = seen | {(lin.ticker, lin.mic) for lin in created}
        self.venue_less.extend((rec, d) for rec in venue_less)

    def _close(self, lin: Lineage, valid_to: date, status: str) -> None:
        lin.valid_to = valid_to
        lin.status = status

    def _match_moves(self, gone: list[Lineage], created: list[Lineage], d: date) -> set[int]:
        """Pair listings gone from a directory with new ones of the same security name; ids that continue."""
        continued: set[int] = set()
        index: dict[tuple[str, str | None], list[Lineage]] = defaultdict(list)
        for lin in created:
            index[(_full(lin.attrs.get("security_name") or lin.name), lin.attrs.get("type"))].append(lin)
        gone_index: dict[tuple[str, str | None], list[Lineage]] = defaultdict(list)
        for lin in gone:
            gone_index[(_full(lin.attrs.get("security_name") or lin.name), lin.attrs.get("type"))].append(lin)
        for k, olds in gone_index.items():
            news = index.get(k, [])
            if len(olds) != 1 or len(news) != 1 or len(k[0]) < 6:
                continue
            old, new = olds[0], news[0]
            boundary = midpoint(old.last_seen, d)
            if old.mic == new.mic:  # ticker change: the same listing continues under a new ticker
                old_key = (old.ticker, old.mic)
                old.tickers.append((new.ticker, boundary))
                for t, a in new.aliases.items():
                    old.aliases[t] |= a
                old.obs_keys.extend(new.obs_keys)
                old.last_seen = d
                for f, vals in new.ids.items():
                    for v, vd in vals:
                        if not old.ids[f] or old.ids[f][-1][0] != v:
                            old.ids[f].append((v, vd))
                self.lineages.remove(new)
                self.active[(new.ticker, new.mic)] = old
                self.active.pop(old_key, None)
                self.by_ticker[new.ticker].add((new.ticker, new.mic))
                continued.add(id(old))
            else:  # venue move: same security, new listing
                self._close(old, boundary, "delisted")
                old.attrs["ended_by"] = f"moved to {new.mic}"
                new.valid_from = boundary
                new.tickers[0] = (new.ticker, boundary)
                new.predecessor = old
        return continued

    def attach_venue_less(self, window: int = 120) -> None:
        """Records without a venue (SEC tickers) give their identifiers to the US listing with that ticker.

        Done after every snapshot is replayed, so that a directory dated a little after the venue-less file
        still counts: a listing whose ticker was held within ``window`` days of the record's date qualifies,
        the one holding it on the date first. A ticker no listing held gets a provisional listing (flagged).
        """
        by_ticker: dict[str, list[tuple[Lineage, date, date | None]]] = defaultdict(list)
        for lin in self.lineages:
            if lin.mic not in US_MICS:
                continue
            for k, (t, start) in enumerate(lin.tickers):
                end = lin.tickers[k + 1][1] if k + 1 < len(lin.tickers) else lin.valid_to
                by_ticker[t].append((lin, start, end))
        for rec, d in self.venue_less:
            lo, hi = date.fromordinal(d.toordinal() - window), date.fromordinal(d.toordinal() + window)
            spans = by_ticker.get(rec["ticker"], [])
            on_date = [lin for lin, a, b in spans if a <= d and (b is None or b > d)]
            near = [lin for lin, a, b in spans if a <= hi and (b is None or b > lo)]
            cands = on_date or near
            cands = [c for c in cands if same_entity_name(c.name, rec.get("name"))] or cands
            if cands:
                for lin in dict.fromkeys(cands):
                    for f in ID_FIELDS:
                        v = rec.get(f)
                        if v and (not lin.ids[f] or lin.ids[f][-1][0] != v):
                            lin.ids[f].append((v, d))
                    lin.feeds.add(rec["feed"])
                continue
            prov = self.active.get((rec["ticker"], None))
            if prov is not None and prov.valid_to is None and self._compatible(prov, rec):
                self._update(prov, rec, d)
            else:
                self._new(rec, d, d, provisional=True).flags.add("listing.provisional")


def build_lineages(observations: Iterable[dict[str, Any]]) -> list[Lineage]:
    """Replay observations (all feeds, all dates) into listing lineages."""
    groups: dict[tuple[date, str], list[dict[str, Any]]] = defaultdict(list)
    for o in observations:
        groups[(o["snapshot_date"], o["feed"])].append(o)

    def order(k: tuple[date, str]) -> tuple[date, int, str]:
        d, feed = k
        rank = 0 if feed.startswith("nasdaqtrader:otherlisted") else 1 if feed.startswith("nasdaqtrader") else \
            2 if feed.startswith("financedatabase") else 3
        return (d, rank, feed)

    b = LineageBuilder()
    for k in sorted(groups, key=order):
        recs = sorted(groups[k], key=lambda r: (r["ticker"] or "", r.get("mic") or "", r.get("line") or 0))
        b.snapshot(k[1], k[0], recs, bool(recs[0].get("complete")))
    b.attach_venue_less()
    return b.lineages
