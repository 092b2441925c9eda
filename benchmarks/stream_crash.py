"""Crash safety of the realtime path: ``kill -9`` at random points during a replay and during the end-of-day roll.

Each trial, in a fresh home:

1. a child process replays the files and journals, after every chunk, the log's acknowledged end (an offset is
   acknowledged once its frame is fsynced); it is killed with SIGKILL at a random instant of the replay, counted
   from its start (even trials) or from its first acknowledgement (odd trials, so that most kills fall after
   acknowledged events);
2. the log is reopened (recovery truncates a torn tail): every offset the child had journalled as acknowledged must
   still be there;
3. a second child resumes the replay to the end; the log must then hold exactly the events of an uninterrupted
   replay, each once (compared as the multiset of (file, kind, position, row-in-message) of every event);
4. a child rolls the log into the lake and is killed at a random instant of the roll; a rerun completes it; the
   lake's trades and quotes must hold each log event exactly once (unique ``log_offset``, same counts).

    PYTHONPATH=src .venv/bin/python benchmarks/stream_crash.py [--trials 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.conftest import shared_data  # noqa: E402

CHILD_REPLAY = """
import sys, marketwire
mw = marketwire.open(sys.argv[1])
files = sys.argv[3:]
journal = open(sys.argv[2], "a")
import time
journal.write("start\\n"); journal.flush()
t0 = time.perf_counter()
def progress(rep):
    journal.write(f"{mw.stream.log.acked}\\n"); journal.flush()
