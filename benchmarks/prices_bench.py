#!/usr/bin/env python
"""Daily prices on 100 real series: marketwire against ArcticDB and plain Parquet, same data, same run.

Data: the 100 files in ``prices/huge_stock_market_dataset/{Stocks,ETFs}/*.us.txt`` of the shared data folder
(``$MARKETWIRE_DATA``, else the nearest ancestor folder of this script that holds ``shared/data``). Each file is a
CSV ``Date,Open,High,Low,Close,Volume,OpenInt``; about 749k rows in total. ``ibm.us.txt`` (IBM since 1962, about
14k rows) is the series read back.

What is measured (every system in its own process, one after the other, so that nothing runs concurrently and
each peak RSS belongs to one system; the CSV files are read once beforehand so every system starts with them in
the page cache):

1. Bulk ingest, rows/s.
   - marketwire: ``mw.ingest("prices-csv", [Stocks, ETFs], preset="kaggle")`` into a fresh home. The whole call is
     timed: CSV parse, verification, quarantine, Delta writes and the read cache (which the ingest builds). Rows =
     accepted + quarantined. The first read after it is timed, with the number of cache folders it had to build.
     The libraries a write loads (``deltalake``, ``pandas``) are imported before the timer, as ArcticDB's phase
     imports ``arcticdb`` (and with it pandas) before its timer; their import time is printed beside the ingest.
   - ArcticDB: ``polars.read_csv`` of each file, converted to a pandas DataFrame indexed by date (the parse), then
     ``lib.write(symbol, df)`` per series into ``arcticdb.Arctic("lmdb://...")``. Reported with and without parse.
   - Parquet: ``polars.read_csv`` (the parse), then ``write_parquet(compression="zstd")``, one file per symbol.
     Reported with and without parse.
   Peers store the same six columns (date, open, high, low, close, volume); OpenInt is dropped.
2. Full-history read of IBM, p50/p95/p99 over ``--reads`` (default 300) calls after one warm-up call; the first
   (cold) call is reported separately.
   - marketwire SDK: ``mw.prices("IBM")`` (pandas), ``output="arrow"`` and ``output="polars"``, in a fresh process
     opened on the home written by the ingest phase (the first read right after the ingest is reported too).
   - marketwire REST: ``marketwire --home HOME serve --port PORT`` as a subprocess on 127.0.0.1, one keep-alive
     ``httpx.Client``. ``GET /v1/prices/IBM`` in JSON (default), ``format=arrow``, ``format=csv`` and
     ``format=parquet``. Each request is timed twice: until the body is received ("request only"), and until the
     body is decoded into a pandas DataFrame on the client (json.loads + DataFrame; Arrow IPC -> to_pandas;
     pandas.read_csv; pyarrow.parquet -> to_pandas).
   - ArcticDB ``lib.read("IBM").data``; Parquet ``pd.read_parquet`` and ``pl.read_parquet``.
   - ``pair``: marketwire ``mw.prices("IBM")`` and ArcticDB ``lib.read("IBM").data`` in one process, calls
     alternating (order swapped each round), the same first call and warm-up for both: the same load for both on a
     shared machine.
   Every reader's answer is checked once (row count, last date, sum of closes) against the CSV.
3. Bytes per row at rest: marketwire's whole home (every Delta table with its log, every cache; hard links once),
   with ``mw.bars_size()`` (the bars_daily Parquet files) and the lake and cache folders beside it; ArcticDB the
   LMDB folder (allocated blocks, as ``du`` counts them), the Parquet folder (same).
4. Result sets: every series as marketwire and ArcticDB return it (pandas), joined on symbol and date, cells
   compared for exact equality; rows only one side has are listed.
5. ``cache_where``: in one process, twice each and alternating, the ingest into a fresh home followed by the
   first read, with the read cache built by the ingest, and left to the first read (a DuckDB rebuild from the
   lake): what building it at ingest costs and saves, counted whole.

Targets printed next to the figures: ingest >= 500k rows/s; IBM read <= 5 ms p50 (SDK), <= 20 ms p50 (REST) and
no slower than ArcticDB (p50 and p99 in the ``pair`` phase); total bytes at rest <= ArcticDB's; the bars table
<= 16 bytes/row. The load average at the start and end is printed with the machine.

Usage (from the repository root):

    .venv/bin/python benchmarks/prices_bench.py                 # about a minute
    .venv/bin/python benchmarks/prices_bench.py --keep --reads 500
    .venv/bin/python benchmarks/prices_bench.py --phases marketwire,arctic,parquet   # the ingest against both peers

The Markdown tables go to stdout and to ``benchmarks/out/prices_bench.md``; the raw results (percentiles, max,
machine, library versions, git state) to ``benchmarks/out/prices_bench.json``. Progress goes to stderr.
``prices_scale.py`` imports the helpers of this module.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
OUT = HERE / "out"
if str(SRC) not in sys.path and (SRC / "marketwire").is_dir():
    sys.path.insert(0, str(SRC))

TARGET_INGEST_ROWS_S = 500_000.0
TARGET_SDK_P50_MS = 5.0
TARGET_REST_P50_MS = 20.0
TARGET_BYTES_PER_ROW = 16.0

PRICE_COLUMNS = ["date", "open", "high", "low", "close", "volume"]
REST_FORMATS = ("json", "json_columns", "arrow", "csv", "parquet")
DATASET = Path("prices") / "huge_stock_market_dataset"


# ---------------------------------------------------------------------------------------------------------------
# helpers shared with prices_scale.py
# ---------------------------------------------------------------------------------------------------------------

def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def data_root() -> Path:
    """``$MARKETWIRE_DATA``, else the nearest ancestor of this script holding ``shared/data``."""
    env = os.environ.get("MARKETWIRE_DATA")
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise SystemExit(f"MARKETWIRE_DATA={env} is not a folder")
        return root
    for parent in Path(__file__).resolve().parents:
        cand = parent / "shared" / "data"
        if cand.is_dir():
            return cand
    raise SystemExit("no data folder: set MARKETWIRE_DATA to the shared data folder "
                     f"(the one holding {DATASET}), or place it at <ancestor>/shared/data")


def cpu_s() -> float:
    """CPU seconds (user + system, every thread) this process has used: less sensitive than wall time to other
    work on the machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def rss_now_mb() -> float | None:
    """Current RSS (VmRSS) of this process."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def proc_hwm_mb(pid: int) -> float | None:
    """Peak RSS (VmHWM) of another live process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def disk_usage(path: Path) -> dict[str, int]:
    """``allocated``: bytes of the blocks the files occupy (what ``du`` prints); ``apparent``: sum of file sizes."""
    alloc = apparent = files = 0
    if path.is_file():
        st = path.stat()
        return {"allocated": st.st_blocks * 512, "apparent": st.st_size, "files": 1}
    seen: set[tuple[int, int]] = set()
    for root, _, names in os.walk(path):
        for name in names:
            try:
                st = os.stat(os.path.join(root, name), follow_symlinks=False)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:  # a hard link: its blocks are counted once, as du does
                continue
            seen.add((st.st_dev, st.st_ino))
            alloc += st.st_blocks * 512
            apparent += st.st_size
            files += 1
    return {"allocated": alloc, "apparent": apparent, "files": files}


