"""Valuation ratios on a date from the prices and the facts known on that date (no look-ahead).

Every input is what was knowable at the close of ``day``: facts filed at or before ``day`` (their filing date is
their knowledge time), the closing price of the last session at or before ``day``, and per-share and share-count
facts brought to the share basis of ``day`` with the splits between their filing and ``day`` only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl


def _latest(st: pl.DataFrame, item: str) -> dict[str, Any] | None:
    r = st.filter(pl.col("line_item") == item).sort("period_end")
    return r.tail(1).row(0, named=True) if r.height else None


def _basis(value: float, filed: date, day: date, events: list[tuple[date, float]], kind: str) -> float:
    k = 1.0
    for d, r in events:
        if filed < d <= day:
            k *= r
    return value / k if kind == "per_share" else value * k


def ratios(inc_ttm: pl.DataFrame, bal_q: pl.DataFrame, cf_ttm: pl.DataFrame, shares_out: dict[str, Any] | None,
           price: tuple[date, float, str | None] | None, day: date, events: list[tuple[date, float]]
           ) -> dict[str, Any]:
    out: dict[str, Any] = {"date": day.isoformat(), "price": None, "price_date": None}
    if price is None:
        out["note"] = "no closing price on or before the date (load prices for the issuer's listing)"
        close = None
    else:
        out["price_date"], close = price[0].isoformat(), price[1]
        out["price"] = close
    eps = _latest(inc_ttm, "eps_diluted")
    ni = _latest(inc_ttm, "net_income")
    opi = _latest(inc_ttm, "operating_income")
    da = _latest(cf_ttm, "cf_depreciation") or _latest(inc_ttm, "depreciation_amortization")
    dps = _latest(inc_ttm, "dividends_per_share")
    eq = _latest(bal_q, "total_equity")
    cash = _latest(bal_q, "cash")
    debt = [x for x in (_latest(bal_q, "long_term_debt"), _latest(bal_q, "short_term_debt")) if x]
    shares = None
    if shares_out is not None:
        shares = _basis(shares_out["value"], shares_out["filed"], day, events, "shares")
        out["shares_outstanding"], out["shares_as_of"] = shares, shares_out["end"].isoformat()
    mcap = close * shares if close is not None and shares else None
    out["market_cap"] = mcap
    if eps and close is not None:
        e = _basis(eps["value"], eps["filed"], day, events, "per_share")
        out["eps_ttm"], out["eps_period_end"] = e, eps["period_end"].isoformat()
        out["pe_ttm"] = close / e if e > 0 else None
    if ni:
        out["net_income_ttm"] = ni["value"]
    if eq and mcap:
        out["book_equity"], out["pb"] = eq["value"], (mcap / eq["value"] if eq["value"] > 0 else None)
    if opi and da:
        ebitda = opi["value"] + da["value"]
        out["ebitda_ttm"] = ebitda
        if mcap:
            ev = mcap + sum(d["value"] for d in debt) - (cash["value"] if cash else 0.0)
            out["enterprise_value"] = ev
            out["ev_ebitda"] = ev / ebitda if ebitda > 0 else None
    if dps and close:
        d = _basis(dps["value"], dps["filed"], day, events, "per_share")
        out["dividends_per_share_ttm"], out["dividend_yield"] = d, d / close
    elif close:
        out["dividend_yield"] = 0.0 if dps is None and ni else None
    return out
