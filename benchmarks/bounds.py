"""Bounds on work per request and per input (issue 15): measured against a real server on 127.0.0.1.

    MARKETWIRE_DATA=../shared/data .venv/bin/python benchmarks/bounds.py [--rows 4000000] [--work /tmp/bounds-bench]

1. ``/v1/quarantine?limit=10`` on a quarantine of ``--rows`` records (written straight into the lake's quarantine
   table in chunks, the shape a price ingest writes: one source, a few files, one rule), through ``marketwire
   serve``: median and p95 of 30 requests, the server's resident memory after them. The peer, measured in the same
   run on the same files: DuckDB's own top-N (``ORDER BY source, file, line, rule LIMIT 10``), what a sorted page
   costs.
2. A 100 kB ``q`` on ``/v1/search`` over a raw socket (HTTP clients refuse such URLs): status and time to answer.
3. Peak resident memory of ``marketwire ingest prices-csv`` on a 200 MB junk file (every row refused) and of
   ``marketwire news add`` on a text of one million words.

Prints one table. The big home is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
MW = str(Path(PY).with_name("marketwire"))


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def build_quarantine(home: Path, rows: int) -> float:
    sys.path.insert(0, str(ROOT / "src"))
    import numpy as np
    import pyarrow as pa

    from marketwire.datasets.reference import QUARANTINE
    from marketwire.store import Lake

    lake = Lake(home / "lake")
    t0 = time.perf_counter()
    chunk = 500_000
    now = datetime.now(timezone.utc)
    for k in range(0, rows, chunk):
        n = min(chunk, rows - k)
        line = np.arange(k + 2, k + 2 + n)
        ts = pa.array([now] * n, pa.timestamp("us", tz="UTC"))
        lake.append(QUARANTINE, pa.table({
            "dataset": ["bars_daily"] * n, "rule": ["bar.unparseable"] * n, "field": ["Close"] * n,
            "value": [f"x{i}" for i in line], "message": ["Close: 'x' is not a number"] * n,
            "file": [f"/data/junk_{(k + i) // 1_000_000}.csv" for i in range(n)], "line": line,
            "raw": [f'{{"Close":"x{i}"}}' for i in line], "record_hash": [f"h{k + i}" for i in range(n)],
            "source": ["prices-csv:kaggle"] * n, "knowledge_time": ts, "ingested_at": ts, "ingest_id": ["bench"] * n}))
    return time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(home: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([MW, "--home", str(home), "serve", "--port", str(port)], env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2).read()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def get(port: int, path: str) -> tuple[int, float, int]:
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as r:
            body = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    return status, time.perf_counter() - t, len(body)


def raw_get(port: int, target: bytes) -> tuple[str, float, bytes]:
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    took = time.perf_counter() - t
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode(), took, body[:300]


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def peak_rss(cmd: list[str]) -> tuple[float, float, str]:
    """Peak resident memory (MB) and wall time of a command, and its last line of output."""
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env(), capture_output=True, text=True)
    took = time.perf_counter() - t
    peak_kb = int(proc.stderr.strip().splitlines()[-1])
    out = (proc.stdout + proc.stderr).strip().splitlines()
    return peak_kb / 1024, took, next((ln for ln in out if "quarantined" in ln), out[0] if out else "")


def topn_peer(home: Path) -> float:
    import duckdb

    sys.path.insert(0, str(ROOT / "src"))
    from marketwire.datasets.reference import QUARANTINE
    from marketwire.store import Lake

    lake = Lake(home / "lake")
    files = [f"{lake.uri('quarantine')}/{p}" for p in lake.files(QUARANTINE).column("path").to_pylist()]
    con = duckdb.connect()
    t = time.perf_counter()
    con.execute("SELECT source, dataset, rule, field, value, message, file, line, raw FROM read_parquet(?) "
                "ORDER BY source, file, line, rule LIMIT 10", [files]).fetchall()
    return time.perf_counter() - t


def junk_file(path: Path, size: int) -> None:
    import random
    import string

    rnd = random.Random(1)
    words = ["".join(rnd.choice(string.ascii_letters) for _ in range(6)) for _ in range(1000)]
    with path.open("w") as f:
        f.write("Date,Open,High,Low,Close,Volume,OpenInt\n")
        n = 0
        while n < size:
            line = ",".join(rnd.choice(words) for _ in range(7)) + "\n"
            f.write(line)
            n += len(line)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=4_000_000)
    ap.add_argument("--work", default="/tmp/bounds-bench")
    ap.add_argument("--junk-mb", type=int, default=200)
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rows: list[tuple[str, str]] = []
    try:
        home = work / "home"
        built = build_quarantine(home, args.rows)
        rows.append(("quarantine written (rows, s)", f"{args.rows:,} in {built:.1f} s"))
        proc, port = serve(home)
        try:
            get(port, "/v1/quarantine?limit=10")  # the first request opens the table
            times = []
            for k in range(30):
                status, took, size = get(port, f"/v1/quarantine?limit=10&offset={k * 10}")
                assert status == 200, status
                times.append(took)
            times.sort()
            rows.append(("/v1/quarantine?limit=10, median / p95 (ms)",
                         f"{statistics.median(times) * 1000:.1f} / {times[int(len(times) * 0.95) - 1] * 1000:.1f}"))
            status, took, size = get(port, "/v1/quarantine?limit=1000&offset=1000000")
            rows.append(("/v1/quarantine?limit=1000&offset=1000000 (ms)", f"{took * 1000:.1f} ({status})"))
            status, took, size = get(port, "/v1/quarantine")
            rows.append(("/v1/quarantine, no limit: a page of 100 (ms, bytes)", f"{took * 1000:.1f}, {size:,}"))
            rows.append(("peer: DuckDB top-N, ORDER BY ... LIMIT 10 (ms)", f"{topn_peer(home) * 1000:.1f}"))
            get(port, "/v1/search?q=apple")
            q = b"a" * 100_000
            best = min((raw_get(port, b"/v1/search?q=" + q) for _ in range(5)), key=lambda r: r[1])
            rows.append(("/v1/search, 100 kB q (status, ms)", f"{best[0]}, {best[1] * 1000:.1f}"))
            rows.append(("  body", best[2].decode("utf-8", "replace")[:110]))
            status, took, _ = get(port, "/v1/search?q=" + "a" * 201)
            rows.append(("/v1/search, 201-character q (status, ms)", f"{status}, {took * 1000:.1f}"))
            status, took, _ = get(port, f"/v1/news?offset={2**63}")
            rows.append(("/v1/news?offset=2^63 (status)", str(status)))
            rows.append(("server RSS after the requests (MB)", f"{rss_mb(proc.pid):.0f}"))
        finally:
            proc.terminate()
            proc.wait(30)
        shutil.rmtree(home, ignore_errors=True)
        junk = work / "junk.us.txt"
        junk_file(junk, args.junk_mb * 1_000_000)
        peak, took, line = peak_rss([MW, "--home", str(work / "hj"), "ingest", "prices-csv", str(junk)])
        rows.append((f"ingest of a {args.junk_mb} MB junk file: peak RSS (MB), s", f"{peak:.0f}, {took:.1f}"))
        rows.append(("  outcome", line.strip()))
        junk.unlink()
        words = work / "words.txt"
        words.write_text("A title line\n" + " ".join(["market", "shares", "bank", "rate"][k % 4]
                                                      for k in range(1_000_000)), encoding="utf-8")
        peak, took, line = peak_rss([MW, "--home", str(work / "hn"), "news", "add", str(words)])
        rows.append(("news add of a 1M-word text: peak RSS (MB), s", f"{peak:.0f}, {took:.1f}"))
        rows.append(("  outcome", line.strip()[:110]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(k) for k, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")


if __name__ == "__main__":
    main()
