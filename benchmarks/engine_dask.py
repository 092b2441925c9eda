#!/usr/bin/env python
"""The ingest engine on its two executors: threads in this process against a Dask ``LocalCluster`` of 2 worker
processes (1 thread each), same input, two fresh lakes, lake contents compared row for row.

Cases (each loaded once per mode into its own fresh home, threads first, then the cluster):

  series      the 100 shared series: ``prices-csv`` over ``prices/huge_stock_market_dataset/{Stocks,ETFs}``
              (``--preset kaggle``), about 749k bars, 100 files.
  synthetic   the synthetic listings of ``benchmarks/prices_scale.py`` (its ``Chunk`` generator, imported, same
              seed): ``--listings`` (default 10,000) x ``--years`` (default 1) of XNYS sessions, written once as
              CSV files of ``--per-file`` listings (symbol, date, open, high, low, close, volume; generation
              and writing not timed), then ``prices-csv`` with a column mapping, ``--mic XNYS``, ``--basis raw``.
  reference   the full reference load of ``tools/load_reference.sh``: the securities master files (mic, iso3166,
              iso4217, nasdaqtrader 2015 and 2026, financedatabase, sec-tickers, sp500-constituents), the master
              build, then ECB FX, the 100 Kaggle series, the Quandl WIKI sample and the zipline csvdir files.
  export      ``mw.prices.export`` of every listing of the synthetic lake (adjust=total_return) to Parquet from
              each mode's lake; the files must be byte-identical.

Timed: the whole ``mw.ingest`` calls of a case (read and parse on the executor; verification, commits and the
master build on the driver), from ``marketwire.open`` of the fresh home to the last call. The cluster is started
once, before the first case, and its start (processes spawned, workers registered) is reported on its own; the
first case on the cluster pays the workers' imports. Input files are read once before each case, so both modes
start with them in the page cache.

"Identical" compares every Delta table of the two lakes: every record ever written (all versions), sorted by all
columns, with only what differs by nature left out: ``ingested_at``, ``ingest_id``, and ``knowledge_time`` where it
is the ingest time (equal to ``ingested_at``: a delivery without ``as_of`` or a snapshot date).

Usage (from the repository root; progress on stderr):

    .venv/bin/python benchmarks/engine_dask.py                          # every case, about 10 minutes
    .venv/bin/python benchmarks/engine_dask.py --cases series --listings 500

Markdown to stdout (the table of benchmarks/README.md); raw results, the per-step seconds included, in
``benchmarks/out/engine_dask.json``.
``tests/integration/test_dask.py`` imports this module for the plans and the comparison.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import prices_scale  # noqa: E402 - the synthetic generator, reused as is
from prices_bench import OUT, log, machine, machine_markdown, markdown  # noqa: E402

#: columns that differ between two loads of the same input by nature (always left out)
VOLATILE = ("ingested_at", "ingest_id")
#: the column synthetic files map to bar fields (prices-csv without a preset)
SYNTHETIC_COLUMNS = {c: c for c in ("symbol", "date", "open", "high", "low", "close", "volume")}
FD_AS_OF = "2026-08-16"  # tools/load_reference.sh: the FinanceDatabase commit date


# ---------------------------------------------------------------------------------------------------------------
# what is loaded
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Step:
    """One ``mw.ingest`` call (``source=None``: ``mw.rebuild()``)."""

    source: str | None
    paths: list[str] = field(default_factory=list)
    as_of: str | None = None
    rebuild: bool = True
    options: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        return self.source or "rebuild"


def data_root() -> Path:
    """The shared data folder: ``$MARKETWIRE_DATA``, else the nearest ``shared/data`` above this script."""
    env = os.environ.get("MARKETWIRE_DATA")
    cands = [Path(env)] if env else []
    cands += [p / "shared" / "data" for p in HERE.parents]
    for c in cands:
        if (c / "prices").is_dir() or (c / "securities_master").is_dir():
            return c
    raise SystemExit("no shared data folder: set MARKETWIRE_DATA")


def series_dirs(data: Path) -> list[str]:
    base = data / "prices" / "huge_stock_market_dataset"
    return [str(base / "Stocks"), str(base / "ETFs")]


def series_plan(data: Path) -> list[Step]:
    """The 100 shared series (as benchmarks/prices_bench.py loads them)."""
    return [Step("prices-csv", series_dirs(data), options={"preset": "kaggle"})]


def master_plan(data: Path) -> list[Step]:
    """The securities master part of tools/load_reference.sh, step for step (the master built at the end)."""
    sm = data / "securities_master"
    g = lambda pattern: sorted(glob.glob(str(sm / pattern)))  # noqa: E731
    return [
        Step("mic", g("ISO10383_MIC_*.csv")),
        Step("iso3166", g("iso3166-1_*.json")),
        Step("iso4217", g("iso4217_*.xml")),
        Step("nasdaqtrader", [str(sm / "nasdaq-listed-symbols_2015-01-10.csv"),
                              str(sm / "nasdaqtrader-other-listed_2015-01-10.csv")], rebuild=False),
        Step("nasdaqtrader", [str(sm / "nasdaq-listed-symbols_2026-08-01.csv"),
                              str(sm / "nasdaqtrader-other-listed_2026-08-22.csv"),
                              str(sm / "nyse-listed_2026-08-22.csv")], rebuild=False),
        Step("financedatabase", [str(sm / "financedatabase")], as_of=FD_AS_OF, rebuild=False),
        Step("sec-tickers", [str(sm / "sec_company_tickers.json")], as_of=FD_AS_OF, rebuild=False),
        Step("sp500-constituents", g("sp500-constituents-history/*.csv") + g("sp500-constituents_*.csv"),
             rebuild=False),
        Step(None),
    ]


def prices_plan(data: Path) -> list[Step]:
    """The prices part of tools/load_reference.sh."""
    px = data / "prices"
    return [
        Step("ecb-fx", sorted(glob.glob(str(px / "ecb_eurofxref-hist_*.csv")))),
        Step("prices-csv", series_dirs(data), options={"preset": "kaggle"}),
        Step("prices-csv", [str(px / "zipline_samples" / "QUANDL_WIKI_SAMPLE_TABLE_2014.csv")],
             options={"preset": "quandl-wiki"}),
        Step("prices-csv", sorted(glob.glob(str(px / "zipline_samples" / "csvdir_daily_*.csv"))),
             options={"preset": "zipline-csvdir"}),
    ]


def reference_plan(data: Path) -> list[Step]:
    """Everything tools/load_reference.sh loads from a local copy of the public files."""
    return master_plan(data) + prices_plan(data)


#: the FinanceDatabase files of :func:`reference_subset_plan`: equities of four venues, ETFs of two, the currencies
FD_SUBSET = ("equities/PAR.csv", "equities/AMS.csv", "equities/GER.csv", "equities/NCM.csv", "etfs/NMS.csv",
             "etfs/PCX.csv", "currencies.csv")


def reference_subset_plan(data: Path) -> list[Step]:
    """The reference load with a part of FinanceDatabase (:data:`FD_SUBSET`) and without the 100 Kaggle series:
    every other master file, the master build, ECB FX, Quandl WIKI and zipline csvdir. For a test of a few
    minutes; the benchmark runs :func:`reference_plan`."""
    fd = data / "securities_master" / "financedatabase"
    plan = []
    for s in reference_plan(data):
        if s.source == "financedatabase":
            s = Step(s.source, [str(fd / f) for f in FD_SUBSET], s.as_of, s.rebuild, s.options)
        elif s.options.get("preset") == "kaggle":
            continue
        plan.append(s)
    return plan


def synthetic_files(folder: Path, listings: int, years: int, per_file: int = 100, seed: int = 20241231,
                    half_life: float = 756.0) -> dict[str, Any]:
    """prices_scale's synthetic bars written as CSV files of ``per_file`` listings each (its chunks).

    CSV, not Parquet: ``prices-csv`` reads a Parquet file of typed (float) columns through its text path, which
    fails (``'is_in' cannot check for Float64 values in List(String) data``)."""
    import pyarrow.csv as pcsv

    folder.mkdir(parents=True, exist_ok=True)
    args = argparse.Namespace(listings=listings, chunk=per_file, seed=seed, half_life=half_life)
    sess = prices_scale.sessions(years)
    rows = files = 0
    for number, chunk in prices_scale.chunks(args, sess):
        t = chunk.arrow()
        pcsv.write_csv(t, folder / f"synthetic-{number:04d}.csv")
        rows += t.num_rows
        files += 1
    return {"folder": str(folder), "files": files, "rows": rows, "listings": listings, "sessions": len(sess),
            "per_file": per_file}


def synthetic_plan(folder: Path) -> list[Step]:
    return [Step("prices-csv", [str(folder)], options={"columns": SYNTHETIC_COLUMNS, "mic": "XNYS", "basis": "raw"})]


def plan_files(plan: list[Step]) -> list[Path]:
    out: list[Path] = []
    for s in plan:
        for p in map(Path, s.paths):
            out += sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    return out


def warm(plan: list[Step]) -> int:
    """Read every input file once (page cache), so both modes start alike; returns the bytes read."""
    n = 0
    for p in plan_files(plan):
        with open(p, "rb") as f:
            while chunk := f.read(1 << 22):
                n += len(chunk)
    return n


# ---------------------------------------------------------------------------------------------------------------
# loading and comparing
# ---------------------------------------------------------------------------------------------------------------

def run_plan(home: Path, plan: list[Step], scheduler: Any = None) -> dict[str, Any]:
    """Load ``plan`` into ``home`` with ``marketwire.open(home, scheduler=scheduler)``; seconds and reports."""
    import marketwire

    t0 = time.perf_counter()
    mw = marketwire.open(home, scheduler=scheduler)
    steps = []
    for s in plan:
        t = time.perf_counter()
        if s.source is None:
            rep: Any = {"master_flags": mw.rebuild()}
        else:
            rep = mw.ingest(s.source, s.paths, as_of=s.as_of, rebuild=s.rebuild, **s.options).to_dict()
        steps.append({"step": s.label(), "s": round(time.perf_counter() - t, 3),
                      **{k: rep.get(k) for k in ("files", "accepted", "quarantined", "flagged", "unchanged",
                                                 "retracted", "master_flags") if k in rep}})
        if (rep.get("timings") or {}).get("parse") is not None:  # price reports: the executor's part
            steps[-1]["parse_s"] = rep["timings"]["parse"]
    return {"seconds": time.perf_counter() - t0, "steps": steps}


def tables_of(home: Path) -> list[str]:
    """The Delta tables of the lake at ``home`` (folders of ``home/lake`` with a ``_delta_log``)."""
    lake = home / "lake"
    return sorted(p.name for p in lake.iterdir() if (p / "_delta_log").is_dir()) if lake.is_dir() else []


def canonical(home: Path, name: str) -> Any:
    """Every record ever written to table ``name`` (all versions), without the columns that differ by nature,
    sorted by all columns."""
    import polars as pl
    from deltalake import DeltaTable

    df = pl.from_arrow(DeltaTable(str(home / "lake" / name)).to_pyarrow_table())
    assert isinstance(df, pl.DataFrame)
    if "knowledge_time" in df.columns and "ingested_at" in df.columns:
        df = df.with_columns(pl.when(pl.col("knowledge_time") == pl.col("ingested_at")).then(None)
                             .otherwise(pl.col("knowledge_time")).alias("knowledge_time"))
    df = df.drop([c for c in VOLATILE if c in df.columns])
    df = df.select(sorted(df.columns))
    return df.sort(df.columns, nulls_last=True, maintain_order=True) if df.height else df


def compare_lakes(a: Path, b: Path) -> dict[str, Any]:
    """Whether the lakes at homes ``a`` and ``b`` hold the same records; per table: rows and equality."""
    names = sorted(set(tables_of(a)) | set(tables_of(b)))
    tables: dict[str, Any] = {}
    for n in names:
        if n not in tables_of(a) or n not in tables_of(b):
            tables[n] = {"equal": False, "why": "missing in " + ("a" if n not in tables_of(a) else "b")}
            continue
        x, y = canonical(a, n), canonical(b, n)
        same = x.columns == y.columns and x.schema == y.schema and x.height == y.height and x.equals(y)
        entry: dict[str, Any] = {"equal": bool(same), "rows": x.height}
        if not same:
            entry["rows_b"] = y.height
            if x.columns == y.columns and x.schema == y.schema:
                entry["only_a"] = x.join(y, on=x.columns, how="anti", nulls_equal=True).height
                entry["only_b"] = y.join(x, on=y.columns, how="anti", nulls_equal=True).height
            else:
                entry["columns_a"], entry["columns_b"] = x.columns, y.columns
        tables[n] = entry
    return {"identical": bool(names) and all(t["equal"] for t in tables.values()), "tables": tables,
            "rows": sum(t.get("rows", 0) for t in tables.values())}


def export_file(home: Path, path: Path, scheduler: Any = None, fmt: str = "parquet",
                adjust: str = "total_return") -> dict[str, Any]:
    import marketwire

    mw = marketwire.open(home, scheduler=scheduler)
    mw.prices.bars_cache.ensure()  # the read cache is built before the clock starts, once per lake
    t = time.perf_counter()
    rep = mw.prices.export(None, path, fmt, adjust)
    return {**rep, "seconds": time.perf_counter() - t}


def sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------------------------

def start_cluster(workers: int = 2) -> tuple[Any, Any, float]:
    """A LocalCluster of ``workers`` processes (1 thread each) and a client; seconds until both are up."""
    from distributed import Client, LocalCluster

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.wait_for_workers(workers)
    return cluster, client, time.perf_counter() - t


def case(name: str, plan: list[Step], work: Path, scheduler: str, keep_homes: bool = False) -> dict[str, Any]:
    """``plan`` into two fresh homes, on threads and on the cluster at ``scheduler`` (an address: each ingest
    connects its own client and closes it, as the CLI does), and the two lakes compared."""
    res: dict[str, Any] = {"case": name, "files": len(plan_files(plan)), "steps": len(plan)}
    res["warm_bytes"] = warm(plan)
    res["loadavg_before"] = os.getloadavg()
    homes = {"threads": work / f"{name}-threads", "dask": work / f"{name}-dask"}
    for mode, home in homes.items():
        log(f"{name}: loading on {mode}")
        res[mode] = run_plan(home, plan, scheduler if mode == "dask" else None)
        log(f"{name}: {mode} {res[mode]['seconds']:.1f} s")
    res["loadavg_after"] = os.getloadavg()
    res["compare"] = compare_lakes(homes["threads"], homes["dask"])
    res["rows"] = res["compare"]["rows"]
    log(f"{name}: identical={res['compare']['identical']} rows={res['rows']:,}")
    if not keep_homes:
        for h in homes.values():
            shutil.rmtree(h, ignore_errors=True)
    return res


def export_case(work: Path, scheduler: str) -> dict[str, Any]:
    """Export every listing of the synthetic lakes (each mode from its own lake) and compare the files."""
    res: dict[str, Any] = {"case": "export"}
    for mode in ("threads", "dask"):
        home = work / f"synthetic-{mode}"
        res[mode] = export_file(home, work / f"export-{mode}.parquet", scheduler if mode == "dask" else None)
        res[mode]["sha256"] = sha256(work / f"export-{mode}.parquet")
        log(f"export: {mode} {res[mode]['seconds']:.1f} s, {res[mode]['rows']:,} rows")
    res["identical"] = res["threads"]["sha256"] == res["dask"]["sha256"]
    res["rows"] = res["threads"]["rows"]
    return res


def fmt_s(v: float) -> str:
    return f"{v:,.1f}" if v >= 10 else f"{v:,.2f}"


def report(R: dict[str, Any]) -> str:
    a = R["args"]
    rows = []
    labels = {"series": "100 shared series (Kaggle files, `prices-csv`)",
              "synthetic": f"synthetic: {a['listings']:,} listings x {R.get('synthetic', {}).get('sessions', '?')} "
                           f"sessions, {R.get('synthetic', {}).get('files', '?')} CSV files",
              "reference": "full reference load (`tools/load_reference.sh`: master files, master build, prices)",
              "export": f"bulk export of the synthetic lake ({a['listings']:,} listings, Parquet)"}
    for name in ("series", "synthetic", "reference", "export"):
        c = R["cases"].get(name)
        if not c:
            continue
        if "error" in c:
            rows.append([labels[name], "—", "—", "—", "—", "—", f"failed: {c['error']}"])
            continue
        t, d = c["threads"]["seconds"], c["dask"]["seconds"]
        files = c.get("files") if name != "export" else c["threads"].get("chunks")
        what = "tasks" if name == "export" else "files"
        ident = c["identical"] if name == "export" else c["compare"]["identical"]
        how = "byte-identical files" if name == "export" else f"{len(c['compare']['tables'])} tables equal"
        rows.append([labels[name], f"{files:,} {what}", f"{c['rows']:,}", fmt_s(t), fmt_s(d), f"{d - t:+,.1f}",
                     (f"yes ({how})" if ident else "**no**")])
    cl = R["cluster"]
    parts = [
        "# The ingest engine on threads and on a Dask cluster",
        "",
        machine_markdown(R["machine"]),
        f"dask {R['versions'].get('dask')}, distributed {R['versions'].get('distributed')}.",
        "",
        f"Threads: `ThreadExecutor` ({R['thread_workers']} threads in the driver). Cluster: `LocalCluster(n_workers="
        f"{cl['workers']}, threads_per_worker=1, processes=True)` on the same machine; started once before the "
        f"cases in **{cl['start_s']:.1f} s** (not in the figures below; the first case on it pays the workers' "
        "imports). Seconds are the whole load (read and parse on the executor; verification, commits and the "
        "master build on the driver); rows are the records of every Delta table of the lake (all versions).",
        "",
        markdown(["case", "input", "rows", "threads s", "cluster s", "cluster - threads s", "lakes identical"],
                 rows, "lrrrrrl"),
    ]
    for name in ("series", "synthetic", "reference"):
        c = R["cases"].get(name)
        if not c or "error" in c:
            continue
        steps = []
        for a_, b_ in zip(c["threads"]["steps"], c["dask"]["steps"]):
            runs_on = "driver" if a_["step"] == "rebuild" else "workers: read, parse; driver: the rest"
            if "parse_s" in a_ and "parse_s" in b_:
                runs_on += f" (read and parse: {fmt_s(a_['parse_s'])} s on threads, {fmt_s(b_['parse_s'])} s on the cluster)"
            steps.append([a_["step"], f"{a_['files']:,}" if a_.get("files") is not None else "—",
                          f"{a_['accepted']:,}" if a_.get("accepted") is not None else "—",
                          fmt_s(a_["s"]), fmt_s(b_["s"]), f"{b_['s'] - a_['s']:+,.1f}", runs_on])
        load = c.get("loadavg_before"), c.get("loadavg_after")
        parts += ["", f"Steps of `{name}` (seconds; 1-minute load average before/after the case: "
                  f"{load[0][0]:.1f}/{load[1][0]:.1f}):" if all(load) else f"Steps of `{name}` (seconds):", "",
                  markdown(["step", "files", "accepted", "threads s", "cluster s", "difference", "where"], steps,
                           "lrrrrrl")]
    return "\n".join(parts) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="series,synthetic,reference,export")
    ap.add_argument("--listings", type=int, default=10_000, help="synthetic listings (default 10,000)")
    ap.add_argument("--years", type=int, default=1, help="synthetic calendar years of XNYS sessions (default 1)")
    ap.add_argument("--per-file", type=int, default=100, help="synthetic listings per CSV file (default 100)")
    ap.add_argument("--workers", type=int, default=2, help="cluster worker processes (default 2)")
    ap.add_argument("--tmp", type=Path, default=Path("/var/tmp"))
    ap.add_argument("--keep", action="store_true", help="keep the work folder and the lakes")
    ap.add_argument("--out", type=Path, default=OUT / "engine_dask.json")
    ap.add_argument("--report", type=Path, default=None, help="print the table of an earlier run's JSON and exit")
    args = ap.parse_args()
    if args.report:
        print(report(json.loads(args.report.read_text())))
        return
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    data = data_root()

    import dask
    import distributed

    from marketwire.engine.executor import ThreadExecutor

    work = Path(tempfile.mkdtemp(prefix="engine_dask_", dir=args.tmp))
    R: dict[str, Any] = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}, "cases": {},
                         "versions": {"dask": dask.__version__, "distributed": distributed.__version__},
                         "thread_workers": ThreadExecutor().workers, "work": str(work)}
    R["args"]["listings"] = args.listings
    cluster = client = None
    try:
        cluster, client, start_s = start_cluster(args.workers)
        R["cluster"] = {"workers": args.workers, "start_s": start_s,
                        "scheduler": cluster.scheduler_address}
        log(f"cluster of {args.workers} workers up in {start_s:.1f} s at {cluster.scheduler_address}")
        plans: dict[str, list[Step]] = {}
        if "series" in cases:
            plans["series"] = series_plan(data)
        if "synthetic" in cases or "export" in cases:
            t = time.perf_counter()
            R["synthetic"] = synthetic_files(work / "synthetic-input", args.listings, args.years, args.per_file)
            R["synthetic"]["generate_s"] = time.perf_counter() - t
            log(f"synthetic input: {R['synthetic']}")
            plans["synthetic"] = synthetic_plan(work / "synthetic-input")
        if "reference" in cases:
            plans["reference"] = reference_plan(data)
        for name, plan in plans.items():
            try:
                R["cases"][name] = case(name, plan, work, cluster.scheduler_address, keep_homes=args.keep or
                                        (name == "synthetic" and "export" in cases))
            except Exception as e:  # noqa: BLE001 - one case failing must not hide the others
                log(f"{name}: {type(e).__name__}: {e}")
                R["cases"][name] = {"error": f"{type(e).__name__}: {e}"}
        if "export" in cases and "error" not in R["cases"].get("synthetic", {"error": 1}):
            R["cases"]["export"] = export_case(work, cluster.scheduler_address)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    text = report(R)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(_no_paths(R), indent=1, default=str))
    print(text)
    log(f"wrote {args.out}")



def _no_paths(value: Any) -> Any:
    """The result without this machine's folders: a path is kept as its last name."""
    if isinstance(value, dict):
        return {k: _no_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_paths(v) for v in value]
    if isinstance(value, str | Path) and str(value).startswith("/"):
        return Path(value).name
    return value


if __name__ == "__main__":
    main()
