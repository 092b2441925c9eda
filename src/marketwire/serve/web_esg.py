"""The ESG section of a company page: ``/companies/{id}/esg`` — the issuer's metrics by source and a chart of
emissions by scope over time (an inline SVG drawn here: the pages run no scripts)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from marketwire.errors import MarketwireError
from marketwire.serve.params import check_known
from marketwire.serve.web import _error_page, _facade, _render

#: the series of the chart: metric -> label, colour
SERIES = {"scope1": ("Scope 1", "#1f77b4"), "scope2": ("Scope 2", "#ff7f0e"),
          "scope2_location": ("Scope 2 (location)", "#ff7f0e"), "scope2_market": ("Scope 2 (market)", "#d62728"),
          "scope3": ("Scope 3", "#2ca02c"), "ets_verified": ("EU ETS verified", "#9467bd"),
          "ghg_total": ("WA facilities total", "#8c564b")}
W, H, PAD = 640, 280, 48


def register(app: FastAPI) -> None:
    app.add_api_route("/companies/{id}/esg", esg_page, methods=["GET"], include_in_schema=False,
                      response_class=HTMLResponse)


def esg_page(request: Request, id: str) -> HTMLResponse:
    try:
        check_known(request.query_params.keys(), ("as_of",), "the ESG page /companies/{id}/esg")
        mw = _facade(request)
        as_of = request.query_params.get("as_of") or None
        rows = mw.esg.metrics(id, None, as_of)
        who = mw.resolve(id)[0]
    except MarketwireError as e:
        return _error_page(int(e.http_status), e.code, e.message)
    name = who.get("issuer_name") or who.get("name") or id
    chart = emissions_chart(rows)
    table = [{k: r.get(k) for k in ("metric", "period", "value", "unit", "source", "method", "confidence", "flags",
                                     "citation")} for r in rows]
    return _render("esg.html", 200, company=name, issuer_id=who.get("issuer_id"), id=id, rows=table, chart=chart,
                   html_lang="en", page_title=f"{name} · ESG")


def emissions_chart(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Lines of emissions by scope over the years (one point per metric, source and year), scaled to the SVG."""
    pts: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for r in rows:
        if r["metric"] in SERIES and isinstance(r.get("value"), (int, float)) and str(r["period"]).isdigit():
            pts[(r["metric"], r["source"])][int(r["period"])] = float(r["value"])
    if not pts:
        return None
    years = sorted({y for s in pts.values() for y in s})
    top = max(v for s in pts.values() for v in s.values()) or 1.0
    y0, y1 = years[0], years[-1]

    def x(y: int) -> float:
        return PAD + (W - 2 * PAD) * ((y - y0) / (y1 - y0) if y1 > y0 else 0.5)

    def yv(v: float) -> float:
        return H - PAD - (H - 2 * PAD) * (v / top)

    lines = []
    for (metric, source), s in sorted(pts.items()):
        label, colour = SERIES[metric]
        coords = [(round(x(y), 1), round(yv(v), 1), y, v) for y, v in sorted(s.items())]
        lines.append({"metric": metric, "label": f"{label} · {source}", "colour": colour,
                      "points": " ".join(f"{a},{b}" for a, b, _, _ in coords),
                      "dots": [{"x": a, "y": b, "title": f"{label} {yr}: {v:,.0f} t CO2e ({source})"}
                               for a, b, yr, v in coords]})
    ticks = [{"x": round(x(y), 1), "label": str(y)} for y in years]
    return {"width": W, "height": H, "pad": PAD, "lines": lines, "ticks": ticks, "top": f"{top:,.0f} t CO2e",
            "base": H - PAD}
