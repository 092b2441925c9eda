#!/usr/bin/env python
"""Crash and concurrency trials of marketwire's ingests, as an operator's bad day would run them.

**Crash trials**: each trial copies a prepared home, runs a sequence of real ingest commands (``marketwire`` in a
child process), kills one of them with ``kill -9`` at a random moment, and then

1. runs the next command (opening the home and asking questions, :func:`answers`): it must succeed, find no
   problem (``check``: tables readable, no duplicate records, the master current), and answer as a clean run of
   the commands before the killed one, or through it (for reference data, where a delivery is one commit);
2. runs the killed command again and the rest of the sequence, then asks again: the answers, the live record
   counts and the duplicate counts must equal those of a clean run of the whole sequence.

No manual ``rebuild`` anywhere. Kinds: ``reference`` (Nasdaq Trader directories of 2026 and the SEC ticker map
over a home holding the ISO tables and the 2015 directories), ``prices`` (Kaggle daily price files) and ``news``
(``news add`` of article pages).

**Concurrency**: four ingests of the same files started at once (separate processes) into one home, for the Kaggle
price files and for reference directories: the records stored, live keys and duplicates must equal one clean run.

Prints a table per part. Data from ``$MARKETWIRE_DATA`` (default ``../shared/data``); work under ``--work``.

    python tools/crash_trials.py --trials 21 --price-files 100
    python tools/crash_trials.py --trials 3 --kinds reference --no-concurrency     # a quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MARKETWIRE_DATA") or ROOT.parent / "shared" / "data")
SM = DATA / "securities_master"
KAGGLE = DATA / "prices" / "huge_stock_market_dataset"
PAGES = DATA / "news-eval" / "extraction-benchmark" / "html"

#: identifiers resolved on a day, the questions a reference trial asks
RESOLVE = [("AI", "2026-08-01"), ("AI", "2015-01-10"), ("AAPL", "2026-08-01"), ("IBM", "2015-01-10"),
           ("MSFT", "2026-08-20"), ("TSLA", "2026-08-01"), ("0000320193", "2026-08-20")]
#: datasets whose live records are counted
COUNTED = ["ref_observations", "issuers", "securities", "listings", "identifiers", "ref_flags", "quarantine",
           "bars_daily", "price_listings", "corporate_actions", "news_articles", "id_registry"]


def mw_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "marketwire.cli", *args]


def run(home: Path, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARKETWIRE_HOME": str(home)}
    p = subprocess.run(mw_cmd(*args), env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"marketwire {' '.join(args)} exited {p.returncode}: {p.stderr[-2000:]}")
    return p


def ask(home: Path, kind: str) -> dict[str, Any]:
    """The next command after an ingest: a child process that opens the home and answers (see :func:`answers`)."""
    env = {**os.environ, "MARKETWIRE_HOME": str(home)}
    p = subprocess.run([sys.executable, __file__, "--answers", kind, str(home)], env=env, capture_output=True,
                       text=True)
    if p.returncode != 0:
        return {"error": p.stderr[-1500:]}
    return dict(json.loads(p.stdout))


def answers(kind: str, home: str) -> dict[str, Any]:
    """Open ``home`` (which repairs what a killed command left) and answer the questions of ``kind``, with the
    check of the home, live record counts and duplicate counts."""
    import marketwire
    from marketwire.datasets import get
    from marketwire.errors import MarketwireError
    from marketwire.identity.master import master_state
    from marketwire.store import Lake

    # what the killed command left, before opening the home repairs it
    found = master_state(Lake(Path(home) / "lake")).status
    with open(Path(home).parent / "found.jsonl", "a") as fh:
        fh.write(json.dumps({"home": Path(home).name, "master": found}) + "\n")
    mw = marketwire.open(home)
    out: dict[str, Any] = {"questions": {}, "found": found}
    q = out["questions"]
    if kind == "reference":
        for ident, day in RESOLVE:
            try:
                q[f"resolve {ident} {day}"] = sorted(
                    [{k: m.get(k) for k in ("listing_id", "security_id", "issuer_id", "ticker", "mic", "name", "status")}
                     for m in mw.resolve(ident, as_of=day)], key=lambda m: str(m["listing_id"]))
            except MarketwireError as e:
                q[f"resolve {ident} {day}"] = f"{e.code}: {e.message}"
    elif kind == "prices":
        for sym in ("aa", "aapl", "ba", "cvx", "gd", "ibm"):
            try:
                df = mw.prices(sym.upper(), output="polars")
                q[f"prices {sym}"] = [df.height, str(df["date"].max()), round(float(df["close"].sum()), 4)]
            except MarketwireError as e:
                q[f"prices {sym}"] = f"{e.code}"
    elif kind == "news":
        arts = mw.news.list(limit=1000)
        q["news list"] = sorted([a.id, a.title, a.story_id is not None] for a in arts)
    rep = mw.check(repair=False)
    out["problems"] = rep["problems"]
    out["duplicates"] = {t["dataset"]: t["duplicates"] for t in rep["tables"] if t["duplicates"]}
    out["rows"] = {t["dataset"]: t["rows"] for t in rep["tables"]}
    live = {}
    for name in COUNTED:
        ds = get(name)
        if mw.lake.exists(ds):
            t = mw.lake.read(ds, columns=["retracted"] if "retracted" in ds.columns else [ds.key[0]])
            live[name] = t.num_rows - (sum(bool(x) for x in t.column("retracted").to_pylist())
                                       if "retracted" in t.column_names else 0)
    out["live"] = live
    return out


# -- scenarios ---------------------------------------------------------------------------------------------------

def reference_scenario() -> tuple[list[list[str]], list[list[str]]]:
    base = [["ingest", "mic", *map(str, sorted(SM.glob("ISO10383_MIC_*.csv")))],
            ["ingest", "iso3166", *map(str, sorted(SM.glob("iso3166-1_*.json")))],
            ["ingest", "iso4217", *map(str, sorted(SM.glob("iso4217_*.xml")))],
            ["ingest", "nasdaqtrader", str(SM / "nasdaq-listed-symbols_2015-01-10.csv"),
             str(SM / "nasdaqtrader-other-listed_2015-01-10.csv")]]
    steps = [["ingest", "nasdaqtrader", str(SM / "nasdaq-listed-symbols_2026-08-01.csv"),
              str(SM / "nasdaqtrader-other-listed_2026-08-22.csv"), str(SM / "nyse-listed_2026-08-22.csv")],
             ["ingest", "sec-tickers", str(SM / "sec_company_tickers.json"), "--as-of", "2026-08-16"]]
    return base, steps


def price_files(n: int) -> list[str]:
    files = sorted(KAGGLE.glob("Stocks/*.txt")) + sorted(KAGGLE.glob("ETFs/*.txt"))
    return [str(f) for f in files[:n]]


def prices_scenario(n: int) -> tuple[list[list[str]], list[list[str]]]:
    return [], [["ingest", "prices-csv", *price_files(n), "--preset", "kaggle"]]


def news_pages(work: Path, n: int) -> list[str]:
    folder = work / "pages" / "wire"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted(PAGES.glob("*.html.gz"))[:n]:
        dst = folder / src.name[:-3]
        if not dst.exists():
            dst.write_bytes(gzip.decompress(src.read_bytes()))
        out.append(str(dst))
    return out


def news_scenario(work: Path, n: int) -> tuple[list[list[str]], list[list[str]]]:
    pages = news_pages(work, n)
    half = len(pages) // 2
    return [], [["news", "add", *pages[:half]], ["news", "add", *pages[half:]]]


# -- crash trials ------------------------------------------------------------------------------------------------

def comparable(a: dict[str, Any]) -> dict[str, Any]:
    return {"questions": a.get("questions"), "live": a.get("live"), "duplicates": a.get("duplicates")}


def prepare(work: Path, kind: str, base: list[list[str]], steps: list[list[str]]) -> dict[str, Any]:
    """The base home, and a clean run's answers after each step (with each step's duration)."""
    home = work / f"base-{kind}"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    for cmd in base:
        run(home, cmd)
    clean = work / f"clean-{kind}"
    if clean.exists():
        shutil.rmtree(clean)
    shutil.copytree(home, clean, symlinks=True)
    prefix = [ask(clean, kind)]
    durations = []
    for cmd in steps:
        t0 = time.monotonic()
        run(clean, cmd)
        durations.append(time.monotonic() - t0)
        prefix.append(ask(clean, kind))
    shutil.rmtree(clean)
    return {"home": home, "prefix": prefix, "durations": durations}


def trial(work: Path, n: int, kind: str, prep: dict[str, Any], steps: list[list[str]],
          rng: random.Random) -> dict[str, Any]:
    home = work / f"trial-{n:02d}-{kind}"
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(prep["home"], home, symlinks=True)
    k = rng.randrange(len(steps))
    for cmd in steps[:k]:
        run(home, cmd)
    delay = rng.uniform(0.4, 1.0) * prep["durations"][k]
    env = {**os.environ, "MARKETWIRE_HOME": str(home)}
    proc = subprocess.Popen(mw_cmd(*steps[k]), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = True
    after = ask(home, kind)
    state = "error" if "error" in after else next(
        (name for name, a in (("before", prep["prefix"][k]), ("after", prep["prefix"][k + 1]))
         if a.get("questions") == after.get("questions")), "between")
    for cmd in steps[k:]:  # the killed command again, then the rest of the sequence
        run(home, cmd)
    final = ask(home, kind)
    same = comparable(final) == comparable(prep["prefix"][-1])
    problems = after.get("problems", ["the command failed"]) + final.get("problems", [])
    ok = same and not problems and not final.get("duplicates") and "error" not in final
    # a reference delivery is one commit and its master is published whole: the next command answers as a clean
    # run before or after the killed command, never in between
    if kind == "reference" and state not in ("before", "after"):
        ok = False
    res = {"trial": n, "kind": kind, "step": " ".join(steps[k][:2]), "kill_at_s": round(delay, 1), "killed": killed,
           "master_found": after.get("found"), "after_kill": state, "problems_after_kill": len(after.get("problems", [])),
           "final_equals_clean": same, "duplicates": sum((final.get("duplicates") or {}).values()), "ok": ok}
    if not ok:
        res["detail"] = {"after": after, "final": comparable(final), "clean": comparable(prep["prefix"][-1])}
    shutil.rmtree(home, ignore_errors=True)
    return res


# -- concurrency --------------------------------------------------------------------------------------------------

def concurrent(work: Path, kind: str, base: list[list[str]], cmd: list[str], writers: int) -> dict[str, Any]:
    clean, home = work / f"conc-clean-{kind}", work / f"conc-{kind}"
    for h in (clean, home):
        if h.exists():
            shutil.rmtree(h)
    clean.mkdir(parents=True)
    for c in base:
        run(clean, c)
    shutil.copytree(clean, home, symlinks=True)
    t0 = time.monotonic()
    run(clean, cmd)
    one = time.monotonic() - t0
    env = {**os.environ, "MARKETWIRE_HOME": str(home)}
    t0 = time.monotonic()
    procs = [subprocess.Popen(mw_cmd(*cmd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(writers)]
    codes = [p.wait() for p in procs]
    many = time.monotonic() - t0
    a, b = ask(clean, kind), ask(home, kind)
    keys = sorted(set(a.get("rows", {})) | set(b.get("rows", {})))
    rows = {k: (a["rows"].get(k), b["rows"].get(k)) for k in keys if k in COUNTED}
    ok = (all(c == 0 for c in codes) and comparable(a) == comparable(b) and not b.get("duplicates")
          and all(x == y for x, y in rows.values()))
    shutil.rmtree(clean, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    return {"kind": kind, "writers": writers, "exit_codes": codes, "seconds_one": round(one, 1),
            "seconds_concurrent": round(many, 1), "rows_clean_vs_concurrent": rows,
            "duplicates": b.get("duplicates"), "answers_equal": comparable(a) == comparable(b), "ok": ok}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=21)
    ap.add_argument("--kinds", default="reference,prices,news")
    ap.add_argument("--price-files", type=int, default=100, help="Kaggle files in the price trials and concurrency")
    ap.add_argument("--crash-price-files", type=int, default=30, help="Kaggle files per price crash trial")
    ap.add_argument("--pages", type=int, default=10, help="news pages per news crash trial")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--work", default="/tmp/marketwire-crash-trials")
    ap.add_argument("--no-concurrency", action="store_true")
    ap.add_argument("--no-crash", action="store_true")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--answers", nargs=2, metavar=("KIND", "HOME"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.answers:
        print(json.dumps(answers(*args.answers), default=str))
        return 0
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    kinds = [k for k in args.kinds.split(",") if k]
    results: dict[str, Any] = {"crash": [], "concurrency": []}
    if not args.no_crash:
        scen = {"reference": reference_scenario(), "prices": prices_scenario(args.crash_price_files),
                "news": news_scenario(work, args.pages)}
        preps = {}
        for kind in kinds:
            t0 = time.monotonic()
            preps[kind] = prepare(work, kind, *scen[kind])
            print(f"prepared {kind}: clean run of {len(scen[kind][1])} step(s), durations "
                  f"{[round(d, 1) for d in preps[kind]['durations']]} s ({time.monotonic() - t0:.0f} s)", flush=True)
        for n in range(args.trials):
            kind = kinds[n % len(kinds)]
            r = trial(work, n, kind, preps[kind], scen[kind][1], rng)
            results["crash"].append(r)
            print(json.dumps({k: v for k, v in r.items() if k != "detail"}), flush=True)
            if "detail" in r:
                print(json.dumps(r["detail"], default=str)[:4000], flush=True)
        for kind in kinds:
            shutil.rmtree(preps[kind]["home"], ignore_errors=True)
    if not args.no_concurrency:
        ref_base, _ = reference_scenario()
        for kind, base, cmd in (("prices", [], prices_scenario(args.price_files)[1][0]),
                                ("reference", ref_base[:3], ref_base[3])):
            r = concurrent(work, kind, base, cmd, args.writers)
            results["concurrency"].append(r)
            print(json.dumps(r), flush=True)
    print()
    if results["crash"]:
        print("| trial | kind | killed step | kill at (s) | killed | master found | next command answers as | problems | "
              "final = clean | duplicates | ok |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in results["crash"]:
            print(f"| {r['trial']} | {r['kind']} | {r['step']} | {r['kill_at_s']} | {'yes' if r['killed'] else 'ended first'} "
                  f"| {r.get('master_found')} | clean run {r['after_kill']} it | {r['problems_after_kill']} | {r['final_equals_clean']} "
                  f"| {r['duplicates']} | {'ok' if r['ok'] else 'FAIL'} |")
        bad = [r for r in results["crash"] if not r["ok"]]
        print(f"\n{len(results['crash'])} trials, {sum(r['killed'] for r in results['crash'])} killed mid-command, "
              f"{len(bad)} failed")
    for r in results["concurrency"]:
        print(f"\nconcurrency {r['kind']}: {r['writers']} writers, exit codes {r['exit_codes']}, one run "
              f"{r['seconds_one']} s, concurrent {r['seconds_concurrent']} s, duplicates {r['duplicates'] or 0}, "
              f"answers equal {r['answers_equal']}: {'ok' if r['ok'] else 'FAIL'}")
        for name, (x, y) in r["rows_clean_vs_concurrent"].items():
            print(f"  {name}: {x} records in one clean run, {y} after {r['writers']} concurrent runs")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    failed = [r for r in results["crash"] + results["concurrency"] if not r["ok"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
