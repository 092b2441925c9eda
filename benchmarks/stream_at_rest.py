"""Trades at rest: bytes per trade in the lake after the end-of-day roll, and the time to read one listing-day of
trades, against ArcticDB (LMDB) holding the same trades.

All shared Lean equity trade zips (AIG, BAC, IBM x 5 days) are replayed and rolled; the lake's ``trades`` table
(Delta, partitioned by date, sorted by listing and time, zstd, delta-encoded times and offsets, dictionary-encoded
prices, sizes, venues and conditions) is measured on disk (data files and Delta log). Reads, each listing-day
several times, alternating systems:

* ``mw.ticks(id, start=day, end=day)`` -- the SDK path (identity of the id, the lake and the log merged);
* the lake's partition of that day read with Arrow and filtered to the listing (the storage alone);
* ArcticDB ``read`` of the same listing-day (one symbol per listing-day, written from the same trades).

    PYTHONPATH=src .venv/bin/python benchmarks/stream_at_rest.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.conftest import shared_data  # noqa: E402


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as pds

    import marketwire
    from marketwire.datasets.stream import TRADES

    files = sorted(glob.glob(str(shared_data() / "realtime" / "lean" / "equity" / "usa" / "tick" / "*" / "*_trade.zip")))
    tmp = Path(tempfile.mkdtemp(prefix="mw-stream-rest-"))
    mw = marketwire.open(tmp / "home")
    rep = mw.stream.replay(files)
    roll = mw.stream.roll(retain=True)
    n = roll["written"]["trade"]
    lake_bytes = du(tmp / "home" / "lake" / "trades")
    data_bytes = sum(p.stat().st_size for p in (tmp / "home" / "lake" / "trades").rglob("*.parquet"))
    log_bytes = du(tmp / "home" / "stream" / "log")
    # ArcticDB with the same trades, one symbol per listing-day
    import arcticdb as adb

    t = mw.lake.dataset(TRADES).to_table()
    ac = adb.Arctic(f"lmdb://{tmp / 'arctic'}?map_size=4GB")
    lib = ac.get_library("trades", create_if_missing=True)
    keys = []
    for (lid, day) in sorted(set(zip(t.column("listing_id").to_pylist(), t.column("date").to_pylist()))):
        sub = t.filter(pc.and_(pc.equal(t.column("listing_id"), lid), pc.equal(t.column("date"), day)))
        df = sub.select(["ts_event", "price", "size", "venue", "conditions", "flags"]).to_pandas()
        df.index = df.pop("ts_event").astype("datetime64[ns]")
        lib.write(f"{lid}_{day}", df)
        keys.append((lid, day, sub.num_rows))
    arctic_bytes = du(tmp / "arctic")
    sym = {d["listing_id"]: k.split("@")[0] for k, d in mw.stream.instruments.all().items()}
    sdk, raw, arc = [], [], []
    days = [(lid, day, rows) for lid, day, rows in keys if rows > 1000]
    root = str(tmp / "home" / "lake" / "trades")
    for _ in range(a.repeat):
        for lid, day, rows in days:
            start = day.isoformat()
            end = day.isoformat()  # a date: its whole day
            t0 = time.perf_counter()
            got = mw.ticks(sym[lid], start=start, end=end, output="arrow")
            sdk.append(time.perf_counter() - t0)
            assert got.num_rows == rows
            t0 = time.perf_counter()
            ds = pds.dataset(f"{root}/date={day.isoformat()}", format="parquet")
            got2 = ds.to_table(filter=pds.field("listing_id") == lid, columns=["ts_event", "price", "size", "venue",
                                                                                 "conditions", "flags"])
            raw.append(time.perf_counter() - t0)
            assert got2.num_rows == rows
            t0 = time.perf_counter()
            got3 = lib.read(f"{lid}_{day}").data
            arc.append(time.perf_counter() - t0)
            assert len(got3) == rows
    shutil.rmtree(tmp, ignore_errors=True)
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    p90 = lambda xs: float(np.percentile(xs, 90)) * 1000  # noqa: E731
    print(f"{n:,} trades from {len(files)} files ({rep.read:,} events replayed); log {log_bytes / n:.1f} B/trade "
          f"before the roll")
    print("\n| system | bytes per trade | read one listing-day p50 ms | p90 ms |")
    print("|---|---:|---:|---:|")
    print(f"| marketwire lake, SDK `mw.ticks(id, start, end)` | {lake_bytes / n:.2f} (data files {data_bytes / n:.2f}) "
          f"| {ms(sdk):.2f} | {p90(sdk):.2f} |")
    print(f"| marketwire lake partition, Arrow read + listing filter | {data_bytes / n:.2f} | {ms(raw):.2f} | "
          f"{p90(raw):.2f} |")
    print(f"| ArcticDB (LMDB), one symbol per listing-day | {arctic_bytes / n:.2f} (LMDB file, preallocated pages) | "
          f"{ms(arc):.2f} | {p90(arc):.2f} |")
    print(f"\n{len(days)} listing-days x {a.repeat} reads each; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores)")


if __name__ == "__main__":
    main()
