from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """``$MARKETWIRE_DATA`` if it exists, else the nearest ``shared/data`` beside the checkout or above it."""
    env = os.environ.get("MARKETWIRE_DATA")
    candidates = [Path(env).resolve()] if env else []
    candidates += [parent / "shared" / "data" for parent in ROOT.parents]
    for c in candidates:
        if (c / "securities_master").is_dir():
            return c
    return candidates[0] if candidates else ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def securities_master() -> Path:
    p = shared_data() / "securities_master"
    if not p.is_dir():
        pytest.skip(f"shared data not found at {p} (set MARKETWIRE_DATA to the folder holding securities_master/)")
    return p


@pytest.fixture(scope="session")
def prices_dir() -> Path:
    p = shared_data() / "prices"
    if not p.is_dir():
        pytest.skip(f"shared price data not found at {p} (set MARKETWIRE_DATA to the folder holding prices/)")
    return p


#: set by .ci/run: a skipped test fails the run (CI must not be green because it could not test)
NO_SKIP = os.environ.get("MARKETWIRE_NO_SKIP") == "1"
_skipped: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append((report.nodeid, reason))


_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if NO_SKIP and _skipped and session.exitstatus == 0:
        session.exitstatus = 1
    _status.append(int(session.exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's verdict is its tests'. Background rebuilds still under way are waited for (as at any exit); a
    thread of a test's server or client still inside native code would make the interpreter's finalization abort
    the process (exit code 134) after the verdict, so with such threads left (listed in the summary) the process
    ends here with the verdict, skipping finalization."""
    import sys

    from marketwire.identity import index

    index._finish_rebuilds()
    if _status and not config.option.collectonly and _other_threads():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_status[-1])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if NO_SKIP and _skipped:
        terminalreporter.section("MARKETWIRE_NO_SKIP: skipped tests fail this run", sep="=", red=True)
        for nodeid, reason in _skipped:
            terminalreporter.write_line(f"{nodeid}: {reason}")
    _report_threads(terminalreporter)


def _other_threads() -> list[Any]:
    """The threads of this process still running besides the main one."""
    import threading

    return [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]


def _report_threads(terminalreporter: Any) -> None:
    """The threads still running when the session ends, with where each one is. A daemon thread inside native code
    when the interpreter finalizes can abort the process after every test passed (exit code 134); this names it."""
    import sys

    frames = sys._current_frames()
    alive = _other_threads()
    if not alive:
        return
    terminalreporter.section("threads still running at the end of the session", sep="-")
    for t in alive:
        f = frames.get(t.ident)
        where = f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}" if f is not None else "?"
        terminalreporter.write_line(f"{t.name} ({'daemon' if t.daemon else 'joined at exit'}): {where}")


@pytest.fixture(scope="session")
def make_run_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake ``make run`` builds (tools/load_reference.sh from a fresh-clone layout), built once per test session
    and shared by the tests that need the whole reference load; ``$MARKETWIRE_README_LAKE`` names one already built.
    Tests that change a lake copy it first."""
    given = os.environ.get("MARKETWIRE_README_LAKE")
    if given:
        return Path(given)
    data = shared_data()
    if not (data / "securities_master").is_dir() or not (data / "prices").is_dir():
        pytest.skip(f"shared data not found at {data} (set MARKETWIRE_DATA)")
    tool = tool_module("readme")
    repo = tool.sandbox(tmp_path_factory.mktemp("make-run"), data, None)
    return repo / ".marketwire"


def tool_module(name: str) -> Any:
    """A script of ``tools/`` as a module."""
    import importlib.util
    import sys

    path = ROOT / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_tool", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def benchmark_module(name: str) -> Any:
    """A script of ``benchmarks/`` as a module, so a test scores with exactly the code the benchmark reports."""
    import importlib.util
    import sys

    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
