"""A background rebuild and the end of the process: the interpreter never finalizes under a rebuild thread.

A daemon thread inside native code (DuckDB, Arrow) when the interpreter finalizes is ended by a forced unwind that
C++ frames do not let through, and the process aborts with exit code 134 after its work is done. So the exit waits
for a rebuild under way and starts no new one."""

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.unit

SCRIPT = """
import logging, sys, time
from pathlib import Path
logging.basicConfig(level=logging.WARNING, format="%(message)s")
from marketwire.identity.index import BackgroundRefresh
out = Path(sys.argv[1])
settle = float(sys.argv[2])
served = [None]
def build(stamp):
    (out / "started").write_text(stamp)
    time.sleep(3)
    (out / "built").write_text(stamp)
    return stamp
r = BackgroundRefresh("test state", lambda: "s1", lambda: served[0], build, lambda s: served.__setitem__(0, s),
                      settle=settle)
r.request("s1")
time.sleep(0.5)
print("main done", flush=True)
"""


def run(tmp_path, settle: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), str(settle)], capture_output=True, text=True,
                          timeout=60)


def test_the_exit_waits_for_a_rebuild_under_way(tmp_path):
    t0 = time.monotonic()
    p = run(tmp_path, settle=0)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "started").read_text() == "s1"
    assert (tmp_path / "built").read_text() == "s1"  # the build ran to its end before the process did
    assert "test state: waiting for the background rebuild under way to end before exiting" in p.stderr
    assert time.monotonic() - t0 >= 3


def test_no_rebuild_starts_once_the_process_exits(tmp_path):
    """The lake must stand still for 5 s before a rebuild; the process ends first: nothing is built, and the exit
    does not sit out the settling time."""
    t0 = time.monotonic()
    p = run(tmp_path, settle=5)
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "started").exists()
    assert time.monotonic() - t0 < 5
