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

Per-mutant cost: cosmic-ray runs the test command once per mutant. A fresh ``python -m pytest`` would re-import the
third-party stack every time (datasketch, spaCy, numpy, polars: 3-6 s before the first test under load), so the test
command here is a tiny client of a *fork server*: one process imports every third-party module the guard tests import
(never ``marketwire`` itself), and forks a child per mutant that imports the mutated ``marketwire`` from the copy and
runs ``pytest.main``. The child runs the tests fastest first (durations from the unmutated run), stops at the first
failure (``-x``), runs only the tests that execute the statement the mutant changed (recorded by a line tracer in
the unmutated run; a change outside function bodies runs them all; a mutant no test executes survives without a
run) and is killed at 4x the unmutated run's time plus 20 s (a timeout counts as killed, as in
cosmic-ray). No bytecode is written, so a mutant never runs from a stale ``.pyc``.

Results go to ``benchmarks/out/mutation-<module>.json`` (every mutant: operator, line, outcome) and a table to
stdout; docs/mutation.md lists the survivors with the reason each is kept. A run can be stopped and resumed: the
copy and cosmic-ray's session live in ``--work`` (default /var/tmp/mw-mutation/<module>) and are kept after a run,
and a resumed run continues with the mutants not yet tested (``--fresh`` starts over, e.g. after a code change;
``--survivors`` re-tests only the survivors of a finished session against the current tests). A run also goes on
across machines: ``--export`` (or stopping a run with Ctrl-C or ``kill``) writes the results so far to ``benchmarks/out``
with ``complete: false``, the count of mutants remaining and the SHA-256 of the source mutated; a new session of that
same source takes those outcomes over and runs only the rest.
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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
PY = sys.executable

#: the most the fork server lets one mutant's tests run (a timeout counts as killed); cosmic-ray's own timeout is
#: set above it, so a mutant is only ever ended by the server, which stays up and answers the next one
SERVER_LIMIT = 1800.0

#: module (under src/marketwire) -> the tests that guard it
MODULES: dict[str, list[str]] = {
    "prices/verify.py": ["tests/unit/test_prices.py", "tests/unit/test_price_rule_boundaries.py"],
    "identity/lineage.py": ["tests/unit/test_lineage.py"],
    "news/gazetteer/companies.py": ["tests/unit/test_news_entities.py"],
    # the language-detection tests of that file (model loading, 12 s) guard news/lang.py, not dedup
    "news/dedup.py": [f"tests/unit/test_news_lang_dedup.py::{t}" for t in (
        "test_canonical_url", "test_content_hash_ignores_typography_only",
        "test_near_duplicates_found_and_distinct_articles_kept_apart", "test_same_subject_reports_kept_apart",
        "test_find_original_prefers_earliest_and_ignores_later_copies", "test_window_and_cap_bound_memory",
        "test_reports_sharing_only_a_lead_stay_apart_below_the_jaccard_threshold",
        "test_short_items_link_by_jaccard_alone_between_the_thresholds")],
    "news/stories.py": ["tests/unit/test_news_stories.py"],
    "news/entities.py": ["tests/unit/test_news_entities.py"],
    "news/summarize.py": ["tests/unit/test_news_summarize.py"],
}
# each module's targeted tests, written against its survivors, guard it as well
for _module, _tests in MODULES.items():
    _targeted = f"tests/unit/test_mutation_{Path(_module).stem}.py"
    if (REPO / _targeted).exists():
        _tests.append(_targeted)
KEEP = ("NumberReplacer", "ReplaceComparisonOperator", "ReplaceBinaryOperator_Add_Sub", "ReplaceBinaryOperator_Sub_Add",
        "ReplaceBinaryOperator_Mul_Div", "ReplaceBinaryOperator_Div_Mul", "AddNot", "ReplaceAndWithOr",
        "ReplaceOrWithAnd", "ReplaceTrueWithFalse", "ReplaceFalseWithTrue", "ReplaceBreakWithContinue",
        "ReplaceContinueWithBreak", "ZeroIterationForLoop")


