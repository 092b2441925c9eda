"""Derived ESG figures, point in time, with their inputs: emissions intensity per revenue and per market value,
the sector percentile of the intensity, and one transparent score.

**Intensity** = (scope 1 + scope 2) in t CO2e / revenue in millions, for the latest period that has both. Revenue
comes from the fundamentals vertical when the facade passes it in (``fundamentals(issuer_id, as_of)``), else from
the revenue an ESG source states for the company (Carbon Gap, Net Zero Tracker), and the answer names which.
Intensity per market value uses ``market_value(issuer_id, as_of)`` (prices x shares known on the date) and is
``None`` with the reason when that is absent.

**Sector percentile**: the share of the issuers of the same sector (the sector the linked source entity states)
whose intensity is at or below this one's, in percent (0 = cleanest).

**Score** (0-100, higher is better) = 0.7 x (100 - sector percentile) + 0.3 x target points, where target points
are 100 for a validated science-based near-term target (SBTi "Targets Set") or a net-zero end target no later than
2050 (Net Zero Tracker), 50 for a commitment or another stated target, 0 for none. Every input is returned.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

SCOPE2 = ("scope2", "scope2_location", "scope2_market")


def intensities(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """From one issuer's metric rows: the latest period with scope 1, scope 2 and revenue (per source)."""
    by: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for r in rows:
        if isinstance(r.get("value"), (int, float)) and str(r["period"]).isdigit():
            by[(r["source"], r["period"])].setdefault(r["metric"], r)
    best = None
    for (source, period), ms in sorted(by.items(), key=lambda kv: kv[0][1]):
        s1 = ms.get("scope1")
        s2 = next((ms[m] for m in SCOPE2 if m in ms), None)
        if s1 and s2:
            best = {"source": source, "period": period, "scope1": s1["value"], "scope2": s2["value"],
                    "scope2_metric": s2["metric"], "revenue": ms.get("revenue", {}).get("value"),
                    "revenue_currency": ms.get("revenue", {}).get("unit")}
    return best


def target_points(rows: list[dict[str, Any]]) -> tuple[int, str]:
    texts = {r["metric"]: r["value"] for r in rows}
    if str(texts.get("sbti_near_term_status", "")).lower() == "targets set":
        return 100, "SBTi near-term target set"
    nz = texts.get("net_zero_target_year")
    if str(texts.get("end_target_type", "")).lower().startswith("net zero") and isinstance(nz, (int, float)) \
            and nz <= 2050:
        return 100, f"net-zero end target {int(nz)} (Net Zero Tracker)"
    if str(texts.get("sbti_near_term_status", "")).lower() == "committed" or texts.get("end_target_type") not in \
            (None, "", "No target"):
        return 50, "a commitment or another stated target"
    return 0, "no target stated by the sources loaded"


def percentile(value: float, peers: list[float]) -> float:
    if not peers:
        return 50.0
    return round(100.0 * sum(1 for p in peers if p <= value) / len(peers), 1)


__all__ = ["intensities", "percentile", "target_points"]
