"""Quality report and score of one listing's daily series.

``score = 100 x clean x accepted x coverage`` where ``clean`` is one minus flagged bars and flagged actions over
the bars,
``accepted`` the share of delivered rows not quarantined, and ``coverage`` the share of the exchange's sessions
between the first and last bar that have a bar. Each part is reported next to the score, with counts per rule.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import polars as pl

from marketwire.datasets import prices as P
from marketwire.datasets import reference as R
from marketwire.prices import calendars
from marketwire.prices.read import BarsCache
from marketwire.store import Lake


class Series(Protocol):
    """What the report reads: the lake, the bars cache and the disagreements of a listing (the prices service)."""

    lake: Lake
    bars_cache: BarsCache

    def disagreements(self, id: str) -> list[dict[str, Any]]: ...


def report(mw: Series, listing_id: str) -> dict[str, Any]:
    cache = mw.bars_cache
    out: dict[str, Any] = {"listing_id": listing_id, "sources": []}
    syms = pl.from_arrow(mw.lake.read(P.PRICE_LISTINGS, where="listing_id = ?", params=[listing_id])) \
        if mw.lake.exists(P.PRICE_LISTINGS) else pl.DataFrame()
    assert isinstance(syms, pl.DataFrame)
    cal = syms.get_column("calendar")[0] if syms.height else None
    files = syms.get_column("symbol").to_list() if syms.height else []
    out["symbols"] = files
    out["provisional"] = bool(syms.get_column("provisional").any()) if syms.height else False
    out["calendar"] = cal
    primary = cache.primary(listing_id)
    out["primary_source"] = primary
    q_by_source: dict[str, dict[str, int]] = {}
    if mw.lake.exists(R.QUARANTINE) and files:
        q = pl.from_arrow(mw.lake.read(R.QUARANTINE, columns=["source", "rule", "raw"],
                                       where="dataset IN ('bars_daily', 'corporate_actions')"))
        assert isinstance(q, pl.DataFrame)
        q = q.with_columns(pl.col("raw").str.json_path_match("$.symbol").alias("symbol")).filter(
            pl.col("symbol").is_in(files))
        for s, rule, n in q.group_by("source", "rule").len().iter_rows():
            q_by_source.setdefault(s, {})[rule] = n
    scores = []
    for src in cache.sources_of(listing_id):
        found = cache.series(listing_id, src)
        if found is None:
            continue
        t, info = found
        df = pl.from_arrow(t)
        assert isinstance(df, pl.DataFrame)
        n = df.height
        flag_counts = dict(df.get_column("flags").drop_nulls().str.split(",").explode().value_counts().iter_rows())
        flagged = df.filter(pl.col("flags").is_not_null()).height
        quarantined = sum(q_by_source.get(src, {}).values())
        first, last = df.get_column("date").min(), df.get_column("date").max()
        expected = None
        missing: list[str] = []
        if cal and n:
            sess = calendars.sessions(cal).astype("datetime64[D]")
            lo, hi = np.datetime64(str(first), "D"), np.datetime64(str(last), "D")
            window = sess[(sess >= lo) & (sess <= hi)]
            have = df.get_column("date").to_numpy().astype("datetime64[D]")
            gaps = np.setdiff1d(window, have)
            expected = int(window.size)
            missing = [str(x) for x in gaps[:50]]
            coverage = 1.0 - gaps.size / max(expected, 1)
        else:
            gaps = np.array([])
            coverage = 1.0
        acts = cache.actions(listing_id)
        own = acts.filter(pl.col("source") == src) if acts.height else acts
        act_flagged = own.filter(pl.col("flags").is_not_null()).height if own.height else 0
        clean = max(0.0, 1 - (flagged + act_flagged) / n) if n else 0.0
        accepted = n / (n + quarantined) if n + quarantined else 0.0
        score = round(100 * clean * accepted * coverage, 2)
        scores.append((src == primary, score))
        out["sources"].append({
            "source": src, "basis": info["basis"], "currency": info["currency"], "rows": n, "first": first, "last": last,
            "sessions_expected": expected, "sessions_missing": int(gaps.size), "missing_sample": missing,
            "flagged": flagged, "flags": flag_counts, "actions_flagged": act_flagged, "quarantined": quarantined,
            "quarantine": q_by_source.get(src, {}), "clean": round(clean, 6), "accepted": round(accepted, 6),
            "coverage": round(coverage, 6), "score": score})
    acts = cache.actions(listing_id)
    out["actions"] = acts.height
    out["actions_flagged"] = dict(acts.get_column("flags").drop_nulls().str.split(",").explode().value_counts()
                                  .iter_rows()) if acts.height else {}
    out["disagreements"] = len(mw.disagreements(listing_id))
    out["score"] = next((s for p, s in scores if p), None)
    return out