def _probe_imports(tests: list[str], out: Path) -> None:
    """Child of the server: collect the tests once and write the top-level third-party modules they import."""
    import pytest

    pytest.main(["-q", "--collect-only", "-p", "no:cacheprovider", *tests])
    names = sorted({m.split(".")[0] for m in list(sys.modules) if not m.startswith(("marketwire", "tests", "conftest",
                                                                                        "test_", "_"))})
    out.write_text("\n".join(names))


class _Order:
    """pytest plugin: run the tests fastest first (durations of the unmutated run). In the unmutated run it records
    the durations and which test executes which line of the mutated module (a line tracer on that file only)."""

    def __init__(self, durations: Path, record: bool, target: Path | None = None):
        self.path, self.record = durations, record
        self.known = json.loads(durations.read_text()) if durations.exists() and not record else {}
        self.seen: dict[str, float] = {}
        self.current = "*"
        self.hits: dict[int, set[str]] = {}
        if record and target is not None:
            import threading

            name = str(target.resolve())

            def local(frame, event, arg):  # noqa: ARG001
                if event == "line":
                    self.hits.setdefault(frame.f_lineno, set()).add(self.current)
                return local

            def glob(frame, event, arg):  # noqa: ARG001
                if frame.f_code.co_filename == name:
                    self.hits.setdefault(frame.f_lineno, set()).add(self.current)
                    return local
                return None

            sys.settrace(glob)
            threading.settrace(glob)

    def pytest_collection_modifyitems(self, items: list) -> None:
        if self.known:
            items.sort(key=lambda it: self.known.get(it.nodeid, 1e9))

    def pytest_runtest_logstart(self, nodeid: str, location) -> None:  # noqa: ARG002
        self.current = nodeid

    def pytest_runtest_logreport(self, report) -> None:
        if self.record:
            self.seen[report.nodeid] = self.seen.get(report.nodeid, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        if self.record:
            sys.settrace(None)
            self.path.write_text(json.dumps(self.seen))
            lines = {str(k): sorted(v) for k, v in self.hits.items()}
            (self.path.parent / "lines.json").write_text(json.dumps(lines))


def _select(work: Path, original: str, current: str, tests: list[str]) -> tuple[list[str], list[int]]:
    """The tests that execute the statements a mutant changed (by the unmutated run's line record): a test that
    never runs the changed code cannot fail because of it. A change outside any function body (module constants,
    default arguments, class bodies: run at import) selects every test."""
    import ast
    import difflib

    changed: set[int] = set()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, original.splitlines(), current.splitlines(),
                                                     autojunk=False).get_opcodes():
        if tag != "equal":
            changed.update(range(i1 + 1, max(i2, i1 + 1) + 1))
    if not changed:
        return tests, []
    tree = ast.parse(original)
    in_body: set[int] = set()
    stmts: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            body = node.body if isinstance(node.body, list) else [node.body]
            in_body.update(range(body[0].lineno, node.end_lineno + 1))
        if isinstance(node, ast.stmt):
            stmts.append((node.lineno, node.end_lineno or node.lineno))
    if not changed <= in_body:
        return tests, sorted(changed)
    lines = json.loads((work / "lines.json").read_text())
    wanted: set[str] = set()
    for line in changed:  # every line of the innermost statement holding the change (multi-line expressions)
        inner = min((s for s in stmts if s[0] <= line <= s[1]), key=lambda s: s[1] - s[0], default=(line, line))
        for n in range(inner[0], inner[1] + 1):
            wanted.update(lines.get(str(n), []))
    if "*" in wanted:
        return tests, sorted(changed)
    return sorted(wanted), sorted(changed)


