#!/usr/bin/env python
"""Scale benchmark for identifier resolution: ``Marketwire.resolve`` in-process and ``GET /v1/resolve`` over REST.

It generates N synthetic securities (one issuer and one listing each, valid ISINs, tickers unique per MIC),
writes them to a fresh lake with ``Lake.append`` in chunks, then measures, each phase in its own process so that
peak RSS is attributable:

  load      generation + ``Lake.append`` throughput (rows/s), lake size on disk
  inproc    first ``resolve`` (builds the DuckDB cache), then p50/p95/p99 of random ISIN and ticker@MIC lookups,
            a per-query breakdown of where a resolve spends its time, and the cache file size
  rest      uvicorn serving ``create_app(home)`` on 127.0.0.1, sequential keep-alive httpx GETs of /v1/resolve
  baseline  the same lookups against plain Python dicts {isin: row}, {ticker@mic: row} built from the same lake

Usage (from the repo root):

    PYTHONPATH=src .venv/bin/python benchmarks/resolve_scale.py --n 200000          # quick
    PYTHONPATH=src .venv/bin/python benchmarks/resolve_scale.py                     # 10M, 10-30 min

The Markdown table goes to stdout, the full result to ``benchmarks/out/resolve_scale.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
if str(SRC) not in sys.path and (SRC / "marketwire").is_dir():
    sys.path.insert(0, str(SRC))

TARGET_INPROC_P99_MS = 5.0
TARGET_REST_P99_MS = 20.0

# venue, ISIN country, currency, share of the listings
MICS: list[tuple[str, str, str, float]] = [
    ("XNAS", "US", "USD", 0.28),
    ("XNYS", "US", "USD", 0.22),
    ("XLON", "GB", "GBP", 0.14),
    ("XETR", "DE", "EUR", 0.14),
    ("XPAR", "FR", "EUR", 0.10),
    ("XAMS", "NL", "EUR", 0.06),
    ("XSWX", "CH", "CHF", 0.06),
]
CROCKFORD = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", dtype=np.uint8)
BASE36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
LETTERS = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
WORDS1 = ["Apex", "Boreal", "Cobalt", "Delta", "Ember", "Fulcrum", "Granite", "Harbor", "Iris", "Juniper",
          "Kestrel", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer", "Quartz", "Redwood", "Summit", "Tidal",
          "Umbra", "Vertex", "Willow", "Xenon", "Yardley", "Zephyr"]
WORDS2 = ["Analytics", "Bancorp", "Capital", "Dynamics", "Energy", "Foods", "Genomics", "Holdings", "Industries",
          "Logistics", "Materials", "Networks", "Pharma", "Resources", "Semiconductor", "Systems", "Telecom",
          "Therapeutics", "Utilities", "Ventures"]
SUFFIX = ["Inc", "Corp", "plc", "SA", "AG", "NV", "Ltd", "Group"]
SECTORS = ["Technology", "Health Care", "Financials", "Industrials", "Energy", "Utilities", "Materials",
           "Consumer Staples", "Consumer Discretionary", "Communication Services", "Real Estate"]
KNOWLEDGE_TIME = datetime(2024, 1, 2, tzinfo=timezone.utc)
SOURCE = "bench:synthetic"


# ---------------------------------------------------------------------------------------------------------------
# vectorised generation
# ---------------------------------------------------------------------------------------------------------------

def _strings_fixed(chars: np.ndarray) -> Any:
    """(n, w) uint8 matrix of ASCII -> Arrow string array, zero copy of the bytes."""
    import pyarrow as pa

    n, w = chars.shape
    offsets = (np.arange(n + 1, dtype=np.int64) * w).astype(np.int32)
    data = np.ascontiguousarray(chars).reshape(-1)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _strings_ragged(chars: np.ndarray, lengths: np.ndarray) -> Any:
    """(n, w) uint8 matrix, row r using its first lengths[r] bytes -> Arrow string array."""
    import pyarrow as pa

    n, w = chars.shape
    mask = np.arange(w)[None, :] < lengths[:, None]
    data = np.ascontiguousarray(chars[mask])
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def own_ids(prefix: str, idx: np.ndarray, mult: int, add: int) -> Any:
    """``MW?`` + 10 Crockford base-32 chars of a bijection of the row number (so ids are unique)."""
    assert mult % 2 == 1
    h = (idx.astype(np.uint64) * np.uint64(mult) + np.uint64(add)) & np.uint64((1 << 50) - 1)
    out = np.empty((len(idx), 13), dtype=np.uint8)
    out[:, :3] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    for k in range(10):
        out[:, 3 + k] = CROCKFORD[((h >> np.uint64(5 * (9 - k))) & np.uint64(31)).astype(np.intp)]
    return _strings_fixed(out)


def isin_chars(country: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(n, 12) ISINs: country (n, 2 uint8), 9 base-36 chars of a bijection of the row number, Luhn check digit."""
    m = 36 ** 9
    mult = 722_204_136_349  # coprime with 36, and idx * mult stays below 2**63 for idx < 1.2e7
    assert math.gcd(mult, 36) == 1 and int(idx.max(initial=0)) * mult < 2 ** 63
    h = (idx.astype(np.int64) * mult + 12_345_678_901) % m
    out = np.empty((len(idx), 12), dtype=np.uint8)
    out[:, :2] = country
    for k in range(9):
        out[:, 2 + k] = BASE36[((h // 36 ** (8 - k)) % 36).astype(np.intp)]
    out[:, 11] = ord("0") + luhn_isin(out[:, :11])
    return out


def luhn_isin(payload: np.ndarray) -> np.ndarray:
    """ISIN check digit of (n, 11) ASCII payloads: letters -> 10..35, then Luhn over the digit string."""
    v = np.where(payload >= ord("A"), payload.astype(np.int64) - ord("A") + 10, payload.astype(np.int64) - ord("0"))
    ndig = np.where(v >= 10, 2, 1)
    # position (from the right, 0-based) of each char's last digit in the expanded digit string
    pos = np.zeros_like(v)
    pos[:, :-1] = np.cumsum(ndig[:, ::-1], axis=1)[:, ::-1][:, 1:]

    def contrib(d: np.ndarray, p: np.ndarray) -> np.ndarray:
        dbl = d * 2
        return np.where(p % 2 == 0, np.where(dbl > 9, dbl - 9, dbl), d)

    ones, tens = v % 10, v // 10
    total = contrib(ones, pos) + np.where(ndig == 2, contrib(tens, pos + 1), 0)
    return ((10 - total.sum(axis=1) % 10) % 10).astype(np.uint8)


def tickers(rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank within a venue -> distinct 1-5 letter tickers (A..Z, AA..ZZ, ...), as (n, 5) chars and lengths."""
    rank = rank.astype(np.int64)
    bounds = np.cumsum([26 ** k for k in range(1, 6)])
    if len(rank) and int(rank.max()) >= bounds[-1]:
        raise ValueError("too many listings on one venue for 5-letter tickers")
    length = np.searchsorted(bounds, rank, side="right") + 1
    start = np.concatenate([[0], bounds])[length - 1]
    r = rank - start
    out = np.full((len(rank), 5), ord("A"), dtype=np.uint8)
    for k in range(5):  # most significant letter first within the row's length
        place = length - 1 - k
        ok = place >= 0
        out[ok, k] = LETTERS[((r[ok] // (26 ** place[ok])) % 26).astype(np.intp)]
    return out, length


class Generator:
    """Deterministic synthetic master, produced chunk by chunk (venue ranks carry across chunks)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.next_rank = np.zeros(len(MICS), dtype=np.int64)
        self.ingest_id = uuid.uuid4().hex
        self.ingested_at = datetime.now(timezone.utc)

    def chunk(self, lo: int, hi: int) -> dict[str, Any]:
        import pyarrow as pa
        import pyarrow.compute as pc

        n = hi - lo
        idx = np.arange(lo, hi, dtype=np.int64)
        rng = self.rng
        venue = rng.choice(len(MICS), size=n, p=[m[3] for m in MICS])
        rank = np.empty(n, dtype=np.int64)
        for v in range(len(MICS)):
            sel = np.flatnonzero(venue == v)
            rank[sel] = self.next_rank[v] + np.arange(len(sel))
            self.next_rank[v] += len(sel)
        mic_names = pa.array([m[0] for m in MICS])
        countries = np.frombuffer("".join(m[1] for m in MICS).encode(), dtype=np.uint8).reshape(-1, 2)
        venue_a = pa.array(venue.astype(np.int32))
        mic = pc.take(mic_names, venue_a)
        country = pc.take(pa.array([m[1] for m in MICS]), venue_a)
        currency = pc.take(pa.array([m[2] for m in MICS]), venue_a)

        issuer_id = own_ids("MWI", idx, 0x2F0A_C3B5_1E7D, 0x1234_5678_9AB)
        security_id = own_ids("MWS", idx, 0x1D3B_9F27_4C45, 0x0ABC_DEF0_123)
        listing_id = own_ids("MWL", idx, 0x3A5C_7E91_B2D3, 0x0F0E_0D0C_0B0)
        isin = _strings_fixed(isin_chars(countries[venue], idx))
        tchars, tlen = tickers(rank)
        ticker = _strings_ragged(tchars, tlen)
        ticker_mic = pc.binary_join_element_wise(ticker, mic, "@")

        w1 = pc.take(pa.array(WORDS1), pa.array(rng.integers(0, len(WORDS1), n, dtype=np.int32)))
        w2 = pc.take(pa.array(WORDS2), pa.array(rng.integers(0, len(WORDS2), n, dtype=np.int32)))
        sx = pc.take(pa.array(SUFFIX), pa.array(rng.integers(0, len(SUFFIX), n, dtype=np.int32)))
        issuer_name = pc.binary_join_element_wise(w1, w2, sx, " ")
        etf = rng.random(n) < 0.08
        sec_name = pc.if_else(pa.array(etf), pc.binary_join_element_wise(issuer_name, pa.scalar("ETF"), " "),
                              pc.binary_join_element_wise(issuer_name, pa.scalar("Ordinary Shares"), " "))
        typ = pc.if_else(pa.array(etf), pa.scalar("etf"), pa.scalar("equity"))
        sector = pc.take(pa.array(SECTORS), pa.array(rng.integers(0, len(SECTORS), n, dtype=np.int32)))
        # listed between 1990-01-01 and 2023-12-31 (valid_to null: all live today)
        d0 = (date(1990, 1, 1) - date(1970, 1, 1)).days
        vf = pa.array(rng.integers(d0, d0 + 12_418, n, dtype=np.int32), pa.date32())
        null_date = pa.nulls(n, pa.date32())
        false = pa.repeat(pa.scalar(False), n)
        prov = {
            "knowledge_time": pa.repeat(pa.scalar(KNOWLEDGE_TIME, pa.timestamp("us", tz="UTC")), n),
            "ingested_at": pa.repeat(pa.scalar(self.ingested_at, pa.timestamp("us", tz="UTC")), n),
            "source": pa.repeat(pa.scalar(SOURCE), n),
            "ingest_id": pa.repeat(pa.scalar(self.ingest_id), n),
        }
        issuers = pa.table({
            "issuer_id": issuer_id, "name": issuer_name, "country": country, "sector": sector,
            "valid_from": vf, "valid_to": null_date, "retracted": false, **prov})
        securities = pa.table({
            "security_id": security_id, "issuer_id": issuer_id, "name": sec_name, "type": typ,
            "status": pa.repeat(pa.scalar("active"), n), "isin": isin, "country": country,
            "valid_from": vf, "valid_to": null_date, "retracted": false, **prov})
        listings = pa.table({
            "listing_id": listing_id, "security_id": security_id, "ticker": ticker, "mic": mic,
            "currency": currency, "name": issuer_name, "status": pa.repeat(pa.scalar("active"), n),
            "valid_from": vf, "valid_to": null_date, "first_seen": vf,
            "last_seen": pa.repeat(pa.scalar(date(2024, 1, 2)), n), "provisional": false, "retracted": false,
            **prov})
        # identifiers: isin on the security; ticker, ticker_mic and name on the listing
        empty_flags = pa.ListArray.from_arrays(pa.array(np.zeros(4 * n + 1, dtype=np.int32)),
                                               pa.array([], pa.string()))
        ident = pa.table({
            "entity_kind": pa.concat_arrays([pa.repeat(pa.scalar("security"), n),
                                             pa.repeat(pa.scalar("listing"), 3 * n)]),
            "entity_id": pa.concat_arrays([security_id, listing_id, listing_id, listing_id]),
            "scheme": pa.concat_arrays([pa.repeat(pa.scalar(s), n) for s in ("isin", "ticker", "ticker_mic", "name")]),
            "value": pa.concat_arrays([isin, ticker, ticker_mic, issuer_name]),
            "valid_from": pa.concat_arrays([vf] * 4), "valid_to": pa.nulls(4 * n, pa.date32()),
            "flags": empty_flags, "retracted": pa.repeat(pa.scalar(False), 4 * n),
            **{k: pa.concat_arrays([v] * 4) for k, v in prov.items()}})
        return {"issuers": issuers, "securities": securities, "listings": listings, "identifiers": ident,
                "_sample": {"isin": isin, "ticker_mic": ticker_mic, "security_id": security_id,
                            "listing_id": listing_id}}


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def proc_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def pct(samples_ns: list[int]) -> dict[str, float]:
    a = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if not len(a):
        return {}
    return {"n": int(len(a)), "mean": float(a.mean()), "p50": float(np.percentile(a, 50)),
            "p95": float(np.percentile(a, 95)), "p99": float(np.percentile(a, 99)), "max": float(a.max())}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import deltalake
    import duckdb
    import pyarrow

    def git(*a: str) -> str | None:
        try:
            return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    return {"git_commit": git("rev-parse", "--short", "HEAD"),
            "git_dirty_src": (git("status", "--porcelain", "--", "src") or "").splitlines(),
            "cpus": os.cpu_count(), "mem_gib": mem, "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "duckdb": duckdb.__version__, "deltalake": deltalake.__version__,
            "pyarrow": pyarrow.__version__, "numpy": np.__version__}


# ---------------------------------------------------------------------------------------------------------------
# phases (each runs in its own process; prints one JSON object on stdout)
# ---------------------------------------------------------------------------------------------------------------

def phase_load(home: Path, n: int, chunk: int, seed: int, sample: int) -> dict[str, Any]:
    import pyarrow as pa

    from marketwire.datasets import reference as R
    from marketwire.store import Lake

    lake = Lake(home / "lake")
    gen = Generator(n, seed)
    rng = np.random.default_rng(seed + 1)
    want = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    picked: dict[str, list[Any]] = {"row": [], "isin": [], "ticker_mic": [], "security_id": [], "listing_id": []}
    t_gen = t_write = 0.0
    rows = {"issuers": 0, "securities": 0, "listings": 0, "identifiers": 0}
    dsets = {"issuers": R.ISSUERS, "securities": R.SECURITIES, "listings": R.LISTINGS, "identifiers": R.IDENTIFIERS}
    t_all = time.perf_counter()
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        t0 = time.perf_counter()
        c = gen.chunk(lo, hi)
        t1 = time.perf_counter()
        t_gen += t1 - t0
        for name, ds in dsets.items():
            rows[name] += lake.append(ds, c[name])
        t_write += time.perf_counter() - t1
        sel = want[(want >= lo) & (want < hi)] - lo
        take = pa.array(sel)
        picked["row"].extend((sel + lo).tolist())
        for k in ("isin", "ticker_mic", "security_id", "listing_id"):
            picked[k].extend(c["_sample"][k].take(take).to_pylist())
        log(f"load: {hi:,}/{n:,} securities (gen {t_gen:.1f}s, write {t_write:.1f}s)")
        del c
    elapsed = time.perf_counter() - t_all
    total = sum(rows.values())
    (home / "sample.json").write_text(json.dumps(picked))
    return {"n": n, "chunk": chunk, "rows": rows, "rows_total": total, "seconds": elapsed,
            "gen_seconds": t_gen, "write_seconds": t_write, "rows_per_s": total / elapsed,
            "write_rows_per_s": total / t_write if t_write else None,
            "peak_rss_mb": peak_rss_mb(), "lake_bytes": dir_size(home / "lake")}


def _lookups(home: Path, k: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    """k ISIN and k ticker@MIC lookups (value, expected listing/security id) drawn from the sample."""
    s = json.loads((home / "sample.json").read_text())
    rng = np.random.default_rng(seed)
    i1 = rng.choice(len(s["isin"]), size=k, replace=k > len(s["isin"]))
    i2 = rng.choice(len(s["isin"]), size=k, replace=k > len(s["isin"]))
    return {"isin": [(s["isin"][i], s["security_id"][i]) for i in i1],
            "ticker_mic": [(s["ticker_mic"][i], s["listing_id"][i]) for i in i2]}


class _Breakdown:
    """Wraps MasterIndex methods to time every SQL statement a resolve issues (and the freshness check)."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self.stats: dict[str, list[int]] = {}
        self.first: dict[str, tuple[str, list[Any]]] = {}
        orig_rows = index.rows
        orig_stamp = getattr(index, "_current_stamp", None)

        def rows(sql: str, params: Any = ()) -> Any:
            t0 = time.perf_counter_ns()
            out = orig_rows(sql, params)
            key = "sql: " + " ".join(sql.split())
            self._add(key, time.perf_counter_ns() - t0)
            self.first.setdefault(key, (sql, list(params)))
            return out

        index.rows = rows
        # the in-memory point index (marketwire.identity.hot), when the facade resolves through one
        if callable(getattr(index, "hot", None)):
            self._wrap(index, "hot", "MasterIndex.hot() (freshness check + cursor)")
            hot = index.hot()
            for name in ("lookup", "exists_any", "one", "listings_of", "securities_of", "ids_of", "flags_of"):
                if callable(getattr(hot, name, None)):
                    self._wrap(hot, name, f"HotIndex.{name}")
        if orig_stamp is not None:
            def stamp() -> Any:
                t0 = time.perf_counter_ns()
                out = orig_stamp()
                self._add("freshness check (MasterIndex._current_stamp: Delta versions of the master tables)",
                          time.perf_counter_ns() - t0)
                return out

            index._current_stamp = stamp

    def _wrap(self, obj: Any, name: str, label: str) -> None:
        fn = getattr(obj, name)

        def timed(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter_ns()
            out = fn(*a, **kw)
            self._add(label, time.perf_counter_ns() - t0)
            return out

        setattr(obj, name, timed)

    def _add(self, key: str, ns: int) -> None:
        self.stats.setdefault(key, []).append(ns)

    def explain(self) -> dict[str, dict[str, str]]:
        """EXPLAIN ANALYZE of each statement with its first parameters: scan type and row groups read."""
        import re

        cur = self.index.connection()
        out: dict[str, dict[str, str]] = {}
        for key, (sql, params) in self.first.items():
            try:
                plan = "\n".join(str(r[1]) for r in cur.execute("EXPLAIN ANALYZE " + sql, params).fetchall())
            except Exception as e:  # noqa: BLE001 - diagnostic only
                out[key] = {"scan": f"explain failed: {e}"}
                continue
            scans = []
            for m in re.finditer(r"Table: ([^\s│]+).*?Type: ([A-Za-z ]+?)\s*│(?:.*?Row Groups Scanned: (\d+) / (\d+))?",
                                 plan, re.S):
                tbl = m.group(1).split(".")[-1]
                kind = "index" if "Index" in m.group(2) else "seq"
                rg = f" {m.group(3)}/{m.group(4)} row groups" if m.group(3) else ""
                scans.append(f"{tbl}: {kind}{rg}")
            out[key] = {"scan": "; ".join(dict.fromkeys(scans)) or "?", "plan": plan}
        return out

    def report(self, n_resolves: int) -> list[dict[str, Any]]:
        plans = self.explain()
        out = []
        for k, v in self.stats.items():
            out.append({"what": k, "calls_per_resolve": len(v) / n_resolves,
                        "ms_per_resolve": sum(v) / 1e6 / n_resolves, "ms_per_call_mean": sum(v) / 1e6 / len(v),
                        "ms_per_call_p99": float(np.percentile(np.asarray(v) / 1e6, 99)),
                        "scan": plans.get(k, {}).get("scan", ""), "plan": plans.get(k, {}).get("plan", "")})
        return sorted(out, key=lambda r: -r["ms_per_resolve"])


def phase_inproc(home: Path, k: int, seed: int, warmup: int, breakdown_n: int, budget: float) -> dict[str, Any]:
    from marketwire.serve.facade import Marketwire

    looks = _lookups(home, k, seed)
    mw = Marketwire(home)
    first_id = looks["isin"][0][0]
    t0 = time.perf_counter()
    cache_build_s = None
    if callable(getattr(mw.index, "connection", None)):  # the DuckDB cache alone, when the index exposes it
        mw.index.connection()
        cache_build_s = time.perf_counter() - t0
        log(f"inproc: DuckDB cache built in {cache_build_s:.1f}s, peak RSS {peak_rss_mb():.0f} MB")
    mw.resolve(first_id)
    first_s = time.perf_counter() - t0
    log(f"inproc: first resolve (cache build and any in-memory index) {first_s:.1f}s, "
        f"peak RSS {peak_rss_mb():.0f} MB")
    rss_after_build = peak_rss_mb()

    wrong: list[str] = []
    errors: dict[str, int] = {}

    def one(kind: str, value: str, expect: str) -> int:
        t = time.perf_counter_ns()
        try:
            res = mw.resolve(value)
        except Exception as e:  # noqa: BLE001 - counted and reported
            dt = time.perf_counter_ns() - t
            errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
            return dt
        dt = time.perf_counter_ns() - t
        got = res[0]["security_id"] if kind == "isin" else res[0]["listing_id"]
        if len(res) != 1 or got != expect:
            wrong.append(f"{value}: {got} != {expect}")
        return dt

    t0 = time.perf_counter()
    nw = 0
    for (v1, e1), (v2, e2) in zip(looks["isin"][:warmup], looks["ticker_mic"][:warmup]):
        one("isin", v1, e1)
        one("ticker_mic", v2, e2)
        nw += 2
        if time.perf_counter() - t0 > budget / 10:
            break
    log(f"inproc: warm-up done ({nw} lookups in {time.perf_counter() - t0:.1f}s)")
    lat: dict[str, list[int]] = {"isin": [], "ticker_mic": []}
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t_start = time.perf_counter()
    truncated = False
    for (v1, e1), (v2, e2) in zip(looks["isin"], looks["ticker_mic"]):  # interleaved
        lat["isin"].append(one("isin", v1, e1))
        lat["ticker_mic"].append(one("ticker_mic", v2, e2))
        done = len(lat["isin"])
        if done % 250 == 0 or done in (1, 10, 50):
            log(f"inproc: {done}/{k} pairs, isin p50 {np.median(lat['isin']) / 1e6:.2f} ms, "
                f"ticker@mic p50 {np.median(lat['ticker_mic']) / 1e6:.2f} ms")
        if time.perf_counter() - t_start > budget and done < k:
            truncated = True
            log(f"inproc: time budget of {budget:.0f}s used up after {done} pairs")
            break
    wall = time.perf_counter() - t_start
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    faults = {"minor": ru1.ru_minflt - ru0.ru_minflt, "major": ru1.ru_majflt - ru0.ru_majflt}

    # where the time goes: each SQL statement (and the freshness check), over a separate pass
    bd = _Breakdown(mw.index)
    t0 = time.perf_counter()
    nb = 0
    for (v1, _), (v2, _) in zip(looks["isin"][:breakdown_n], looks["ticker_mic"][:breakdown_n]):
        mw.resolve(v1)
        mw.resolve(v2)
        nb += 2
        if time.perf_counter() - t0 > budget / 4:
            break
    bd_total_ms = (time.perf_counter() - t0) * 1e3 / max(nb, 1)
    breakdown = bd.report(max(nb, 1))
    log(f"inproc: breakdown over {nb} resolves: {bd_total_ms:.2f} ms per resolve")

    # floor: one parameterised point query on the cache (what an ISIN lookup needs at minimum)
    cur = mw.index.connection()
    point: list[int] = []
    t0 = time.perf_counter()
    for value, _ in looks["isin"][:breakdown_n]:
        t = time.perf_counter_ns()
        cur.execute("SELECT entity_kind, entity_id FROM ids WHERE key = ?", [value]).fetchall()
        point.append(time.perf_counter_ns() - t)
        if time.perf_counter() - t0 > budget / 10:
            break
    counts = mw.health()["counts"]

    # a new facade over the cache that now exists: what a restarted process pays before its first answer.
    # The first facade is dropped first so that the process never holds two in-memory indexes.
    mw = bd = cur = None  # type: ignore[assignment]
    gc.collect()
    t0 = time.perf_counter()
    mw2 = Marketwire(home)
    mw2.resolve(first_id)
    reopen_s = time.perf_counter() - t0
    del mw2
    cache = home / "cache"
    return {"first_resolve_s": first_s, "cache_build_s": cache_build_s, "reopen_first_resolve_s": reopen_s,
            "rss_after_cache_build_mb": rss_after_build,
            "isin": pct(lat["isin"]), "ticker_mic": pct(lat["ticker_mic"]), "truncated_by_budget": truncated,
            "warmup_lookups": nw, "throughput_per_s": (len(lat["isin"]) + len(lat["ticker_mic"])) / wall,
            "wrong": len(wrong), "wrong_examples": wrong[:5], "errors": errors, "page_faults": faults,
            "breakdown_resolves": nb, "breakdown_total_ms_per_resolve": bd_total_ms, "breakdown": breakdown,
            "duckdb_point_query": pct(point), "cache_counts": counts,
            "cache_bytes": dir_size(cache) if cache.exists() else 0, "peak_rss_mb": peak_rss_mb()}


def phase_serve(home: Path, port: int) -> None:
    import uvicorn

    from marketwire.serve.api import create_app

    uvicorn.run(create_app(home), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_api(timeout: float) -> None:
    """The REST app is written concurrently with this benchmark: wait for create_app to be importable."""
    t0 = time.perf_counter()
    while True:
        p = subprocess.run([sys.executable, "-c", "from marketwire.serve.api import create_app"],
                           env=_env(), capture_output=True, text=True)
        if p.returncode == 0:
            return
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"marketwire.serve.api.create_app is not importable: {p.stderr[-2000:]}")
        log("rest: marketwire.serve.api.create_app not importable yet; waiting")
        time.sleep(15)


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p))


def phase_rest(home: Path, k: int, seed: int, warmup: int, start_timeout: float, budget: float) -> dict[str, Any]:
    import httpx

    _wait_for_api(300.0)
    looks = _lookups(home, k, seed + 7)
    port = _free_port()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", "serve", "--home", str(home), "--port", str(port)]
    log(f"rest: starting uvicorn on 127.0.0.1:{port}")
    t0 = time.perf_counter()
    errlog = (home / "server.log").open("w")
    proc = subprocess.Popen(cmd, env=_env(), stdout=errlog, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=600.0) as client:
            ready = None
            while time.perf_counter() - t0 < start_timeout:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}; see {home / 'server.log'}")
                try:
                    r = client.get("/v1/resolve", params={"id": looks["isin"][0][0]})
                    if r.status_code == 200:
                        ready = time.perf_counter() - t0
                        break
                    log(f"rest: readiness probe answered {r.status_code}: {r.text[:300]}")
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            if ready is None:
                raise RuntimeError("server did not answer in time")
            log(f"rest: first 200 after {ready:.1f}s")
            tw = time.perf_counter()
            nw = 0
            for (v1, _), (v2, _) in zip(looks["isin"][:warmup], looks["ticker_mic"][:warmup]):
                client.get("/v1/resolve", params={"id": v1})
                client.get("/v1/resolve", params={"id": v2})
                nw += 2
                if time.perf_counter() - tw > budget / 10:
                    break
            lat: dict[str, list[int]] = {"isin": [], "ticker_mic": []}
            status: dict[str, int] = {}
            wrong = 0
            truncated = False
            t_start = time.perf_counter()
            for (v1, e1), (v2, e2) in zip(looks["isin"], looks["ticker_mic"]):
                for kind, value, expect in (("isin", v1, e1), ("ticker_mic", v2, e2)):
                    t = time.perf_counter_ns()
                    r = client.get("/v1/resolve", params={"id": value})
                    body = r.content
                    lat[kind].append(time.perf_counter_ns() - t)
                    status[str(r.status_code)] = status.get(str(r.status_code), 0) + 1
                    if r.status_code == 200:
                        d = json.loads(body)["data"]
                        got = d[0]["security_id" if kind == "isin" else "listing_id"] if d else None
                        wrong += got != expect
                done = len(lat["isin"])
                if done % 250 == 0 or done in (1, 10, 50):
                    log(f"rest: {done}/{k} pairs, p50 {np.median(lat['isin'] + lat['ticker_mic']) / 1e6:.2f} ms")
                if time.perf_counter() - t_start > budget and done < k:
                    truncated = True
                    log(f"rest: time budget of {budget:.0f}s used up after {done} pairs")
                    break
            wall = time.perf_counter() - t_start
        server_hwm = proc_hwm_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errlog.close()
    both = lat["isin"] + lat["ticker_mic"]
    return {"port": port, "first_200_s": ready, "isin": pct(lat["isin"]), "ticker_mic": pct(lat["ticker_mic"]),
            "all": pct(both), "truncated_by_budget": truncated, "warmup_requests": nw,
            "throughput_per_s": len(both) / wall, "status": status, "wrong": wrong, "server_peak_rss_mb": server_hwm}


def phase_baseline(home: Path, k: int, seed: int) -> dict[str, Any]:
    """Plain dicts {isin: row} and {ticker@mic: row} over the same lake; a lookup returns the joined row."""
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    looks = _lookups(home, k, seed)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    sec = DeltaTable(str(home / "lake" / "securities")).to_pyarrow_table(
        columns=["security_id", "issuer_id", "name", "type", "status", "isin", "country"])
    lst = DeltaTable(str(home / "lake" / "listings")).to_pyarrow_table(
        columns=["listing_id", "security_id", "ticker", "mic", "currency", "valid_from", "valid_to"])
    iss = DeltaTable(str(home / "lake" / "issuers")).to_pyarrow_table(columns=["issuer_id", "name"])
    t_read = time.perf_counter() - t0
    # one listing per security here, so a join gives one row per instrument
    joined = lst.join(sec, "security_id").join(iss.rename_columns(["issuer_id", "issuer_name"]), "issuer_id")
    tm = pc.binary_join_element_wise(joined["ticker"], joined["mic"], "@")
    by_isin = dict(zip(joined["isin"].to_pylist(), range(joined.num_rows)))
    by_tm = dict(zip(tm.to_pylist(), range(joined.num_rows)))
    build_s = time.perf_counter() - t0
    log(f"baseline: dicts over {joined.num_rows:,} rows built in {build_s:.1f}s (read {t_read:.1f}s)")
    cols = joined.column_names

    def get(d: dict[str, int], key: str) -> dict[str, Any]:
        i = d[key]
        row = joined.slice(i, 1).to_pydict()
        return {c: row[c][0] for c in cols}

    for kind, d in (("isin", by_isin), ("ticker_mic", by_tm)):
        for value, _ in looks[kind][:200]:
            get(d, value)
    lat: dict[str, list[int]] = {"isin": [], "ticker_mic": []}
    dict_only: list[int] = []
    wrong = 0
    for (v1, e1), (v2, e2) in zip(looks["isin"], looks["ticker_mic"]):
        t = time.perf_counter_ns()
        r1 = get(by_isin, v1)
        lat["isin"].append(time.perf_counter_ns() - t)
        t = time.perf_counter_ns()
        r2 = get(by_tm, v2)
        lat["ticker_mic"].append(time.perf_counter_ns() - t)
        t = time.perf_counter_ns()
        by_isin.get(v1)
        dict_only.append(time.perf_counter_ns() - t)
        wrong += (r1["security_id"] != e1) + (r2["listing_id"] != e2)
    return {"build_s": build_s, "read_s": t_read, "rows": joined.num_rows, "isin": pct(lat["isin"]),
            "ticker_mic": pct(lat["ticker_mic"]), "dict_get_only": pct(dict_only), "wrong": wrong,
            "peak_rss_mb": peak_rss_mb(), "rss_before_mb": rss0}


# ---------------------------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------------------------

def run_phase(args: argparse.Namespace, phase: str, home: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--home", str(home),
           "--n", str(args.n), "--chunk", str(args.chunk), "--seed", str(args.seed), "--lookups", str(args.lookups),
           "--rest-lookups", str(args.rest_lookups), "--warmup", str(args.warmup),
           "--breakdown", str(args.breakdown), "--max-seconds", str(args.max_seconds),
           "--result", str(home / f"result-{phase}.json")]
    env = _env()
    log(f"phase {phase}: start")
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=sys.stderr)
    if p.returncode != 0:
        raise SystemExit(f"phase {phase} failed with exit code {p.returncode}")
    log(f"phase {phase}: done in {time.perf_counter() - t0:.1f}s")
    return json.loads((home / f"result-{phase}.json").read_text())


def fmt_ms(d: dict[str, Any] | None, key: str) -> str:
    if not d or key not in d:
        return "n/a"
    v = d[key]
    return f"{v:.3f} ms" if v < 1 else f"{v:.2f} ms" if v < 100 else f"{v:,.0f} ms"


def fmt_mb(v: float | None) -> str:
    return "n/a" if v is None else f"{v / 1024:.2f} GiB" if v >= 1024 else f"{v:.0f} MiB"


def fmt_bytes(b: int | None) -> str:
    return "n/a" if b is None else fmt_mb(b / 1024 / 1024)


def table_rows(res: dict[str, Any]) -> list[dict[str, str]]:
    L, I, R, B = (res.get(k) or {} for k in ("load", "inproc", "rest", "baseline"))
    rows: list[dict[str, str]] = []

    def add(metric: str, mw: str, base: str = "—", target: str = "—", ok: bool | None = None) -> None:
        rows.append({"metric": metric, "marketwire": mw, "baseline": base, "target": target,
                     "pass": "" if ok is None else ("yes" if ok else "NO")})

    n = res["params"]["n"]
    if L:
        add(f"load: rows written (N={n:,}: issuers + securities + listings + 4N identifiers)",
            f"{L['rows_total']:,}")
        add("load: wall time (generate + Lake.append)", f"{L['seconds']:.1f} s")
        add("load: throughput", f"{L['rows_per_s']:,.0f} rows/s")
    if I:
        if I.get("cache_build_s") is not None:
            add("DuckDB cache build (MasterIndex.connection() on an empty cache folder)", f"{I['cache_build_s']:.1f} s")
        add("first resolve, cold (cache build + in-memory index build + lookup)", f"{I['first_resolve_s']:.1f} s",
            f"{B['build_s']:.1f} s (read lake + build dicts)" if B else "—")
        add("first resolve, cache already built (new Marketwire, same process, old one dropped)",
            f"{I['reopen_first_resolve_s']:.2f} s")
    for kind, label in (("isin", "ISIN"), ("ticker_mic", "ticker@MIC")):
        if I:
            for q in ("p50", "p95", "p99"):
                tgt = f"<= {TARGET_INPROC_P99_MS:g} ms" if q == "p99" else "—"
                ok = I[kind][q] <= TARGET_INPROC_P99_MS if q == "p99" else None
                cut = " - stopped by --max-seconds" if I.get("truncated_by_budget") else ""
                add(f"in-process resolve {label} {q} (n={I[kind]['n']:,}{cut})", fmt_ms(I[kind], q),
                    fmt_ms(B.get(kind), q), tgt, ok)
    if I:
        add("in-process throughput (sequential)", f"{I['throughput_per_s']:,.0f} resolves/s")
        add("in-process wrong answers / errors", f"{I['wrong']} / {sum(I['errors'].values())}",
            f"{B['wrong']} / 0" if B else "—")
        if I.get("page_faults"):
            nres = I["isin"]["n"] + I["ticker_mic"]["n"]
            add("in-process page faults during the timed lookups (minor / major, per resolve)",
                f"{I['page_faults']['minor'] / nres:.1f} / {I['page_faults']['major'] / nres:.2f}")
    if R:
        add("REST: server start to first 200 (cache already built)", f"{R['first_200_s']:.1f} s")
        for q in ("p50", "p95", "p99"):
            tgt = f"<= {TARGET_REST_P99_MS:g} ms" if q == "p99" else "—"
            ok = R["all"][q] <= TARGET_REST_P99_MS if q == "p99" else None
            cut = " - stopped by --max-seconds" if R.get("truncated_by_budget") else ""
            add(f"REST GET /v1/resolve {q} (n={R['all']['n']:,}, ISIN + ticker@MIC{cut})", fmt_ms(R["all"], q), "—",
                tgt, ok)
        add("REST throughput (sequential, keep-alive)", f"{R['throughput_per_s']:,.0f} req/s")
        add("REST status codes / wrong answers", ", ".join(f"{k}: {v}" for k, v in sorted(R["status"].items()))
            + f" / {R['wrong']}")
    if L:
        add("peak RSS: load process", fmt_mb(L["peak_rss_mb"]))
    if I:
        add("peak RSS: in-process resolve (incl. cache build)", fmt_mb(I["peak_rss_mb"]),
            fmt_mb(B.get("peak_rss_mb")) if B else "—")
    if R:
        add("peak RSS: uvicorn server (cache already built)", fmt_mb(R.get("server_peak_rss_mb")))
    add("size on disk: lake (Delta)", fmt_bytes(res.get("lake_bytes")))
    if I:
        parts = res.get("cache_parts") or {}
        detail = ", ".join(f"{k} {fmt_bytes(v)}" for k, v in parts.items())
        add("size on disk: cache folder" + (f" ({detail})" if len(parts) > 1 else ""),
            fmt_bytes(res.get("cache_bytes")))
    return rows


def breakdown_markdown(inproc: dict[str, Any]) -> str:
    out = [f"Where an in-process resolve spends its time ({inproc['breakdown_resolves']} resolves, "
           f"{inproc['breakdown_total_ms_per_resolve']:.2f} ms per resolve in total; scan = what DuckDB's "
           "EXPLAIN ANALYZE says the statement read):", "",
           "| statement | calls / resolve | ms / resolve | ms / call p99 | scan |", "|---|---:|---:|---:|---|"]
    for b in inproc["breakdown"]:
        what = b["what"] if len(b["what"]) <= 160 else b["what"][:157] + "..."
        out.append(f"| `{what}` | {b['calls_per_resolve']:.2f} | {b['ms_per_resolve']:.2f} | "
                   f"{b['ms_per_call_p99']:.2f} | {b.get('scan', '')} |")
    pq = inproc["duckdb_point_query"]
    out.append(f"\nFor comparison, the same point lookup as one DuckDB query on the cache file, "
               f"`SELECT entity_kind, entity_id FROM ids WHERE key = ?`: p50 {fmt_ms(pq, 'p50')}, "
               f"p99 {fmt_ms(pq, 'p99')} (n={pq.get('n', 0)}).")
    return "\n".join(out)


def markdown(rows: list[dict[str, str]]) -> str:
    out = ["| metric | marketwire | baseline | target | pass |", "|---|---:|---:|---:|:---:|"]
    out += [f"| {r['metric']} | {r['marketwire']} | {r['baseline']} | {r['target']} | {r['pass']} |" for r in rows]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000, help="number of securities (default 10,000,000)")
    ap.add_argument("--home", type=Path, help="marketwire home to create (default: a temp folder, removed at "
                                              "the end unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the temp home")
    ap.add_argument("--reuse", action="store_true", help="skip the load if --home already holds a loaded lake")
    ap.add_argument("--resume", action="store_true",
                    help="with --reuse: also keep the results of phases that already finished in --home")
    ap.add_argument("--chunk", type=int, default=1_000_000, help="securities per Lake.append (default 1M)")
    ap.add_argument("--lookups", type=int, default=2_000, help="in-process lookups of each kind (default 2000)")
    ap.add_argument("--rest-lookups", type=int, default=1_000,
                    help="REST requests of each kind (ISIN, ticker@MIC; default 1000 each)")
    ap.add_argument("--warmup", type=int, default=100, help="warm-up lookups of each kind")
    ap.add_argument("--breakdown", type=int, default=200, help="resolve pairs timed per SQL statement")
    ap.add_argument("--max-seconds", type=float, default=900.0,
                    help="time budget of each timed loop (warm-up, in-process, REST, breakdown); a loop that runs "
                         "out of budget stops early and the table shows how many lookups it timed (default 900)")
    ap.add_argument("--phases", default="load,inproc,rest,baseline")
    ap.add_argument("--seed", type=int, default=20240102)
    ap.add_argument("--out", type=Path, default=HERE / "out" / "resolve_scale.json")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.phase:
        home = args.home
        if args.phase == "serve":
            phase_serve(home, args.port)
            return
        out = {
            "load": lambda: phase_load(home, args.n, args.chunk, args.seed, max(args.lookups, args.rest_lookups) * 2),
            "inproc": lambda: phase_inproc(home, args.lookups, args.seed, args.warmup, args.breakdown,
                                           args.max_seconds),
            "rest": lambda: phase_rest(home, args.rest_lookups, args.seed, args.warmup, 3600.0, args.max_seconds),
            "baseline": lambda: phase_baseline(home, args.lookups, args.seed),
        }[args.phase]()
        args.result.write_text(json.dumps(out, default=str))
        return

    temp = args.home is None
    home = Path(tempfile.mkdtemp(prefix="mw-bench-")) if temp else args.home.expanduser().resolve()
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    res: dict[str, Any] = {"params": {"n": args.n, "chunk": args.chunk, "lookups": args.lookups,
                                      "rest_lookups": args.rest_lookups, "warmup": args.warmup, "seed": args.seed,
                                      "max_seconds": args.max_seconds,
                                      "home": str(home)},
                           "machine": machine(), "started": datetime.now(timezone.utc).isoformat(),
                           "targets": {"inproc_p99_ms": TARGET_INPROC_P99_MS, "rest_p99_ms": TARGET_REST_P99_MS}}
    try:
        if "load" in phases:
            if args.reuse and (home / "sample.json").exists():
                log(f"reusing the lake in {home}")
                if (home / "result-load.json").exists():
                    res["load"] = json.loads((home / "result-load.json").read_text())
            else:
                if (home / "lake").exists() or (home / "cache").exists():
                    raise SystemExit(f"{home} already holds a lake; pass a new --home (or --reuse)")
                home.mkdir(parents=True, exist_ok=True)
                res["load"] = run_phase(args, "load", home)
        for ph in ("inproc", "rest", "baseline"):
            if ph in phases and args.reuse and args.resume and (home / f"result-{ph}.json").exists():
                log(f"phase {ph}: reusing {home / f'result-{ph}.json'}")
                res[ph] = json.loads((home / f"result-{ph}.json").read_text())
            elif ph in phases:
                if ph == "inproc" and args.reuse and (home / "cache").exists() and "load" not in res:
                    shutil.rmtree(home / "cache")  # so that the first resolve times a cache build
                res[ph] = run_phase(args, ph, home)
        res["lake_bytes"] = dir_size(home / "lake")
        res["cache_bytes"] = dir_size(home / "cache") if (home / "cache").exists() else None
        if (home / "cache").exists():  # DuckDB file(s) vs anything else the index keeps there
            parts: dict[str, int] = {}
            for f in (home / "cache").iterdir():
                kind = "DuckDB file" if f.suffix in (".duckdb", ".wal") else f"{f.name.split('-')[0]}/"
                parts[kind] = parts.get(kind, 0) + dir_size(f)
            res["cache_parts"] = parts
        res["finished"] = datetime.now(timezone.utc).isoformat()
        rows = table_rows(res)
        res["table"] = rows
        md = markdown(rows)
        res["markdown"] = md
        if "inproc" in res:
            res["breakdown_markdown"] = breakdown_markdown(res["inproc"])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2, default=str))
        print(md)
        if "inproc" in res:
            print("\n" + breakdown_markdown(res["inproc"]))
        print(f"\nJSON: {args.out}")
    finally:
        if temp and not args.keep:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
