"""Replay ingest of the shared realtime files through normalisation, verification and the durable log, against raw
peers in the same run.

Rows (each counts every cost from the compressed files to an fsynced log, identity look-ups included):

* ``marketwire Lean replay``: every shared Lean equity trade and quote zip (AIG, BAC, IBM; SPY is held back) through
  ``StreamService.replay``: zip + CSV parse, timestamps to UTC ns, deci-cents, the in-stream rules, frames written
  and fsynced (group commit). Events/s over wall time, and CPU seconds of this process.
* ``marketwire Binance JSON``: the 524k Binance combined-stream messages (spot, USD-M, COIN-M captures) through the
  same path; messages/s.
* ``nats-py -> JetStream``: the same Lean events, one message per event (the raw CSV row, no normalisation or
  verification), published with core ``publish`` to a subject bound to a file-storage JetStream stream, then
  waited for until the stream holds them all (persisted). ``--nats-events`` caps the count (default 1,000,000).
* ``ArcticDB (LMDB) write``: the same ticks already normalised (our batches as pandas frames, conversion not
  timed: an advantage given to the peer), one ``write`` per listing-day and kind.

The machine has 2 cores shared with other work: the load average is printed with the table; CPU seconds are a
steadier measure than wall time under load.

    PYTHONPATH=src .venv/bin/python benchmarks/stream_ingest.py [--skip-nats] [--skip-arctic]
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.conftest import shared_data  # noqa: E402


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def lean_files() -> list[str]:
    return sorted(glob.glob(str(shared_data() / "realtime" / "lean" / "equity" / "usa" / "tick" / "*" / "*.zip")))


def binance_files() -> list[str]:
    return [f for f in sorted(glob.glob(str(shared_data() / "realtime" / "hftbacktest_binance_ws" / "*" / "*.gz")))
            if "hyperliquid" not in f]


def ours(files: list[str], tmp: Path, label: str, unit: str) -> dict:
    import marketwire

    home = tmp / label.replace(" ", "_")
    shutil.rmtree(home, ignore_errors=True)
    mw = marketwire.open(home)
    svc = mw.stream
    c0, t0 = time.process_time(), time.perf_counter()
    rep = svc.replay(files)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = rep.read
    if unit == "messages":
        import gzip

        n = sum(gzip.open(f).read().count(b"\n") for f in files)
    log_bytes = sum(p.stat().st_size for p in (home / "stream" / "log").glob("*.seg"))
    assert rep.acknowledged_to == rep.accepted, "every accepted event acknowledged"
    return {"system": label, "unit": unit, "count": n, "events": rep.accepted, "wall_s": wall, "cpu_s": cpu,
            "per_s": n / wall, "per_cpu_s": n / cpu, "fsyncs": svc.log.fsyncs, "bytes": log_bytes,
            "flagged": rep.flagged, "quarantined": rep.quarantined}


def raw_rows(files: list[str], limit: int) -> list[bytes]:
    rows: list[bytes] = []
    for f in files:
        with zipfile.ZipFile(f) as z:
            for m in z.namelist():
                rows.extend(z.read(m).splitlines())
        if len(rows) >= limit:
            break
    return rows[:limit]


def nats_peer(files: list[str], limit: int) -> dict:
    import nats

    rows = raw_rows(files, limit)

    async def run() -> tuple[float, float]:
        nc = await nats.connect("nats://127.0.0.1:4222")
        js = nc.jetstream()
        name = f"MWBENCH{os.getpid()}"
        await js.add_stream(name=name, subjects=[f"{name.lower()}.>"], storage="file")
        subj = f"{name.lower()}.ticks".encode().decode()
        try:
            c0, t0 = time.process_time(), time.perf_counter()
            for i, r in enumerate(rows):
                await nc.publish(subj, r)
                if i % 50_000 == 0:
                    await nc.flush()
            await nc.flush()
            while True:
                info = await js.stream_info(name)
                if info.state.messages >= len(rows):
                    break
                await asyncio.sleep(0.01)
            return time.perf_counter() - t0, time.process_time() - c0
        finally:
            await js.delete_stream(name)
            await nc.close()

    wall, cpu = asyncio.run(run())
    return {"system": "nats-py -> JetStream (raw rows)", "unit": "events", "count": len(rows), "events": len(rows),
            "wall_s": wall, "cpu_s": cpu, "per_s": len(rows) / wall, "per_cpu_s": len(rows) / cpu}


def arctic_peer(files: list[str], tmp: Path) -> dict:
    import arcticdb as adb

    from marketwire.stream.feeds.lean import read
    from marketwire.stream.verify import Verifier

    frames = []
    v = Verifier()
    for f in files:
        parts = [v.check(c.batch, consolidated=c.consolidated) for c in read(f, lambda k, m: k) if c.batch is not None]
        import pyarrow as pa

        t = pa.Table.from_batches(parts)
        df = t.drop(["listing_id", "source"]).to_pandas()
        df.index = df.pop("ts_event").astype("datetime64[ns]")
        frames.append((Path(f).parent.name + "_" + Path(f).stem, df))
    n = sum(len(df) for _, df in frames)
    uri = f"lmdb://{tmp / 'arctic'}?map_size=8GB"
    ac = adb.Arctic(uri)
    lib = ac.get_library("ticks", create_if_missing=True)
    c0, t0 = time.process_time(), time.perf_counter()
    for sym, df in frames:
        lib.write(sym, df)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"system": "ArcticDB (LMDB) write, pre-normalised", "unit": "events", "count": n, "events": n,
            "wall_s": wall, "cpu_s": cpu, "per_s": n / wall, "per_cpu_s": n / cpu}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-nats", action="store_true")
    ap.add_argument("--skip-arctic", action="store_true")
    ap.add_argument("--skip-lean", action="store_true", help="only the Binance row (and the peers unless skipped)")
    ap.add_argument("--nats-events", type=int, default=1_000_000)
    ap.add_argument("--tmp", default=None)
    a = ap.parse_args()
    tmp = Path(a.tmp or tempfile.mkdtemp(prefix="mw-stream-bench-"))
    lean, binance = lean_files(), binance_files()
    if not lean:
        sys.exit(f"no Lean files under {shared_data()}/realtime")
    rows = []
    print(f"load average before: {load()}", flush=True)
    if not a.skip_lean:
        rows.append(ours(lean, tmp, "marketwire Lean replay", "events"))
        print(rows[-1], flush=True)
    rows.append(ours(binance, tmp, "marketwire Binance JSON", "messages"))
    print(rows[-1], flush=True)
    if not a.skip_nats:
        rows.append(nats_peer(lean, a.nats_events))
        print(rows[-1], flush=True)
    if not a.skip_arctic:
        rows.append(arctic_peer(lean, tmp))
        print(rows[-1], flush=True)
    print(f"\nload average after: {load()} (2 cores)\n")
    print("| system | unit | count | wall s | per s (wall) | CPU s | per CPU s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['system']} | {r['unit']} | {r['count']:,} | {r['wall_s']:.2f} | {r['per_s']:,.0f} | "
              f"{r['cpu_s']:.2f} | {r['per_cpu_s']:,.0f} |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