def serve(sock_path: Path, work: Path, tests: list[str], data: str, target: Path) -> None:
    """The fork server: pre-import the tests' third-party modules, then one forked pytest run per request."""
    import signal
    import socket

    os.chdir(work)
    os.environ.update({"PYTHONPATH": "src", "MARKETWIRE_DATA": data, "PYTHONDONTWRITEBYTECODE": "1"})
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(work / "src"))
    probe = work / "imports.txt"
    if (pid := os.fork()) == 0:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        _probe_imports(tests, probe)
        os._exit(0)
    os.waitpid(pid, 0)
    import importlib

    for name in probe.read_text().split():
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that cannot be pre-imported is imported by the child
            pass
    assert not any(m.startswith("marketwire") for m in sys.modules), "the server must not import marketwire"
    models = _SpacyModels(work / "spacy-loads.json")
    models.preload()
    durations = work / "durations.json"
    original = (work / "original.py").read_text()
    budget = [300.0]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock_path.unlink(missing_ok=True)
    srv.bind(str(sock_path))
    srv.listen(1)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        req = json.loads(conn.makefile().readline())
        if req.get("stop"):
            conn.close()
            break
        record = bool(req.get("baseline"))
        t0 = time.perf_counter()
        selected = tests
        if not record and (work / "lines.json").exists():
            current = target.read_text()
            selected, changed = _select(work, original, current, tests)
            if not selected:  # no test executes the changed code: the mutant survives without a run
                with open(work / "uncovered.log", "a") as f:
                    f.write(f"{changed}\n")
                conn.sendall(b"0\n")
                conn.close()
                continue
        if (pid := os.fork()) == 0:
            os.setpgid(0, 0)
            models.recording = record
            fd = os.open(work / ("baseline.log" if record else "last.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            import pytest

            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *selected],
                               plugins=[_Order(durations, record, target)])
            sys.stdout.flush()
            os._exit(int(code))
        status = None
        while status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(st)
            elif time.perf_counter() - t0 > budget[0]:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = 124  # timed out: counted as killed
                with open(work / "timeouts.log", "a") as f:
                    f.write(f"{time.strftime('%H:%M:%S')}\n")
            else:
                time.sleep(0.02)
        if record and status == 0:
            budget[0] = min(4 * (time.perf_counter() - t0) + 20, SERVER_LIMIT)
            models.preload()  # the models the unmutated run loaded: every later child gets them ready
        try:
            conn.sendall(f"{status}\n".encode())
        except OSError:  # the client went away (stopped run): the server stays up for the next mutant
            pass
        conn.close()


class _SpacyModels:
    """spaCy models loaded once by the server and handed to each forked child ready to use.

    Loading the three NER models costs a child seconds per mutant. The server wraps ``spacy.load``: the unmutated
    (recording) run writes the calls it made to ``calls`` (model name and keyword arguments), the server then loads
    those models itself, and a child's call with the same arguments gets the server's loaded copy (its own after
    the fork) the first time; any other call, or a second call with the same arguments in one child, loads as
    usual, so a child never shares one pipeline between two callers. A mutant that changes the arguments (say the
    components excluded) therefore loads its own model."""

    def __init__(self, calls: Path) -> None:
        self.calls = calls
        self.ready: dict[str, Any] = {}
        self.recording = False  # set in the child of the unmutated run
        try:
            import spacy
        except ImportError:
            self.spacy = None
            return
        self.spacy = spacy
        self.real = spacy.load
        spacy.load = self.load

    @staticmethod
    def key(name: Any, kwargs: dict[str, Any]) -> str | None:
        try:
            return json.dumps([str(name), kwargs], sort_keys=True)
        except (TypeError, ValueError):
            return None  # arguments that are not plain data: never shared

    def load(self, name: Any, *args: Any, **kwargs: Any) -> Any:
        key = None if args else self.key(name, kwargs)
        if key is not None and key in self.ready:
            return self.ready.pop(key)
        if key is not None and self.recording:
            with open(self.calls, "a") as f:
                f.write(key + "\n")
        return self.real(name, *args, **kwargs)

    def preload(self) -> None:
        if self.spacy is None or not self.calls.exists():
            return
        for key in dict.fromkeys(self.calls.read_text().split("\n")):
            if key and key not in self.ready:
                name, kwargs = json.loads(key)
                try:
                    self.ready[key] = self.real(name, **kwargs)
                except Exception:  # noqa: BLE001 - a model that does not load here is loaded (or fails) in the child
                    pass


