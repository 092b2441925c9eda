"""Gap handling on the captured Binance depth streams: drops injected, detected, resynced, compared.

For every captured depth stream (spot BTC/ETH-USDT over both files, USD-M BTC/ETH-USDT, COIN-M BTC/ETH-USD-PERP over
both files: 110k diffs) the session is replayed twice at once (:func:`marketwire.stream.depth_sync.replay_with_drops`):
uninterrupted -- the reference book, synced from the captured REST snapshot by Binance's rules -- and with a random
``--rate`` of the diffs dropped (seeded). A resync snapshot is the reference book at the update id it has reached
``--delay`` diffs after the gap was detected: what a REST snapshot taken then would hold (the capture has one REST
snapshot per file, so later ones are derived from the uninterrupted replay). After every resync and at the end the
two books are compared level by level.

Peer: the same replay without the update-id checks (apply every diff that arrives, as a naive client does), whose
book is compared with the reference the same way: what the rules buy.

    python benchmarks/stream_gaps.py [--rate 0.005] [--delay 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import shared_data  # noqa: E402

from marketwire.stream.depth_sync import DepthSync, _levels, capture_session, replay_with_drops  # noqa: E402

STREAMS = [("spot", ["btcusdt_20240808.gz", "btcusdt_20240809.gz"]),
           ("spot", ["ethusdt_20240808.gz", "ethusdt_20240809.gz"]),
           ("usdm", ["btcusdt_20240808.gz"]), ("usdm", ["ethusdt_20240808.gz"]),
           ("cm", ["btcusd_perp_20240808.gz", "btcusd_perp_20240809.gz"]),
           ("cm", ["ethusd_perp_20240808.gz", "ethusd_perp_20240809.gz"])]


def naive(session: list, drops: set[int]) -> bool:
    """Apply every diff that arrives after the snapshot, no checks: does the book end equal to the reference?"""
    ref, book = DepthSync(""), DepthSync("")
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    started = False
    i = -1
    for kind, payload in session:
        if kind == "snapshot":
            ref.snapshot_message(payload)
            if not started:
                _levels(bids, payload["bids"])
                _levels(asks, payload["asks"])
                started = True
            continue
        i += 1
        ref.on_diff(payload)
        if started and i not in drops:
            _levels(bids, payload.get("b", ()))
            _levels(asks, payload.get("a", ()))
    del book
    return (bids, asks) == (ref.bids, ref.asks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=0.005, help="share of depth diffs dropped")
    ap.add_argument("--delay", type=int, default=3, help="diffs between gap detection and the snapshot")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    base = shared_data() / "realtime" / "hftbacktest_binance_ws"
    if not base.is_dir():
        raise SystemExit(f"no captures at {base}")
    load = os.getloadavg()
    print(f"Binance depth gap handling: {args.rate:.1%} of diffs dropped (seed {args.seed}), snapshot {args.delay} "
          f"diffs after detection; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print("stream | diffs | dropped | drop runs in sync | gaps detected | resyncs | book checks | mismatches | "
          "equal at end | naive client equal | diffs/s")
    tot = {"diffs": 0, "dropped": 0, "runs": 0, "gaps": 0, "resyncs": 0, "checks": 0, "mismatches": 0, "equal": 0,
           "naive": 0}
    for market, files in STREAMS:
        session = [x for f in files for x in capture_session(base / market / f)]
        n = sum(1 for k, _ in session if k == "diff")
        rng = random.Random(args.seed)
        drops = set(rng.sample(range(n), max(1, int(n * args.rate))))
        t = time.perf_counter()
        rep = replay_with_drops(session, drops, args.delay)
        el = time.perf_counter() - t
        nv = naive(session, drops)
        name = f"{market}/{files[0].split('_')[0]}"
        print(" | ".join(str(x) for x in (name, rep.diffs, rep.dropped, rep.drop_runs_while_synced, rep.gaps,
                                           rep.resyncs, rep.checks, rep.mismatches, rep.equal_at_end, nv,
                                           f"{2 * rep.diffs / el:,.0f}")))
        tot["diffs"] += rep.diffs
        tot["dropped"] += rep.dropped
        tot["runs"] += rep.drop_runs_while_synced
        tot["gaps"] += rep.gaps
        tot["resyncs"] += rep.resyncs
        tot["checks"] += rep.checks
        tot["mismatches"] += rep.mismatches
        tot["equal"] += int(rep.equal_at_end)
        tot["naive"] += int(nv)
    print(f"all | {tot['diffs']} | {tot['dropped']} | {tot['runs']} | {tot['gaps']} | {tot['resyncs']} | "
          f"{tot['checks']} | {tot['mismatches']} | {tot['equal']}/{len(STREAMS)} | {tot['naive']}/{len(STREAMS)} |")
    print("(diffs/s counts both books of the replay, JSON already parsed)")


if __name__ == "__main__":
    main()
