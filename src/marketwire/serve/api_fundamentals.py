"""REST routes and the company page of the fundamentals and estimates vertical (thin shells over
``mw.fundamentals`` and ``mw.estimates``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse

from marketwire.errors import MarketwireError
from marketwire.serve.params import check_known

ID_PATTERN = r"^(?:(?:isin|cusip|figi|lei|cik|ticker|ISIN|CUSIP|FIGI|LEI|CIK|TICKER):)?[^\x00-\x20\x7f:]+$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TAG_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,199}$"


def _rows(df: Any) -> list[dict[str, Any]]:
    return df.to_dicts()  # type: ignore[no-any-return]


def register(app: FastAPI, mw: Callable[[Request], Any], many: Callable[[list[Any]], JSONResponse],
             one: Callable[[Any], JSONResponse], errors: Callable[..., dict[Any, Any]]) -> None:
    """Add the routes to ``app``; ``mw(request)`` is the facade, ``many``/``one`` the API's envelopes."""
    id_path = PathParam(..., max_length=64, pattern=ID_PATTERN,
                        description="Any id the identity service resolves: ticker, ISIN, `CIK:320193`, ...")
    as_of_q = Query(None, max_length=10, pattern=DATE_PATTERN, description="Point in time `YYYY-MM-DD` (filing "
                    "dates at or before it); default: today.", examples=["2021-06-30"])

    @app.get("/v1/fundamentals/{id}/facts", tags=["fundamentals"], summary="XBRL facts as reported, point in time",
             response_description="Per tag and period the latest value filed at or before `as_of` (or every "
                                  "version with `all_versions`).", responses=errors(400, 404, 409))
    def facts(request: Request, id: str = id_path,
              tag: str | None = Query(None, pattern=TAG_PATTERN, description="XBRL tag, e.g. `Revenues`."),
              fy: int | None = Query(None, ge=1900, le=2200, description="Fiscal year of the period."),
              as_of: str | None = as_of_q,
              all_versions: bool = Query(False, description="Every version filed, restatements included."),
              first_reported: bool = Query(False, description="The first value reported instead of the latest."),
              ) -> JSONResponse:
        return many(_rows(mw(request).fundamentals.facts(id, tag=tag, fy=fy, as_of=as_of, all_versions=all_versions,
                                                         first_reported=first_reported)))

    @app.get("/v1/fundamentals/{id}/statements/{statement}", tags=["fundamentals"],
             summary="A standardised statement (income, balance, cash_flow), point in time",
             response_description="Long form: line_item, period_end, value, unit, fiscal year and period, the tag "
                                  "and filing it came from.", responses=errors(400, 404, 409))
    def statement(request: Request, id: str = id_path,
                  statement: str = PathParam(..., pattern="^(income|balance|cash_flow)$"),
                  period: str = Query("annual", pattern="^(annual|quarter|ttm)$"),
                  as_of: str | None = as_of_q,
                  adjust: str = Query("none", pattern="^(none|splits)$",
                                      description="`splits`: per-share values and share counts on today's basis.")
                  ) -> JSONResponse:
        return many(_rows(mw(request).fundamentals.statement(id, statement, period=period, as_of=as_of,
                                                             adjust=adjust)))

    @app.get("/v1/fundamentals/{id}/ratios", tags=["fundamentals"], summary="Valuation ratios on a date",
             response_description="Market cap, P/E (TTM), P/B, EV/EBITDA, dividend yield from the price and the "
                                  "facts known that day.", responses=errors(400, 404, 409))
    def ratios(request: Request, id: str = id_path,
               date_: str | None = Query(None, alias="date", max_length=10, pattern=DATE_PATTERN)) -> JSONResponse:
        return one(mw(request).fundamentals.ratios(id, date_))

    @app.get("/v1/estimates/{id}/consensus", tags=["fundamentals"], summary="Consensus estimates known on a date",
             response_description="Per metric and fiscal period: mean, median, high, low, count, std.",
             responses=errors(400, 404, 409))
    def consensus(request: Request, id: str = id_path, as_of: str | None = as_of_q,
                  metric: str | None = Query(None, pattern="^[a-z_]{1,32}$")) -> JSONResponse:
        return many(_rows(mw(request).estimates.consensus(id, as_of=as_of, metric=metric)))

    @app.get("/v1/estimates/{id}/surprises", tags=["fundamentals"], summary="Earnings surprises",
             response_description="Reported actuals against the consensus known before each report.",
             responses=errors(400, 404, 409))
    def surprises(request: Request, id: str = id_path,
                  metric: str | None = Query(None, pattern="^[a-z_]{1,32}$")) -> JSONResponse:
        return many(_rows(mw(request).estimates.surprises(id, metric=metric)))

    app.add_api_route("/companies/{id}", company_page, methods=["GET"], include_in_schema=False,
                      response_class=HTMLResponse)