def client(sock_path: Path, baseline: bool = False, stop: bool = False) -> int:
    """Ask the fork server to run the tests; its answer is the test run's exit code. Where the server cannot be
    reached or answers nothing, no outcome is made up (cosmic-ray would count any non-zero exit as a kill): the
    client writes ``server-lost`` beside the socket and stops the ``cosmic-ray exec`` it was started by (its
    process group), so the mutant stays unrun and the run ends with an error that says so."""
    import signal
    import socket

    answer = ""
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(str(sock_path))
        c.sendall((json.dumps({"baseline": baseline, "stop": stop}) + "\n").encode())
        answer = c.makefile().readline().strip()
    except OSError as exc:
        answer = f"error: {exc}"
    if stop:
        return 0
    if not answer.lstrip("-").isdigit():
        (sock_path.parent / "server-lost").write_text(f"{time.strftime('%H:%M:%S')} {answer or 'no answer'}\n")
        if not baseline and os.getpgrp() != os.getpid():
            os.killpg(os.getpgrp(), signal.SIGTERM)
        return 2
    return int(answer)


def excluded_operators() -> list[str]:
    names = subprocess.run([str(Path(PY).parent / "cosmic-ray"), "operators"], capture_output=True, text=True,
                           check=True).stdout.split()
    return [f"^{n}$" for n in names if not any(n.removeprefix("core/").startswith(k) for k in KEEP)]


def config(module: str, tests: list[str], data: str, sock: Path) -> str:
    cmd = f"{PY} {Path(__file__).resolve()} --client {sock}"
    excl = ", ".join(json.dumps(e) for e in excluded_operators())
    return (f'[cosmic-ray]\nmodule-path = "src/marketwire/{module}"\ntimeout = {SERVER_LIMIT + 600:.1f}\n'
            f'excluded-modules = []\n'
            f'test-command = {json.dumps(cmd)}\n\n[cosmic-ray.distributor]\nname = "local"\n\n'
            f'[cosmic-ray.filters.operators-filter]\nexclude-operators = [{excl}]\n')


