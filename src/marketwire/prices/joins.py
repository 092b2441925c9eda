"""Whether a provisional price listing is the same instrument as a listing of the master: the evidence of prices.

A price source may deliver a symbol for dates the securities master does not cover (a 2014 file, a master whose
first snapshot is 2015-01-10). The series then sits on a provisional listing. It joins the master listing its
symbol names at the master's first knowledge of it (a *backward* join) only when the evidence agrees:

- the master listing held the ticker from the master's first snapshot of its venue (a listing that appeared
  later began after the series: the ticker was given to a new instrument);
- no earlier holder of the ticker is known (a recycled ticker is never joined across);
- the source's name for the instrument, when it gives one, is the master's name (``same_entity_name``), and the
  currencies agree;
- prices are continuous where both have data: on dates both series hold, daily returns agree (at least
  :data:`MIN_COMMON` returns, :data:`MIN_AGREE` of them within :data:`RETURN_TOL`, ex dates left out, so bases
  may differ); with no common dates, the first close after the gap is within a volatility band of the last close
  before it (:func:`gap_ok`); with no bars on the master listing at all, the series must end within
  :data:`MAX_GAP_DAYS` of the master's first snapshot.

:func:`decide` weighs them and returns the decision with every piece of evidence, which is recorded with the
join (``listing_merges``) and can be reversed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

#: common returns needed before the overlap counts as evidence
MIN_COMMON = 10
#: share of common returns that must agree
MIN_AGREE = 0.8
#: two daily returns agree within this absolute difference (0.25 percentage points)
RETURN_TOL = 0.0025
#: without bars on the master listing, the series must end at most this many days before its first snapshot
MAX_GAP_DAYS = 31
#: across a gap without common dates: the log price change allowed, in daily standard deviations x sqrt(sessions)
GAP_SIGMAS = 5.0
#: ... and never less than this log change (bases differ by dividends)
GAP_FLOOR = 0.25


@dataclass
class Series:
    """One source's daily closes of a listing: sorted dates (datetime64[D]), closes, basis, its ex dates."""

    source: str
    dates: np.ndarray
    close: np.ndarray
    basis: str = "raw"
    ex_dates: set[date] = field(default_factory=set)

    @property
    def first(self) -> date | None:
        return _day(self.dates[0]) if len(self.dates) else None

    @property
    def last(self) -> date | None:
        return _day(self.dates[-1]) if len(self.dates) else None


def _day(d: Any) -> date:
    return date.fromisoformat(str(np.datetime64(d, "D")))


def overlap(a: Series, b: Series) -> dict[str, Any]:
    """Daily returns of ``a`` and ``b`` on the dates both hold (returns between consecutive common dates; ex dates
    of either left out): how many, how many agree within :data:`RETURN_TOL`, the largest difference."""
    common, ia, ib = np.intersect1d(a.dates.astype("datetime64[D]"), b.dates.astype("datetime64[D]"),
                                    return_indices=True)
    if len(common) < 2:
        return {"common_dates": int(len(common)), "returns": 0, "agree": 0}
    pa_, pb = a.close[ia].astype(float), b.close[ib].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ra, rb = pa_[1:] / pa_[:-1] - 1, pb[1:] / pb[:-1] - 1
    ex = {np.datetime64(d, "D") for d in a.ex_dates | b.ex_dates}
    keep = np.array([d not in ex for d in common[1:]]) & np.isfinite(ra) & np.isfinite(rb)
    diff = np.abs(ra[keep] - rb[keep])
    return {"common_dates": int(len(common)), "first_common": _day(common[0]), "last_common": _day(common[-1]),
            "returns": int(keep.sum()), "agree": int((diff <= RETURN_TOL).sum()),
            "max_diff": round(float(diff.max()), 6) if len(diff) else None}