# -- the company page -------------------------------------------------------------------------------------

def company_page(request: Request, id: str) -> HTMLResponse:
    from marketwire.serve.web import _error_page, _facade, _render

    try:
        check_known(request.query_params.keys(), ("as_of",), "the company page /companies/{id}")
        as_of = request.query_params.get("as_of") or None
        fs = _facade(request).fundamentals
        inc = fs.statement(id, "income", period="annual", as_of=as_of)
        bal = fs.statement(id, "balance", period="annual", as_of=as_of)
        cf = fs.statement(id, "cash_flow", period="annual", as_of=as_of)
        cik, match = fs.resolve(id)
    except MarketwireError as e:
        return _error_page(int(e.http_status), e.code, e.message)
    name = (match or {}).get("issuer_name") or (match or {}).get("name") or f"CIK {cik}"
    tables = [_table("Income statement", "income", inc), _table("Balance sheet", "balance", bal),
              _table("Cash flow", "cash_flow", cf)]
    chart = _chart(inc)
    return _render("company.html", 200, name=name, cik=cik, id=id, as_of=as_of, tables=tables, chart=chart,
                   html_lang="en", page_title=f"{name} · fundamentals")


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return ""
    if "/" in unit:
        return f"{v:,.2f}"
    if abs(v) >= 1e6:
        return f"{v / 1e6:,.0f}"
    return f"{v:,.0f}"


def _table(title: str, key: str, df: Any, years: int = 6) -> dict[str, Any]:
    if not df.height:
        return {"title": title, "key": key, "ends": [], "rows": []}
    ends = sorted(set(df.get_column("period_end").to_list()))[-years:]
    rows = []
    for item in df.get_column("line_item").unique(maintain_order=True).to_list():
        sub = df.filter(df["line_item"] == item)
        by = {r["period_end"]: r for r in sub.to_dicts()}
        unit = sub.item(0, "unit")
        rows.append({"item": item, "label": sub.item(0, "label"), "unit": unit,
                     "cells": [_fmt(by[e]["value"], unit) if e in by else "" for e in ends]})
    return {"title": title, "key": key, "ends": [e.isoformat() for e in ends], "rows": rows}


def _chart(inc: Any, years: int = 10) -> dict[str, Any]:
    """An inline SVG of revenue (bars) and diluted EPS (line) by fiscal year: no script needed."""
    def series(item: str) -> dict[date, float]:
        s = inc.filter(inc["line_item"] == item)
        return dict(zip(s.get_column("period_end").to_list(), s.get_column("value").to_list()))

    rev, eps = series("revenue"), series("eps_diluted")
    ends = sorted(set(rev) | set(eps))[-years:]
    w, h, pad = 640, 240, 30
    if not ends:
        return {"bars": [], "points": "", "labels": [], "width": w, "height": h}
    n = len(ends)
    step = (w - 2 * pad) / n
    rmax = max([abs(rev[e]) for e in ends if e in rev] or [1]) or 1
    emax = max([abs(eps[e]) for e in ends if e in eps] or [1]) or 1
    bars, pts, labels = [], [], []
    for i, e in enumerate(ends):
        x = pad + i * step
        if e in rev:
            bh = (h - 2 * pad) * abs(rev[e]) / rmax
            bars.append({"x": round(x + step * 0.15, 1), "y": round(h - pad - bh, 1), "w": round(step * 0.7, 1),
                         "h": round(bh, 1), "title": f"{e.year} revenue {rev[e] / 1e6:,.0f} M"})
        if e in eps:
            pts.append(f"{x + step / 2:.1f},{h - pad - (h - 2 * pad) * max(eps[e], 0) / emax:.1f}")
        labels.append({"x": round(x + step / 2, 1), "text": str(e.year)})
    return {"bars": bars, "points": " ".join(pts), "labels": labels, "width": w, "height": h,
            "eps": [{"year": e.year, "value": eps[e]} for e in ends if e in eps]}