def run(module: str, count_only: bool, data: str, root: Path, fresh: bool, survivors: bool = False) -> dict:
    tests = MODULES[module]
    work = root / _slug(module)
    bin_ = Path(PY).parent
    env = {**os.environ, "PYTHONPATH": "src"}
    sock = work / "server.sock"
    if fresh or not (work / "session.sqlite").exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(REPO / "src", work / "src", ignore=ignore)
        shutil.copytree(REPO / "tests", work / "tests", ignore=ignore)
        shutil.copy(REPO / "pyproject.toml", work / "pyproject.toml")
        shutil.copytree(REPO / "docs", work / "docs")  # tests that run the documented examples
        shutil.copy(REPO / "src" / "marketwire" / module, work / "original.py")
        (work / "cr.toml").write_text(config(module, tests, data, sock))
        subprocess.run([str(bin_ / "cosmic-ray"), "init", "cr.toml", "session.sqlite"], cwd=work, env=env, check=True)
        subprocess.run([str(bin_ / "cr-filter-operators"), "session.sqlite", "cr.toml"], cwd=work, env=env,
                       check=True)
        subprocess.run([str(bin_ / "cr-filter-pragma"), "session.sqlite"], cwd=work, env=env, check=True)
        if not fresh:
            taken = seed(module, work)
            if taken:
                print(f"{module}: {taken} outcomes taken over from the committed results of this source",
                      file=sys.stderr, flush=True)
    else:
        print(f"{module}: resuming the session in {work}", file=sys.stderr, flush=True)
        # the current tests (a resumed run after adding tests; --survivors after adding tests that target them)
        shutil.rmtree(work / "tests")
        shutil.copytree(REPO / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (work / "cr.toml").write_text(config(module, tests, data, sock))
        if not (work / "docs").exists():
            shutil.copytree(REPO / "docs", work / "docs")
        if not (work / "original.py").exists():
            shutil.copy(REPO / "src" / "marketwire" / module, work / "original.py")
        # a run stopped part way (killed, not Ctrl-C) can leave cosmic-ray's last mutant in the copy's module: the
        # session's unmutated source goes back before anything runs
        shutil.copy(work / "original.py", work / "src" / "marketwire" / module)
        if survivors:
            with sqlite3.connect(work / "session.sqlite") as db:
                db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
    done = False
    try:
        db = sqlite3.connect(work / "session.sqlite")
        todo = db.execute("SELECT count(*) FROM mutation_specs m LEFT JOIN work_results r USING (job_id) "
                          "WHERE r.job_id IS NULL").fetchone()[0]
        print(f"{module}: {todo} mutants to run", file=sys.stderr, flush=True)
        if count_only:
            return {"module": module, "mutants": todo}
        server = subprocess.Popen([PY, str(Path(__file__).resolve()), "--serve", str(sock), "--work", str(work),
                                   "--data", data, "--target", str(work / "src" / "marketwire" / module), "--",
                                   *tests], stdout=subprocess.PIPE, text=True)
        try:
            if server.stdout.readline().strip() != "ready":
                raise SystemExit(f"the fork server for {module} did not start")
            # the unmutated tests must pass first, else every mutant would look killed
            if client(sock, baseline=True) != 0:
                raise SystemExit(f"the tests of {module} fail before any mutation:\n"
                                 f"{(work / 'baseline.log').read_text()[-2000:]}")
            t0 = time.perf_counter()
            (work / "server-lost").unlink(missing_ok=True)
            try:
                # its own process group: a client that loses the server stops this exec (and only it)
                proc = subprocess.run([str(bin_ / "cosmic-ray"), "exec", "cr.toml", "session.sqlite"], cwd=work,
                                      env=env, start_new_session=True)
            except KeyboardInterrupt:  # stopped part way: what was run is kept for a later session to go on from
                export(module, work, tests, round(time.perf_counter() - t0, 1))
                raise
            lost_file = work / "server-lost"
            lost = lost_file.read_text().strip() if lost_file.exists() else ""
            if lost or proc.returncode != 0:
                export(module, work, tests, round(time.perf_counter() - t0, 1))
                raise SystemExit(f"{module}: the run stopped before its end (cosmic-ray exit {proc.returncode}"
                                 + (f"; fork server lost: {lost}" if lost else "") + "); the results so far are "
                                 "exported and a rerun goes on with the mutants not yet run")
        finally:
            client(sock, stop=True)
            server.wait(timeout=60)
        result = export(module, work, tests, round(time.perf_counter() - t0, 1))
        done = True
        return result
    finally:
        if done:  # keep the session (for --survivors), drop the copy of the sources' caches
            (work / "durations.json").unlink(missing_ok=True)


def _slug(module: str) -> str:
    return module.replace("/", "_").removesuffix(".py")


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(module: str, work: Path, tests: list[str], seconds: float | None = None) -> dict:
    """Write ``benchmarks/out/mutation-<module>.json`` from a session on disk, finished or not: every mutant run so
    far (operator, line, occurrence, outcome, diff), how many remain (``complete`` false while some do) and the
    SHA-256 of the source the session mutates, so that a later session of that same source takes the outcomes over
    (:func:`seed`) and runs only the rest."""
    db = sqlite3.connect(work / "session.sqlite")
    remaining = db.execute("SELECT count(*) FROM mutation_specs m LEFT JOIN work_results r USING (job_id) "
                           "WHERE r.job_id IS NULL").fetchone()[0]
    rows = db.execute("SELECT m.operator_name, m.start_pos_row, m.occurrence, r.test_outcome, r.worker_outcome, "
                      "r.diff FROM mutation_specs m JOIN work_results r USING (job_id) "
                      "WHERE r.worker_outcome != 'SKIPPED' ORDER BY m.start_pos_row").fetchall()
    db.close()
    mutants = [{"operator": o.removeprefix("core/"), "line": line, "occurrence": occ, "outcome": t, "worker": w,
                "diff": d} for o, line, occ, t, w, d in rows]
    killed = sum(m["outcome"] == "KILLED" for m in mutants)
    survived = sum(m["outcome"] == "SURVIVED" for m in mutants)
    result = {"module": module, "tests": tests, "mutants": len(mutants) + remaining, "run": len(mutants),
              "remaining": remaining, "complete": remaining == 0, "killed": killed, "survived": survived,
              "score": killed / (killed + survived) if killed + survived else None, "seconds": seconds,
              "source_sha256": _sha(work / "original.py"), "results": mutants}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"mutation-{_slug(module)}.json").write_text(json.dumps(result, indent=1))
    return result