def pct(samples_ns: Sequence[int]) -> dict[str, Any]:
    a = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if not len(a):
        return {"n": 0}
    return {"n": int(len(a)), "mean": float(a.mean()), "p50": float(np.percentile(a, 50)),
            "p95": float(np.percentile(a, 95)), "p99": float(np.percentile(a, 99)), "max": float(a.max())}


def timed_calls(fn: Callable[[Any], Any], args: Sequence[Any], budget_s: float, label: str) -> dict[str, Any]:
    """Call ``fn(arg)`` for each arg, timing each call; stop early when ``budget_s`` is used up."""
    samples: list[int] = []
    t_start = time.perf_counter()
    truncated = False
    for i, a in enumerate(args):
        t = time.perf_counter_ns()
        fn(a)
        samples.append(time.perf_counter_ns() - t)
        if time.perf_counter() - t_start > budget_s and i + 1 < len(args):
            truncated = True
            log(f"{label}: time budget of {budget_s:.0f}s used up after {i + 1} calls")
            break
    res = pct(samples)
    res["truncated"] = truncated
    log(f"{label}: p50 {res.get('p50', float('nan')):.3f} ms, p99 {res.get('p99', float('nan')):.3f} ms (n={res['n']})")
    return res


def timed_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of one call."""
    t = time.perf_counter_ns()
    out = fn()
    return (time.perf_counter_ns() - t) / 1e6, out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def subprocess_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p))


def version_of(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - a missing package is reported as None
        return None


def machine() -> dict[str, Any]:
    mem = cpu = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*a: str) -> str | None:
        try:
            return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    libs = ["marketwire", "deltalake", "duckdb", "pyarrow", "polars", "pandas", "numpy", "arcticdb", "fastapi",
            "uvicorn", "httpx", "exchange_calendars"]
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": mem, "python": platform.python_version(),
            "platform": platform.platform(), "libs": {m: version_of(m) for m in libs},
            "git_commit": git("rev-parse", "--short", "HEAD"),
            "git_dirty_src": (git("status", "--porcelain", "--", "src") or "").splitlines(),
            "utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_start": load_average()}


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on the machine slows every system measured)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_markdown(m: dict[str, Any]) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in m["libs"].items() if v)
    dirty = f" ({len(m['git_dirty_src'])} uncommitted files under src/)" if m["git_dirty_src"] else " (clean src/)"
    load = ""
    if m.get("load_start"):
        load = f"\nLoad average (1/5/15 min) at the start {' / '.join(map(str, m['load_start']))}"
        if m.get("load_end"):
            load += f", at the end {' / '.join(map(str, m['load_end']))}"
        load += f" on {m['cores']} cores."
    return (f"Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB RAM; {m['platform']}; "
            f"Python {m['python']}.\nLibraries: {libs}.\nCommit {m['git_commit']}{dirty}, run {m['utc']}.{load}")


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> str:
    """A Markdown table; ``align``: one character per column, ``l`` or ``r``."""
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else ("---" if a == "l" else ":---:") for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def fmt_ms(v: float | None) -> str:
    if v is None or v != v:
        return "—"
    return f"{v:,.0f}" if v >= 100 else (f"{v:.1f}" if v >= 10 else (f"{v:.2f}" if v >= 0.1 else f"{v:.3f}"))


def fmt_int(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def fmt_bytes(b: float | None) -> str:
    if b is None:
        return "—"
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= div:
            return f"{b / div:,.1f} {unit}"
    return f"{b:,.0f} B"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def series_check(df: Any) -> dict[str, Any]:
    """Row count, first/last date and sum of closes of a pandas DataFrame, polars DataFrame or Arrow table.

    The date may be a column or (ArcticDB) the index."""
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    if isinstance(df, pa.Table):
        df = df.to_pandas()
    if isinstance(df, pl.DataFrame):
        df = df.to_pandas()
    assert isinstance(df, pd.DataFrame)
    cols = {c.lower(): c for c in df.columns}
    dates = pd.to_datetime(df[cols["date"]]) if "date" in cols else pd.to_datetime(df.index.to_series())
    close = df[cols["close"]].astype("float64") if "close" in cols else None
    return {"rows": int(len(df)), "first": str(dates.min().date()) if len(df) else None,
            "last": str(dates.max().date()) if len(df) else None,
            "close_sum": float(close.sum()) if close is not None else None, "columns": [str(c) for c in df.columns]}


def report_dict(rep: Any) -> dict[str, Any]:
    """An ingest report as a dict (``to_dict()`` when it has one); ``timings`` is seconds per stage when reported."""
    if hasattr(rep, "to_dict"):
        return dict(rep.to_dict())
    return {k: getattr(rep, k, None) for k in ("accepted", "quarantined", "flagged", "timings")}


def stage_rows(runs: Sequence[tuple[str, dict[str, float]]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a stage | seconds per run table, from ``timings`` dicts (stages in first-seen order)."""
    stages: list[str] = []
    for _, t in runs:
        stages += [k for k in t if k not in stages]
    rows = [[s, *(f"{t.get(s, 0.0):,.2f}" for _, t in runs)] for s in stages]
    rows.append(["**sum**", *(f"{sum(t.values()):,.2f}" for _, t in runs)])
    return ["stage", *(name for name, _ in runs)], rows


