#!/usr/bin/env python
"""Resolve latency in a fresh process over an already built lake (how a server or an SDK user runs).

``resolve_scale.py`` times resolution inside the process that has just generated the data and built the caches,
which is the worst case for memory. This script opens the same home in a new process and times the same kind of
lookups, with a plain-Parquet peer measured in the same run: the identifier looked up by a Polars scan of the
Parquet file that holds the identifiers (what a user of files alone would do).

    PYTHONPATH=src .venv/bin/python benchmarks/resolve_warm.py --home /tmp/mw10m
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True, help="a home built by resolve_scale.py --keep")
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--peer-lookups", type=int, default=30)
    args = ap.parse_args()

    import polars as pl

    import marketwire

    sample = json.loads((args.home / "sample.json").read_text())
    mw = marketwire.open(args.home)
    t = time.perf_counter()
    mw.resolve(sample["isin"][0])
    open_s = time.perf_counter() - t
    rows = []
    for kind in ("isin", "ticker_mic"):
        vals = sample[kind][: args.lookups]
        for v in vals[:100]:
            mw.resolve(v)
        lat = []
        for v in vals:
            t = time.perf_counter()
            mw.resolve(v)
            lat.append((time.perf_counter() - t) * 1000)
        hot = next(args.home.joinpath("cache").glob("hot-*"))
        peer = []
        for v in vals[: args.peer_lookups]:
            t = time.perf_counter()
            pl.scan_parquet(hot / "ids.parquet").filter(pl.col("value") == v).collect()
            peer.append((time.perf_counter() - t) * 1000)
        rows.append((kind, lat, peer))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"| metric (fresh process, {args.home}) | marketwire | plain Parquet scan | target |")
    print("|---|---:|---:|---:|")
    print(f"| open: first resolve (reads the hot index files) | {open_s:.1f} s | — | — |")
    for kind, lat, peer in rows:
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            target = "<= 5 ms" if name == "p99" else "—"
            print(f"| resolve {kind} {name} (n={len(lat)}; peer n={len(peer)}) | {pct(lat, q):.2f} ms "
                  f"| {pct(peer, q):.1f} ms | {target} |")
    print(f"| peak RSS | {rss:.2f} GiB | — | — |")


if __name__ == "__main__":
    main()
