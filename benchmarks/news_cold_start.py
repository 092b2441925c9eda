"""Cold start of `marketwire news add` of one short text file: wall time of a fresh process, median of N runs.

    python benchmarks/news_cold_start.py [--runs 5] [--home LAKE] [--before SRC]

Each run is a new `marketwire news add FILE` process with a new short text file (so the whole pipeline runs):

- ``empty lake``: a new home each run (no master, no articles: the tables are created);
- ``master, quiet window`` (with ``--home``): a copy of the lake ``make run`` builds (its news tables and news caches
  left out, the saved company index kept), the article published on a date with no
  stored article within the story window (the sentence encoder is not needed);
- ``master, busy window`` (with ``--home``): published now, next to articles added by the runs before it (the story
  stage loads the sentence encoder).
- ``master, server running`` (with ``--home``): the same, with ``marketwire serve`` running on that home: the
  command hands the file to the server (serve/local.py), which has the models loaded (one warm-up article first).

The cases without a server set ``MARKETWIRE_NO_SERVER=1`` so that a server left running cannot take their work.

The CPU column is the command's own user + system time (with a server running, the server's work is not in it).

``--before SRC`` runs the empty-lake case with another source tree too (e.g. the main branch's ``src``), as the peer
measured in the same run. The load average is printed: on a shared machine every figure moves with it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

TEXT = ("Siemens hebt Prognose an\n"
        "München (dpa) - Siemens hat nach einem starken Quartal seine Prognose angehoben ({i}).\n"
        "Die Aktie legte im DAX um drei Prozent zu, auch Volkswagen und Bayer gewannen.\n")


#: CPU seconds (user + system) of each measured process, by case: other work on the machine inflates the wall time
#: far more than the CPU time
CPU: dict[str, list[float]] = {}


def run_once(src: str, home: str, path: Path, published: str | None, server: bool = False,
             case: str | None = None) -> float:
    cmd = [sys.executable, "-m", "marketwire.cli", "--home", home, "news", "add", str(path)]
    if published:
        cmd += ["--published", published]
    env = {**os.environ, "PYTHONPATH": src}
    if not server:
        env["MARKETWIRE_NO_SERVER"] = "1"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if case is not None:
        CPU.setdefault(case, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if r.returncode != 0 or not r.stdout.strip().startswith("MWA"):
        raise SystemExit(f"run failed ({r.returncode}): {r.stdout}\n{r.stderr}")
    return dt


def scenario(name: str, src: str, runs: int, home: str | None, published: str | None, tmp: Path,
             server: bool = False) -> tuple[str, list[float]]:
    times = []
    for i in range(runs):
        f = tmp / f"{name.replace(' ', '_').replace(',', '')}-{i}-{time.time_ns()}.txt"
        f.write_text(TEXT.format(i=f"{name} {i} {time.time_ns()}"), encoding="utf-8")
        h = home or str(tmp / f"home-{i}-{time.time_ns()}")
        pub = published.replace("{i:02d}", f"{i + 1:02d}") if published else None
        times.append(run_once(src, h, f, pub, server, case=name))
        if home is None:
            shutil.rmtree(h, ignore_errors=True)
    return name, times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--home", default=None, help="a lake with the reference master (make run)")
    ap.add_argument("--before", default=None, help="another src tree to measure on the empty lake")
    a = ap.parse_args(argv)
    src = str(Path(__file__).resolve().parents[1] / "src")
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mw-coldstart-") as d:
        tmp = Path(d)
        if a.before:
            rows.append(("before", *scenario("empty lake", a.before, a.runs, None, None, tmp)))
        rows.append(("this tree", *scenario("empty lake", src, a.runs, None, None, tmp)))
        if a.home:
            home = _copy_without_news(Path(a.home), tmp / "home")
            # warm the master's company index once (built once per master version, then loaded from the cache)
            run_once(src, home, _file(tmp, "warm"), "1990-01-01")
            rows.append(("this tree", *scenario("master, quiet window", src, a.runs, home, "1991-{i:02d}-15", tmp)))
            rows.append(("this tree", *scenario("master, busy window", src, a.runs, home, None, tmp)))
            with _server(src, home):
                run_once(src, home, _file(tmp, "warm-server"), None, server=True)  # the server loads its models
                rows.append(("this tree", *scenario("master, server running", src, a.runs, home, None, tmp,
                                                    server=True)))
    load1 = os.getloadavg()
    print(f"load average (1 min) before / after: {load0[0]:.1f} / {load1[0]:.1f} on {os.cpu_count()} cores")
    print("| code | case | runs | median (s) | min (s) | max (s) | CPU s of the command (median) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for code, name, ts in rows:
        cpu = CPU.get(name) if code == "this tree" or not a.before else None
        c = f"{statistics.median(cpu[-len(ts):]):.2f}" if cpu else "-"
        print(f"| {code} | {name} | {len(ts)} | {statistics.median(ts):.2f} | {min(ts):.2f} | {max(ts):.2f} | {c} |")
    return 0


@contextlib.contextmanager
def _server(src: str, home: str) -> Iterator[None]:
    """``marketwire serve`` on a free loopback port of ``home``, until its run file is written and it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "marketwire.cli", "--home", home, "serve", "--port", str(port)],
                            env={**os.environ, "PYTHONPATH": src}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=5)
                break
            except OSError:
                time.sleep(0.25)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _copy_without_news(home: Path, to: Path) -> str:
    """A copy of the lake at ``home`` as ``make run`` leaves it: its news tables and news caches left out (the
    saved company index kept), so that every run of this benchmark starts from the same state and the user's own
    lake is never written to."""
    def skip(folder: str, names: list[str]) -> set[str]:
        f = Path(folder)
        if f == home / "lake":
            return {n for n in names if n.startswith("news_")}
        if f == home / "cache" / "news":
            return {n for n in names if not n.startswith("companies-")}
        if f == home / "cache":
            return {n for n in names if n == "models"}
        if f == home:
            return {n for n in names if n == "run"}
        return set()

    shutil.copytree(home, to, ignore=skip)
    return str(to)


def _file(tmp: Path, tag: str) -> Path:
    f = tmp / f"{tag}-{time.time_ns()}.txt"
    f.write_text(TEXT.format(i=f"{tag} {time.time_ns()}"), encoding="utf-8")
    return f


if __name__ == "__main__":
    raise SystemExit(main())
