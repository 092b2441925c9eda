#!/usr/bin/env python
"""A standardised income statement, point in time, of one company over its whole history: marketwire's SDK against
DuckDB over the same Parquet files and pandas over the raw company facts JSON, in the same run.

Real scale: the company facts of the shared data folder (``fundamentals/companyfacts`` and SNOW beside it) are
ingested into a fresh home (the ingest is timed: facts/s). ``--reads`` random (company, as-of date) pairs, the same
for every system; each answers "the annual income statement as filed by that date" (for each line item of the
mapping table and each fiscal year: the latest value filed by the date, the best-ranked tag):

* marketwire: ``mw.fundamentals.statement("CIK:n", "income", period="annual", as_of=d)`` (identity resolution, the
  point-in-time selection over the issuer's statement layout, built by the ingest and read memory-mapped; the
  first read of each company in the process is reported apart as ``cold``);
* DuckDB: one SQL query over the Parquet files of the same ``sec_facts`` Delta table and the mapping table (the
  annual periods by length, 330-380 days);
* pandas: the raw company facts JSON loaded once per company into a DataFrame (timed apart), then the same
  selection in pandas per query.

The answers are compared (line item, period end, value) for every query.

Synthetic scale (``--issuers N``): N issuers made from the real ones (each a real company's facts under a new CIK,
values scaled by a random factor, filing dates shifted by whole weeks), about 25k facts each, appended straight to
the Delta table (not through the engine: this measures the read), their statement layouts built (timed, with their
bytes: the ingest stage builds them for what it writes), then the same query over random issuers: cold (first read
of an issuer in the process: its rows of the memory-mapped layout) and warm.

    PYTHONPATH=src python benchmarks/fundamentals_read.py --reads 200 --issuers 200
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def data_dir() -> Path:
    env = os.environ.get("MARKETWIRE_DATA")
    if env:
        return Path(env)
    for p in Path(__file__).resolve().parents:
        if (p / "shared" / "data").is_dir():
            return p / "shared" / "data"
    raise SystemExit("shared data not found (set MARKETWIRE_DATA)")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def row(name: str, xs: list[float]) -> str:
    return f"| {name} | {len(xs)} | {pct(xs, 0.5):.2f} | {pct(xs, 0.95):.2f} | {pct(xs, 0.99):.2f} |"


SQL = """
WITH f AS (
  SELECT cik, taxonomy, tag, unit, "start", "end", period, value, filed, accession FROM read_parquet(?)
  WHERE cik = ? AND dims = '' AND filed <= ? AND "start" IS NOT NULL
    AND date_diff('day', "start", "end") BETWEEN 330 AND 380
), latest AS (
  SELECT * FROM f QUALIFY row_number() OVER (PARTITION BY taxonomy, tag, unit, period
                                             ORDER BY filed DESC, accession DESC) = 1
), m AS (SELECT * FROM mapping WHERE statement = 'income')
SELECT line_item, "end" AS period_end, value FROM (
  SELECT m.line_item, latest.*, row_number() OVER (PARTITION BY m.line_item, latest.unit, latest."start", latest."end"
                                                  ORDER BY m.priority, latest.filed DESC) AS rk
  FROM latest JOIN m USING (taxonomy, tag)
  WHERE (m.unit_kind = 'money' AND length(latest.unit) = 3 AND latest.unit NOT IN ('pure'))
     OR (m.unit_kind = 'per_share' AND latest.unit LIKE '%/shares')
     OR (m.unit_kind = 'shares' AND latest.unit = 'shares')
) WHERE rk = 1
"""


def pandas_frame(path: Path) -> object:
    import pandas as pd

    doc = json.loads(path.read_text())
    rows = []
    for tax, tags in doc["facts"].items():
        for tag, body in tags.items():
            for unit, facts in body["units"].items():
                for x in facts:
                    rows.append((tax, tag, unit, x.get("start"), x["end"], x["val"], x["accn"], x["filed"]))
    df = pd.DataFrame(rows, columns=["taxonomy", "tag", "unit", "start", "end", "value", "accession", "filed"])
    for c in ("start", "end", "filed"):
        df[c] = pd.to_datetime(df[c])
    return df


def pandas_query(df, mapping, when: date):  # type: ignore[no-untyped-def]
    import pandas as pd

    x = df[(df["filed"] <= pd.Timestamp(when)) & df["start"].notna()]
    days = (x["end"] - x["start"]).dt.days
    x = x[(days >= 330) & (days <= 380)]
    x = x.sort_values(["filed", "accession"]).drop_duplicates(["taxonomy", "tag", "unit", "start", "end"], keep="last")
    x = x.merge(mapping, on=["taxonomy", "tag"])
    ok = ((x["unit_kind"] == "money") & (x["unit"].str.len() == 3)) | \
         ((x["unit_kind"] == "per_share") & x["unit"].str.endswith("/shares")) | \
         ((x["unit_kind"] == "shares") & (x["unit"] == "shares"))
    x = x[ok].sort_values(["line_item", "start", "end", "priority", "filed"], ascending=[True, True, True, True, False])
    x = x.drop_duplicates(["line_item", "unit", "start", "end"], keep="first")
    return x[["line_item", "end", "value"]]


def answer(rows) -> set[tuple[str, str, float]]:  # type: ignore[no-untyped-def]
    return {(str(a), str(b)[:10], round(float(c), 6)) for a, b, c in rows}


def fsds_ingest(tmp: Path) -> None:
    """The two quarters of the Financial Statement Data Sets: marketwire's ingest (parse, checks, quarantine, Delta
    write) against DuckDB and pandas reading the same num.txt and sub.txt from the zips, joining them and writing
    Parquet (no checks, no quarantine, no versioning)."""
    import io
    import zipfile

    import duckdb
    import pandas as pd

    import marketwire

    zips = sorted((data_dir() / "fundamentals" / "sec_fsds").glob("*.zip"))
    runs = 3
    mine: list[float] = []
    for r in range(runs):
        t = time.perf_counter()  # opening the lake counts: a user's ingest pays it
        mw = marketwire.open(tmp / f"fsds-home{r}")
        rep = mw.ingest("sec-fsds", [str(z) for z in zips])
        mine.append(time.perf_counter() - t)
    n = rep.accepted + rep.quarantined
    print(f"\nFinancial Statement Data Sets ingest ({len(zips)} quarters, {n:,} numbers; median of {runs} runs, "
          f"load average {os.getloadavg()[0]:.2f}):")
    print("| system | s | facts/s |\n|---|---:|---:|")
    dt = statistics.median(mine)
    print(f"| marketwire open + `ingest sec-fsds` (parse, rules, quarantine, Delta write) | {dt:.2f} | {n / dt:,.0f} |")
    duck: list[float] = []
    for r in range(runs):
        t = time.perf_counter()
        con = duckdb.connect()
        for k, z in enumerate(zips):
            with zipfile.ZipFile(z) as zf:
                (tmp / f"num{k}.txt").write_bytes(zf.read("num.txt"))
                (tmp / f"sub{k}.txt").write_bytes(zf.read("sub.txt"))
            con.execute(f"COPY (SELECT n.*, s.cik, s.form, s.fy, s.fp, s.filed FROM read_csv('{tmp}/num{k}.txt', "
                        f"delim='\t', quote='', header=true, all_varchar=true) n LEFT JOIN read_csv('{tmp}/sub{k}.txt', "
                        f"delim='\t', quote='', header=true, all_varchar=true) s USING (adsh)) TO '{tmp}/duck{k}.parquet'")
        con.close()
        duck.append(time.perf_counter() - t)
    dt = statistics.median(duck)
    print(f"| DuckDB connect + read_csv + join + Parquet | {dt:.2f} | {n / dt:,.0f} |")
    pand: list[float] = []
    for r in range(runs):
        t = time.perf_counter()
        for k, z in enumerate(zips):
            with zipfile.ZipFile(z) as zf:
                num = pd.read_csv(io.BytesIO(zf.read("num.txt")), sep="\t", dtype=str, quoting=3)
                sub = pd.read_csv(io.BytesIO(zf.read("sub.txt")), sep="\t", dtype=str, quoting=3)
            num.merge(sub[["adsh", "cik", "form", "fy", "fp", "filed"]], on="adsh", how="left").to_parquet(
                tmp / f"pd{k}.parquet")
        pand.append(time.perf_counter() - t)
    dt = statistics.median(pand)
    print(f"| pandas read_csv + merge + Parquet | {dt:.2f} | {n / dt:,.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reads", type=int, default=200)
    ap.add_argument("--issuers", type=int, default=0, help="synthetic issuers (0: skip the synthetic scale)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--home", default=None)
    a = ap.parse_args()
    import duckdb

    import marketwire
    from marketwire.datasets import fundamentals as F
    from marketwire.fundamentals.standardise import load_mapping

    rng = random.Random(a.seed)
    fund = data_dir() / "fundamentals"
    files = sorted((fund / "companyfacts").glob("*.json")) + [fund / "sec_companyfacts_SNOW_CIK0001640147.json"]
    home = Path(a.home or tempfile.mkdtemp(prefix="mw-fund-bench-")) / "home"
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"({os.cpu_count()} cores)")
    mw = marketwire.open(home)
    t0 = time.perf_counter()
    rep = mw.ingest("sec-companyfacts", [str(f) for f in files])
    dt = time.perf_counter() - t0
    print(f"ingest: {rep.accepted + rep.quarantined:,} facts from {len(files)} files in {dt:.2f} s = "
          f"{(rep.accepted + rep.quarantined) / dt:,.0f} facts/s (parse, rules, Delta write)")
    ciks = mw.fundamentals.ciks()
    parquet = [str(home / "lake" / "sec_facts" / p) for p in mw.lake.files(F.SEC_FACTS).column("path").to_pylist()]
    mapping = load_mapping().select("line_item", "statement", "unit_kind", "priority", "taxonomy", "tag")
    con = duckdb.connect()
    con.register("mapping", mapping.to_arrow())
    pdmap = mapping.filter(pl.col("statement") == "income").to_pandas()
    queries = [(rng.choice(ciks), date(2010, 1, 1) + timedelta(days=rng.randrange(365 * 16))) for _ in range(a.reads)]
    cold: list[float] = []
    seen: set[int] = set()
    sdk: list[float] = []
    duck: list[float] = []
    pdq: list[float] = []
    pd_load: list[float] = []
    frames = {}
    mismatches = 0
    for cik in ciks:  # pandas peer: the JSON loaded once per company
        path = next(f for f in files if f"CIK{cik:010d}" in f.name)
        t = time.perf_counter()
        frames[cik] = pandas_frame(path)
        pd_load.append(time.perf_counter() - t)
    # one system at a time over the same queries (a peer's threads never run during another's read), answers
    # compared afterwards
    mine_all, duck_all, pd_all = [], [], []
    for cik, when in queries:
        t = time.perf_counter()
        s = mw.fundamentals.statement(f"CIK:{cik}", "income", period="annual", as_of=when)
        el = time.perf_counter() - t
        (sdk if cik in seen else cold).append(el)
        seen.add(cik)
        mine_all.append(s.filter(pl.col("fiscal_period") == "FY").select("line_item", "period_end", "value").rows())
    for cik, when in queries:
        t = time.perf_counter()
        duck_all.append(con.execute(SQL, [parquet, cik, when]).fetchall())
        duck.append(time.perf_counter() - t)
    for cik, when in queries:
        t = time.perf_counter()
        pd_all.append(pandas_query(frames[cik], pdmap, when))
        pdq.append(time.perf_counter() - t)
    for mine, d, p in zip(mine_all, duck_all, pd_all):
        if answer(mine) != answer(d) or answer(d) != answer(p.itertuples(index=False)):
            mismatches += 1
    print(f"\nreal scale: {len(ciks)} issuers, {rep.accepted:,} facts; {a.reads} queries; answers differing: "
          f"{mismatches}")
    print("| system | calls | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    print(row("marketwire SDK (warm: issuer read before)", sdk))
    print(row("marketwire SDK (cold: first read of an issuer)", cold))
    print(row("DuckDB over the same Parquet", duck))
    print(row("pandas over the loaded JSON (per query)", pdq))
    print(row("pandas: loading one company's JSON", pd_load))
    print(f"load average at end of the real scale: {os.getloadavg()[0]:.2f}")
    fsds_ingest(home.parent)
    if a.issuers:
        synthetic(mw, home, a, rng, con)


def synthetic(mw, home: Path, a, rng, con) -> None:  # type: ignore[no-untyped-def]
    from marketwire.datasets import fundamentals as F

    base = pl.from_arrow(mw.lake.read(F.SEC_FACTS, latest=False))
    by = {c: base.filter(pl.col("cik") == c) for c in base.get_column("cik").unique().to_list()}
    real = list(by)
    t = time.perf_counter()
    n = 0
    batch = []
    for k in range(a.issuers):
        src = by[real[k % len(real)]]
        cik = 900_000_000 + k
        f = src.with_columns(pl.lit(cik, pl.Int64).alias("cik"),
                             (pl.col("value") * rng.uniform(0.01, 3.0)).alias("value"),
                             (pl.col("filed") + pl.duration(days=7 * rng.randrange(-20, 20))).alias("filed"))
        batch.append(f)
        n += f.height
        if sum(b.height for b in batch) > 2_000_000 or k == a.issuers - 1:
            mw.lake.append(F.SEC_FACTS, pl.concat(batch).sort("cik").to_arrow())
            batch = []
    print(f"\nsynthetic scale: {a.issuers} issuers, {n:,} facts appended in {time.perf_counter() - t:.1f} s")
    mw.fundamentals.invalidate()
    # the statement layouts of the appended issuers (the ingest stage builds them for what it writes; the appends
    # went around it): part of the ingest cost, reported with their bytes
    t = time.perf_counter()
    built = mw.fundamentals.build_layouts()
    lake_bytes = sum(p.stat().st_size for p in (home / "lake" / "sec_facts").rglob("*.parquet"))
    print(f"statement layouts: {built['issuers']} issuers, {built['rows']:,} rows built in "
          f"{time.perf_counter() - t:.1f} s, {built['bytes'] / 1e6:,.0f} MB (the sec_facts Parquet: "
          f"{lake_bytes / 1e6:,.0f} MB)")
    parquet = [str(home / "lake" / "sec_facts" / p) for p in mw.lake.files(F.SEC_FACTS).column("path").to_pylist()]
    ids = [900_000_000 + k for k in range(a.issuers)]
    cold: list[float] = []
    warm: list[float] = []
    duck: list[float] = []
    seen: set[int] = set()
    qs = [(rng.choice(ids), date(2010, 1, 1) + timedelta(days=rng.randrange(365 * 16))) for _ in range(a.reads)]
    for cik, when in qs:
        t0 = time.perf_counter()
        mw.fundamentals.statement(f"CIK:{cik}", "income", period="annual", as_of=when)
        (warm if cik in seen else cold).append(time.perf_counter() - t0)
        seen.add(cik)
    for cik, when in qs:
        t0 = time.perf_counter()
        con.execute(SQL, [parquet, cik, when]).fetchall()
        duck.append(time.perf_counter() - t0)
    print("| system | calls | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    print(row("marketwire SDK (all reads)", warm + cold))
    print(row("marketwire SDK (warm)", warm))
    print(row("marketwire SDK (cold: first read of an issuer)", cold))
    print(row("DuckDB over the same Parquet", duck))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
