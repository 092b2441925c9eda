"""Full ESG ingest rate: the seven EU ETS files through the engine (parse, per-year columns to long form, rules,
linking, aggregation, versioned commit) into a copy of a lake holding the securities master, beside the peer a user
would write by hand in the same run: Polars reading the same CSVs, unpivoting the per-year columns and writing
Parquet (no rules, no quarantine, no linking, no versions). Wall time and the process's CPU time are both given
(the CPU time is the fairer figure on a shared machine); the load average is printed.

    python benchmarks/esg_ingest_rate.py MASTER_HOME [DATA_DIR]

MASTER_HOME is a lake with the master built (e.g. the one `make run` builds); it is copied, never changed.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    """CPU seconds of this process (all its threads) and of its finished worker processes."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def marketwire_run(master: Path, files: list[str], tmp: Path) -> tuple[int, float, float]:
    import marketwire

    home = tmp / "home"
    shutil.copytree(master, home, ignore=lambda d, names: [n for n in names if n.startswith("esg_")])
    mw = marketwire.open(home)
    t, c = time.perf_counter(), _cpu()
    rep = mw.ingest("eu-ets", files)
    return rep.accepted, time.perf_counter() - t, _cpu() - c


def peer_run(files: list[str], tmp: Path) -> tuple[int, float, float]:
    import polars as pl

    t, c = time.perf_counter(), _cpu()
    n = 0
    for k, f in enumerate(files):
        df = pl.read_csv(f, infer_schema_length=0, null_values=["NA", "-"])
        yearly = [c for c in df.columns if c.rsplit("_", 1)[-1].isdigit() and c.split("_")[0] in
                  ("VerifiedEmissions", "FreeAllocations", "UnitsSurrendered", "ComplianceCode")]
        long = df.unpivot(on=yearly, index=["id", "AccountHolderName", "ParentCompany"]).drop_nulls("value")
        long = long.with_columns(pl.col("variable").str.split("_").list.get(0).alias("metric"),
                                 pl.col("variable").str.split("_").list.get(1).alias("period"),
                                 pl.col("value").cast(pl.Float64, strict=False).alias("number"))
        long.write_parquet(tmp / f"peer-{k}.parquet", compression="zstd")
        n += long.height
    return n, time.perf_counter() - t, _cpu() - c


def main(master: str, data: str = "../shared/data") -> None:
    files = sorted(str(p) for p in (Path(data) / "esg" / "eutl_installations").glob("installations-*.csv"))
    with tempfile.TemporaryDirectory() as d:
        peer = peer_run(files, Path(d))
        mine = marketwire_run(Path(master), files, Path(d))
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"EU ETS, {len(files)} files; load average {' / '.join(load)} on {__import__('os').cpu_count()} cores")
    print("| ingest | values | wall s | values/s (wall) | CPU s | values per CPU s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, (n, wall, cpu) in (("marketwire (engine: rules, linking, aggregation, versions)", mine),
                                  ("peer: Polars read + unpivot + Parquet (nothing checked)", peer)):
        print(f"| {label} | {n:,} | {wall:.1f} | {n / wall:,.0f} | {cpu:.1f} | {n / cpu:,.0f} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