def gap_ok(before: Series, after: Series) -> dict[str, Any]:
    """The last close of ``before`` against the first close of ``after`` past it: the log change and the band
    allowed (``GAP_SIGMAS`` daily standard deviations of ``before`` x sqrt(sessions of the gap), at least
    ``GAP_FLOOR``)."""
    last = before.last
    later = after.dates.astype("datetime64[D]") > np.datetime64(last, "D")
    if last is None or not later.any():
        return {"checked": False}
    j = int(np.argmax(later))
    p0, p1 = float(before.close[-1]), float(after.close[j])
    closes = before.close[-121:].astype(float)
    rets = np.diff(np.log(closes[closes > 0])) if len(closes) > 2 else np.array([])
    sigma = float(np.std(rets)) if len(rets) > 5 else 0.03
    days = (_day(after.dates[j]) - last).days
    sessions = max(1.0, days * 5 / 7)
    band = max(GAP_FLOOR, GAP_SIGMAS * sigma * math.sqrt(sessions))
    change = abs(math.log(p1 / p0)) if p0 > 0 and p1 > 0 else float("inf")
    return {"checked": True, "last_close": p0, "last_date": last, "next_close": p1, "next_date": _day(after.dates[j]),
            "next_source": after.source, "log_change": round(change, 4), "allowed": round(band, 4),
            "ok": change <= band}


def decide(provisional: list[Series], master: list[Series], holder: dict[str, Any], name: str | None,
           currency: str | None, same_name: Any) -> dict[str, Any]:
    """Weigh the evidence that the provisional series (``provisional``: its sources) are the master listing
    ``holder`` (from :meth:`IdentityService.first_holder`) whose own series are ``master``. Returns a dict with
    ``join`` (bool), ``reason`` and the evidence; ``same_name(a, b)`` compares company names."""
    last = max((s.last for s in provisional if s.last), default=None)
    ev: dict[str, Any] = {"direction": "backward", "series_last": last, "master_listing": holder["listing_id"],
                          "ticker_from": holder["ticker_from"], "venue_from": holder["venue_from"],
                          "master_names": holder.get("names"), "source_name": name}

    def no(reason: str) -> dict[str, Any]:
        return {**ev, "join": False, "reason": reason}

    if holder.get("earlier_holders"):
        return no(f"the ticker was held by {', '.join(holder['earlier_holders'])} before; a recycled ticker is "
                  "not joined")
    if holder["venue_from"] is None or holder["ticker_from"] > holder["venue_from"]:
        return no(f"the master's listing holds the ticker from {holder['ticker_from']}, after its first snapshot of "
                  f"the venue ({holder['venue_from']}): it began after the series")
    if name and not any(same_name(name, n) for n in holder.get("names") or () if n):
        return no(f"the source names it {name!r}, the master {', '.join(n for n in holder['names'] if n)!r}")
    ev["currency"] = {"source": currency, "master": holder.get("currency")}
    if currency and holder.get("currency") and currency.upper() != str(holder["currency"]).upper():
        return no(f"currency {currency} against the master's {holder['currency']}")
    ev["identifiers"] = "none given by the price source to compare"
    best: dict[str, Any] | None = None
    for p in provisional:
        for m in master:
            o = overlap(p, m)
            if o["returns"] and (best is None or o["returns"] > best["returns"]):
                best = {**o, "series": p.source, "master_series": m.source}
    if best is not None and best["returns"] >= MIN_COMMON:
        ev["overlap"] = best
        share = best["agree"] / best["returns"]
        if share < MIN_AGREE:
            return no(f"daily returns disagree where both have data: {best['agree']} of {best['returns']} agree "
                      f"within {RETURN_TOL:.2%}")
        return {**ev, "join": True, "reason": f"daily returns agree on {best['agree']} of {best['returns']} common "
                                              f"dates ({best['series']} / {best['master_series']})"}
    if best is not None:
        ev["overlap"] = best
    gap_days = (holder["ticker_from"] - last).days if last else None
    ev["gap_days"] = gap_days
    if gap_days is None or gap_days > MAX_GAP_DAYS:
        return no(f"too few common dates to compare returns, and the series ends {gap_days} days before the "
                  f"master's first snapshot (at most {MAX_GAP_DAYS})")
    gaps = [g for p in provisional if p.last == last for m in master for g in [gap_ok(p, m)] if g["checked"]]
    if gaps:
        g = min(gaps, key=lambda x: x["log_change"])
        ev["gap"] = g
        if not g["ok"]:
            return no(f"the price jumps across the gap: {g['last_close']} on {g['last_date']} to {g['next_close']} "
                      f"on {g['next_date']} (log change {g['log_change']}, allowed {g['allowed']})")
        return {**ev, "join": True, "reason": f"prices continue across the gap ({g['last_date']} to {g['next_date']}, "
                                              f"log change {g['log_change']} within {g['allowed']})"}
    return {**ev, "join": True, "reason": f"the series ends {gap_days} days before the master's first snapshot, "
                                          "which already lists the ticker; no prices of the master listing to "
                                          "compare, nothing contradicts"}
