#!/usr/bin/env python
"""Mutation testing of the heuristics with cosmic-ray: does the suite notice when a threshold or a decision moves?

For each module below, a throw-away copy of ``src/`` and ``tests/`` is made, cosmic-ray mutates the module there one
mutant at a time and runs the module's tests; a mutant the tests do not fail on *survives*. The operators kept are
the ones that move a decision: every number literal (thresholds), comparison operators, + and -, * and /, ``not``,
``and``/``or``, ``True``/``False``, ``break``/``continue`` and emptied loops. Variable insertion, exception and
decorator operators are left out (they produce mostly equivalent or crashing mutants).

Usage (from the repository root)::

    .venv/bin/python tools/mutation.py news/dedup.py             # one module
    .venv/bin/python tools/mutation.py --all                     # every module below (hours on 2 cores)
    .venv/bin/python tools/mutation.py news/dedup.py --count     # only count the mutants

Results go to ``benchmarks/out/mutation-<module>.json`` (every mutant: operator, line, outcome) and a table to
stdout; docs/mutation.md lists the survivors with the reason each is kept. A run can be stopped and resumed: the
copy and cosmic-ray's session live in ``--work`` (default /var/tmp/mw-mutation/<module>) until the module is done,
and a resumed run continues with the mutants not yet tested (``--fresh`` starts over, e.g. after a code change).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
PY = sys.executable

#: module (under src/marketwire) -> the tests that guard it
MODULES: dict[str, list[str]] = {
    "prices/verify.py": ["tests/unit/test_prices.py", "tests/unit/test_price_rule_boundaries.py"],
    "identity/lineage.py": ["tests/unit/test_lineage.py"],
    "news/gazetteer/companies.py": ["tests/unit/test_news_entities.py"],
    "news/dedup.py": ["tests/unit/test_news_lang_dedup.py"],
    "news/stories.py": ["tests/unit/test_news_stories.py"],
    "news/entities.py": ["tests/unit/test_news_entities.py"],
    "news/summarize.py": ["tests/unit/test_news_summarize.py"],
}
KEEP = ("NumberReplacer", "ReplaceComparisonOperator", "ReplaceBinaryOperator_Add_Sub", "ReplaceBinaryOperator_Sub_Add",
        "ReplaceBinaryOperator_Mul_Div", "ReplaceBinaryOperator_Div_Mul", "AddNot", "ReplaceAndWithOr",
        "ReplaceOrWithAnd", "ReplaceTrueWithFalse", "ReplaceFalseWithTrue", "ReplaceBreakWithContinue",
        "ReplaceContinueWithBreak", "ZeroIterationForLoop")


def excluded_operators() -> list[str]:
    names = subprocess.run([str(Path(PY).parent / "cosmic-ray"), "operators"], capture_output=True, text=True,
                           check=True).stdout.split()
    return [f"^{n}$" for n in names if not any(n.removeprefix("core/").startswith(k) for k in KEEP)]


def config(module: str, tests: list[str], data: str) -> str:
    cmd = (f"env PYTHONPATH=src MARKETWIRE_DATA={data} {PY} -m pytest -x -q -p no:cacheprovider "
           f"-p no:randomly {' '.join(tests)}")
    excl = ", ".join(json.dumps(e) for e in excluded_operators())
    return (f'[cosmic-ray]\nmodule-path = "src/marketwire/{module}"\ntimeout = 300.0\nexcluded-modules = []\n'
            f'test-command = {json.dumps(cmd)}\n\n[cosmic-ray.distributor]\nname = "local"\n\n'
            f'[cosmic-ray.filters.operators-filter]\nexclude-operators = [{excl}]\n')


def run(module: str, count_only: bool, data: str, root: Path, fresh: bool) -> dict:
    tests = MODULES[module]
    work = root / module.replace("/", "_").removesuffix(".py")
    bin_ = Path(PY).parent
    env = {**os.environ, "PYTHONPATH": "src"}
    if fresh or not (work / "session.sqlite").exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        shutil.copytree(REPO / "src", work / "src")
        shutil.copytree(REPO / "tests", work / "tests")
        shutil.copy(REPO / "pyproject.toml", work / "pyproject.toml")
        (work / "cr.toml").write_text(config(module, tests, data))
        subprocess.run([str(bin_ / "cosmic-ray"), "init", "cr.toml", "session.sqlite"], cwd=work, env=env, check=True)
        subprocess.run([str(bin_ / "cr-filter-operators"), "session.sqlite", "cr.toml"], cwd=work, env=env,
                       check=True)
        subprocess.run([str(bin_ / "cr-filter-pragma"), "session.sqlite"], cwd=work, env=env, check=True)
    else:
        print(f"{module}: resuming the session in {work}", file=sys.stderr, flush=True)
    done = False
    try:
        db = sqlite3.connect(work / "session.sqlite")
        todo = db.execute("SELECT count(*) FROM mutation_specs m LEFT JOIN work_results r USING (job_id) "
                          "WHERE r.job_id IS NULL").fetchone()[0]
        print(f"{module}: {todo} mutants to run", file=sys.stderr, flush=True)
        if count_only:
            return {"module": module, "mutants": todo}
        # the unmutated tests must pass first, else every mutant would look killed
        base = subprocess.run(config(module, tests, data).split("test-command = ")[1].split("\n")[0].strip('"')
                              .replace('\\"', '"'), shell=True, cwd=work, capture_output=True, text=True)
        if base.returncode != 0:
            raise SystemExit(f"the tests of {module} fail before any mutation:\n{base.stdout[-2000:]}")
        t0 = time.perf_counter()
        subprocess.run([str(bin_ / "cosmic-ray"), "exec", "cr.toml", "session.sqlite"], cwd=work, env=env, check=True)
        rows = db.execute("SELECT m.operator_name, m.start_pos_row, m.occurrence, r.test_outcome, r.worker_outcome, "
                          "r.diff FROM mutation_specs m JOIN work_results r USING (job_id) "
                          "WHERE r.worker_outcome != 'SKIPPED' ORDER BY m.start_pos_row").fetchall()
        mutants = [{"operator": o.removeprefix("core/"), "line": line, "occurrence": occ, "outcome": t, "worker": w,
                    "diff": d} for o, line, occ, t, w, d in rows]
        killed = sum(m["outcome"] == "KILLED" for m in mutants)
        survived = [m for m in mutants if m["outcome"] == "SURVIVED"]
        result = {"module": module, "tests": tests, "mutants": len(mutants), "killed": killed,
                  "survived": len(survived), "score": killed / len(mutants) if mutants else None,
                  "seconds": round(time.perf_counter() - t0, 1), "results": mutants}
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"mutation-{module.replace('/', '_').removesuffix('.py')}.json").write_text(json.dumps(result, indent=1))
        done = True
        return result
    finally:
        if done:
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help=f"modules under src/marketwire: {', '.join(MODULES)}")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--count", action="store_true", help="only count the mutants")
    ap.add_argument("--work", type=Path, default=Path("/var/tmp/mw-mutation"),
                    help="where the copies and sessions live until a module is done")
    ap.add_argument("--fresh", action="store_true", help="start the named modules over")
    ap.add_argument("--data", default=os.environ.get("MARKETWIRE_DATA", str(REPO.parent / "shared" / "data")))
    args = ap.parse_args()
    modules = list(MODULES) if args.all else args.modules
    unknown = [m for m in modules if m not in MODULES]
    if unknown or not modules:
        ap.error(f"name modules from: {', '.join(MODULES)}" + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    print("| module | mutants | killed | survived | score | seconds |\n|---|---:|---:|---:|---:|---:|")
    for m in modules:
        r = run(m, args.count, args.data, args.work, args.fresh)
        if args.count:
            print(f"| {m} | {r['mutants']} | | | | |")
        else:
            print(f"| {m} | {r['mutants']} | {r['killed']} | {r['survived']} | {r['score']:.1%} | {r['seconds']} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
