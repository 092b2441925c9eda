"""Estimates from Financial Modeling Prep and IEX Cloud (their JSON responses as files).

* ``estimates-fmp`` reads ``/api/v3/analyst-estimates/SYMBOL`` (annual consensus: low, high, average and the
  number of analysts for revenue, EBITDA, EBIT, net income, SG&A and EPS, up to years ahead; known at the file's
  date, or ``--as-of``) and ``/api/v3/historical/earning_calendar/SYMBOL`` (per fiscal quarter the consensus EPS
  and revenue at report time and the reported actuals). A calendar row's consensus is dated the day before the
  report (the consensus the report is compared with); its actual is known from the report date.
* ``estimates-iex`` reads IEX Cloud's ``/stock/SYMBOL/estimates`` (consensus EPS and the number of estimates).

No source here names its contributors: they deliver consensus only, stored in ``consensus``.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from marketwire.errors import ParseError
from marketwire.sources.base import Batch, Query, RawFile, Refusal, Source, snapshot_date
from marketwire.sources.sec_companyfacts import parse_json

_FMP_METRICS = {"revenue": "revenue", "ebitda": "ebitda", "ebit": "ebit", "netIncome": "net_income",
                "sgaExpense": "sga", "eps": "eps"}


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _day(v: Any) -> date | None:
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def _bad(raw: RawFile, i: int, row: Any, msg: str, fld: str | None = None) -> Refusal:
    return Refusal("estimate.malformed", msg, raw.name, i, row if isinstance(row, dict) else str(row), field=fld,
                   value=str(row.get(fld)) if isinstance(row, dict) and fld else None, dataset="consensus")


class FmpEstimates(Source):
    name = "estimates-fmp"
    dataset = "consensus"
    url = "https://financialmodelingprep.com/api/v3/historical/earning_calendar/AAPL"
    description = "Financial Modeling Prep analyst estimates and earnings calendar (consensus vs actual)"

    def transform(self, query: Query, raw: RawFile) -> Batch:
        doc = parse_json(raw)
        rows: list[Any]
        if isinstance(doc, dict) and all(isinstance(v, list) for v in doc.values()):
            rows = [r for v in doc.values() for r in v]
        elif isinstance(doc, list):
            rows = doc
        else:
            raise ParseError(f"{raw.name}: line 1, column 1: not an FMP estimates response (expected a list of "
                             "records or an object of lists by symbol)", file=raw.name, line=1, column=1)
        b = Batch(self.dataset)
        asof = snapshot_date(query, raw)
        for i, r in enumerate(rows, start=1):
            if not isinstance(r, dict) or not r.get("symbol"):
                b.refusals.append(_bad(raw, i, r, "not an estimate record with a symbol", "symbol"))
                continue
            if "fiscalDateEnding" in r:  # the earnings calendar
                end, rep = _day(r.get("fiscalDateEnding")), _day(r.get("date"))
                if end is None or rep is None:
                    b.refusals.append(_bad(raw, i, r, "fiscalDateEnding or date is not a date", "fiscalDateEnding"))
                    continue
                for metric, est, act in (("eps", "epsEstimated", "eps"), ("revenue", "revenueEstimated", "revenue")):
                    mean, actual = _num(r.get(est)), _num(r.get(act))
                    if mean is None and actual is None:
                        continue
                    b.records.append({
                        "symbol": str(r["symbol"]).upper(), "metric": metric, "period_end": end, "fiscal_period": "Q",
                        "mean": mean, "median": None, "high": None, "low": None, "count": None, "std": None,
                        "actual": actual, "report_date": rep, "currency": "USD",
                        "as_of": rep - timedelta(days=1), "file": raw.name, "line": i, "flags": None})
                continue
            end = _day(r.get("date"))
            if end is None:
                b.refusals.append(_bad(raw, i, r, "date is not a date", "date"))
                continue
            for key, metric in _FMP_METRICS.items():
                avg, lo, hi = _num(r.get(f"{key}Avg")), _num(r.get(f"{key}Low")), _num(r.get(f"{key}High"))
                if avg is None:
                    continue
                n = r.get("numAnalystsEps") if metric == "eps" else r.get("numAnalystsRevenue")
                b.records.append({
                    "symbol": str(r["symbol"]).upper(), "metric": metric, "period_end": end, "fiscal_period": "FY",
                    "mean": avg, "median": None, "high": hi, "low": lo,
                    "count": int(n) if isinstance(n, int) else None, "std": None, "actual": None,
                    "report_date": None, "currency": "USD", "as_of": asof, "file": raw.name, "line": i,
                    "flags": None})
        return b


class IexEstimates(Source):
    name = "estimates-iex"
    dataset = "consensus"
    url = "https://cloud.iexapis.com/stable/stock/MSFT/estimates"
    description = "IEX Cloud consensus EPS estimates (service closed 2024; files only)"

    def transform(self, query: Query, raw: RawFile) -> Batch:
        doc = parse_json(raw)
        if not isinstance(doc, dict) or not isinstance(doc.get("estimates"), list):
            raise ParseError(f"{raw.name}: line 1, column 1: not an IEX estimates response (expected `symbol` and "
                             "`estimates`)", file=raw.name, line=1, column=1)
        b = Batch(self.dataset)
        asof = snapshot_date(query, raw)
        sym = str(doc.get("symbol") or "").upper()
        for i, r in enumerate(doc["estimates"], start=1):
            end = _day(r.get("fiscalEndDate")) if isinstance(r, dict) else None
            mean = _num(r.get("consensusEPS")) if isinstance(r, dict) else None
            if not sym or end is None or mean is None:
                b.refusals.append(_bad(raw, i, r, "an estimate needs a symbol, fiscalEndDate and consensusEPS",
                                       "consensusEPS"))
                continue
            fp = str(r.get("fiscalPeriod") or "")
            b.records.append({
                "symbol": sym, "metric": "eps", "period_end": end, "fiscal_period": fp.split()[0] if fp else "Q",
                "mean": mean, "median": None, "high": None, "low": None,
                "count": r.get("numberOfEstimates") if isinstance(r.get("numberOfEstimates"), int) else None,
                "std": None, "actual": None, "report_date": _day(r.get("reportDate")), "currency": "USD",
                "as_of": asof, "file": raw.name, "line": i, "flags": None})
        return b
