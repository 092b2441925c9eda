#!/usr/bin/env python
"""Resolve latency while the lookup caches rebuild after a lake change: background refresh vs. synchronous.

A server (``MasterIndex(..., background=True)``) keeps answering from the previous lake state while one
background thread builds the new DuckDB cache and hot index, then swaps them in. The peer is the synchronous mode
(the CLI and SDK default, and what the server did before): the first request after the change rebuilds while
holding the index lock, and every other request waits.

For each mode, in its own process (so that peak RSS is attributable):

1. open the facade over a synthetic lake of N securities (``resolve_scale.py``'s generator; built here unless
   ``--home`` already holds one) and load the caches of its current state;
2. run ``Marketwire.resolve`` in a loop from ``--threads`` threads (random ISINs and ticker@MICs of the sample,
   every answer checked), ``--rest-seconds`` at rest;
3. append ``--append`` new securities (issuers, securities, listings, identifiers) from another process, like a
   CLI ingest beside the server, and keep resolving until the new state is served (new ISINs resolve), then
   ``--after-seconds`` more;
4. sample the process's RSS every 100 ms throughout.

Latencies are classed by when the request started: at rest (before the change), during the rebuild (from the
change until the new state is served) and after. Every run appends to the lake, so a reused ``--home`` grows
by ``--append`` securities per mode and run.

    PYTHONPATH=src .venv/bin/python benchmarks/resolve_rebuild.py --n 1000000 --home /var/tmp/mw1m
    PYTHONPATH=src nohup .venv/bin/python benchmarks/resolve_rebuild.py --n 10000000 --home /var/tmp/mw10m \\
        > /var/tmp/rebuild.out 2> /var/tmp/rebuild.log &

The Markdown table goes to stdout, everything to ``benchmarks/out/resolve_rebuild.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
if str(SRC) not in sys.path and (SRC / "marketwire").is_dir():
    sys.path.insert(0, str(SRC))

TARGET_P99_MS = 20.0


def _scale() -> Any:
    """``resolve_scale.py`` as a module: its generator, sample format, helpers and machine description."""
    name = "resolve_scale_benchmark"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "resolve_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rss_gib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def hwm_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def stats(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0}
    a = np.asarray(ms)
    return {"n": int(len(a)), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "p99": float(np.percentile(a, 99)), "max": float(a.max())}


# -- the lake change (its own process, like a CLI ingest beside the server) ---------------------------------------
def phase_append(home: Path, k: int, seed: int) -> dict[str, Any]:
    """Append ``k`` new securities after the ones in the lake: new ids, ISINs and tickers (ranks past N)."""
    from marketwire.datasets import reference as R
    from marketwire.store import Lake

    scale = _scale()
    lake = Lake(home / "lake")
    files = lake.files(R.SECURITIES)
    lo = int(sum(files.column("num_records").to_pylist()))
    gen = scale.Generator(lo + k, seed + lo)
    gen.next_rank[:] = lo  # every venue holds fewer than lo listings: tickers past lo are new
    c = gen.chunk(lo, lo + k)
    t = time.perf_counter()
    for name, ds in (("issuers", R.ISSUERS), ("securities", R.SECURITIES), ("listings", R.LISTINGS),
                     ("identifiers", R.IDENTIFIERS)):
        lake.append(ds, c[name])
    return {"first_row": lo, "securities": k, "append_seconds": time.perf_counter() - t,
            "isin": c["_sample"]["isin"].to_pylist()[:50], "security_id": c["_sample"]["security_id"].to_pylist()[:50]}


# -- one mode, measured in its own process ------------------------------------------------------------------------
def _open(home: Path, background: bool) -> tuple[Any, Any]:
    """The facade with the index in the wanted mode, however the facade of the day takes it."""
    import marketwire

    try:
        mw = marketwire.open(home, background=background)
    except TypeError:  # a facade without the option: put the index in place ourselves
        from marketwire.identity.index import MasterIndex

        mw = marketwire.open(home)
        mw.index = MasterIndex(mw.lake, mw.home / "cache", background=background)
    index = getattr(getattr(mw, "identity", None), "index", None) or mw.index
    assert index.background is background
    return mw, index


def _trace_builds(index: Any) -> list[tuple[str, str, float, float, str]]:
    """Record every cache build (DuckDB file, hot index): which state, when, on which thread."""
    out: list[tuple[str, str, float, float, str]] = []
    for name in ("_prepare", "_load_hot"):
        fn = getattr(index, name, None)
        if fn is None:
            continue

        def traced(stamp: str, *a: Any, _fn: Any = fn, _name: str = name, **k: Any) -> Any:
            t0 = time.monotonic()
            try:
                return _fn(stamp, *a, **k)
            finally:
                out.append((_name, stamp, t0, time.monotonic(), threading.current_thread().name))

        setattr(index, name, traced)
    return out


def _sid(match: Any) -> Any:
    return match["security_id"] if isinstance(match, dict) else getattr(match, "security_id", None)


def phase_run(args: argparse.Namespace, background: bool) -> dict[str, Any]:
    scale = _scale()
    home = args.home
    sample = json.loads((home / "sample.json").read_text())
    asks = [(v, s) for v, s in zip(sample["isin"], sample["security_id"])]
    asks += [(v, s) for v, s in zip(sample["ticker_mic"], sample["security_id"])]
    load_open = os.getloadavg()
    mw, index = _open(home, background)
    builds = _trace_builds(index)
    rss0 = rss_gib()
    t = time.perf_counter()
    first = mw.resolve(asks[0][0])
    open_s = time.perf_counter() - t
    assert _sid(first[0]) == asks[0][1]
    log(f"{'background' if background else 'synchronous'}: state {index.state()['stamp']} open in {open_s:.1f} s, "
        f"RSS {rss_gib():.2f} GiB")

    stop = threading.Event()
    rss: list[tuple[float, float]] = []

    def sampler() -> None:
        while not stop.is_set():
            rss.append((time.monotonic(), rss_gib()))
            time.sleep(0.1)

    samples: list[list[tuple[float, float, bool]]] = [[] for _ in range(args.threads)]

    def reader(i: int) -> None:
        rng = np.random.default_rng(args.seed + i)
        out = samples[i]
        pause = args.think_ms / 1000
        while not stop.is_set():
            v, want = asks[int(rng.integers(len(asks)))]
            t0 = time.monotonic()
            try:
                ok = _sid(mw.resolve(v)[0]) == want
            except Exception:  # noqa: BLE001 - counted as a wrong answer
                ok = False
            out.append((t0, (time.monotonic() - t0) * 1000, ok))
            if pause:
                time.sleep(pause)

    threads = [threading.Thread(target=sampler, daemon=True)]
    threads += [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(args.threads)]
    t_start = time.monotonic()
    for th in threads:
        th.start()
    time.sleep(args.rest_seconds)

    # the change, from another process
    log("appending to the lake from another process")
    load_change = os.getloadavg()
    t_change = time.monotonic()
    proc = subprocess.run([sys.executable, __file__, "--phase", "append", "--home", str(home), "--append",
                           str(args.append), "--seed", str(args.seed)], capture_output=True, text=True,
                          env=_env(), check=True)
    appended = json.loads(proc.stdout.strip().splitlines()[-1])
    t_appended = time.monotonic()
    new_asks = list(zip(appended["isin"], appended["security_id"]))

    # the new state is served once the lake's stamp is the index's and its hot index is loaded
    deadline = t_change + args.max_rebuild_seconds
    t_swap = None
    while time.monotonic() < deadline:
        st = index.state()
        if st["stamp"] == index._current_stamp() and st["hot_loaded"] and not st.get("refreshing"):
            t_swap = time.monotonic()
            break
        time.sleep(0.05)
    if t_swap is None:
        log("the new state was not served within --max-rebuild-seconds")
    else:
        log(f"new state served {t_swap - t_change:.1f} s after the change")
    new_ok = 0
    for v, want in new_asks:
        try:
            new_ok += _sid(mw.resolve(v)[0]) == want
        except Exception:  # noqa: BLE001
            pass
    time.sleep(args.after_seconds)
    stop.set()
    for th in threads:
        th.join(timeout=600)

    end = t_swap if t_swap is not None else time.monotonic()
    flat = [s for per in samples for s in per]
    rest = [ms for t0, ms, _ in flat if t_start + 1.0 <= t0 < t_change]
    during = [ms for t0, ms, _ in flat if t_change <= t0 <= end]
    after = [ms for t0, ms, _ in flat if t0 > end]
    # a request that started at rest but was still running at the change also waited for it
    crossing = [ms for t0, ms, _ in flat if t0 < t_change and t0 + ms / 1000 > t_change]
    wrong = sum(1 for *_, ok in flat if not ok)
    rss_rest = [r for t, r in rss if t < t_change]
    rss_during = [r for t, r in rss if t_change <= t <= end + 1.0]
    rss_after = [r for t, r in rss if t > max(end + 1.0, time.monotonic() - 4.0)] or [rss_gib()]
    st = index.state()
    return {
        "mode": "background" if background else "synchronous",
        "state": st, "builds": [(name, stamp, round(a - t_change, 2), round(b - t_change, 2), thread)
                                for name, stamp, a, b, thread in builds], "open_seconds": open_s, "rss_at_open_gib": rss0,
        "append": {k: v for k, v in appended.items() if k not in ("isin", "security_id")},
        "append_wall_seconds": t_appended - t_change,
        "rebuild_seconds": (t_swap - t_change) if t_swap is not None else None,
        "index_rebuild_seconds": st.get("last_rebuild_seconds"),
        "threads": args.threads, "think_ms": args.think_ms,
        "rest": stats(rest), "during": stats(during), "after": stats(after),
        "longest_wait_ms": max(during + crossing, default=None),
        "longest_wait_any_ms": max((ms for _, ms, _ in flat), default=None),
        "slowest": [(round(t0 - t_change, 2), round(ms, 1)) for t0, ms, _ in sorted(flat, key=lambda x: -x[1])[:10]],
        "load_average": {"at_open": load_open, "at_change": load_change, "at_end": os.getloadavg()},
        "requests": len(flat), "wrong_or_error": wrong, "new_securities_resolved": f"{new_ok}/{len(new_asks)}",
        "rss_before_gib": max(rss_rest) if rss_rest else None,
        "rss_during_peak_gib": max(rss_during) if rss_during else None,
        "rss_after_gib": float(np.median(rss_after)), "vm_hwm_gib": hwm_gib(),
        "rss_trace": [(round(t - t_change, 2), round(r, 3)) for t, r in rss[:: max(1, len(rss) // 600)]],
        "machine": scale.machine(),
    }


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# -- report -------------------------------------------------------------------------------------------------------
def _ms(d: dict[str, Any], key: str) -> str:
    v = d.get(key)
    return "—" if v is None else (f"{v:,.0f} ms" if v >= 100 else f"{v:.2f} ms")


def markdown(res: dict[str, Any]) -> str:
    bg, sy = res.get("background", {}), res.get("synchronous", {})
    n = res["params"]["n_in_lake"]
    out = [f"| metric (N = {n:,} securities, {res['params']['threads']} resolve threads) | background refresh "
           "| synchronous (peer) | target |", "|---|---:|---:|---:|"]

    def row(label: str, f: Any, target: str = "—") -> None:
        out.append(f"| {label} | {f(bg) if bg else '—'} | {f(sy) if sy else '—'} | {target} |")

    for phase, name in (("rest", "at rest"), ("during", "during the rebuild")):
        for q in ("p50", "p95", "p99", "max"):
            row(f"resolve {q} {name}", lambda d, p=phase, q=q: _ms(d[p], q) + f" (n={d[p]['n']:,})" * (q == "p50"),
                f"<= {TARGET_P99_MS:.0f} ms" if (q, phase) == ("p99", "during") else "—")
    row("longest single request (started during the rebuild or running at the change)",
        lambda d: _ms(d, "longest_wait_ms"), "no request waits for the rebuild")
    row("lake change to new state served (rebuild)", lambda d: f"{d['rebuild_seconds']:.1f} s"
        if d.get("rebuild_seconds") is not None else "not served")
    row("cache builds after the change (DuckDB file + hot index)",
        lambda d: str(sum(1 for b in d["builds"] if b[0] == "_prepare" and b[2] >= 0)))
    row("machine load average at the change (1 min; 2 cores, other work included)",
        lambda d: f"{d['load_average']['at_change'][0]:.1f}" if "load_average" in d else "—")
    row("new securities resolved after the swap", lambda d: d["new_securities_resolved"])
    row("wrong answers / errors (all requests)", lambda d: f"{d['wrong_or_error']} of {d['requests']:,}")
    row("RSS at rest (before the change, peak)", lambda d: f"{d['rss_before_gib']:.2f} GiB")
    row("RSS during the rebuild (peak)", lambda d: f"{d['rss_during_peak_gib']:.2f} GiB")
    row("RSS after the swap (settled)", lambda d: f"{d['rss_after_gib']:.2f} GiB")
    row("process peak (VmHWM, incl. open)", lambda d: f"{d['vm_hwm_gib']:.2f} GiB")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="securities of a new lake (default 1,000,000)")
    ap.add_argument("--home", type=Path, required=True,
                    help="marketwire home: reused if it holds a lake made by resolve_scale.py or this script")
    ap.add_argument("--threads", type=int, default=4, help="resolve threads (default 4)")
    ap.add_argument("--think-ms", type=float, default=2.0, help="pause of each thread between requests (ms)")
    ap.add_argument("--rest-seconds", type=float, default=20.0)
    ap.add_argument("--after-seconds", type=float, default=10.0)
    ap.add_argument("--append", type=int, default=1000, help="securities appended by the change (default 1000)")
    ap.add_argument("--max-rebuild-seconds", type=float, default=3600.0)
    ap.add_argument("--modes", default="background,synchronous")
    ap.add_argument("--seed", type=int, default=20240102)
    ap.add_argument("--out", type=Path, default=HERE / "out" / "resolve_rebuild.json")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.home = args.home.expanduser().resolve()

    if args.phase == "append":
        print(json.dumps(phase_append(args.home, args.append, args.seed)))
        return
    if args.phase == "run":
        args.result.write_text(json.dumps(phase_run(args, args.mode == "background"), default=str))
        return

    scale = _scale()
    if not (args.home / "sample.json").exists():
        if (args.home / "lake").exists():
            raise SystemExit(f"{args.home} holds a lake without sample.json; pass a new --home")
        args.home.mkdir(parents=True, exist_ok=True)
        log(f"building a lake of {args.n:,} securities in {args.home}")
        (args.home / "result-load.json").write_text(json.dumps(
            scale.phase_load(args.home, args.n, 1_000_000, args.seed, 4000), default=str))
    from marketwire.datasets import reference as R
    from marketwire.store import Lake

    n_lake = int(sum(Lake(args.home / "lake").files(R.SECURITIES).column("num_records").to_pylist()))
    res: dict[str, Any] = {"params": {"n_in_lake": n_lake, "home": str(args.home), "threads": args.threads,
                                      "think_ms": args.think_ms, "append": args.append,
                                      "rest_seconds": args.rest_seconds, "after_seconds": args.after_seconds},
                           "started": datetime.now(timezone.utc).isoformat(), "target_p99_ms": TARGET_P99_MS}
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        mode = {"sync": "synchronous"}.get(mode, mode)
        out = args.home / f"result-rebuild-{mode}.json"
        log(f"mode {mode}: own process")
        subprocess.run([sys.executable, __file__, "--phase", "run", "--mode", mode, "--home", str(args.home),
                        "--threads", str(args.threads), "--think-ms", str(args.think_ms),
                        "--rest-seconds", str(args.rest_seconds), "--after-seconds", str(args.after_seconds),
                        "--append", str(args.append), "--max-rebuild-seconds", str(args.max_rebuild_seconds),
                        "--seed", str(args.seed), "--result", str(out)], env=_env(), check=True)
        res[mode] = json.loads(out.read_text())
    res["machine"] = scale.machine()
    res["finished"] = datetime.now(timezone.utc).isoformat()
    res["markdown"] = markdown(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, default=str))
    print(res["markdown"])
    print(f"\nJSON: {args.out}")


if __name__ == "__main__":
    main()