def seed(module: str, work: Path) -> int:
    """Take over the outcomes of the committed results of this module (``benchmarks/out``) into a new session,
    when they were made on the very same source (SHA-256): a run spread over several machines or sessions goes on
    where it stopped. Killed mutants stay killed (tests are only added); survivors are re-tested by
    ``--survivors``. Returns how many were taken over."""
    path = OUT / f"mutation-{_slug(module)}.json"
    if not path.exists():
        return 0
    rec = json.loads(path.read_text())
    if rec.get("source_sha256") != _sha(work / "original.py"):
        return 0
    known = {(m["operator"], m["occurrence"], m["line"]): m for m in rec["results"]}
    db = sqlite3.connect(work / "session.sqlite")
    n = 0
    for job, op, occ, line in db.execute("SELECT job_id, operator_name, occurrence, start_pos_row "
                                         "FROM mutation_specs").fetchall():
        m = known.get((op.removeprefix("core/"), occ, line))
        if m is not None:
            db.execute("INSERT OR REPLACE INTO work_results (worker_outcome, output, test_outcome, diff, job_id) "
                       "VALUES (?, ?, ?, ?, ?)", (m["worker"], f"taken over from {path.name}", m["outcome"],
                                                  m["diff"], job))
            n += 1
    db.commit()
    db.close()
    return n


def status(module: str, root: Path) -> str:
    """One table row from a session on disk (finished or not): how far it got."""
    db_path = root / _slug(module) / "session.sqlite"
    if not db_path.exists():
        return f"| {module} | not run | | | | |"
    db = sqlite3.connect(db_path)
    total = db.execute("SELECT count(*) FROM mutation_specs m LEFT JOIN work_results r USING (job_id) "
                       "WHERE r.worker_outcome IS NULL OR r.worker_outcome != 'SKIPPED'").fetchone()[0]
    got = dict(db.execute("SELECT test_outcome, count(*) FROM work_results WHERE worker_outcome != 'SKIPPED' "
                          "GROUP BY 1").fetchall())
    killed, survived = got.get("KILLED", 0), got.get("SURVIVED", 0)
    done = killed + survived
    score = f"{killed / done:.1%}" if done else ""
    return f"| {module} | {total} ({done} run) | {killed} | {survived} | {score} | |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help=f"modules under src/marketwire: {', '.join(MODULES)}")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--count", action="store_true", help="only count the mutants")
    ap.add_argument("--status", action="store_true", help="only report how far each session got")
    ap.add_argument("--export", action="store_true",
                    help="write benchmarks/out/mutation-<module>.json from each session as it stands (a run stopped "
                         "part way: a later session of the same source goes on from it)")
    ap.add_argument("--work", type=Path, default=Path("/var/tmp/mw-mutation"),
                    help="where the copies and sessions live until a module is done")
    ap.add_argument("--fresh", action="store_true", help="start the named modules over")
    ap.add_argument("--survivors", action="store_true",
                    help="re-run only the surviving mutants of a finished session, with the current tests")
    ap.add_argument("--data", default=os.environ.get("MARKETWIRE_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--client", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--target", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not (args.client or args.serve):  # stopped with kill (SIGTERM) as with Ctrl-C: the results so far are exported
        import signal

        def _interrupt(signum, frame):  # noqa: ARG001
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)  # a background job started by a non-interactive shell ignores it
    if args.client:
        return client(args.client)
    if args.serve:
        serve(args.serve, args.work, args.modules, args.data, args.target)
        return 0
    modules = list(MODULES) if args.all else args.modules
    unknown = [m for m in modules if m not in MODULES]
    if unknown or not modules:
        ap.error(f"name modules from: {', '.join(MODULES)}" + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    print("| module | mutants | killed | survived | score | seconds |\n|---|---:|---:|---:|---:|---:|")
    for m in modules:
        if args.status:
            print(status(m, args.work))
            continue
        if args.export:
            work = args.work / _slug(m)
            if not (work / "session.sqlite").exists():
                print(f"| {m} | no session in {work} | | | | |")
                continue
            r = export(m, work, MODULES[m])
            score = f"{r['score']:.1%}" if r["score"] is not None else ""
            print(f"| {m} | {r['mutants']} ({r['run']} run) | {r['killed']} | {r['survived']} | {score} | |")
            continue
        r = run(m, args.count, args.data, args.work, args.fresh, args.survivors)
        if args.count:
            print(f"| {m} | {r['mutants']} | | | | |")
        else:
            print(f"| {m} | {r['mutants']} | {r['killed']} | {r['survived']} | {r['score']:.1%} | {r['seconds']} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