def check_matches(got: dict[str, Any] | None, want: dict[str, Any]) -> str:
    """``ok`` or what differs."""
    if not got:
        return "not read"
    diffs = []
    for k in ("rows", "first", "last"):
        if got.get(k) != want.get(k):
            diffs.append(f"{k} {got.get(k)} (expected {want.get(k)})")
    gs, ws = got.get("close_sum"), want.get("close_sum")
    if gs is None:
        diffs.append("no close column")
    elif ws and abs(gs - ws) > 1e-6 * abs(ws):
        diffs.append(f"sum(close) {gs:,.4f} (expected {ws:,.4f})")
    return "ok" if not diffs else "; ".join(diffs)


# -- REST ------------------------------------------------------------------------------------------------------

def marketwire_command() -> list[str]:
    exe = Path(sys.executable).parent / "marketwire"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from marketwire.cli import run; run()"]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    ready_s: float
    log_path: Path


@contextmanager
def rest_server(home: Path, log_path: Path, start_timeout: float = 900.0) -> Iterator[Server]:
    """``marketwire --home HOME serve --host 127.0.0.1 --port PORT`` until ``/v1/health`` answers 200."""
    import httpx

    port = free_port()
    cmd = [*marketwire_command(), "--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log(f"rest: {' '.join(cmd)}")
    logf = log_path.open("w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=logf, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        ready = None
        with httpx.Client(base_url=base, timeout=10.0) as probe:
            while time.perf_counter() - t0 < start_timeout:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}: {log_path.read_text()[-3000:]}")
                try:
                    if probe.get("/v1/health").status_code == 200:
                        ready = time.perf_counter() - t0
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        if ready is None:
            raise RuntimeError(f"server did not answer /v1/health within {start_timeout:.0f}s")
        log(f"rest: /v1/health 200 after {ready:.1f}s")
        yield Server(proc, base, ready, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        logf.close()


def decode_json(body: bytes) -> Any:
    """``{"data": [...records...]}`` or ``{"data": {column: [...]}}`` (or the bare list/dict) -> pandas."""
    import pandas as pd

    doc = json.loads(body)
    data = doc.get("data", doc) if isinstance(doc, dict) else doc
    if isinstance(data, dict) and "bars" in data:
        data = data["bars"]
    return pd.DataFrame(data)


def decode_arrow(body: bytes) -> Any:
    import pyarrow as pa

    if body[:6] == b"ARROW1":  # IPC file format magic
        return pa.ipc.open_file(pa.BufferReader(body)).read_all().to_pandas()
    return pa.ipc.open_stream(body).read_all().to_pandas()


def decode_csv(body: bytes) -> Any:
    import pandas as pd

    return pd.read_csv(io.BytesIO(body))


def decode_parquet(body: bytes) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(body)).to_pandas()


DECODERS: dict[str, Callable[[bytes], Any]] = {"json": decode_json, "json_columns": decode_json,
                                               "arrow": decode_arrow, "csv": decode_csv, "parquet": decode_parquet}
DECODE_DESC = {"json": "json.loads + pd.DataFrame", "json_columns": "json.loads + pd.DataFrame",
               "arrow": "Arrow IPC read + to_pandas", "csv": "pd.read_csv", "parquet": "pq.read_table + to_pandas"}


def rest_client(server: Server) -> Any:
    """The one keep-alive client every REST measurement of a phase goes through."""
    import httpx

    return httpx.Client(base_url=server.base, timeout=900.0)


def rest_reads(client: Any, symbols: Sequence[str], fmt: str, budget_s: float, label: str) -> dict[str, Any]:
    """Cold first call (symbols[0]), one warm-up, then one timed GET per symbol in ``symbols[1:]``.

    Each GET is timed until the body is in (request) and until it is decoded into a pandas DataFrame (decoded)."""
    decode = DECODERS[fmt]
    params = {"json": {}, "json_columns": {"orient": "columns"}}.get(fmt, {"format": fmt})
    res: dict[str, Any] = {"format": fmt, "decode": DECODE_DESC[fmt]}

    def get(sym: str) -> Any:
        r = client.get(f"/v1/prices/{sym}", params=params)
        if r.status_code != 200:
            raise RuntimeError(f"GET /v1/prices/{sym} {params}: {r.status_code} {r.text[:500]}")
        return r

    cold_ms, r = timed_once(lambda: get(symbols[0]))
    res["cold_ms"] = cold_ms
    res["bytes"] = len(r.content)
    res["content_type"] = r.headers.get("content-type")
    res["check"] = series_check(decode(r.content))
    get(symbols[0])  # warm-up
    req: list[int] = []
    full: list[int] = []
    t_start = time.perf_counter()
    truncated = False
    for i, sym in enumerate(symbols[1:]):
        t = time.perf_counter_ns()
        body = get(sym).content
        t1 = time.perf_counter_ns()
        decode(body)
        t2 = time.perf_counter_ns()
        req.append(t1 - t)
        full.append(t2 - t)
        if time.perf_counter() - t_start > budget_s and i + 2 < len(symbols):
            truncated = True
            log(f"{label}: time budget of {budget_s:.0f}s used up after {i + 1} calls")
            break
    res["request"] = pct(req) | {"truncated": truncated}
    res["decoded"] = pct(full) | {"truncated": truncated}
    log(f"{label}: request p50 {res['request']['p50']:.2f} ms, + decode p50 {res['decoded']['p50']:.2f} ms")
    return res


# -- phases in their own processes -----------------------------------------------------------------------------

def run_phase(script: Path, phase: str, work: Path, extra: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``script --phase PHASE --work WORK ...`` in a new process; its result is ``WORK/PHASE.json``."""
    result = work / f"{phase}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(script), "--phase", phase, "--work", str(work), *extra]
    log(f"phase {phase}: start")
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=subprocess_env())
    if p.returncode != 0 or not result.exists():
        log(f"phase {phase}: FAILED (exit {p.returncode}) after {time.perf_counter() - t0:.1f}s")
        return {"error": f"exit code {p.returncode}; see the traceback on stderr"}
    log(f"phase {phase}: done in {time.perf_counter() - t0:.1f}s")
    return dict(json.loads(result.read_text()))


def write_result(work: Path, phase: str, res: dict[str, Any]) -> None:
    res["peak_rss_mb"] = peak_rss_mb()
    (work / f"{phase}.json").write_text(json.dumps(res, indent=1, default=str))


# ---------------------------------------------------------------------------------------------------------------
# this benchmark: the 100 real series
# ---------------------------------------------------------------------------------------------------------------

def series_files(folder: Path) -> list[Path]:
    files = sorted((folder / "Stocks").glob("*.us.txt")) + sorted((folder / "ETFs").glob("*.us.txt"))
    if not files:
        raise SystemExit(f"no *.us.txt files under {folder}/Stocks or {folder}/ETFs")
    return files


def symbol_of(path: Path) -> str:
    return path.name.split(".")[0].upper()


def read_csv_polars(path: Path) -> Any:
    """One Kaggle file as polars: date (Date), open..close (f64), volume (i64); OpenInt dropped."""
    import polars as pl

    df = pl.read_csv(path, schema_overrides={"Date": pl.Date, "Open": pl.Float64, "High": pl.Float64,
                                             "Low": pl.Float64, "Close": pl.Float64, "Volume": pl.Int64})
    return df.select(pl.col("Date").alias("date"), pl.col("Open").alias("open"), pl.col("High").alias("high"),
                     pl.col("Low").alias("low"), pl.col("Close").alias("close"), pl.col("Volume").alias("volume"))


def to_arctic_frame(df: Any) -> Any:
    """polars -> pandas indexed by a datetime64 ``date``, the shape ArcticDB stores as a time series."""
    pdf = df.to_pandas()
    pdf["date"] = pdf["date"].astype("datetime64[ns]")
    return pdf.set_index("date")


def phase_marketwire(work: Path, folder: Path) -> dict[str, Any]:
    """Ingest into a fresh home, size at rest, first read right after the ingest."""
    t_imp = time.perf_counter()
    # the libraries a write loads (deltalake's writer imports pandas), imported before the timer as the peers'
    # ``import arcticdb`` (which imports pandas) is; their import time is reported beside the ingest
    import deltalake  # noqa: F401
    import pandas  # noqa: F401

    import marketwire

    import_s = time.perf_counter() - t_imp
    home = work / "mw_home"
    mw = marketwire.open(home)
    log(f"marketwire: ingest prices-csv (preset kaggle) of {folder / 'Stocks'} and {folder / 'ETFs'}")
    t0, c0 = time.perf_counter(), cpu_s()
    rep = mw.ingest("prices-csv", [folder / "Stocks", folder / "ETFs"], preset="kaggle")
    secs, cpu = time.perf_counter() - t0, cpu_s() - c0
    report = report_dict(rep)
    rows = int(report.get("accepted") or 0) + int(report.get("quarantined") or 0)
    log(f"marketwire: ingest {secs:.2f}s, accepted {report.get('accepted')}, quarantined {report.get('quarantined')}, "
        f"flagged {report.get('flagged')} -> {rows / secs:,.0f} rows/s")
    size = dict(mw.bars_size())
    first_ms, df, rebuilt = first_read(home, lambda: mw.prices("IBM"))
    log(f"marketwire: first mw.prices('IBM') after the ingest {first_ms:.1f} ms ({rebuilt} cache folders built by it)")
    return {"ingest_s": secs, "ingest_cpu_s": cpu, "import_s": import_s, "rows": rows, "report": report,
            "bars_size": size,
            "first_read_ms": first_ms,
            "first_read_built": rebuilt, "check": series_check(df),
            "home_disk": {p.name: disk_usage(p) for p in sorted(home.iterdir())}}


def first_read(home: Path, read: Callable[[], Any]) -> tuple[float, Any, int]:
    """(ms, result, cache folders the read had to build) of the first read after an ingest: 0 when the ingest
    left the read cache complete."""
    folder = home / "cache" / "bars"

    def names() -> set[str]:
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    before = names()
    ms, df = timed_once(read)
    return ms, df, len(names() - before)


def frame_of(df: Any) -> Any:
    """A read's answer as pandas columns date (datetime64[ns]), open, high, low, close (float64), volume (int64)."""
    import pandas as pd

    if "date" not in df.columns:
        df = df.reset_index()
    df = df.rename(columns=str.lower)[PRICE_COLUMNS].copy()
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    for c in ("open", "high", "low", "close"):
        df[c] = df[c].astype("float64")
    df["volume"] = df["volume"].astype("int64")
    return df.reset_index(drop=True)


def dump_series(work: Path, name: str, read: Callable[[str], Any], symbols: Sequence[str]) -> None:
    """Every series as the system returns it, into ``work/series_<name>.parquet`` (compared after the run)."""
    import pandas as pd

    parts = []
    for sym in symbols:
        df = frame_of(read(sym))
        df.insert(0, "symbol", sym)
        parts.append(df)
    pd.concat(parts, ignore_index=True).to_parquet(work / f"series_{name}.parquet")


def compare_series(work: Path, a: str, b: str) -> dict[str, Any]:
    """Row by row and cell by cell (exact equality) the series two systems returned, keyed by symbol and date."""
    import pandas as pd

    pa_, pb = work / f"series_{a}.parquet", work / f"series_{b}.parquet"
    if not pa_.exists() or not pb.exists():
        return {"error": "not dumped"}
    A, B = pd.read_parquet(pa_), pd.read_parquet(pb)
    m = A.merge(B, on=["symbol", "date"], how="outer", suffixes=("_a", "_b"), indicator=True)
    both = m[m["_merge"] == "both"]
    diffs = {c: int((both[f"{c}_a"] != both[f"{c}_b"]).sum()) for c in PRICE_COLUMNS[1:]}
    only = {side: m[m["_merge"] == f"{side}_only"][["symbol", "date"]].astype(str).values.tolist()
            for side in ("left", "right")}
    return {"a": a, "b": b, "rows_a": len(A), "rows_b": len(B), "symbols": int(A["symbol"].nunique()),
            "common": len(both), "only_a": only["left"], "only_b": only["right"], "cells_differ": diffs}


def sdk_reads(mw: Any, symbols: Sequence[str], budget: float, label: str) -> dict[str, Any]:
    """Per output: first call (cold, symbols[0]), warm-up, then one timed call per symbol in ``symbols[1:]``."""
    out: dict[str, Any] = {}
    for output in ("pandas", "arrow", "polars"):
        def read(sym: str, output: str = output) -> Any:
            return mw.prices(sym) if output == "pandas" else mw.prices(sym, output=output)

        cold_ms, df = timed_once(lambda: read(symbols[0]))
        read(symbols[0])  # warm-up
        out[output] = {"cold_ms": cold_ms, "check": series_check(df),
                       **timed_calls(read, symbols[1:], budget, f"{label} {output}")}
    return out


def phase_marketwire_read(work: Path, reads: int, budget: float, folder: Path) -> dict[str, Any]:
    """A fresh process on the ingested home: open, first read, then timed reads per output; then every series
    dumped for the comparison of result sets."""
    import marketwire

    t0 = time.perf_counter()
    mw = marketwire.open(work / "mw_home")
    open_ms = (time.perf_counter() - t0) * 1e3
    res = sdk_reads(mw, ["IBM"] * (reads + 1), budget, "marketwire SDK")
    dump_series(work, "marketwire", mw.prices, [symbol_of(p) for p in series_files(folder)])
    return {"open_ms": open_ms, "outputs": res}


def phase_cache_where(work: Path, folder: Path, rounds: int = 2) -> dict[str, Any]:
    """Where the read cache is built, in one process, the two ways alternating (order swapped each round): by the
    ingest (the default), or left to the first read, which rebuilds it from the lake with DuckDB (the ingest's
    bars stage replaced by one without the cache). Each way: ingest of the 100 files into a fresh home, then the
    first read; wall and CPU seconds of both."""
    import marketwire
    from marketwire.prices.ingest import BarsStage

    out: dict[str, list[dict[str, float]]] = {"at_ingest": [], "on_read": []}
    for r in range(rounds):
        for mode in (("at_ingest", "on_read") if r % 2 == 0 else ("on_read", "at_ingest")):
            home = work / f"where_{mode}"
            shutil.rmtree(home, ignore_errors=True)
            mw = marketwire.open(home)
            if mode == "on_read":
                mw.prices.engine.stage("bars_daily", BarsStage(mw.identity))
            t, c = time.perf_counter(), cpu_s()
            mw.ingest("prices-csv", [folder / "Stocks", folder / "ETFs"], preset="kaggle")
            ti, ci = time.perf_counter() - t, cpu_s() - c
            ms, _, built = first_read(home, lambda: mw.prices("IBM"))
            cr = cpu_s() - c - ci
            out[mode].append({"ingest_s": ti, "ingest_cpu_s": ci, "first_read_s": ms / 1e3, "first_read_cpu_s": cr,
                              "built": built})
            log(f"cache {mode}: ingest {ti:.2f}s (CPU {ci:.2f}), first read {ms / 1e3:.2f}s (CPU {cr:.2f}), "
                f"{built} folders built by it")
            shutil.rmtree(home, ignore_errors=True)
    return out


def cache_where_section(res: dict[str, Any] | None) -> list[str]:
    if not res or "at_ingest" not in res:
        return []
    rows = []
    for mode, label in (("at_ingest", "built by the ingest"), ("on_read", "left to the first read (DuckDB rebuild)")):
        for i, r in enumerate(res[mode]):
            rows.append([label, str(i + 1), f"{r['ingest_s']:.2f} ({r['ingest_cpu_s']:.2f})",
                         f"{r['first_read_s']:.2f} ({r['first_read_cpu_s']:.2f})", str(r["built"]),
                         f"{r['ingest_s'] + r['first_read_s']:.2f} ({r['ingest_cpu_s'] + r['first_read_cpu_s']:.2f})"])
    return ["## 5. Where the read cache is built (one process, the two ways alternating; seconds, CPU in brackets)", "",
            markdown(["read cache", "round", "ingest", "first read", "cache folders the read built",
                      "ingest + first read"], rows), ""]


def phase_pair(work: Path, reads: int, budget: float) -> dict[str, Any]:
    """marketwire and ArcticDB in one process on the homes the phases before wrote, calls alternating (the order
    swapped every round), so that both see the same load: the same first call and warm-up for each, then
    ``reads`` timed full-history reads of IBM into pandas each."""
    import arcticdb
    import marketwire

    mw = marketwire.open(work / "mw_home")
    lib = arcticdb.Arctic(f"lmdb://{work / 'arctic_lmdb'}").get_library("prices")
    fns: dict[str, Callable[[], Any]] = {"marketwire": lambda: mw.prices("IBM"), "arctic": lambda: lib.read("IBM").data}
    out: dict[str, Any] = {}
    for name, fn in fns.items():
        cold, df = timed_once(fn)
        fn()  # warm-up
        out[name] = {"cold_ms": cold, "check": series_check(df)}
    samples: dict[str, list[int]] = {k: [] for k in fns}
    t_start = time.perf_counter()
    for i in range(reads):
        for name in (list(fns) if i % 2 == 0 else list(fns)[::-1]):
            t = time.perf_counter_ns()
            fns[name]()
            samples[name].append(time.perf_counter_ns() - t)
        if time.perf_counter() - t_start > budget:
            break
    for name, v in samples.items():
        out[name].update(pct(v))
        log(f"pair {name}: p50 {out[name]['p50']:.3f} ms, p99 {out[name]['p99']:.3f} ms (n={out[name]['n']})")
    return out


def phase_rest(work: Path, reads: int, budget: float) -> dict[str, Any]:
    res: dict[str, Any] = {}
    with rest_server(work / "mw_home", work / "server.log") as server, rest_client(server) as client:
        res["ready_s"] = server.ready_s
        for fmt in REST_FORMATS:
            try:
                res[fmt] = rest_reads(client, ["IBM"] * (reads + 1), fmt, budget, f"REST {fmt}")
            except Exception as e:  # noqa: BLE001 - one format failing must not hide the others
                log(f"REST {fmt}: {type(e).__name__}: {e}")
                res[fmt] = {"error": f"{type(e).__name__}: {e}"}
        res["server_peak_rss_mb"] = proc_hwm_mb(server.proc.pid)
    return res


def phase_arctic(work: Path, folder: Path, reads: int, budget: float) -> dict[str, Any]:
    import arcticdb

    files = series_files(folder)
    t0 = time.perf_counter()
    frames = {symbol_of(p): to_arctic_frame(read_csv_polars(p)) for p in files}
    parse_s = time.perf_counter() - t0
    rows = sum(len(f) for f in frames.values())
    path = work / "arctic_lmdb"
    ac = arcticdb.Arctic(f"lmdb://{path}")
    lib = ac.get_library("prices", create_if_missing=True)
    t1, c1 = time.perf_counter(), cpu_s()
    for sym, frame in frames.items():
        lib.write(sym, frame)
    write_s, write_cpu = time.perf_counter() - t1, cpu_s() - c1
    log(f"arcticdb: parse {parse_s:.2f}s + write {write_s:.2f}s for {rows:,} rows")
    del frames
    cold_ms, df = timed_once(lambda: lib.read("IBM").data)
    lib.read("IBM")
    read = timed_calls(lambda s: lib.read(s).data, ["IBM"] * reads, budget, "arcticdb lib.read")
    dump_series(work, "arctic", lambda s: lib.read(s).data, [symbol_of(p) for p in files])
    return {"rows": rows, "parse_s": parse_s, "write_s": write_s, "write_cpu_s": write_cpu, "cold_ms": cold_ms,
            "check": series_check(df), "read": read, "disk": disk_usage(path)}


def phase_parquet(work: Path, folder: Path, reads: int, budget: float) -> dict[str, Any]:
    files = series_files(folder)
    t0 = time.perf_counter()
    frames = {symbol_of(p): read_csv_polars(p) for p in files}
    parse_s = time.perf_counter() - t0
    rows = sum(f.height for f in frames.values())
    path = work / "parquet"
    path.mkdir()
    t1 = time.perf_counter()
    for sym, frame in frames.items():
        frame.write_parquet(path / f"{sym}.parquet", compression="zstd")
    write_s = time.perf_counter() - t1
    log(f"parquet: parse {parse_s:.2f}s + write {write_s:.2f}s for {rows:,} rows")
    out: dict[str, Any] = {"rows": rows, "parse_s": parse_s, "write_s": write_s, "disk": disk_usage(path)}
    return out | parquet_reads(path, ["IBM"] * (reads + 1), budget)


def parquet_reads(path: Path, symbols: Sequence[str], budget: float) -> dict[str, Any]:
    """``pd.read_parquet`` and ``pl.read_parquet`` of ``path/<symbol>.parquet``: first call (symbols[0]), warm-up,
    then one timed call per symbol in ``symbols[1:]``."""
    import pandas as pd
    import polars as pl

    readers: dict[str, Callable[[Path], Any]] = {"pandas": pd.read_parquet, "polars": pl.read_parquet}
    out: dict[str, Any] = {}
    for name, fn in readers.items():
        def read(sym: str, fn: Callable[[Path], Any] = fn) -> Any:
            return fn(path / f"{sym}.parquet")

        cold_ms, df = timed_once(lambda: read(symbols[0]))
        read(symbols[0])
        out[name] = {"cold_ms": cold_ms, "check": series_check(df),
                     **timed_calls(read, symbols[1:], budget, f"parquet {name}")}
    return out


# -- tables ----------------------------------------------------------------------------------------------------

def ingest_rows(R: dict[str, Any]) -> list[list[str]]:
    """system | what is timed | rows | seconds | rows/s | target | pass"""
    out: list[list[str]] = []
    m = R.get("marketwire", {})
    if "ingest_s" in m:
        rate = m["rows"] / m["ingest_s"]
        rep = m["report"]
        out.append(["marketwire", f"`mw.ingest(\"prices-csv\", [Stocks, ETFs], preset=\"kaggle\")`: parse + verify + "
                    f"Delta write + read cache (accepted {fmt_int(rep.get('accepted'))}, quarantined "
                    f"{fmt_int(rep.get('quarantined'))}, flagged {fmt_int(rep.get('flagged'))})",
                    fmt_int(m["rows"]), f"{m['ingest_s']:.2f}" + (f" (CPU {m['ingest_cpu_s']:.2f})" if "ingest_cpu_s" in m
                                                                 else "")
                    + (f"; imports before it {m['import_s']:.2f}" if "import_s" in m else ""), fmt_int(rate),
                    ">= 500,000",
                    verdict(rate >= TARGET_INGEST_ROWS_S)])
    else:
        out.append(["marketwire", "ingest", "—", "—", "—", ">= 500,000", f"failed: {m.get('error', 'not run')}"])
    for key, name, parse in (("arctic", "ArcticDB (LMDB)", "polars read_csv + to_pandas"),
                             ("parquet", "Parquet per symbol", "polars read_csv")):
        p = R.get(key, {})
        if "write_s" not in p:
            out.append([name, "—", "—", "—", "—", "", f"failed: {p.get('error', 'not run')}"])
            continue
        what = "`lib.write` per symbol" if key == "arctic" else "`write_parquet(zstd)` per symbol"
        out.append([name, f"{parse} + {what}", fmt_int(p["rows"]), f"{p['parse_s'] + p['write_s']:.2f}",
                    fmt_int(p["rows"] / (p["parse_s"] + p["write_s"])), "", ""])
        cpu = f" (CPU {p['write_cpu_s']:.2f})" if "write_cpu_s" in p else ""
        out.append([name, f"{what} only (parse excluded)", fmt_int(p["rows"]), f"{p['write_s']:.2f}{cpu}",
                    fmt_int(p["rows"] / p["write_s"]), "", ""])
    return out


def read_rows(R: dict[str, Any], want: dict[str, Any] | None, arctic_p50: float | None = None,
              id_label: str = "id") -> list[list[str]]:
    """reader | returns | n | first call ms | p50 | p95 | p99 | target | pass | answer (shared by prices_scale.py)"""
    out: list[list[str]] = []
    if arctic_p50 is None:
        arctic_p50 = R.get("arctic", {}).get("read", {}).get("p50")

    def row(reader: str, returns: str, r: dict[str, Any], cold: float | None, target: float | None,
            check: dict[str, Any] | None, vs_arctic: bool = False) -> None:
        if not r or "p50" not in r:
            out.append([reader, returns, "—", "—", "—", "—", "—", "", "", str(r.get("error", "not run")) if r else "not run"])
            return
        n = f"{r['n']}" + (" (budget)" if r.get("truncated") else "")
        tgt, ok = "", None
        if target is not None:
            beat = vs_arctic and arctic_p50 is not None
            tgt = f"<= {target:g} ms" + (f" and <= ArcticDB ({fmt_ms(arctic_p50)})" if beat else "")
            ok = r["p50"] <= target and (not beat or r["p50"] <= arctic_p50)
        out.append([reader, returns, n, fmt_ms(cold), fmt_ms(r["p50"]), fmt_ms(r["p95"]), fmt_ms(r["p99"]), tgt,
                    verdict(ok), check_matches(check, want) if want and check is not None else ""])

    m = R.get("marketwire", {})
    if "first_read_ms" in m:
        built = m.get("first_read_built")
        note = "" if built is None else f" (cache folders it built: {built})"
        out.append([f"marketwire SDK, first read in the ingest process{note}", "pandas", "1",
                    fmt_ms(m["first_read_ms"]), "", "", "", "", "", check_matches(m.get("check"), want) if want else ""])
    pair = R.get("pair", {})
    if "marketwire" in pair and "arctic" in pair and "p50" in pair["marketwire"]:
        pm, pa_ = pair["marketwire"], pair["arctic"]
        ok = pm["p50"] <= pa_["p50"] and pm["p99"] <= pa_["p99"]
        out.append(["same process, calls alternating: marketwire `mw.prices(sym)`", "pandas DataFrame", str(pm["n"]),
                    fmt_ms(pm["cold_ms"]), fmt_ms(pm["p50"]), fmt_ms(pm["p95"]), fmt_ms(pm["p99"]),
                    "p50 and p99 <= ArcticDB's", verdict(ok), check_matches(pm.get("check"), want) if want else ""])
        out.append(["same process, calls alternating: ArcticDB `lib.read(sym).data`", "pandas DataFrame (date index)",
                    str(pa_["n"]), fmt_ms(pa_["cold_ms"]), fmt_ms(pa_["p50"]), fmt_ms(pa_["p95"]), fmt_ms(pa_["p99"]),
                    "", "", check_matches(pa_.get("check"), want) if want else ""])
    mr = R.get("marketwire_read", {})
    outs = mr.get("outputs", {})
    for output, returns in (("pandas", "pandas DataFrame"), ("arrow", "pyarrow Table"), ("polars", "polars DataFrame")):
        call = "`mw.prices(sym)`" if output == "pandas" else f"`mw.prices(sym, output=\"{output}\")`"
        r = outs.get(output, {"error": mr.get("error", "not run")})
        row(f"marketwire SDK {call}", returns, r, r.get("cold_ms"), TARGET_SDK_P50_MS, r.get("check"), True)
    rest = R.get("rest", {})
    for fmt in REST_FORMATS:
        r = rest.get(fmt, {"error": rest.get("error", "not run")})
        suffix = {"json": "", "json_columns": "?orient=columns"}.get(fmt, f"?format={fmt}")
        size = f", {fmt_bytes(r['bytes'])} body" if "bytes" in r else ""
        row(f"marketwire REST `GET /v1/prices/{{{id_label}}}{suffix}`, request only", f"bytes{size}", r.get("request", r),
            r.get("cold_ms"), None, None)
        row(f"marketwire REST `GET /v1/prices/{{{id_label}}}{suffix}` + {DECODE_DESC[fmt]}", "pandas DataFrame",
            r.get("decoded", r), None, TARGET_REST_P50_MS, r.get("check"))
    a = R.get("arctic", {})
    row("ArcticDB `lib.read(sym).data`", "pandas DataFrame (date index)", a.get("read", a), a.get("cold_ms"), None,
        a.get("check"))
    p = R.get("parquet", {})
    for name, call in (("pandas", "pd.read_parquet"), ("polars", "pl.read_parquet")):
        r = p.get(name, {"error": p.get("error", "not run")})
        row(f"Parquet `{call}(file)`", f"{name} DataFrame", r, r.get("cold_ms"), None, r.get("check"))
    return out


def total_row(R: dict[str, Any]) -> list[list[str]]:
    """marketwire's whole home at rest (every Delta table and every cache) per stored bar, against ArcticDB's."""
    m, a = R.get("marketwire", {}), R.get("arctic", {})
    if "home_disk" not in m or not m.get("bars_size", {}).get("rows"):
        return []
    rows = m["bars_size"]["rows"]
    total = sum(d["allocated"] for d in m["home_disk"].values())
    peer = a["disk"]["allocated"] / a["rows"] if "disk" in a else None
    return [["marketwire", "**total at rest**: the whole home (lake: every Delta table with its log; cache: every "
             "read cache), du", fmt_bytes(total), fmt_int(rows), f"**{total / rows:.2f}**",
             f"<= ArcticDB ({peer:.2f})" if peer else "<= ArcticDB", verdict(None if peer is None else
                                                                           total / rows <= peer)]]


def size_rows(R: dict[str, Any]) -> list[list[str]]:
    """system | what is counted | bytes | rows | bytes/row | target | pass"""
    out: list[list[str]] = total_row(R)
    m = R.get("marketwire", {})
    if "bars_size" in m:
        s = m["bars_size"]
        bpr = s["bytes"] / s["rows"] if s.get("rows") else None
        out.append(["marketwire", "`mw.bars_size()`: Parquet files of the bars_daily Delta table", fmt_bytes(s["bytes"]),
                    fmt_int(s["rows"]), f"{bpr:.2f}" if bpr else "—", "<= 16",
                    verdict(bpr is not None and bpr <= TARGET_BYTES_PER_ROW)])
        out += home_rows(m["home_disk"], s.get("rows"))
    else:
        out.append(["marketwire", "`mw.bars_size()`", "—", "—", "—", "<= 16", f"failed: {m.get('error', 'not run')}"])
    for key, name, what in (("arctic", "ArcticDB (LMDB)", "LMDB folder, du"),
                            ("parquet", "Parquet per symbol", "folder of .parquet files (zstd), du")):
        p = R.get(key, {})
        if "disk" not in p:
            out.append([name, what, "—", "—", "—", "", f"failed: {p.get('error', 'not run')}"])
            continue
        d = p["disk"]
        out.append([name, f"{what} ({d['files']} files, apparent size {fmt_bytes(d['apparent'])})",
                    fmt_bytes(d["allocated"]), fmt_int(p["rows"]), f"{d['allocated'] / p['rows']:.2f}", "", ""])
    return out


def home_rows(parts: dict[str, dict[str, int]], rows: int | None) -> list[list[str]]:
    """One size row per top-level folder of the marketwire home (``lake``: every Delta table; ``cache``: read caches)."""
    what = {"lake": "home/lake, du: every Delta table with its log",
            "cache": "home/cache, du: the read caches (built by the ingest)"}
    return [["marketwire", f"{what.get(name, 'home/' + name + ', du')} ({d['files']:,} files)", fmt_bytes(d["allocated"]),
             fmt_int(rows), f"{d['allocated'] / rows:.2f}" if rows else "—", "", ""] for name, d in parts.items()]


def rss_rows(R: dict[str, Any]) -> list[list[str]]:
    out = []
    for key, name in (("marketwire", "marketwire ingest process"), ("marketwire_read", "marketwire SDK read process"),
                      ("rest", "marketwire REST server (VmHWM)"), ("arctic", "ArcticDB process (parse + write + read)"),
                      ("parquet", "Parquet process (parse + write + read)")):
        r = R.get(key, {})
        v = r.get("server_peak_rss_mb") if key == "rest" else r.get("peak_rss_mb")
        out.append([name, fmt_bytes(v * (1 << 20)) if v else "—"])
    return out


def stage_section(R: dict[str, Any]) -> list[str]:
    timings = R.get("marketwire", {}).get("report", {}).get("timings")
    if not timings:
        return []
    header, rows = stage_rows([("seconds", timings)])
    return ["Where the marketwire ingest spends its time (the report's `timings`):", "", markdown(header, rows), ""]


def report(R: dict[str, Any], want: dict[str, Any]) -> str:
    a = R.get("arctic", {}).get("read", {})
    arctic_p50 = a.get("p50")
    reads = R.get("args", {}).get("reads")
    parts = [
        f"# Daily prices, {R['files']} real series ({fmt_int(R['csv_rows'])} CSV rows), IBM read back "
        f"({want['rows']:,} rows, {want['first']}..{want['last']})",
        "",
        machine_markdown(R["machine"]),
        "",
        "## 1. Bulk ingest",
        "",
        markdown(["system", "what is timed", "rows", "seconds", "rows/s", "target", "pass"],
                 ingest_rows(R), "llrrrrl"),
        "",
        *stage_section(R),
        f"## 2. Full-history read of IBM (ms; first call separate, then one warm-up, then {reads} timed calls)",
        "",
        markdown(["reader", "returns", "n", "first call", "p50", "p95", "p99", "target (p50)", "pass", "answer vs CSV"],
                 read_rows(R, want, arctic_p50), "llrrrrrlll"),
        "",
        "## 3. Size at rest",
        "",
        markdown(["system", "what is counted", "bytes", "rows", "bytes/row", "target", "pass"],
                 size_rows(R), "llrrrrl"),
        "",
        *results_section(R.get("results")),
        *cache_where_section(R.get("cache_where")),
        "## Peak RSS per process",
        "",
        markdown(["process", "peak RSS"], rss_rows(R), "lr"),
    ]
    rest = R.get("rest", {})
    if "ready_s" in rest:
        parts += ["", f"REST server: start to first `/v1/health` 200 in {rest['ready_s']:.1f} s."]
    mr = R.get("marketwire_read", {})
    if "open_ms" in mr:
        parts += [f"SDK read process: `marketwire.open(home)` took {mr['open_ms']:.1f} ms."]
    return "\n".join(parts) + "\n"


def results_section(res: dict[str, Any] | None) -> list[str]:
    """The result sets of two systems compared row by row and cell by cell."""
    if not res or "error" in res:
        return [] if not res else ["## 4. Result sets", "", f"not compared: {res['error']}", ""]
    differ = sum(res["cells_differ"].values())
    rows = [[f"{res['symbols']} series", fmt_int(res["rows_a"]), fmt_int(res["rows_b"]), fmt_int(res["common"]),
             fmt_int(differ), str(len(res["only_a"])), str(len(res["only_b"]))]]
    out = ["## 4. Result sets: every series as each system returns it (pandas), keyed by symbol and date", "",
           markdown(["compared", f"rows {res['a']}", f"rows {res['b']}", "rows in both", "cells that differ "
                     "(exact float equality)", f"rows only {res['a']}", f"rows only {res['b']}"], [*rows]), ""]
    if res["only_a"] or res["only_b"]:
        out += [f"Rows only {res['a']}: {res['only_a'][:20]}; rows only {res['b']}: {res['only_b'][:20]} "
                "(marketwire quarantines what its rules reject; the peers store every parsed row).", ""]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reads", type=int, default=300, help="timed reads per reader (after one warm-up); default 300")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a new temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--phases", default="marketwire,marketwire_read,rest,arctic,parquet,pair,cache_where",
                    help="phases to run, comma-separated")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="time budget of each timed loop; default 300")
    ap.add_argument("--out", type=Path, default=OUT / "prices_bench.json")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args()

    folder = data_root() / DATASET
    if not (folder / "Stocks").is_dir() or not (folder / "ETFs").is_dir():
        raise SystemExit(f"{folder} has no Stocks/ and ETFs/ folders; set MARKETWIRE_DATA to the shared data folder")

    if args.phase:
        work: Path = args.work
        budget = args.max_seconds
        if args.phase == "marketwire":
            res = phase_marketwire(work, folder)
        elif args.phase == "marketwire_read":
            res = phase_marketwire_read(work, args.reads, budget, folder)
        elif args.phase == "pair":
            res = phase_pair(work, args.reads, budget)
        elif args.phase == "cache_where":
            res = phase_cache_where(work, folder)
        elif args.phase == "rest":
            res = phase_rest(work, args.reads, budget)
        elif args.phase == "arctic":
            res = phase_arctic(work, folder, args.reads, budget)
        elif args.phase == "parquet":
            res = phase_parquet(work, folder, args.reads, budget)
        else:
            raise SystemExit(f"unknown phase {args.phase}")
        write_result(work, args.phase, res)
        return

    files = series_files(folder)
    csv_rows = 0
    for p in files:  # into the page cache, so that no system pays the first disk read
        csv_rows += p.read_bytes().count(b"\n") - 1
    want = series_check(read_csv_polars(folder / "Stocks" / "ibm.us.txt"))
    log(f"{len(files)} files, {csv_rows:,} CSV rows; IBM {want['rows']:,} rows {want['first']}..{want['last']}")

    work = args.work or Path(tempfile.mkdtemp(prefix="mw_prices_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    R: dict[str, Any] = {"machine": machine(), "files": len(files), "csv_rows": csv_rows, "ibm_csv": want,
                         "args": {"reads": args.reads, "max_seconds": args.max_seconds}, "work": str(work)}
    extra = ["--reads", str(args.reads), "--max-seconds", str(args.max_seconds)]
    try:
        for phase in [p.strip() for p in args.phases.split(",") if p.strip()]:
            R[phase] = run_phase(Path(__file__).resolve(), phase, work, extra)
        R["results"] = compare_series(work, "marketwire", "arctic")
        R["machine"]["load_end"] = load_average()
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    text = report(R, want)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(R, indent=1, default=str))
    args.out.with_suffix(".md").write_text(text)
    print(text)
    log(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
