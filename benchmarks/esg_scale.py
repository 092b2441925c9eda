"""ESG metric store at synthetic scale: bytes per value, ingest rate, latency of one company's metrics and of one
metric across all companies — the marketwire layout (a Delta table partitioned by issuer bucket, sorted by issuer,
metric and period, dictionary-encoded codes, zstd) against Parquet written and queried by DuckDB (the peer), in the
same run, every cost counted (generation is excluded from both; writing includes sorting and encoding).

    python benchmarks/esg_scale.py --issuers 100000 --metrics 200 --periods 50 --out /tmp/esg-scale

Values are lognormal tonnes rounded to whole numbers (as companies report them), about 5% missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

BUCKETS = 16


def generate(issuers: int, metrics: int, periods: int, start: int = 0, seed: int = 7) -> pa.Table:
    """Issuers ``start .. start+issuers`` x metrics x periods, in (issuer, metric, period) order."""
    rng = np.random.default_rng(seed + start)
    n = issuers * metrics * periods
    iss = np.repeat(np.arange(start, start + issuers, dtype=np.int64), metrics * periods)
    met = np.tile(np.repeat(np.arange(metrics, dtype=np.int32), periods), issuers)
    per = np.tile(np.arange(1975, 1975 + periods, dtype=np.int16), issuers * metrics)
    val = np.round(rng.lognormal(10, 2.5, n))
    mask = rng.random(n) < 0.05
    ids = pa.array([f"MWI{i:010d}" for i in range(start, start + issuers)])
    codes = pa.array([f"m{j:03d}" for j in range(metrics)])
    return pa.table({
        "bucket": pa.array((iss % BUCKETS).astype(np.int16)),
        "issuer_id": pa.DictionaryArray.from_arrays(pa.array(np.repeat(np.arange(issuers, dtype=np.int32),
                                                                       metrics * periods)), ids),
        "metric": pa.DictionaryArray.from_arrays(pa.array(met), codes),
        "period": pa.array(per),
        "value": pa.array(val, mask=mask),
    })


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def write_marketwire(out: Path, chunks: Any) -> float:
    from deltalake import WriterProperties, write_deltalake

    props = WriterProperties(compression="ZSTD", compression_level=3, max_row_group_size=1 << 20)
    t0 = time.perf_counter()
    for t in chunks:  # generated in (issuer, metric, period) order: each bucket's files stay sorted
        write_deltalake(str(out), t, mode="append", partition_by=["bucket"], writer_properties=props)
    return time.perf_counter() - t0


def write_duckdb(out: Path, chunks: Any) -> float:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    t0 = time.perf_counter()
    for k, t in enumerate(chunks):
        con.register("t", t)
        con.execute(f"COPY (SELECT * FROM t) TO '{out / f'part-{k:05d}.parquet'}' (FORMAT parquet, "
                    "COMPRESSION zstd)")
        con.unregister("t")
    con.close()
    return time.perf_counter() - t0


def _timed(fn: Any, repeat: int = 5) -> tuple[float, Any]:
    times, res = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), res


def query_marketwire(path: Path, issuer: str, metric: str, period: int) -> dict[str, Any]:
    """Through the store's reader: the Delta table's files, pruned by partition (bucket of the issuer) and by row
    group statistics (DuckDB over the Parquet files the Delta log lists)."""
    import duckdb
    from deltalake import DeltaTable

    t0 = time.perf_counter()
    dt = DeltaTable(str(path))
    files = dt.file_uris()
    open_s = time.perf_counter() - t0
    bucket = int(issuer[3:]) % BUCKETS
    part = [f for f in files if f"bucket={bucket}/" in f]
    con = duckdb.connect()
    one, r1 = _timed(lambda: con.execute("SELECT metric, period, value FROM read_parquet(?) WHERE issuer_id = ?",
                                         [part, issuer]).fetchall())
    allm, r2 = _timed(lambda: con.execute("SELECT issuer_id, value FROM read_parquet(?) WHERE metric = ? AND "
                                          "period = ?", [files, metric, period]).fetchall(), repeat=3)
    con.close()
    return {"open_s": open_s, "one_company_s": one, "one_company_rows": len(r1), "one_metric_s": allm,
            "one_metric_rows": len(r2)}


def query_duckdb(path: Path, issuer: str, metric: str, period: int) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    glob = str(path / "*.parquet")
    one, r1 = _timed(lambda: con.execute("SELECT metric, period, value FROM read_parquet(?) WHERE issuer_id = ?",
                                         [glob, issuer]).fetchall())
    allm, r2 = _timed(lambda: con.execute("SELECT issuer_id, value FROM read_parquet(?) WHERE metric = ? AND "
                                          "period = ?", [glob, metric, period]).fetchall(), repeat=3)
    con.close()
    return {"one_company_s": one, "one_company_rows": len(r1), "one_metric_s": allm, "one_metric_rows": len(r2)}


def run(issuers: int, metrics: int, periods: int, out: Path, chunk_issuers: int = 2000) -> dict[str, Any]:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    n = issuers * metrics * periods

    def chunks() -> Any:
        for s in range(0, issuers, chunk_issuers):
            yield generate(min(chunk_issuers, issuers - s), metrics, periods, start=s)

    # generation is paid once and kept out of both timings
    tables = list(chunks()) if n <= 300_000_000 else None
    src = (lambda: iter(tables)) if tables is not None else chunks
    gen_s = 0.0
    if tables is None:  # too large to hold: chunks are generated while writing; a generation-only pass is timed
        t0 = time.perf_counter()  # and subtracted from both stores' write times
        for _ in chunks():
            pass
        gen_s = time.perf_counter() - t0
    mw_s = write_marketwire(out / "marketwire", src()) - gen_s
    dd_s = write_duckdb(out / "duckdb", src()) - gen_s
    issuer = f"MWI{(issuers * 7 // 11):010d}"
    res = {"values": n, "issuers": issuers, "metrics": metrics, "periods": periods,
           "marketwire": {"write_s": mw_s, "bytes": du(out / "marketwire")},
           "duckdb": {"write_s": dd_s, "bytes": du(out / "duckdb")}}
    res["marketwire"].update(query_marketwire(out / "marketwire", issuer, "m042", 1975 + periods - 1))
    res["duckdb"].update(query_duckdb(out / "duckdb", issuer, "m042", 1975 + periods - 1))
    for k in ("marketwire", "duckdb"):
        r = res[k]
        r["bytes_per_value"] = r["bytes"] / n
        r["values_per_s"] = n / r["write_s"]
    return res


def table(res: dict[str, Any]) -> str:
    load = os.getloadavg()
    lines = [f"{res['values']:,} values = {res['issuers']:,} issuers x {res['metrics']} metrics x {res['periods']} "
             f"periods; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores",
             "| store | bytes/value | ingest values/s | one company (ms) | one metric, all companies (ms) |",
             "|---|---|---|---|---|"]
    for k, label in (("marketwire", "marketwire (Delta, bucketed, sorted, zstd)"),
                     ("duckdb", "Parquet written and read by DuckDB")):
        r = res[k]
        lines.append(f"| {label} | {r['bytes_per_value']:.2f} | {r['values_per_s']:,.0f} | "
                     f"{r['one_company_s'] * 1000:.1f} ({r['one_company_rows']} rows) | "
                     f"{r['one_metric_s'] * 1000:.1f} ({r['one_metric_rows']:,} rows) |")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--issuers", type=int, default=100_000)
    ap.add_argument("--metrics", type=int, default=200)
    ap.add_argument("--periods", type=int, default=50)
    ap.add_argument("--out", type=Path, default=Path("/tmp/esg-scale"))
    a = ap.parse_args()
    print(table(run(a.issuers, a.metrics, a.periods, a.out)))


# -- several machines: the same tables processed by Dask workers -----------------------------------------------------

def partial_stats(path: str) -> pa.Table:
    """One Parquet file of the metric table -> per (metric, period): count, sum, min, max of the values (the map
    step; runs on a worker, which reads the file itself)."""
    import duckdb

    con = duckdb.connect()
    try:
        res = con.execute("SELECT CAST(metric AS VARCHAR) AS metric, period, count(value) AS n, sum(value) AS s, "
                          "min(value) AS lo, max(value) AS hi FROM read_parquet(?) GROUP BY ALL", [path])
        return res.to_arrow_table()
    finally:
        con.close()


def combine(parts: list[pa.Table]) -> pa.Table:
    """The reduce step: per (metric, period) totals over every file's partials, with the mean."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("p", pa.concat_tables(parts))
        return con.execute("SELECT metric, period, sum(n) AS n, sum(s) AS s, min(lo) AS lo, max(hi) AS hi, "
                           "sum(s) / sum(n) AS mean FROM p GROUP BY ALL ORDER BY metric, period").to_arrow_table()
    finally:
        con.close()


def stats_on_cluster(files: list[str], client: Any) -> pa.Table:
    """Every file of the table is one task on the cluster's workers; the driver combines the small partials. The
    files may be local paths the workers share or object-store URIs (the lake's storage options)."""
    futures = client.map(partial_stats, files, pure=False)
    return combine(client.gather(futures))


def stats_here(files: list[str]) -> pa.Table:
    return combine([partial_stats(f) for f in files])
