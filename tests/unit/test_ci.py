"""CI refuses to be green when it could not test: no shared data is an error, a skipped test fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_ci_without_shared_data_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    env = {**os.environ, "MARKETWIRE_DATA": str(tmp_path / "nowhere")}
    done = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "shared data folder was not found" in done.stderr
    assert str(tmp_path / "nowhere") in done.stderr


def test_skip_probe() -> None:
    """Skips only when the test below asks it to: the probe of the no-skip rule."""
    if os.environ.get("MARKETWIRE_SKIP_PROBE") == "1":
        pytest.skip("probe: a test that cannot run here")


@pytest.mark.parametrize("no_skip, code", [("1", 1), ("0", 0)])
def test_a_skipped_test_fails_the_run_only_under_no_skip(no_skip: str, code: int) -> None:
    env = {**os.environ, "MARKETWIRE_SKIP_PROBE": "1", "MARKETWIRE_NO_SKIP": no_skip}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"{Path(__file__)}::test_skip_probe"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == code, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert ("skipped tests fail this run" in done.stdout) == (no_skip == "1")
