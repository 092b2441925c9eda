"""Evaluate the bar and action rules on pairs of bad and repaired files (the yfinance repair fixtures).

A pair is ``NAME.csv`` (as the vendor delivered it) and ``NAME-fixed.csv`` (repaired). The rows the repair
changed are the known errors. A pair is *caught* when a rule fires, on the bad file, on a date the repair changed
or the session next to it (a jump is between two bars), and does not fire there on the repaired file. Files
named ``*-no-bad-divs.csv`` are clean: nothing in them may be quarantined.

``python benchmarks/price_rules.py FOLDER`` prints the table in ``docs/prices.md``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

import marketwire

KINDS = (("no-bad-divs", "clean"), ("100x-error", "x100 unit error"), ("bad-unit", "x100 unit error"),
         ("bad-stock-split", "bad split"),
         ("bad-div", "bad dividend"), ("cg-double-count", "capital-gain double count"),
         ("missing-div-adjust", "missing dividend adjustment"))
COMPARED = ("Open", "High", "Low", "Close", "Adj Close", "Volume", "Dividends", "Stock Splits", "Capital Gains")


def kind_of(name: str) -> str:
    return next((label for key, label in KINDS if key in name), "other")


@dataclass
class Findings:
    file: str
    error: str | None = None
    quarantined: list[tuple[date, str]] = field(default_factory=list)
    flagged: list[tuple[date, str]] = field(default_factory=list)

    @property
    def all(self) -> set[tuple[date, str]]:
        return set(self.quarantined) | set(self.flagged)


def findings(path: Path, preset: str = "yfinance") -> Findings:
    """Ingest one file into a scratch lake and collect what the rules said, by date."""
    out = Findings(path.name)
    with tempfile.TemporaryDirectory(prefix="mw-eval-") as home:
        mw = marketwire.open(home)
        try:
            mw.ingest("prices-csv", [path], preset=preset)
        except Exception as e:  # noqa: BLE001 - reported in the table
            out.error = f"{type(e).__name__}: {str(e).split(';')[-1].strip()}"
            return out
        for q in mw.quarantine():
            raw = json.loads(q["raw"]) if q["raw"] else {}
            d = raw.get("date") or raw.get("ex_date")
            out.quarantined.append((date.fromisoformat(str(d)[:10]) if d else date.min, q["rule"]))
        for lid in mw.bars_cache.listings():
            df = mw.prices(lid, flags=True, output="polars")
            for d, flags in df.filter(pl.col("flags").is_not_null()).select("date", "flags").iter_rows():
                out.flagged.extend((d, f) for f in flags.split(","))
            for a in mw.actions(lid):
                if a["flags"]:
                    out.flagged.extend((a["ex_date"], f) for f in a["flags"].split(","))
    return out


def changed_dates(bad: Path, fixed: Path) -> set[date]:
    """Session dates whose values the repair changed (beyond float32 noise)."""
    def load(p: Path) -> pl.DataFrame:
        df = pl.read_csv(p, infer_schema_length=0)
        dcol = "Datetime" if "Datetime" in df.columns else "Date"
        cols = [c for c in COMPARED if c in df.columns]
        return df.select(pl.col(dcol).str.slice(0, 10).str.to_date().alias("date"),
                         *[pl.col(c).cast(pl.Float64, strict=False).fill_null(0.0).alias(c) for c in cols])

    a, b = load(bad), load(fixed)
    cols = [c for c in COMPARED if c in a.columns and c in b.columns]
    j = a.join(b, on="date", how="full", suffix="_fixed", coalesce=True)
    diff = pl.lit(False)
    for c in cols:
        x, y = pl.col(c).fill_null(0.0), pl.col(f"{c}_fixed").fill_null(0.0)
        diff = diff | ((x - y).abs() > 1e-4 * pl.max_horizontal(x.abs(), y.abs(), pl.lit(1e-9)))
    return set(j.filter(diff).get_column("date").to_list())


def _with_neighbours(dates: set[date], path: Path) -> set[date]:
    df = pl.read_csv(path, infer_schema_length=0)
    dcol = "Datetime" if "Datetime" in df.columns else "Date"
    days = sorted(set(df.get_column(dcol).str.slice(0, 10).str.to_date().to_list()))
    out = set(dates)
    for k, d in enumerate(days):
        if d in dates:
            out.update(days[max(k - 1, 0): k + 2])
    return out


def evaluate(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for bad in sorted(folder.glob("*.csv")):
        if bad.stem.endswith("-fixed"):
            continue
        fixed = bad.with_name(bad.stem + "-fixed.csv")
        kind = kind_of(bad.name)
        fb = findings(bad)
        row: dict[str, Any] = {"file": bad.name, "kind": kind, "error": fb.error,
                               "quarantined": len(fb.quarantined), "flagged": len(fb.flagged)}
        if fixed.exists():
            ff = findings(fixed)
            changed = changed_dates(bad, fixed)
            near = _with_neighbours(changed, bad)
            hits = sorted({r for d, r in fb.all - ff.all if d in near})
            row.update(changed=len(changed), caught=bool(hits), rules=hits)
        else:
            row.update(changed=0, caught=None, rules=sorted({r for _, r in fb.all}))
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| kind | file | dates the repair changed | caught | by rules | quarantined |",
             "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["kind"], r["file"])):
        if r["error"]:
            caught, rules = "refused", r["error"]
        elif r["caught"] is None:
            caught, rules = "clean file", ", ".join(r["rules"]) or "-"
        else:
            caught, rules = ("yes" if r["caught"] else "**missed**"), ", ".join(r["rules"]) or "-"
        lines.append(f"| {r['kind']} | {r['file']} | {r['changed'] or '-'} | {caught} | {rules} | "
                     f"{r['quarantined']} |")
    summary = ["", "| kind | pairs | caught |", "|---|---|---|"]
    kinds: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        kinds.setdefault(r["kind"], []).append(r)
    for k, rs in sorted(kinds.items()):
        if k == "clean":
            summary.append(f"| clean (no-bad-divs) | {len(rs)} | quarantined rows: {sum(r['quarantined'] for r in rs)} |")
        else:
            summary.append(f"| {k} | {len(rs)} | {sum(1 for r in rs if r['caught'])} |")
    return "\n".join(lines + summary) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(table(evaluate(Path(sys.argv[1]))), end="")
