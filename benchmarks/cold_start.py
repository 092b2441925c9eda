"""Cold start of the CLI: wall time of fresh processes, the median of several runs, with reference rows.

    python benchmarks/cold_start.py --home .marketwire [--runs 9]

Rows:

- ``python -c pass``: the interpreter alone (the floor of any Python command);
- ``marketwire --version``: the CLI's own start (click, the package, no lake);
- ``import numpy, pyarrow, polars, duckdb``: the libraries a lookup reads the lake's lookup index with, imported
  and nothing else (what a resolve costs before it does any work);
- ``marketwire resolve AAPL``: one lookup on the lake, from a fresh process (the lookup caches of the lake state
  already built, as after `make run`; the files in the operating system's page cache after the warm-up run).
The target of issue 11: ``marketwire resolve AAPL`` <= 0.4 s. Each row runs ``--runs`` times after one warm-up
run; the table gives the median, the fastest and the slowest wall time, the first (warm-up) run, the median CPU
time (user + system: other work on the machine inflates it far less than the wall time), and the load average of
the machine before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, list[float], list[float]]:
    """Wall seconds of ``cmd``: the first run (warm-up), then ``runs`` runs; and the CPU seconds (user + system)
    of those runs, which other work on the machine inflates far less than the wall time."""
    wall, cpu = [], []
    for _ in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if r.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return wall[0], wall[1:], cpu[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=Path(".marketwire"), help="a lake built by `make run`")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--id", default="AAPL")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the marketwire source tree to measure")
    args = ap.parse_args()
    if not (args.home / "lake").is_dir():
        raise SystemExit(f"no lake at {args.home}: build one with `make run` (or tools/load_reference.sh)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETWIRE_")}
    env["PYTHONPATH"] = str(args.src)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: the warm-up run leaves the bytecode of the tree
    py = sys.executable
    cli = [py, "-c", "from marketwire.cli import run; run()"]
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ("marketwire --version", [*cli, "--version"]),
        ("import numpy, pyarrow, polars, duckdb (nothing else)", [py, "-c", "import numpy, pyarrow, polars, duckdb"]),
        (f"marketwire resolve {args.id}", [*cli, "--home", str(args.home), "resolve", args.id]),
    ]
    load = os.getloadavg()[0]
    print(f"cold start, {args.runs} runs each after one warm-up; load average before: {load:.2f} "
          f"({os.cpu_count()} cores); source tree {args.src}")
    print()
    print("| command | median s | min s | max s | first s | CPU s (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, cmd in rows:
        first, runs, cpu = timed(cmd, env, args.runs)
        print(f"| `{name}` | {statistics.median(runs):.3f} | {min(runs):.3f} | {max(runs):.3f} | {first:.3f} | "
              f"{statistics.median(cpu):.3f} |")
    print()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