rep = mw.stream.replay(files, progress=progress)
journal.write(f"{mw.stream.log.acked}\\nelapsed {time.perf_counter() - t0}\\n"); journal.flush()
"""
CHILD_ROLL = """
import sys, time, marketwire
mw = marketwire.open(sys.argv[1])
journal = open(sys.argv[2], "a")
journal.write("start\\n"); journal.flush()
t0 = time.perf_counter()
mw.stream.roll()
journal.write(f"elapsed {time.perf_counter() - t0}\\n"); journal.flush()
print("rolled")
"""


def default_files() -> list[str]:
    base = shared_data() / "realtime"
    lean = sorted(glob.glob(str(base / "lean" / "equity" / "usa" / "tick" / "ibm" / "2013100[78]_*.zip")))
    lean += sorted(glob.glob(str(base / "lean" / "equity" / "usa" / "tick" / "bac" / "20131007_trade.zip")))
    binance = sorted(glob.glob(str(base / "hftbacktest_binance_ws" / "spot" / "btcusdt_20240808.gz")))
    return lean + binance


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def _acked(journal: Path) -> int:
    return max((int(x) for x in journal.read_text().split() if x.isdigit()), default=0) if journal.exists() else 0


def run_child(code: str, args: list[str], kill_after: float | None, journal: Path | None = None,
              after_first_ack: bool = False) -> tuple[bool, float]:
    """Run ``code``; with ``kill_after``, SIGKILL it that many seconds after it journals ``start`` (its work
    begins: interpreter start-up excluded), or with ``after_first_ack`` after its first acknowledged event.
    Returns (killed before it finished, seconds)."""
    t0 = time.perf_counter()
    mark = journal.read_text().count("start") if journal is not None and journal.exists() else 0
    p = subprocess.Popen([sys.executable, "-c", code, *args], env=env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    if kill_after is not None and journal is not None:
        while p.poll() is None and (not journal.exists() or journal.read_text().count("start") <= mark):
            time.sleep(0.005)
        before = _acked(journal) if after_first_ack else 0
        while after_first_ack and p.poll() is None and _acked(journal) <= before:
            time.sleep(0.005)
    if kill_after is None:
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"child failed: {err.decode()[-2000:]}")
        return False, time.perf_counter() - t0
    try:
        p.wait(timeout=kill_after)
        return False, time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        return True, time.perf_counter() - t0


def fingerprint(home: Path) -> np.ndarray:
    """Every event of the log as (file index, kind, position, row within its message), sorted."""
    from marketwire.stream.events import KIND_CODE
    from marketwire.stream.log import Log
    import pyarrow.compute as pc

    log = Log(home / "stream" / "log")
    names: dict[str, int] = {}
    parts = []
    for fr in log.frames():
        meta = json.loads(log.meta(fr))
        fid = names.setdefault(meta["f"], len(names))
        b = log.batch(fr)
        pos = b.column("position").to_numpy()
        # row within its message: events sharing a position are numbered in order
        starts = np.r_[0, np.flatnonzero(np.diff(pos)) + 1]
        within = np.arange(len(pos)) - np.repeat(starts, np.diff(np.r_[starts, len(pos)]))
        parts.append(np.stack([np.full(len(pos), fid), np.full(len(pos), KIND_CODE[fr.kind]), pos, within], 1))
    log.close()
    if not parts:
        return np.zeros((0, 4), np.int64)
    a = np.concatenate(parts).astype(np.int64)
    return a[np.lexsort(a.T[::-1])]


def lake_check(home: Path) -> dict:
    import marketwire
    from marketwire.datasets.stream import QUOTES, TRADES

    mw = marketwire.open(home)
    log = mw.stream.log
    want = {"trade": 0, "quote": 0}
    for fr in log.frames():
        if fr.kind in want:
            want[fr.kind] += fr.count
    got = {}
    for kind, ds in (("trade", TRADES), ("quote", QUOTES)):
        if not mw.lake.exists(ds):
            got[kind] = (0, 0)
            continue
        t = mw.lake.dataset(ds).to_table(columns=["log_offset"])
        off = t.column("log_offset").to_numpy()
        got[kind] = (len(off), len(np.unique(off)))
    ok = all(got[k] == (want[k], want[k]) for k in want)
    return {"ok": ok, "want": want, "got": got}


def trial(files: list[str], tmp: Path, reference: np.ndarray, replay_s: float, roll_s: float,
          rng: random.Random, after_first_ack: bool = False) -> dict:
    home = tmp / f"home{rng.randrange(1 << 30)}"
    journal = tmp / (home.name + ".journal")
    kill_at = rng.uniform(0.0, replay_s)
    killed, _ = run_child(CHILD_REPLAY, [str(home), str(journal), *files], kill_at, journal, after_first_ack)
    acked = [int(x) for x in journal.read_text().split() if x.isdigit()] if journal.exists() else []
    last_acked = max(acked, default=0)
    from marketwire.stream.log import Log

    log = Log(home / "stream" / "log")
    recovered, torn = log.end, log.truncated_bytes
    log.close()
    survived = recovered >= last_acked
    run_child(CHILD_REPLAY, [str(home), str(journal), *files], None)  # resume to the end
    fp = fingerprint(home)
    exactly_once = fp.shape == reference.shape and bool((fp == reference).all())
    roll_kill = rng.uniform(0.0, roll_s)
    roll_killed, _ = run_child(CHILD_ROLL, [str(home), str(journal)], roll_kill, journal)
    run_child(CHILD_ROLL, [str(home), str(journal)], None)
    lake = lake_check(home)
    shutil.rmtree(home, ignore_errors=True)
    return {"kill_at_s": round(kill_at, 3), "killed": killed, "acked_before_kill": last_acked,
            "log_after_restart": recovered, "torn_bytes": torn, "acked_survived": survived,
            "exactly_once_after_resume": exactly_once, "events": int(fp.shape[0]),
            "roll_kill_at_s": round(roll_kill, 3), "roll_killed": roll_killed, "lake_exactly_once": lake["ok"],
            "lake": lake["got"]}


def calibrate(files: list[str], tmp: Path, in_process: bool = False) -> tuple[np.ndarray, float, float]:
    """The uninterrupted replay's events and the seconds a replay and a roll take (``in_process``: run here,
    without the start-up of two more interpreters)."""
    home = tmp / "reference"
    j = tmp / "ref.journal"
    if in_process:
        import marketwire

        mw = marketwire.open(home)
        t0 = time.perf_counter()
        mw.stream.replay(files)
        replay_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        mw.stream.roll()
        roll_s = time.perf_counter() - t0
        mw.stream.close()
    else:
        run_child(CHILD_REPLAY, [str(home), str(j), *files], None)
        replay_s = float(j.read_text().split("elapsed ")[-1].split()[0])
        run_child(CHILD_ROLL, [str(home), str(j)], None)
        roll_s = float(j.read_text().split("elapsed ")[-1].split()[0])
    ref = fingerprint(home)
    assert lake_check(home)["ok"]
    shutil.rmtree(home, ignore_errors=True)
    return ref, replay_s, roll_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    files = default_files()
    if not files:
        sys.exit(f"no realtime files under {shared_data()}")
    tmp = Path(tempfile.mkdtemp(prefix="mw-stream-crash-"))
    rng = random.Random(a.seed)
    ref, replay_s, roll_s = calibrate(files, tmp)
    print(f"reference: {ref.shape[0]:,} events from {len(files)} files; replay {replay_s:.1f} s, roll {roll_s:.1f} s "
          f"(work after start-up, in child processes); load {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    for i in range(a.trials):
        r = trial(files, tmp, ref, replay_s, roll_s, rng, after_first_ack=i % 2 == 1)
        rows.append(r)
        print(i + 1, r, flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    keys = ("killed", "acked_survived", "exactly_once_after_resume", "roll_killed", "lake_exactly_once")
    print("\n| trials | killed mid-replay | of them with acknowledged events | acknowledged events all present | "
          "exactly once after resume | killed mid-roll | lake exactly once after rerun |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with_ack = sum(bool(r["killed"] and r["acked_before_kill"] > 0) for r in rows)
    counts = [str(sum(bool(r[k]) for r in rows)) for k in keys]
    print(f"| {len(rows)} | {counts[0]} | {with_ack} | " + " | ".join(counts[1:]) + " |")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores)")
    if not all(r["acked_survived"] and r["exactly_once_after_resume"] and r["lake_exactly_once"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
