"""The ESG rules (registered in the rule catalogue, docs/rules.md) and the checks of one delivery's metrics.

Refused cells (``esg.placeholder``, ``esg.not_a_number`` ...) are refused by the sources; the checks here run on the
parsed values: unit sanity by metric, scope 1 + 2 against the stated total, year-on-year jumps of 10x or more,
negative and zero emissions, and two sources disagreeing on the same issuer, metric and period.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from functools import lru_cache
from importlib import resources
from typing import Any

from marketwire.esg import units
from marketwire.verify.rules import BUILTIN_RULES

#: the ESG rules, declared in the one catalogue (marketwire.verify.rules, docs/rules.md)
RULES = tuple(r for r in BUILTIN_RULES if r.code.startswith("esg."))

EMISSION_METRICS_NONNEG = True
#: relative tolerance of the stated-total check and of two sources' agreement
TOTAL_TOLERANCE = 0.01
SOURCE_TOLERANCE = 0.10
JUMP = 10.0
MAX_COMPANY_T = 5e9


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """The metric catalogue shipped with the package (esg/metrics.csv): code -> name, kind, unit, description."""
    text = resources.files("marketwire.esg").joinpath("metrics.csv").read_text(encoding="utf-8")
    return {r["code"]: r for r in csv.DictReader(text.splitlines())}


def check_record(rec: dict[str, Any]) -> tuple[list[str], str | None]:
    """Flags of one metric record and, when it is refused, the rule; converts emissions to t CO2e in place."""
    cat = catalogue().get(rec["metric"])
    if cat is None:
        return [], "esg.unknown_metric"
    flags: list[str] = []
    v, unit = rec.get("value"), rec.get("unit")
    if cat["kind"] == "category":
        return flags, None
    if v is None:
        return flags, None
    if cat["kind"] in ("emissions", "allowances"):
        if unit and not units.is_known(unit):
            flags.append("esg.unknown_unit")
            return flags, None
        if unit in units.PLAIN_UNITS and unit:
            flags.append("esg.unit_mismatch")
            return flags, None
        target = cat["unit"]
        if unit and unit != target:
            try:
                rec["value"] = units.convert(v, unit, target)
                rec["method"] = f"{rec.get('method') or ''}; converted from {unit}".lstrip("; ")
                rec["unit"] = target
                v = rec["value"]
            except Exception:  # noqa: BLE001 - another dimension (allowance vs t CO2e): kept, flagged
                flags.append("esg.unit_mismatch")
        if v < 0:
            return flags, "esg.negative_emissions"
        if v == 0 and rec["metric"] in ("scope1", "scope12", "ets_verified", "ghg_total"):
            flags.append("esg.zero_emissions")
        if v > MAX_COMPANY_T:
            flags.append("esg.implausible_magnitude")
    return flags, None


def check_totals(records: list[dict[str, Any]]) -> None:
    """Scope 1 + 2 against the stated 1+2 total, and 1 + 2 + 3 against the stated 1-3 total (same entity, period)."""
    by: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in records:
        by[(r["entity_id"], r["period"])][r["metric"]] = r
    for ms in by.values():
        s2 = ms.get("scope2") or ms.get("scope2_location") or ms.get("scope2_market")
        s1, s3 = ms.get("scope1"), ms.get("scope3")
        for total, parts in (("scope12", [s1, s2]), ("scope123", [s1, s2, s3])):
            t = ms.get(total)
            if t is None or t.get("value") is None or any(p is None or p.get("value") is None for p in parts):
                continue
            expected = sum(p["value"] for p in parts)  # type: ignore[index]
            if abs(expected - t["value"]) > TOTAL_TOLERANCE * max(abs(t["value"]), 1.0):
                add_flag(t, "esg.scope_total_mismatch")


def check_jumps(records: list[dict[str, Any]], stored: list[dict[str, Any]] | None = None) -> None:
    """A value 10x or a tenth of the previous year's of the same entity and metric (the delivery's and stored)."""
    series: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for r in (stored or []) + records:
        if r.get("value") is not None and str(r["period"]).isdigit():
            series[(r["entity_id"], r["metric"])][int(r["period"])] = r["value"]
    for r in records:
        v = r.get("value")
        if v is None or not str(r["period"]).isdigit() or catalogue().get(r["metric"], {}).get("kind") != "emissions":
            continue
        prev = series[(r["entity_id"], r["metric"])].get(int(r["period"]) - 1)
        if prev is None or prev <= 0 or v <= 0:
            continue
        ratio = v / prev
        if ratio >= JUMP or ratio <= 1 / JUMP:
            add_flag(r, "esg.yoy_jump")


def add_flag(rec: dict[str, Any], code: str) -> None:
    have = set((rec.get("flags") or "").split(",")) - {""}
    rec["flags"] = ",".join(sorted(have | {code}))


__all__ = ["RULES", "add_flag", "catalogue", "check_jumps", "check_record", "check_totals"]
