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
from marketwire.verify.rules import Rule, register

D = "esg_metrics"
RULES = (
    Rule("esg.placeholder", "reject", D,
         "A cell holding a placeholder instead of a number (--, -, #VALUE!, #N/A ...): the row is stored, the value "
         "quarantined with file, row, column and raw text; never read as zero."),
    Rule("esg.not_a_number", "reject", D, "A cell that is not a number (words, stray characters); never coerced."),
    Rule("esg.ambiguous_number", "reject", D,
         "A number with one comma before three digits (1,600) in a file whose decimal convention is not known: "
         "thousands or decimals cannot be told; never guessed."),
    Rule("esg.not_reported", "reject", D,
         "A verified-emissions cell that states a status (Excluded, Not Reported) instead of a number: quarantined "
         "with the raw text; no value is stored for the year."),
    Rule("esg.bad_year", "reject", D, "A target or reporting year that is not a year between 1900 and 2200."),
    Rule("esg.missing_name", "reject", D, "A row without the name of the entity it describes."),
    Rule("esg.conflicting_duplicate", "reject", D,
         "A second value for the same entity, metric and period in one delivery that differs from the first: the "
         "first is stored, this one quarantined (which is right is never guessed)."),
    Rule("esg.unknown_metric", "reject", D, "A metric code that is not in the catalogue (esg/metrics.csv)."),
    Rule("esg.negative_emissions", "reject", D,
         "An emissions value below zero (emissions, allocations and surrenders are never negative)."),
    Rule("esg.unknown_unit", "flag", D, "A value in a unit the unit library does not know: stored as written, "
                                        "never converted."),
    Rule("esg.unit_mismatch", "flag", D, "A unit of another dimension than the metric's (e.g. USD for scope 1)."),
    Rule("esg.implausible_magnitude", "flag", D,
         "Emissions of one company above 5 Gt CO2e a year (the largest emitters report about 2 Gt including "
         "scope 3): a unit error (kg for t, t for kt) is likely."),
    Rule("esg.zero_emissions", "flag", D, "Scope 1, scope 1+2 or verified emissions reported as exactly zero."),
    Rule("esg.scope_total_mismatch", "flag", D,
         "Scope 1 + scope 2 differs from the stated scope 1+2 total (or 1+2+3 from the stated 1-3 total) by more "
         "than 1%."),
    Rule("esg.yoy_jump", "flag", D,
         "A value 10 times (or a tenth of) the same entity's value for the previous period in the same source."),
    Rule("esg.source_disagreement", "flag", "esg_disagreements",
         "Two sources state the same metric of the same issuer for the same period and differ by more than 10%; "
         "both are kept and the disagreement is recorded in esg_disagreements."),
)
for _r in RULES:
    register(_r)

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
