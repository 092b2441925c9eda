#!/usr/bin/env python
"""Daily prices at scale: N synthetic listings x Y years of XNYS sessions, marketwire against ArcticDB and Parquet.

Default: 10,000 listings x 50 years (the XNYS sessions 1975-01-02..2024-12-31 from exchange_calendars, 12,608
sessions), about 126M bars. ``--listings`` and ``--years`` scale it down (``--years Y`` takes the last Y calendar
years up to 2024-12-31).

Data: every listing has a bar on every session. Prices follow a geometric random walk with 2% daily volatility,
starting from a lognormal price (median 40). By default the log price is pulled weakly towards its start
(AR(1) with a half-life of 3 years, ``--half-life 756``; stationary spread about ±47% one sigma), so that 50-year
paths stay within a realistic price band instead of drifting to fractions of a cent or millions;
``--half-life 0`` gives the pure random walk. Open = previous close with a 0.4% gap; high/low extend max/min(open,
close) by |N(0, 0.8%)|; prices are rounded to 4 decimals and are all > 0, with high >= max(open, close) and
low <= min(open, close). Volumes are lognormal integers (per-listing median between about 70k and 3.7M). A seeded
numpy RNG per chunk of ``--chunk`` listings (default 500) makes every phase regenerate identical data without
holding more than one chunk in memory. Symbols are ``S00001``, ``S00002``...

Phases, each in its own process and one after the other (nothing else heavy runs at the same time):

  marketwire       ``mw.ingest_bars(chunk, source="synthetic", basis="raw", mic="XNYS")`` per chunk (a pyarrow
                   table: symbol, date, open, high, low, close, volume) into a fresh home; only the ingest_bars
                   calls are timed (generation is not). Then ``mw.bars_size()`` and the first read after the ingest.
  marketwire_read  a fresh process: ``marketwire.open(home)``, first (cold) ``mw.prices(sym)``, one warm-up, then
                   ``--reads`` timed full-history reads of random listings (pandas, arrow and polars outputs).
  rest             ``marketwire --home HOME serve`` on 127.0.0.1; GET /v1/prices/{sym} of the same random listings
                   in JSON and Arrow through one keep-alive httpx.Client, timed to the body and to a decoded pandas
                   DataFrame. The server's VmHWM is its peak RSS.
  arctic           ArcticDB on LMDB: ``lib.write(sym, df)`` per listing (pandas frames built outside the timing),
                   then ``lib.read(sym).data`` of the same random listings.
  parquet          one zstd Parquet file per listing with polars ``write_parquet``, then ``pd.read_parquet`` and
                   ``pl.read_parquet`` of the same random listings.

Reported: ingest rows/s per system (and marketwire's first and last chunk, to show whether appends slow down as the
table grows), bytes/row at rest, read p50/p95/p99 with the first call separately, peak RSS per process. One
listing's answer is checked against the generator (rows, first/last date, sum of closes) for every reader.

Usage (from the repository root; progress goes to stderr):

    .venv/bin/python benchmarks/prices_scale.py --listings 50 --years 5       # smoke, seconds
    .venv/bin/python benchmarks/prices_scale.py --listings 1000               # 12.6M bars
    .venv/bin/python benchmarks/prices_scale.py                               # 126M bars; nothing else heavy

Markdown to stdout and ``benchmarks/out/prices_scale_<listings>x<years>.md``; raw results in the ``.json`` next to
it. The work folder (default a new folder under /var/tmp) is removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from prices_bench import (  # noqa: E402 - the helpers live next to this script
    OUT,
    TARGET_BYTES_PER_ROW,
    TARGET_INGEST_ROWS_S,
    disk_usage,
    first_read,
    fmt_bytes,
    fmt_int,
    fmt_ms,
    home_rows,
    load_average,
    log,
    machine,
    machine_markdown,
    markdown,
    parquet_reads,
    peak_rss_mb,
    proc_hwm_mb,
    report_dict,
    rest_client,
    rest_reads,
    rest_server,
    rss_now_mb,
    run_phase,
    sdk_reads,
    series_check,
    stage_rows,
    timed_calls,
    timed_once,
    total_row,
    verdict,
    write_result,
)
from prices_bench import read_rows as bench_read_rows  # noqa: E402

LAST_DAY = date(2024, 12, 31)
DAILY_VOL = 0.02
GAP_VOL = 0.004
RANGE_VOL = 0.008
REST_FORMATS = ("json", "json_columns", "arrow")


# ---------------------------------------------------------------------------------------------------------------
# synthetic bars
# ---------------------------------------------------------------------------------------------------------------

def sessions(years: int) -> np.ndarray:
    """XNYS sessions of the last ``years`` calendar years up to 2024-12-31, as datetime64[D]."""
    import exchange_calendars as xc

    start = date(LAST_DAY.year - years + 1, 1, 1)
    cal = xc.get_calendar("XNYS", start=start.isoformat(), end=LAST_DAY.isoformat())
    return np.asarray(cal.sessions.values.astype("datetime64[D]"))


def symbol(i: int) -> str:
    return f"S{i:05d}"


class Chunk:
    """Bars of listings ``first .. first + count - 1`` (1-based), arrays shaped (sessions, listings)."""

    def __init__(self, seed: int, number: int, first: int, count: int, sess: np.ndarray, half_life: float) -> None:
        rng = np.random.default_rng([seed, number])
        S, L = len(sess), count
        self.sess = sess
        self.symbols = [symbol(first + j) for j in range(L)]
        p0 = np.exp(rng.normal(np.log(40.0), 0.8, L))
        eps = rng.normal(0.0, DAILY_VOL, (S, L))
        if half_life > 0:
            a = 0.5 ** (1.0 / half_life)
            x = np.empty_like(eps)
            x[0] = eps[0]
            for t in range(1, S):
                np.multiply(x[t - 1], a, out=x[t])
                x[t] += eps[t]
        else:
            x = np.cumsum(eps, axis=0)
        del eps
        close = p0 * np.exp(x)
        del x
        prev = np.vstack([p0[None, :], close[:-1]])
        opn = prev * np.exp(rng.normal(0.0, GAP_VOL, (S, L)))
        del prev
        high = np.maximum(opn, close) * np.exp(np.abs(rng.normal(0.0, RANGE_VOL, (S, L))))
        low = np.minimum(opn, close) * np.exp(-np.abs(rng.normal(0.0, RANGE_VOL, (S, L))))
        floor = 1e-4
        self.open = np.maximum(np.round(opn, 4), floor)
        self.close = np.maximum(np.round(close, 4), floor)
        # rounding is monotonic, so the order survives it; max/min again to be explicit
        self.high = np.maximum(np.maximum(np.round(high, 4), self.open), self.close)
        self.low = np.maximum(np.minimum(np.minimum(np.round(low, 4), self.open), self.close), floor)
        mu = rng.normal(np.log(500_000.0), 1.0, L)
        self.volume = np.maximum(np.rint(np.exp(mu + rng.normal(0.0, 0.5, (S, L)))), 1).astype(np.int64)
        assert (self.low > 0).all() and (self.high >= np.maximum(self.open, self.close)).all()
        assert (self.low <= np.minimum(self.open, self.close)).all()

    @property
    def rows(self) -> int:
        return int(self.close.size)

    def arrow(self) -> Any:
        """One table, symbol-major, dates ascending: symbol, date, open, high, low, close, volume."""
        import pyarrow as pa
        import pyarrow.compute as pc

        S, L = self.close.shape
        sym = pc.take(pa.array(self.symbols, pa.string()), pa.array(np.repeat(np.arange(L, dtype=np.int32), S)))
        cols = {"symbol": sym, "date": pa.array(np.tile(self.sess, L), pa.date32())}
        for name in ("open", "high", "low", "close", "volume"):
            cols[name] = pa.array(np.ascontiguousarray(getattr(self, name).T).ravel())
        return pa.table(cols)

    def pandas_frames(self) -> dict[str, Any]:
        """{symbol: DataFrame indexed by a datetime64 date} as ArcticDB stores a time series."""
        import pandas as pd

        idx = pd.DatetimeIndex(self.sess.astype("datetime64[ns]"), name="date")
        return {s: pd.DataFrame({"open": self.open[:, j], "high": self.high[:, j], "low": self.low[:, j],
                                 "close": self.close[:, j], "volume": self.volume[:, j]}, index=idx)
                for j, s in enumerate(self.symbols)}

    def check(self, sym: str) -> dict[str, Any]:
        j = self.symbols.index(sym)
        return {"rows": len(self.sess), "first": str(self.sess[0]), "last": str(self.sess[-1]),
                "close_sum": float(self.close[:, j].sum())}


def chunks(args: argparse.Namespace, sess: np.ndarray) -> Any:
    """(number, Chunk) for every chunk of listings."""
    for number, first in enumerate(range(1, args.listings + 1, args.chunk)):
        count = min(args.chunk, args.listings - first + 1)
        yield number, Chunk(args.seed, number, first, count, sess, args.half_life)


def n_chunks(args: argparse.Namespace) -> int:
    return -(-args.listings // args.chunk)


def read_symbols(args: argparse.Namespace) -> list[str]:
    """The random listings every reader reads: [cold/warm-up listing, then one per timed read]."""
    rng = np.random.default_rng(args.seed + 1)
    return [symbol(int(i)) for i in rng.integers(1, args.listings + 1, args.reads + 1)]


def progress(label: str, number: int, total: int, rows: int, secs: float, t_start: float) -> None:
    done = number + 1
    elapsed = time.perf_counter() - t_start
    eta = elapsed / done * (total - done)
    log(f"{label}: chunk {done}/{total}, {rows:,} rows in {secs:.2f}s ({rows / secs:,.0f} rows/s); "
        f"elapsed {elapsed:.0f}s, eta {eta:.0f}s, RSS now {rss_now_mb() or 0:,.0f} MiB, peak {peak_rss_mb():,.0f} MiB")


# ---------------------------------------------------------------------------------------------------------------
# phases
# ---------------------------------------------------------------------------------------------------------------

def phase_marketwire(args: argparse.Namespace, sess: np.ndarray) -> dict[str, Any]:
    import marketwire

    home = args.work / "mw_home"
    mw = marketwire.open(home)
    total = n_chunks(args)
    per_chunk: list[dict[str, Any]] = []
    totals = {"accepted": 0, "quarantined": 0, "flagged": 0}
    rows = 0
    ingest_s = gen_s = 0.0
    rss_before = None
    t_start = time.perf_counter()
    tg = time.perf_counter()
    for number, chunk in chunks(args, sess):
        table = chunk.arrow()
        gen_s += time.perf_counter() - tg
        if rss_before is None:
            rss_before = peak_rss_mb()
        t = time.perf_counter()
        rep = mw.ingest_bars(table, source="synthetic", basis="raw", mic="XNYS")
        secs = time.perf_counter() - t
        ingest_s += secs
        rows += table.num_rows
        rd = report_dict(rep)
        for k in totals:
            totals[k] += int(rd.get(k) or 0)
        per_chunk.append({"rows": table.num_rows, "s": secs, "timings": rd.get("timings") or {},
                          "rss_mb": rss_now_mb(), "peak_rss_mb": peak_rss_mb()})
        progress("marketwire ingest_bars", number, total, table.num_rows, secs, t_start)
        log(f"marketwire ingest_bars: stages {rd.get('timings')}")
        del table, chunk
        tg = time.perf_counter()
    size_ms, size = timed_once(mw.bars_size)
    log(f"marketwire: bars_size() {size} in {size_ms:.0f} ms")
    syms = read_symbols(args)
    first_ms, df, rebuilt = first_read(home, lambda: mw.prices(syms[0]))
    log(f"marketwire: first mw.prices({syms[0]!r}) after the ingest {first_ms:.1f} ms ({rebuilt} cache folders "
        "built by it)")
    return {"rows": rows, "ingest_s": ingest_s, "generate_s": gen_s, "report": totals, "chunks": per_chunk,
            "bars_size": dict(size), "bars_size_ms": size_ms, "first_read_ms": first_ms, "first_symbol": syms[0],
            "first_read_built": rebuilt,
            "check": series_check(df), "home_disk": {p.name: disk_usage(p) for p in sorted(home.iterdir())},
            "rss_after_first_chunk_mb": rss_before}


def phase_marketwire_read(args: argparse.Namespace) -> dict[str, Any]:
    import marketwire

    open_ms, mw = timed_once(lambda: marketwire.open(args.work / "mw_home"))
    return {"open_ms": open_ms, "outputs": sdk_reads(mw, read_symbols(args), args.max_seconds, "marketwire SDK")}


def phase_rest(args: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {}
    syms = read_symbols(args)
    with rest_server(args.work / "mw_home", args.work / "server.log") as server, rest_client(server) as client:
        res["ready_s"] = server.ready_s
        for fmt in REST_FORMATS:
            try:
                res[fmt] = rest_reads(client, syms, fmt, args.max_seconds, f"REST {fmt}")
            except Exception as e:  # noqa: BLE001 - one format failing must not hide the others
                log(f"REST {fmt}: {type(e).__name__}: {e}")
                res[fmt] = {"error": f"{type(e).__name__}: {e}"}
        res["server_peak_rss_mb"] = proc_hwm_mb(server.proc.pid)
    return res


def phase_arctic(args: argparse.Namespace, sess: np.ndarray) -> dict[str, Any]:
    import arcticdb

    path = args.work / "arctic_lmdb"
    lib = arcticdb.Arctic(f"lmdb://{path}").get_library("prices", create_if_missing=True)
    total = n_chunks(args)
    rows = 0
    write_s = 0.0
    t_start = time.perf_counter()
    for number, chunk in chunks(args, sess):
        frames = chunk.pandas_frames()
        n = chunk.rows
        del chunk
        t = time.perf_counter()
        for sym, frame in frames.items():
            lib.write(sym, frame)
        secs = time.perf_counter() - t
        write_s += secs
        rows += n
        progress("arcticdb lib.write", number, total, n, secs, t_start)
        del frames
    syms = read_symbols(args)
    cold_ms, df = timed_once(lambda: lib.read(syms[0]).data)
    lib.read(syms[0])
    read = timed_calls(lambda s: lib.read(s).data, syms[1:], args.max_seconds, "arcticdb lib.read")
    return {"rows": rows, "write_s": write_s, "cold_ms": cold_ms, "check": series_check(df), "read": read,
            "disk": disk_usage(path)}


def phase_parquet(args: argparse.Namespace, sess: np.ndarray) -> dict[str, Any]:
    import polars as pl

    path = args.work / "parquet"
    path.mkdir(parents=True, exist_ok=True)
    total = n_chunks(args)
    rows = 0
    write_s = 0.0
    t_start = time.perf_counter()
    for number, chunk in chunks(args, sess):
        df = pl.DataFrame(chunk.arrow()).drop("symbol")
        S = len(sess)
        syms = chunk.symbols
        del chunk
        t = time.perf_counter()
        for j, sym in enumerate(syms):
            df.slice(j * S, S).write_parquet(path / f"{sym}.parquet", compression="zstd")
        secs = time.perf_counter() - t
        write_s += secs
        rows += df.height
        progress("parquet write_parquet", number, total, df.height, secs, t_start)
        del df
    out: dict[str, Any] = {"rows": rows, "write_s": write_s, "disk": disk_usage(path)}
    return out | parquet_reads(path, read_symbols(args), args.max_seconds)


# ---------------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------------

def ingest_rows(R: dict[str, Any]) -> list[list[str]]:
    out: list[list[str]] = []
    m = R.get("marketwire", {})
    if "ingest_s" in m:
        rate = m["rows"] / m["ingest_s"]
        rep = m["report"]
        out.append(["marketwire", f"`mw.ingest_bars(chunk, ...)` per chunk of {R['args']['chunk']} listings: verify + Delta "
                    f"write + read cache (accepted {fmt_int(rep['accepted'])}, quarantined {fmt_int(rep['quarantined'])}, "
                    f"flagged {fmt_int(rep['flagged'])})", fmt_int(m["rows"]), f"{m['ingest_s']:,.1f}", fmt_int(rate),
                    ">= 500,000", verdict(rate >= TARGET_INGEST_ROWS_S)])
        ch = m["chunks"]
        if len(ch) > 1:
            for label, c in (("first chunk", ch[0]), ("last chunk", ch[-1])):
                out.append(["marketwire", f"{label} only", fmt_int(c["rows"]), f"{c['s']:,.2f}", fmt_int(c["rows"] / c["s"]),
                            "", ""])
    else:
        out.append(["marketwire", "`mw.ingest_bars`", "—", "—", "—", ">= 500,000", f"failed: {m.get('error', 'not run')}"])
    for key, name, what in (("arctic", "ArcticDB (LMDB)", "`lib.write(sym, pandas_df)` per listing"),
                            ("parquet", "Parquet per listing", "polars `write_parquet(zstd)` per listing")):
        p = R.get(key, {})
        if "write_s" not in p:
            out.append([name, what, "—", "—", "—", "", f"failed: {p.get('error', 'not run')}"])
            continue
        out.append([name, what, fmt_int(p["rows"]), f"{p['write_s']:,.1f}", fmt_int(p["rows"] / p["write_s"]), "", ""])
    return out


def read_rows(R: dict[str, Any], want: dict[str, Any]) -> list[list[str]]:
    return bench_read_rows(R, want, id_label="sym")


def size_rows(R: dict[str, Any]) -> list[list[str]]:
    out: list[list[str]] = total_row(R)
    m = R.get("marketwire", {})
    if "bars_size" in m:
        s = m["bars_size"]
        bpr = s["bytes"] / s["rows"] if s.get("rows") else None
        out.append(["marketwire", f"`mw.bars_size()` (took {fmt_ms(m['bars_size_ms'])} ms)", fmt_bytes(s["bytes"]),
                    fmt_int(s["rows"]), f"{bpr:.2f}" if bpr else "—", "<= 16",
                    verdict(bpr is not None and bpr <= TARGET_BYTES_PER_ROW)])
        out += home_rows(m["home_disk"], s.get("rows"))
    else:
        out.append(["marketwire", "`mw.bars_size()`", "—", "—", "—", "<= 16", f"failed: {m.get('error', 'not run')}"])
    for key, name, what in (("arctic", "ArcticDB (LMDB)", "LMDB folder, du"),
                            ("parquet", "Parquet per listing", "folder of .parquet files (zstd), du")):
        p = R.get(key, {})
        if "disk" not in p:
            out.append([name, what, "—", "—", "—", "", f"failed: {p.get('error', 'not run')}"])
            continue
        d = p["disk"]
        out.append([name, f"{what} ({d['files']:,} files, apparent size {fmt_bytes(d['apparent'])})",
                    fmt_bytes(d["allocated"]), fmt_int(p["rows"]), f"{d['allocated'] / p['rows']:.2f}", "", ""])
    return out


def rss_rows(R: dict[str, Any]) -> list[list[str]]:
    out = []
    m = R.get("marketwire", {})
    before = m.get("rss_after_first_chunk_mb")
    for key, name in (("marketwire", "marketwire ingest process (generator + ingest_bars)"),
                      ("marketwire_read", "marketwire SDK read process"), ("rest", "marketwire REST server (VmHWM)"),
                      ("arctic", "ArcticDB process (generator + write + read)"),
                      ("parquet", "Parquet process (generator + write + read)")):
        r = R.get(key, {})
        v = r.get("server_peak_rss_mb") if key == "rest" else r.get("peak_rss_mb")
        note = ""
        if key == "marketwire" and before:
            ch = m.get("chunks") or []
            note = f"generator alone, before the first ingest_bars: {fmt_bytes(before * (1 << 20))}"
            if ch and ch[0].get("rss_mb"):
                note += (f"; RSS after the first chunk {fmt_bytes(ch[0]['rss_mb'] * (1 << 20))}, after the last "
                         f"{fmt_bytes(ch[-1]['rss_mb'] * (1 << 20))}")
        out.append([name, fmt_bytes(v * (1 << 20)) if v else "—", note])
    return out


def stage_section(R: dict[str, Any]) -> list[str]:
    """Seconds per ingest stage (the report's ``timings``): first chunk, last chunk, all chunks."""
    ch = R.get("marketwire", {}).get("chunks") or []
    if not ch or not ch[0].get("timings"):
        return []
    total: dict[str, float] = {}
    for c in ch:
        for k, v in c["timings"].items():
            total[k] = total.get(k, 0.0) + v
    if len(ch) == 1:
        header, rows = stage_rows([("seconds", total)])
    else:
        header, rows = stage_rows([("first chunk", ch[0]["timings"]), ("last chunk", ch[-1]["timings"]),
                                   (f"all {len(ch)} chunks", total)])
    return ["Where `ingest_bars` spends its time (seconds, from the report's `timings`):", "", markdown(header, rows), ""]


def report(R: dict[str, Any], want: dict[str, Any]) -> str:
    a = R["args"]
    sess = R["sessions"]
    parts = [
        f"# Daily prices at scale: {a['listings']:,} listings x {sess['count']:,} XNYS sessions "
        f"({sess['first']}..{sess['last']}) = {R['rows']:,} bars",
        "",
        machine_markdown(R["machine"]),
        f"Data: seed {a['seed']}, half-life of the pull to the start price {a['half_life']:g} sessions "
        f"(0 = pure random walk), chunks of {a['chunk']} listings; generating the data takes about "
        f"{R.get('generate_s', 0):.2f} s per phase (not timed).",
        "",
        "## 1. Ingest",
        "",
        markdown(["system", "what is timed", "rows", "seconds", "rows/s", "target", "pass"], ingest_rows(R), "llrrrrl"),
        "",
        *stage_section(R),
        f"## 2. Full-history read of a random listing ({sess['count']:,} bars; ms; first call separate, then one "
        f"warm-up, then {a['reads']} timed calls on random listings)",
        "",
        markdown(["reader", "returns", "n", "first call", "p50", "p95", "p99", "target (p50)", "pass",
                  f"answer for {want['symbol']} vs generator"], read_rows(R, want), "llrrrrrlll"),
        "",
        "## 3. Size at rest",
        "",
        markdown(["system", "what is counted", "bytes", "rows", "bytes/row", "target", "pass"], size_rows(R), "llrrrrl"),
        "",
        "## Peak RSS per process",
        "",
        markdown(["process", "peak RSS", ""], rss_rows(R), "lrl"),
    ]
    rest = R.get("rest", {})
    if "ready_s" in rest:
        parts += ["", f"REST server: start to first `/v1/health` 200 in {rest['ready_s']:.1f} s."]
    mr = R.get("marketwire_read", {})
    if "open_ms" in mr:
        parts += [f"SDK read process: `marketwire.open(home)` took {mr['open_ms']:.1f} ms."]
    walls = ", ".join(f"{k} {v:,.0f} s" for k, v in R.get("phase_wall_s", {}).items())
    parts += [f"Wall time per phase (process start to exit, generation included): {walls}."]
    return "\n".join(parts) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listings", type=int, default=10_000, help="listings (default 10,000)")
    ap.add_argument("--years", type=int, default=50, help="calendar years of sessions up to 2024-12-31 (default 50)")
    ap.add_argument("--chunk", type=int, default=500, help="listings per generated chunk (default 500)")
    ap.add_argument("--seed", type=int, default=20241231)
    ap.add_argument("--half-life", type=float, default=756.0,
                    help="sessions; pull of the log price towards its start (0: pure random walk)")
    ap.add_argument("--reads", type=int, default=300, help="timed reads per reader, random listings (default 300)")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="time budget of each timed read loop")
    ap.add_argument("--phases", default="marketwire,marketwire_read,rest,arctic,parquet")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: new folder under --tmp)")
    ap.add_argument("--tmp", type=Path, default=Path("/var/tmp"), help="where the temp work folder goes")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--out", type=Path, default=None, help="JSON result (default benchmarks/out/prices_scale_<N>x<Y>.json)")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.listings < 1 or args.years < 1 or args.chunk < 1:
        raise SystemExit("--listings, --years and --chunk must be >= 1")
    sess = sessions(args.years)

    if args.phase:
        t0 = time.perf_counter()
        if args.phase == "marketwire":
            res = phase_marketwire(args, sess)
        elif args.phase == "marketwire_read":
            res = phase_marketwire_read(args)
        elif args.phase == "rest":
            res = phase_rest(args)
        elif args.phase == "arctic":
            res = phase_arctic(args, sess)
        elif args.phase == "parquet":
            res = phase_parquet(args, sess)
        else:
            raise SystemExit(f"unknown phase {args.phase}")
        res["phase_s"] = time.perf_counter() - t0
        write_result(args.work, args.phase, res)
        return

    rows = args.listings * len(sess)
    log(f"{args.listings:,} listings x {len(sess):,} sessions ({sess[0]}..{sess[-1]}) = {rows:,} bars")
    syms = read_symbols(args)
    first_chunk = (int(syms[0][1:]) - 1) // args.chunk
    tg = time.perf_counter()
    c = Chunk(args.seed, first_chunk, first_chunk * args.chunk + 1, min(args.chunk, args.listings - first_chunk * args.chunk),
              sess, args.half_life)
    gen_s = (time.perf_counter() - tg) * n_chunks(args)
    want = c.check(syms[0]) | {"symbol": syms[0]}
    del c

    created = args.work is None
    work: Path = args.work or Path(tempfile.mkdtemp(prefix="prices_scale_", dir=args.tmp))
    work.mkdir(parents=True, exist_ok=True)
    args.work = work
    R: dict[str, Any] = {"machine": machine(), "rows": rows, "expected": want, "generate_s": gen_s, "work": str(work),
                         "sessions": {"count": len(sess), "first": str(sess[0]), "last": str(sess[-1])},
                         "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                         "phase_wall_s": {}}
    extra = ["--listings", str(args.listings), "--years", str(args.years), "--chunk", str(args.chunk), "--seed",
             str(args.seed), "--half-life", str(args.half_life), "--reads", str(args.reads), "--max-seconds",
             str(args.max_seconds)]
    try:
        for phase in [p.strip() for p in args.phases.split(",") if p.strip()]:
            t0 = time.perf_counter()
            R[phase] = run_phase(Path(__file__).resolve(), phase, work, extra)
            R["phase_wall_s"][phase] = time.perf_counter() - t0
        R["machine"]["load_end"] = load_average()
    finally:
        if created and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    text = report(R, want)
    out = args.out or OUT / f"prices_scale_{args.listings}x{args.years}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(R, indent=1, default=str))
    out.with_suffix(".md").write_text(text)
    print(text)
    log(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
